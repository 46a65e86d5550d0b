# Gate canary: during and at the end of each canary step's bake time.
#
# Extending this gate: in a module of your own policy directory (loaded beside the
# built-ins) use the same package and add
#
#   # METADATA
#   # title: Checkout conversion holds
#   # description: Conversion on the new cohort is within 5% of the old one.
#   findings contains f if {
#       f := {"rule": "custom.conversion", "status": "pass", "severity": "rollback",
#             "message": "Checkout conversion holds: ...", "evidence": {}}
#   }
#
#   required contains "custom.conversion"
#
# Listing the rule in `required` turns a finding that fails to appear (a renamed fact,
# say) into an unknown check instead of a silent pass. Report pass only on explicit
# positive evidence; read your facts from input.facts.custom and test them with
# lib.custom_usable(name). `severity` ("no-go" or "rollback") is what a fail means;
# before cutover the library turns rollback into no-go. Non-blocking notes go to
# `advisories contains {"rule": ..., "message": ..., "evidence": {...}}`.

# METADATA
# title: Gate canary
# description: |
#   The window criteria on the canary cohort, over data since the shift to this step,
#   with at least criteria.min_requests requests.
package gatekeeper.gates.canary

import data.gatekeeper.lib

checks := lib.checks(findings, required)

decision := lib.decision(checks)

warnings := lib.warnings(advisories)

# METADATA
# title: Input is for this gate
# description: Shared rule launch.gate (see lib/shared.rego).
findings contains lib.gate_check("canary")

# METADATA
# title: Runbook signed off and unchanged
# description: Shared rule runbook.signed_off (see lib/shared.rego).
findings contains lib.signed_off

# METADATA
# title: Cutover time recorded
# description: Shared rule launch.cutover_recorded (see lib/shared.rego).
findings contains lib.cutover_recorded

required contains rule if some rule in {
	"launch.gate",
	"input.facts_wellformed",
	"runbook.signed_off",
	"launch.cutover_recorded",
	"canary.step",
	"canary.min_requests",
	"canary.error_rate_sustained",
	"canary.latency_p95_sustained",
	"canary.integrations",
	"canary.integrity",
}

complete := false

_step_start_ns := lib.time_ns(input.step_started_at)

_percents := [s.percent | some s in input.runbook.strategy.steps]

# METADATA
# title: Canary step is in the plan
# description: |
#   input.step is one of strategy.steps[*].percent of a canary strategy and the step's
#   start (input.step_started_at) is known: the window criteria are measured from it.
findings contains lib.finding("canary.step", "Canary step is in the plan", _step)

_step_evidence := {
	"step": object.get(input, "step", null),
	"planned": lib.rb(["strategy", "steps"]),
	"step_started_at": object.get(input, "step_started_at", null),
}

_step := lib.unknown("runbook strategy.kind is missing", _step_evidence) if {
	not lib.non_empty_string(lib.rb(["strategy", "kind"]))
} else := lib.fail("no-go", sprintf("runbook strategy.kind is %v, not canary", [input.runbook.strategy.kind]), _step_evidence) if {
	input.runbook.strategy.kind != "canary"
} else := lib.unknown("input.step is missing or not a number", _step_evidence) if {
	not is_number(object.get(input, "step", null))
} else := lib.fail("no-go", sprintf("input.step %v is not one of strategy.steps[*].percent", [input.step]), _step_evidence) if {
	not input.step in _percents
} else := lib.unknown(sprintf("input.step_started_at %v is missing or not an RFC 3339 time", [object.get(input, "step_started_at", null)]), _step_evidence) if {
	not _step_start_ns
} else := lib.unknown(sprintf("input.step_started_at %v is after now", [input.step_started_at]), _step_evidence) if {
	_step_start_ns > lib.now_ns
} else := lib.pass(sprintf("step %v%%, started %v", [input.step, input.step_started_at]), _step_evidence) if {
	input.step in _percents
	_step_start_ns <= lib.now_ns
} else := lib.unknown("the canary step cannot be checked", _step_evidence)

# METADATA
# title: Canary has enough requests
# description: |
#   The canary cohort served at least criteria.min_requests requests since the window
#   start (fact request_count); below that the window criteria say nothing.
findings contains lib.finding("canary.min_requests", "Canary has enough requests", _min_requests)

_requests_evidence := {"observed": lib.num(lib.fact(["request_count", "value"])), "min_requests": lib.rb(["criteria", "min_requests"])} if {
	lib.num(lib.fact(["request_count", "value"]))
} else := {"observed": lib.fact(["request_count", "value"]), "min_requests": lib.rb(["criteria", "min_requests"])}

_min_requests := lib.unknown(lib.problem("request_count"), _requests_evidence) if {
	not lib.usable("request_count")
} else := lib.unknown("runbook criteria.min_requests is missing or not a number", _requests_evidence) if {
	not is_number(lib.rb(["criteria", "min_requests"]))
} else := lib.unknown(sprintf("fact request_count.value %v is not a number", [lib.fact(["request_count", "value"])]), _requests_evidence) if {
	not lib.num(lib.fact(["request_count", "value"]))
} else := lib.pass(sprintf("%v requests >= %v", [round(lib.num(input.facts.request_count.value)), input.runbook.criteria.min_requests]), _requests_evidence) if {
	lib.num(input.facts.request_count.value) >= input.runbook.criteria.min_requests
} else := lib.unknown(sprintf("%v requests, below criteria.min_requests %v", [round(lib.num(input.facts.request_count.value)), input.runbook.criteria.min_requests]), _requests_evidence)

# METADATA
# title: Error rate within its maximum (sustained window)
# description: |
#   Breached (rollback) when the error_rate samples cover at least criteria.coverage_ratio
#   of the last criteria.error_rate.sustained and every present sample is strictly above
#   criteria.error_rate.max_ratio; a shorter spike is not a breach. Unknown when the
#   series is too sparse, empty or NaN.
findings contains lib.finding("canary.error_rate_sustained", "Error rate within its maximum (sustained window)", _error_rate)

# METADATA
# title: p95 latency within its budget (sustained window)
# description: |
#   As the error rate, over the same window, against criteria.latency_p95.budget
#   (seconds) raised by tolerance_pct.
findings contains lib.finding("canary.latency_p95_sustained", "p95 latency within its budget (sustained window)", _latency)

# Below the minimum request count, or without a step start, a sustained window on the
# canary cohort is not evidence either way.
_precondition := sprintf("not assessed: %v", [_min_requests.reason]) if {
	_min_requests.status != "pass"
} else := "not assessed: input.step_started_at is missing or not an RFC 3339 time" if {
	not _step_start_ns
}

_error_rate := lib.unknown(_precondition, _min_requests.evidence) if {
	_precondition
} else := lib.unknown("runbook criteria.error_rate.max_ratio is missing or not a number", {}) if {
	not lib.error_rate_threshold
} else := lib.sustained("error_rate", lib.error_rate_threshold, _step_start_ns)

_latency := lib.unknown(_precondition, _min_requests.evidence) if {
	_precondition
} else := lib.unknown("runbook criteria.latency_p95.budget or tolerance_pct is missing or malformed", {}) if {
	not lib.latency_threshold
} else := lib.sustained("latency_p95", lib.latency_threshold, _step_start_ns)

# METADATA
# title: Critical integrations available
# description: |
#   Every critical integration in criteria.integrations answers its probe. One down for
#   longer than its max_unavailable since cutover rolls back; shorter outages hold; an
#   outage that began before cutover holds with a warning (rolling back would not fix
#   it). Non-critical outages are warnings.
findings contains lib.finding("canary.integrations", "Critical integrations available", lib.integrations_result)

advisories contains w if {
	some w in lib.integration_warnings("canary.integrations")
}

# METADATA
# title: No new data-integrity violations
# description: |
#   The integrity checks show no violations beyond the pre-cutover baseline and no
#   dirty migration. New violations roll back (criteria.data_integrity.rollback_on_new).
findings contains lib.finding("canary.integrity", "No new data-integrity violations", lib.integrity_result)

advisories contains w if {
	some w in lib.integrity_warnings("canary.integrity")
}

# METADATA
# title: Manual checks and the commander's calls
# description: Shared rules attest.* (see lib/attest.rego); none when nothing was attested.
findings contains f if some f in lib.attested

advisories contains w if some w in lib.attest_advisories

# METADATA
# title: Facts well-formed
# description: Shared rule input.facts_wellformed (see lib/shape.rego).
findings contains lib.wellformed
