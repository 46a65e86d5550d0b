package gatekeeper.gates.canary_test

import data.gatekeeper.test.fixtures as fx

_in := fx.inputs.canary

_check(inp, rule) := fx.check("canary", inp, rule)

_status(inp, rule) := _check(inp, rule).status

_decision(inp) := fx.decision("canary", inp)

test_passing_input_goes if {
	_decision(_in) == "go"
}

test_rule_ids if {
	fx.builtin_rules(fx.gate("canary", _in).checks, "canary") == {
		"launch.gate", "runbook.signed_off", "launch.cutover_recorded",
		"canary.step", "canary.min_requests", "canary.error_rate_sustained", "canary.latency_p95_sustained",
		"canary.integrations", "canary.integrity",
	}
}

read_paths := [
	"gate", "now", "environment", "cutover_at", "step", "step_started_at",
	"facts/signoff", "facts/signoff/source", "facts/signoff/collected_at", "facts/signoff/digest",
	"facts/request_count", "facts/request_count/source", "facts/request_count/collected_at", "facts/request_count/value",
	"facts/error_rate", "facts/error_rate/source", "facts/error_rate/collected_at", "facts/error_rate/samples",
	"facts/latency_p95", "facts/latency_p95/source", "facts/latency_p95/collected_at", "facts/latency_p95/samples",
	"facts/integrations", "facts/integrations/source", "facts/integrations/collected_at", "facts/integrations/items",
	"facts/integrations/items/0/name", "facts/integrations/items/0/probe/ok",
	"facts/integrations/items/1/name", "facts/integrations/items/1/probe/ok",
	"facts/integrity", "facts/integrity/source", "facts/integrity/collected_at", "facts/integrity/checks",
	"facts/integrity/checks/0/violations", "facts/integrity/checks/1/violations", "facts/integrity/migrations/dirty",
	"facts/integrity_baseline", "facts/integrity_baseline/source", "facts/integrity_baseline/collected_at",
	"facts/integrity_baseline/checks", "facts/integrity_baseline/checks/0/name", "facts/integrity_baseline/checks/1/violations",
	"runbook/signoff/by", "runbook/signoff/digest",
	"runbook/strategy", "runbook/strategy/kind", "runbook/strategy/steps", "runbook/strategy/steps/1",
	"runbook/strategy/steps/1/percent",
	"runbook/criteria/min_requests", "runbook/criteria/coverage_ratio", "runbook/criteria/step",
	"runbook/criteria/scrape_lag", "runbook/criteria/error_rate/max_ratio", "runbook/criteria/error_rate/sustained",
	"runbook/criteria/latency_p95/budget", "runbook/criteria/latency_p95/tolerance_pct",
	"runbook/criteria/integrations", "runbook/criteria/integrations/0/name", "runbook/criteria/integrations/1/name",
	"runbook/environments/production/max_age/gatekeeper", "runbook/environments/production/max_age/prometheus",
	"runbook/environments/production/max_age/http", "runbook/environments/production/max_age/sql",
	"runbook/environments/production/max_age/archive",
	"runbook/environments/production/database/checks",
]

test_mutation_removing_any_read_path_never_goes if {
	survivors := fx.removal_survivors("canary", _in, read_paths)
	print("paths whose removal still goes:", survivors)
	survivors == []
}

# As the window gate (see window_test.not_decisive).
not_decisive := [
	`^facts/[a-z_0-9]+/(duration_ms|error|query|path|url)$`,
	`^facts/(error_rate|latency_p95)/(start|end|step)$`,
	`^facts/(error_rate|latency_p95)/samples/[0-9]+/[01]$`,
	`^facts/integrations/items/[0-9]+/availability/`,
	`^facts/integrations/items/[0-9]+/probe/(at|error|status_code)$`,
	`^facts/integrations/items/2/`,
	`^facts/(integrity|integrity_baseline)/checks/[0-9]+/sample`,
	`^facts/(integrity|integrity_baseline)/migrations/(tool|version)$`,
	`^facts/integrity_baseline/migrations/dirty$`,
]

test_mutation_every_decisive_fact_leaf if {
	survivors := fx.removal_survivors("canary", _in, fx.leaf_paths(_in.facts, "facts"))
	unexplained := [p | some p in survivors; not _matches_any(p, not_decisive)]
	print("fact leaves whose removal still goes:", unexplained)
	unexplained == []
}

_matches_any(p, patterns) if {
	some re in patterns
	regex.match(re, p)
}

test_renamed_request_count_never_goes if {
	facts := object.union(object.remove(_in.facts, ["request_count"]), {"requests": _in.facts.request_count})
	_decision(fx.replace(_in, "facts", facts)) != "go"
}

# ---------------------------------------------------------------------------
# step

test_step_must_be_planned if {
	every s in [5, 25, 100] {
		_status(object.union(_in, {"step": s}), "canary.step") == "pass"
	}
	c := _check(object.union(_in, {"step": 30}), "canary.step")
	c.status == "fail"
	c.outcome == "no-go"
	_status(object.union(_in, {"step": "25"}), "canary.step") == "unknown"
}

test_step_requires_a_canary_strategy if {
	_status(fx.with_path(_in, "runbook/strategy/kind", "blue-green"), "canary.step") == "fail"
	_status(fx.with_path(_in, "runbook/strategy/kind", ""), "canary.step") == "unknown"
}

test_step_start_must_be_known if {
	inp := json.remove(_in, ["step_started_at"])
	_status(inp, "canary.step") == "unknown"
	_status(inp, "canary.error_rate_sustained") == "unknown"
	contains(_check(inp, "canary.latency_p95_sustained").message, "step_started_at")
	_status(object.union(_in, {"step_started_at": "13:50"}), "canary.step") == "unknown"
	_status(object.union(_in, {"step_started_at": "2026-11-25T14:05:01Z"}), "canary.step") == "unknown"
	_status(object.union(_in, {"step_started_at": fx.now}), "canary.step") == "pass"
}

# ---------------------------------------------------------------------------
# min_requests: 500

_requests(v) := fx.set_fact(_in, "request_count", {"value": v})

test_min_requests_sides if {
	_status(_requests("499"), "canary.min_requests") == "unknown"
	_status(_requests("500"), "canary.min_requests") == "pass"
	_status(_requests("501"), "canary.min_requests") == "pass"
	_status(_requests(1834), "canary.min_requests") == "pass"
	_decision(_requests("499")) == "no-go"
}

test_below_min_requests_window_criteria_are_unknown if {
	inp := _requests("499")
	every rule in ["canary.error_rate_sustained", "canary.latency_p95_sustained"] {
		c := _check(inp, rule)
		c.status == "unknown"
		contains(c.message, "below criteria.min_requests 500")
	}
}

test_below_min_requests_a_breach_is_not_a_rollback if {
	inp := fx.set_fact(_requests("12"), "error_rate", {"samples": fx.series("0.9")})
	_status(inp, "canary.error_rate_sustained") == "unknown"
	_decision(inp) == "no-go"
}

test_min_requests_nan_and_missing if {
	_status(_requests("NaN"), "canary.min_requests") == "unknown"
	_status(_requests(""), "canary.min_requests") == "unknown"
	_status(json.remove(_in, ["runbook/criteria/min_requests"]), "canary.min_requests") == "unknown"
	contains(_check(json.remove(_in, ["facts/request_count"]), "canary.error_rate_sustained").message, "request_count is missing")
}

test_min_requests_evidence if {
	_check(_in, "canary.min_requests").evidence == {"observed": 1834, "min_requests": 500}
}

# ---------------------------------------------------------------------------
# sustained criteria from the step start

test_breach_since_step_start_rolls_back if {
	inp := fx.set_fact(_in, "error_rate", {"samples": fx.series("0.05")})
	c := _check(inp, "canary.error_rate_sustained")
	c.outcome == "rollback"
	c.evidence.window_start == "2026-11-25T13:59:30Z"
	_decision(inp) == "rollback"
}

# A step that started at 14:02 has 2.5 of the 5 sustained minutes: 11 of 21 samples.
test_window_clipped_by_step_start_has_low_coverage if {
	inp := object.union(fx.set_fact(_in, "error_rate", {"samples": fx.series("0.05")}), {"step_started_at": "2026-11-25T14:02:00Z"})
	c := _check(inp, "canary.error_rate_sustained")
	c.status == "unknown"
	c.evidence.window_start == "2026-11-25T14:02:00Z"
	c.evidence.present == 11
	c.evidence.expected == 21
	c.evidence.coverage == 0.5238
	_decision(inp) == "no-go"
}

# Started at 13:59:59: the first two samples fall before it, 19 of 21 remain (>= 90%).
test_window_clipped_but_covered_breaches if {
	inp := object.union(fx.set_fact(_in, "error_rate", {"samples": fx.series("0.05")}), {"step_started_at": "2026-11-25T13:59:59Z"})
	c := _check(inp, "canary.error_rate_sustained")
	c.status == "fail"
	c.evidence.present == 19
}

test_latency_breach_rolls_back if {
	_check(fx.set_fact(_in, "latency_p95", {"samples": fx.series("0.9")}), "canary.latency_p95_sustained").outcome == "rollback"
}

test_thresholds_missing_are_unknown if {
	_status(json.remove(_in, ["runbook/criteria/error_rate/max_ratio"]), "canary.error_rate_sustained") == "unknown"
	_status(json.remove(_in, ["runbook/criteria/latency_p95/budget"]), "canary.latency_p95_sustained") == "unknown"
}
