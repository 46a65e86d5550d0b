// Package schemas embeds the CUE schemas that validate runbooks (#Runbook)
// and facts (#Facts), so the binary checks exactly what `cue vet` checks.
package schemas

import "embed"

// FS holds every CUE file of the schemas package, at the root of the FS.
//
//go:embed *.cue
var FS embed.FS
