package engine

import "runtime/debug"

// version is set at build time with -ldflags "-X github.com/gatekeeper-dev/gatekeeper/engine.version=v1.2.3".
var version = ""

// Version reports gatekeeper's version: the linker-set one, else the module version, else "devel".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
