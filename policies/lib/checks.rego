# Turning findings into checks, warnings and a decision.
#
# Gates only say what they observed (status, severity); what that means at this point of
# the launch — before or after cutover, unknown for how long — is decided here, once,
# so every gate folds the same way.
package gatekeeper.lib

_statuses := {"pass", "fail", "unknown"}

# checks(findings, required) returns the checks sorted by rule (then message). A required
# rule without any finding means a rule body went undefined — typically a renamed or
# missing fact path — so it becomes an unknown check instead of silently vanishing.
checks(findings, required) := [c |
	some x in sort(_keyed_checks(findings, required))
	c := x[2]
]

_keyed_checks(findings, required) := found | missing if {
	found := {[k.rule, k.message, k] | some f in findings; k := _check(f)}
	rules := {x[0] | some x in found}
	missing := {[k.rule, k.message, k] |
		some r in required
		not r in rules
		k := _check({
			"rule": r,
			"status": "unknown",
			"severity": "no-go",
			"message": sprintf("%s: required rule produced no finding (a fact or runbook path it reads is missing, renamed or malformed)", [r]),
			"evidence": {},
		})
	}
}

# A well-formed passing finding is by far the most common: it is taken as it is.
_check(f) := {
	"rule": f.rule,
	"outcome": "go",
	"status": "pass",
	"message": f.message,
	"evidence": f.evidence,
} if {
	f.status == "pass"
	is_string(f.rule)
	trim_space(f.rule) != ""
	is_string(f.message)
	is_object(f.evidence)
} else := {
	"rule": rule,
	"outcome": _outcome(rule, status, _severity(f)),
	"status": status,
	"message": _message(f),
	"evidence": _unknown_evidence(rule, status, _evidence(f)),
} if {
	rule := _rule(f)
	status := _status(f)
}

_rule(f) := f.rule if {
	non_empty_string(f.rule)
} else := "invalid.finding"

# Anything but a recognised status is treated as unknown: never go by accident.
_status(f) := f.status if {
	f.status in _statuses
} else := "unknown"

_severity(f) := "rollback" if {
	f.severity == "rollback"
} else := "no-go"

_message(f) := f.message if {
	is_string(f.message)
} else := sprintf("%v", [f.message]) if {
	f.message != null
} else := sprintf("malformed finding: %v", [f])

# Evidence is always an object, so renderers can rely on its shape.
_evidence(f) := f.evidence if {
	is_object(f.evidence)
} else := {"value": f.evidence} if {
	f.evidence != null
} else := {}

_outcome(rule, status, severity) := "go" if {
	status == "pass"
} else := "rollback" if {
	status == "unknown"
	_unknown_too_long(rule)
} else := "rollback" if {
	status == "fail"
	severity == "rollback"
	can_roll_back
} else := "no-go"

# can_roll_back: before cutover there is nothing to roll back, and after a rollback
# there is nothing further to roll back to; both gates only say go or no-go.
can_roll_back if {
	after_cutover
	input.gate != "post-rollback"
}

# After cutover an unknown check carries how long it has been unknown, because that is
# what turns it into a rollback.
_unknown_evidence(rule, status, evidence) := object.union(evidence, {
	"unknown_since": rfc3339(unknown_since_ns(rule)),
	"max_unknown": rb(["window", "max_unknown"]),
}) if {
	status == "unknown"
	can_roll_back
} else := evidence

max_unknown_ns := scaled_ns(input.runbook.window.max_unknown)

_unknown_too_long(rule) if {
	can_roll_back
	now_ns - unknown_since_ns(rule) > max_unknown_ns
}

# unknown_since_ns(rule): the `now` of the first record of the trailing run of history
# records (ending at the newest) in which the rule was unknown. Without such a run the
# rule became unknown just now. History only counts when it is a usable fact.
unknown_since_ns(rule) := since if {
	usable("history")
	all_records := input.facts.history.records
	is_array(all_records)

	# Records of other gates (a canary step, say) do not mention the rule: they neither
	# extend nor break its run.
	records := [rec | some rec in all_records; _mentions(rec, rule)]
	count(records) > 0
	_unknown_in(records[count(records) - 1], rule)
	breaks := [i | some i, rec in records; not _unknown_in(rec, rule)]
	since := time_ns(records[_run_start(breaks)].now)
} else := now_ns

_run_start(breaks) := 0 if {
	count(breaks) == 0
} else := max(breaks) + 1

_mentions(record, rule) if {
	some c in record.checks
	c.rule == rule
}

_unknown_in(record, rule) if {
	some c in record.checks
	c.rule == rule
	c.status == "unknown"
}

# warnings(ws) normalises and sorts warnings by rule, then message.
warnings(ws) := [w |
	some x in sort({[n.rule, n.message, n] | some raw in ws; n := _warning(raw)})
	w := x[2]
]

_warning(w) := {"rule": _rule(w), "message": _message(w), "evidence": _evidence(w)}

# decision is the most severe outcome; no checks at all is not evidence of anything.
decision(cs) := "rollback" if {
	some c in cs
	c.outcome == "rollback"
} else := "no-go" if {
	count(cs) == 0
} else := "no-go" if {
	some c in cs
	c.outcome != "go"
} else := "go"
