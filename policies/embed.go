// Package policies embeds the built-in Rego gate policies and the capabilities allow-list.
package policies

import "embed"

// FS holds every built-in module, its tests and capabilities.json; loaders skip *_test.rego.
//
//go:embed capabilities.json lib gates main
var FS embed.FS
