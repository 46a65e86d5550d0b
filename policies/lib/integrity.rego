# Data integrity against the pre-cutover baseline (post-deploy, post-smoke, canary,
# window) and the baseline itself (pre-cutover).
#
# Only violations that are new since the baseline are the release's doing, so only they
# roll back; violations already there are reported as warnings.
package gatekeeper.lib

# The check names the runbook configures for this environment: each must be reported,
# otherwise a check that silently stopped running would look clean.
_configured_checks := {c.name | some c in env.database.checks}

_report_problem(name) := problem(name) if {
	not usable(name)
} else := sprintf("fact %s.checks is missing or not an array", [name]) if {
	not is_array(fact([name, "checks"]))
} else := sprintf("fact %s.checks: violations of %v is not a number", [name, join(_bad_violation_names(name))]) if {
	count(_bad_violation_names(name)) > 0
} else := sprintf("runbook environments.%v.database.checks is missing or not an array", [input.environment]) if {
	not is_array(env_get(["database", "checks"]))
} else := sprintf("runbook environments.%v.database.checks has an entry without a name", [input.environment]) if {
	some c in env.database.checks
	not _named_check(c)
} else := sprintf("fact %s.checks does not report %v, configured in the runbook", [name, join(_unreported(name))]) if {
	count(_unreported(name)) > 0
}

_bad_violation_names(name) := sort([get(c, "name", i) | some i, c in input.facts[name].checks; not _counted(c)])

_counted(c) if {
	non_empty_string(c.name)
	is_number(c.violations)
}

_named_check(c) if non_empty_string(c.name)

_unreported(name) := sort([n | some n in _configured_checks; not n in object.keys(_violations(name))])

# _violations(name): check name → violations (the largest count if a name repeats).
_violations(name) := {n: max([v | some c in input.facts[name].checks; c.name == n; v := c.violations]) |
	some c in input.facts[name].checks
	n := c.name
}

_integrity_counts := {n: {"violations": v, "baseline": object.get(_violations("integrity_baseline"), n, null)} |
	some n, v in _violations("integrity")
}

_new_violations := sort([n |
	some n, c in _integrity_counts
	c.violations > 0
	c.baseline == null
])

_new_violations_grown := sort([n |
	some n, c in _integrity_counts
	is_number(c.baseline)
	c.violations > c.baseline
])

new_integrity_violations := sort(array.concat(_new_violations, _new_violations_grown))

existing_integrity_violations := sort([n |
	some n, c in _integrity_counts
	c.violations > 0
	not n in new_integrity_violations
])

_new_severity := "no-go" if {
	input.runbook.criteria.data_integrity.rollback_on_new == false
} else := "rollback"

# A runbook that tracks no migrations (tool "none") has nothing half-applied; every other
# tool must report dirty explicitly.
_dirty := false if {
	fact(["integrity", "migrations", "tool"]) == "none"
	input.runbook.environments[input.environment].database.migrations in {null, "none"}
} else := fact(["integrity", "migrations", "dirty"])

_integrity_evidence := {
	"checks": _integrity_counts,
	"new": new_integrity_violations,
	"existing": existing_integrity_violations,
	"migrations_dirty": _dirty,
}

# integrity_result: the current run compared with the baseline.
integrity_result := unknown(_report_problem("integrity"), {}) if {
	_report_problem("integrity")
} else := unknown(_baseline_problem, {}) if {
	_baseline_problem
} else := fail(_new_severity, sprintf("new violations since the pre-cutover baseline: %v", [join(new_integrity_violations)]), _integrity_evidence) if {
	count(new_integrity_violations) > 0
} else := fail("no-go", "fact integrity.migrations.dirty is true: a migration is half-applied", _integrity_evidence) if {
	_dirty == true
} else := unknown("fact integrity.migrations.dirty is missing or not a boolean", _integrity_evidence) if {
	_dirty != false
} else := pass(_clean_reason, _integrity_evidence) if {
	_dirty == false
	count(new_integrity_violations) == 0
} else := unknown("the integrity checks cannot be compared with the baseline", _integrity_evidence)

_clean_reason := "no violations, migrations clean" if {
	count(existing_integrity_violations) == 0
} else := sprintf("no new violations since the baseline (existing: %v), migrations clean", [join(existing_integrity_violations)])

# The baseline must be usable and every entry in it well-formed: a garbled entry could
# be the very check whose violations are now "new".
_baseline_problem := problem("integrity_baseline") if {
	not usable("integrity_baseline")
} else := "fact integrity_baseline.checks is missing or not an array" if {
	not is_array(fact(["integrity_baseline", "checks"]))
} else := sprintf("fact integrity_baseline.checks: violations of %v is not a number", [join(_bad_violation_names("integrity_baseline"))]) if {
	count(_bad_violation_names("integrity_baseline")) > 0
}

integrity_warnings(rule) := {warning(rule, sprintf("integrity check %s has %v violations, already present in the pre-cutover baseline (%v)", [n, c.violations, c.baseline]), {"check": n, "violations": c.violations, "baseline": c.baseline}) |
	not _report_problem("integrity")
	not _baseline_problem
	some n in existing_integrity_violations
	c := _integrity_counts[n]
}

# baseline_result: pre-cutover, the baseline run itself (which later gates compare to).
baseline_result := unknown(_report_problem("integrity"), {}) if {
	_report_problem("integrity")
} else := fail("no-go", "fact integrity.migrations.dirty is true: a migration is half-applied", _baseline_evidence) if {
	_dirty == true
} else := unknown("fact integrity.migrations.dirty is missing or not a boolean", _baseline_evidence) if {
	_dirty != false
} else := pass(_baseline_reason, _baseline_evidence) if {
	_dirty == false
} else := unknown("the integrity baseline cannot be assessed", _baseline_evidence)

_baseline_evidence := {"checks": _violations("integrity"), "migrations_dirty": _dirty}

_baseline_existing := sort([n | some n, v in _violations("integrity"); v > 0])

_baseline_reason := "baseline taken: no violations, migrations clean" if {
	count(_baseline_existing) == 0
} else := sprintf("baseline taken: existing violations in %v, migrations clean", [join(_baseline_existing)])

baseline_warnings(rule) := {warning(rule, sprintf("integrity check %s already has %v violations before cutover", [n, v]), {"check": n, "violations": v}) |
	not _report_problem("integrity")
	some n, v in _violations("integrity")
	v > 0
}
