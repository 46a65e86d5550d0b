# Gate window: during and at the end of the monitoring window.
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
# title: Gate window
# description: |
#   No rollback criterion is met over the monitoring window. At its end (cutover_at +
#   window.duration) a go decision means the launch is complete.
package gatekeeper.gates.window

import data.gatekeeper.lib

checks := lib.checks(findings, required)

decision := lib.decision(checks)

warnings := lib.warnings(advisories)

# METADATA
# title: Input is for this gate
# description: Shared rule launch.gate (see lib/shared.rego).
findings contains lib.gate_check("window")

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
	"window.error_rate_sustained",
	"window.latency_p95_sustained",
	"window.integrations",
	"window.integrity",
}

# complete: the window has run its full duration and nothing is failing or unknown.
complete if {
	decision == "go"
	lib.now_ns >= lib.cutover_ns + lib.scaled_ns(input.runbook.window.duration)
} else := false

# METADATA
# title: Error rate within its maximum (sustained window)
# description: |
#   Breached (rollback) when the error_rate samples cover at least criteria.coverage_ratio
#   of the last criteria.error_rate.sustained and every present sample is strictly above
#   criteria.error_rate.max_ratio; a shorter spike is not a breach. Unknown when the
#   series is too sparse, empty or NaN.
findings contains lib.finding("window.error_rate_sustained", "Error rate within its maximum (sustained window)", _error_rate)

# METADATA
# title: p95 latency within its budget (sustained window)
# description: |
#   As the error rate, over the same window, against criteria.latency_p95.budget
#   (seconds) raised by tolerance_pct.
findings contains lib.finding("window.latency_p95_sustained", "p95 latency within its budget (sustained window)", _latency)

_error_rate := lib.unknown("runbook criteria.error_rate.max_ratio is missing or not a number", {}) if {
	not lib.error_rate_threshold
} else := lib.sustained("error_rate", lib.error_rate_threshold, 0)

_latency := lib.unknown("runbook criteria.latency_p95.budget or tolerance_pct is missing or malformed", {}) if {
	not lib.latency_threshold
} else := lib.sustained("latency_p95", lib.latency_threshold, 0)

# METADATA
# title: Critical integrations available
# description: |
#   Every critical integration in criteria.integrations answers its probe. One down for
#   longer than its max_unavailable since cutover rolls back; shorter outages hold; an
#   outage that began before cutover holds with a warning (rolling back would not fix
#   it). Non-critical outages are warnings.
findings contains lib.finding("window.integrations", "Critical integrations available", lib.integrations_result)

advisories contains w if {
	some w in lib.integration_warnings("window.integrations")
}

# METADATA
# title: No new data-integrity violations
# description: |
#   The integrity checks show no violations beyond the pre-cutover baseline and no
#   dirty migration. New violations roll back (criteria.data_integrity.rollback_on_new).
findings contains lib.finding("window.integrity", "No new data-integrity violations", lib.integrity_result)

advisories contains w if {
	some w in lib.integrity_warnings("window.integrity")
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
