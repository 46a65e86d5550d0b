# METADATA
# title: gatekeeper entry point
# description: |
#   data.gatekeeper.main.result is the decision for input.gate, in one document:
#   `opa eval -d policies -i input.json data.gatekeeper.main.result` gives what
#   `gatekeeper evaluate` records.
package gatekeeper.main

# Gate ids use dashes; Rego package names cannot.
packages := {
	"pre-cutover": "pre_cutover",
	"post-deploy": "post_deploy",
	"post-smoke": "post_smoke",
	"canary": "canary",
	"window": "window",
	"post-rollback": "post_rollback",
}

result := {
	"gate": input.gate,
	"step": object.get(input, "step", null),
	"decision": _gate.decision,
	"checks": _gate.checks,
	"warnings": _gate.warnings,
	"complete": _gate.complete,
} if {
	_gate
} else := {
	"gate": object.get(input, "gate", null),
	"step": object.get(input, "step", null),
	"decision": "no-go",
	"checks": [{
		"rule": "launch.gate",
		"outcome": "no-go",
		"status": "unknown",
		"message": sprintf("Input is for this gate: input.gate %v is not one of %v", [object.get(input, "gate", null), concat(", ", sort(object.keys(packages)))]),
		"evidence": {"observed": object.get(input, "gate", null)},
	}],
	"warnings": [],
	"complete": false,
}

# Static references: only the selected gate is evaluated, and packages of tests or
# user modules under data.gatekeeper.gates are never reached by accident.
_gate := data.gatekeeper.gates.pre_cutover if {
	input.gate == "pre-cutover"
} else := data.gatekeeper.gates.post_deploy if {
	input.gate == "post-deploy"
} else := data.gatekeeper.gates.post_smoke if {
	input.gate == "post-smoke"
} else := data.gatekeeper.gates.canary if {
	input.gate == "canary"
} else := data.gatekeeper.gates.window if {
	input.gate == "window"
} else := data.gatekeeper.gates.post_rollback if {
	input.gate == "post-rollback"
}
