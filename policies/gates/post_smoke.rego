# Gate post-smoke: the smoke suite has finished.
#
# Extending this gate: in a module of your own policy directory (loaded beside the
# built-ins) use the same package and add
#
#   # METADATA
#   # title: Checkout conversion holds
#   # description: Conversion on the new cohort is within 5% of the old one.
#   findings contains f if {
#       f := {"rule": "custom.search_index", "status": "pass", "severity": "rollback",
#             "message": "Checkout conversion holds: ...", "evidence": {}}
#   }
#
#   required contains "custom.search_index"
#
# Listing the rule in `required` turns a finding that fails to appear (a renamed fact,
# say) into an unknown check instead of a silent pass. Report pass only on explicit
# positive evidence; read your facts from input.facts.custom and test them with
# lib.custom_usable(name). `severity` ("no-go" or "rollback") is what a fail means;
# before cutover the library turns rollback into no-go. Non-blocking notes go to
# `advisories contains {"rule": ..., "message": ..., "evidence": {...}}`.

# METADATA
# title: Gate post-smoke
# description: |
#   Every critical smoke step passed against the new cohort, within the suite's time
#   budget and after cutover; critical integrations respond; the new version serves
#   traffic; data integrity holds.
package gatekeeper.gates.post_smoke

import data.gatekeeper.lib

checks := lib.checks(findings, required)

decision := lib.decision(checks)

warnings := lib.warnings(advisories)

# METADATA
# title: Input is for this gate
# description: Shared rule launch.gate (see lib/shared.rego).
findings contains lib.gate_check("post-smoke")

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
	"post_smoke.critical_steps",
	"post_smoke.budget",
	"post_smoke.after_cutover",
	"post_smoke.integrations",
	"post_smoke.traffic",
	"post_smoke.integrity",
}

complete := false

_tests := input.facts.smoke.tests

# METADATA
# title: Critical smoke steps passed
# description: |
#   Each runbook smoke.critical entry (an exact test name, or /regex/ matched against
#   the name or "suite > name") matches at least one test, and every matching test
#   passed (flaky is a pass with a warning). A failed critical step rolls back; a
#   skipped or unmatched one is unknown.
findings contains lib.finding("post_smoke.critical_steps", "Critical smoke steps passed", _critical_steps)

_critical_steps := lib.unknown(lib.problem("smoke"), {}) if {
	not lib.usable("smoke")
} else := lib.unknown("fact smoke.errors is missing or not an array", {}) if {
	not is_array(lib.fact(["smoke", "errors"]))
} else := lib.unknown(sprintf("the smoke run reported errors: %v", [input.facts.smoke.errors]), {"errors": input.facts.smoke.errors}) if {
	count(input.facts.smoke.errors) > 0
} else := lib.unknown("fact smoke.tests is missing, empty or not an array", {}) if {
	not _has_tests
} else := lib.unknown(sprintf("fact smoke.tests has malformed entries (no name or status): %v", [lib.join(_malformed_tests)]), {}) if {
	count(_malformed_tests) > 0
} else := lib.unknown("runbook smoke.critical is missing or not an array", {}) if {
	not is_array(lib.rb(["smoke", "critical"]))
} else := _fold_critical(_critical)

# A test entry that cannot be read could be a critical step.
_malformed_tests := [i | some i, t in _tests; not _readable_test(t)]

_readable_test(t) if {
	lib.non_empty_string(t.name)
	is_string(t.status)
}

_has_tests if {
	is_array(_tests)
	count(_tests) > 0
}

# _critical_entries: the runbook's critical names and patterns, plus the name of every
# built-in HTTP smoke check marked critical (the default): such a check reports one test
# per new-cohort instance under its own name.
_critical_entries := {p | some p in input.runbook.smoke.critical} | {c.name |
	some c in object.get(input.runbook.smoke, "checks", [])
	is_string(c.name)
	object.get(c, "critical", true) == true
}

# _critical: pattern → {status, severity, reason, evidence}
_critical[pattern] := _assess_critical(pattern, [t | some t in _tests; _matches(pattern, t)]) if {
	some pattern in _critical_entries
}

_regex(pattern) := substring(pattern, 1, count(pattern) - 2) if {
	is_string(pattern)
	count(pattern) > 2
	startswith(pattern, "/")
	endswith(pattern, "/")
}

_qualified(t) := sprintf("%v > %v", [t.suite, t.name]) if {
	lib.non_empty_string(t.suite)
} else := t.name

_matches(pattern, t) if {
	re := _regex(pattern)
	regex.is_valid(re)
	some subject in {t.name, _qualified(t)}
	is_string(subject)
	regex.match(re, subject)
}

_matches(pattern, t) if {
	not _regex(pattern)
	pattern in {t.name, _qualified(t)}
}

_summary(t) := {"name": lib.get(t, "name", null), "suite": lib.get(t, "suite", null), "status": lib.get(t, "status", null)}

_assess_critical(pattern, matched) := lib.unknown(sprintf("critical pattern %v is not a valid regular expression", [pattern]), {"tests": []}) if {
	_regex(pattern)
	not regex.is_valid(_regex(pattern))
} else := lib.unknown(sprintf("no test matches critical %v", [pattern]), {"tests": []}) if {
	count(matched) == 0
} else := lib.fail("rollback", sprintf("critical %v failed: %v", [pattern, lib.join(sort([_qualified(t) | some t in matched; t.status == "failed"]))]), {"tests": [_summary(t) | some t in matched]}) if {
	some t in matched
	t.status == "failed"
} else := lib.unknown(sprintf("critical %v did not run to a pass: %v", [pattern, lib.join(sort([sprintf("%v (%v)", [_qualified(t), lib.get(t, "status", null)]) | some t in matched; not lib.get(t, "status", null) in {"passed", "flaky"}]))]), {"tests": [_summary(t) | some t in matched]}) if {
	some t in matched
	not lib.get(t, "status", null) in {"passed", "flaky"}
} else := lib.pass(sprintf("critical %v passed (%d tests)", [pattern, count(matched)]), {"tests": [_summary(t) | some t in matched]}) if {
	count(matched) > 0
	every t in matched {
		t.status in {"passed", "flaky"}
	}
} else := lib.unknown(sprintf("critical %v cannot be assessed", [pattern]), {"tests": [_summary(t) | some t in matched]})

_fold_critical(results) := lib.fail("rollback", _reasons(results, {"fail"}), _critical_evidence(results)) if {
	some r in results
	r.status == "fail"
} else := lib.unknown(_reasons(results, {"unknown"}), _critical_evidence(results)) if {
	some r in results
	r.status != "pass"
} else := lib.pass(sprintf("%d critical entries passed", [count(results)]), _critical_evidence(results))

_reasons(results, statuses) := concat("; ", sort([r.reason | some r in results; r.status in statuses]))

_critical_evidence(results) := {"critical": {sprintf("%v", [p]): {"status": r.status, "tests": r.evidence.tests} | some p, r in results}}

# Flaky critical steps pass but deserve a look; failed non-critical steps do not block.
advisories contains lib.warning("post_smoke.critical_steps", sprintf("critical smoke step %v is flaky", [_qualified(t)]), _summary(t)) if {
	lib.usable("smoke")
	some t in _tests
	t.status == "flaky"
	some pattern in _critical_entries
	_matches(pattern, t)
}

advisories contains lib.warning("post_smoke.critical_steps", sprintf("non-critical smoke step %v failed: %v", [_qualified(t), lib.get(t, "message", "")]), _summary(t)) if {
	lib.usable("smoke")
	some t in _tests
	t.status == "failed"
	not _is_critical(t)
}

_is_critical(t) if {
	some pattern in _critical_entries
	_matches(pattern, t)
}

# METADATA
# title: Smoke suite within its time budget
# description: The suite ran (finished_at - started_at) no longer than smoke.budget.
findings contains lib.finding("post_smoke.budget", "Smoke suite within its time budget", _budget)

_smoke_started := lib.time_ns(input.facts.smoke.started_at)

_smoke_finished := lib.time_ns(input.facts.smoke.finished_at)

_budget_evidence := {
	"observed_seconds": (_smoke_finished - _smoke_started) / 1000000000,
	"budget": input.runbook.smoke.budget,
	"started_at": input.facts.smoke.started_at,
	"finished_at": input.facts.smoke.finished_at,
} if {
	_smoke_finished
	_smoke_started
} else := {"budget": lib.rb(["smoke", "budget"]), "started_at": lib.fact(["smoke", "started_at"]), "finished_at": lib.fact(["smoke", "finished_at"])}

_budget := lib.unknown(lib.problem("smoke"), _budget_evidence) if {
	not lib.usable("smoke")
} else := lib.unknown("fact smoke.started_at is missing or not an RFC 3339 time", _budget_evidence) if {
	not _smoke_started
} else := lib.unknown("fact smoke.finished_at is missing or not an RFC 3339 time", _budget_evidence) if {
	not _smoke_finished
} else := lib.unknown("fact smoke.finished_at is before started_at", _budget_evidence) if {
	_smoke_finished < _smoke_started
} else := lib.unknown("runbook smoke.budget is missing or not a duration", _budget_evidence) if {
	not lib.duration_ns(lib.rb(["smoke", "budget"]))
} else := lib.pass(sprintf("ran %vs, budget %v", [_budget_evidence.observed_seconds, input.runbook.smoke.budget]), _budget_evidence) if {
	_smoke_finished - _smoke_started <= lib.duration_ns(input.runbook.smoke.budget)
} else := lib.fail("no-go", sprintf("ran %vs, over the budget of %v", [_budget_evidence.observed_seconds, input.runbook.smoke.budget]), _budget_evidence)

# METADATA
# title: Smoke results are from after cutover
# description: |
#   The suite started at or after input.cutover_at, so it exercised the new cohort and
#   not a run from before the deployment.
findings contains lib.finding("post_smoke.after_cutover", "Smoke results are from after cutover", _after_cutover)

_after_evidence := {"started_at": lib.fact(["smoke", "started_at"]), "cutover_at": object.get(input, "cutover_at", null)}

_after_cutover := lib.unknown(lib.problem("smoke"), _after_evidence) if {
	not lib.usable("smoke")
} else := lib.unknown("fact smoke.started_at is missing or not an RFC 3339 time", _after_evidence) if {
	not _smoke_started
} else := lib.unknown("input.cutover_at is missing or not an RFC 3339 time", _after_evidence) if {
	not lib.cutover_ns
} else := lib.pass(sprintf("started %v, cutover %v", [input.facts.smoke.started_at, input.cutover_at]), _after_evidence) if {
	_smoke_started >= lib.cutover_ns
} else := lib.fail("no-go", sprintf("results predate cutover: started %v, cutover %v", [input.facts.smoke.started_at, input.cutover_at]), _after_evidence)

# METADATA
# title: Critical integrations available
# description: |
#   Every critical integration in criteria.integrations answers its probe. One down for
#   longer than its max_unavailable since cutover rolls back; shorter outages hold; an
#   outage that began before cutover holds with a warning (rolling back would not fix
#   it). Non-critical outages are warnings.
findings contains lib.finding("post_smoke.integrations", "Critical integrations available", lib.integrations_result)

advisories contains w if {
	some w in lib.integration_warnings("post_smoke.integrations")
}

# METADATA
# title: New version serves traffic
# description: |
#   Monitoring shows requests served by the new version (fact traffic.value > 0): smoke
#   passing against a cohort that gets no traffic proves little.
findings contains lib.finding("post_smoke.traffic", "New version serves traffic", _traffic)

_traffic_evidence := {"observed": lib.fact(["traffic", "value"]), "threshold": 0}

_traffic := lib.unknown(lib.problem("traffic"), _traffic_evidence) if {
	not lib.usable("traffic")
} else := lib.unknown(sprintf("fact traffic.value %v is not a finite number (NaN: no data)", [lib.fact(["traffic", "value"])]), _traffic_evidence) if {
	not lib.num(lib.fact(["traffic", "value"]))
} else := lib.pass(sprintf("%v requests from the new version", [lib.num(input.facts.traffic.value)]), {"observed": lib.num(input.facts.traffic.value), "threshold": 0}) if {
	lib.num(input.facts.traffic.value) > 0
} else := lib.fail("no-go", sprintf("no traffic from the new version (%v)", [lib.num(input.facts.traffic.value)]), {"observed": lib.num(input.facts.traffic.value), "threshold": 0}) if {
	lib.num(input.facts.traffic.value) <= 0
} else := lib.unknown("fact traffic.value cannot be assessed", _traffic_evidence)

# METADATA
# title: No new data-integrity violations
# description: |
#   The integrity checks show no violations beyond the pre-cutover baseline and no
#   dirty migration. New violations roll back (criteria.data_integrity.rollback_on_new).
findings contains lib.finding("post_smoke.integrity", "No new data-integrity violations", lib.integrity_result)

advisories contains w if {
	some w in lib.integrity_warnings("post_smoke.integrity")
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
