package gatekeeper.gates.window_test

import data.gatekeeper.test.fixtures as fx

_in := fx.inputs.window

_check(inp, rule) := fx.check("window", inp, rule)

_decision(inp) := fx.decision("window", inp)

_errors(samples) := fx.set_fact(_in, "error_rate", {"samples": samples})

_latency(samples) := fx.set_fact(_in, "latency_p95", {"samples": samples})

# ---------------------------------------------------------------------------
# Passing input and mutations

test_passing_input_goes if {
	_decision(_in) == "go"
	fx.gate("window", _in).complete == false
}

# Every fact and runbook path the gate reads: removing any one must not go.
read_paths := [
	"gate", "now", "environment", "cutover_at",
	"facts/signoff", "facts/signoff/source", "facts/signoff/collected_at", "facts/signoff/digest",
	"facts/error_rate", "facts/error_rate/source", "facts/error_rate/collected_at", "facts/error_rate/samples",
	"facts/latency_p95", "facts/latency_p95/source", "facts/latency_p95/collected_at", "facts/latency_p95/samples",
	"facts/integrations", "facts/integrations/source", "facts/integrations/collected_at", "facts/integrations/items",
	"facts/integrations/items/0/name", "facts/integrations/items/0/probe", "facts/integrations/items/0/probe/ok",
	"facts/integrations/items/1/name", "facts/integrations/items/1/probe", "facts/integrations/items/1/probe/ok",
	"facts/integrity", "facts/integrity/source", "facts/integrity/collected_at", "facts/integrity/checks",
	"facts/integrity/checks/0/name", "facts/integrity/checks/0/violations",
	"facts/integrity/checks/1/name", "facts/integrity/checks/1/violations",
	"facts/integrity/migrations", "facts/integrity/migrations/dirty",
	"facts/integrity_baseline", "facts/integrity_baseline/source", "facts/integrity_baseline/collected_at",
	"facts/integrity_baseline/checks", "facts/integrity_baseline/checks/0/name", "facts/integrity_baseline/checks/0/violations",
	"facts/integrity_baseline/checks/1/name", "facts/integrity_baseline/checks/1/violations",
	"runbook/signoff", "runbook/signoff/by", "runbook/signoff/digest",
	"runbook/criteria", "runbook/criteria/coverage_ratio", "runbook/criteria/step", "runbook/criteria/scrape_lag",
	"runbook/criteria/error_rate", "runbook/criteria/error_rate/max_ratio", "runbook/criteria/error_rate/sustained",
	"runbook/criteria/latency_p95", "runbook/criteria/latency_p95/budget", "runbook/criteria/latency_p95/tolerance_pct",
	"runbook/criteria/integrations", "runbook/criteria/integrations/0/name", "runbook/criteria/integrations/1/name",
	"runbook/environments", "runbook/environments/production", "runbook/environments/production/max_age",
	"runbook/environments/production/max_age/gatekeeper", "runbook/environments/production/max_age/prometheus",
	"runbook/environments/production/max_age/http", "runbook/environments/production/max_age/sql",
	"runbook/environments/production/max_age/archive",
	"runbook/environments/production/database", "runbook/environments/production/database/checks",
]

test_mutation_removing_any_read_path_never_goes if {
	survivors := fx.removal_survivors("window", _in, read_paths)
	print("paths whose removal still goes:", survivors)
	survivors == []
}

# Fact fields the window gate does not decide on: provenance besides source and
# collected_at (an absent `error` is no error), series metadata (the window comes from
# the runbook), single samples (coverage tolerates a few gaps), probe details, the
# non-critical integration, integrity samples and migration tool/version, and the
# baseline's own migration state.
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
	survivors := fx.removal_survivors("window", _in, fx.leaf_paths(_in.facts, "facts"))
	unexplained := [p | some p in survivors; not _matches_any(p, not_decisive)]
	print("fact leaves whose removal still goes:", unexplained)
	unexplained == []
}

_matches_any(p, patterns) if {
	some re in patterns
	regex.match(re, p)
}

test_renamed_error_rate_never_goes if {
	facts := object.union(object.remove(_in.facts, ["error_rate"]), {"errorrate": _in.facts.error_rate})
	inp := fx.replace(_in, "facts", facts)
	_decision(inp) != "go"
	_check(inp, "window.error_rate_sustained").status == "unknown"
	contains(_check(inp, "window.error_rate_sustained").message, "fact error_rate is missing")
}

test_required_rule_without_finding_is_unknown if {
	g := fx.gate("window", _in) with data.gatekeeper.gates.window.required as {"window.error_rate_sustained", "window.custom_rule"}
	g.decision == "no-go"
	c := [c | some c in g.checks; c.rule == "window.custom_rule"][0]
	c.status == "unknown"
	contains(c.message, "produced no finding")
}

# ---------------------------------------------------------------------------
# Sustained error rate

test_error_rate_pass_evidence if {
	c := _check(_in, "window.error_rate_sustained")
	c.status == "pass"
	c.evidence == {
		"observed": 0.004, "max": 0.004, "min": 0.004, "threshold": 0.02,
		"coverage": 1, "coverage_required": 0.9, "present": 21, "expected": 21,
		"window_start": "2026-11-25T13:59:30Z", "window_end": "2026-11-25T14:04:30Z",
	}
}

test_error_rate_full_breach_rolls_back if {
	inp := _errors(fx.series("0.071"))
	c := _check(inp, "window.error_rate_sustained")
	c.status == "fail"
	c.outcome == "rollback"
	c.evidence.observed == 0.071
	c.evidence.threshold == 0.02
	c.evidence.coverage == 1
	_decision(inp) == "rollback"
}

test_error_rate_short_spike_is_not_a_breach if {
	values := array.concat([v | some _ in numbers.range(1, 15); v := "0.004"], [v | some _ in numbers.range(1, 6); v := "0.3"])
	inp := _errors(fx.series_at(values))
	c := _check(inp, "window.error_rate_sustained")
	c.status == "pass"
	c.evidence.max == 0.3
	_decision(inp) == "go"
}

test_error_rate_threshold_is_strict if {
	_check(_errors(fx.series("0.0199")), "window.error_rate_sustained").status == "pass"
	_check(_errors(fx.series("0.02")), "window.error_rate_sustained").status == "pass"
	_check(_errors(fx.series("0.0201")), "window.error_rate_sustained").status == "fail"
}

# 21 samples are expected; the ratio 0.9 needs 19 (18/21 = 0.857).
test_error_rate_coverage_just_below_ratio_is_unknown if {
	inp := _errors(array.slice(fx.series("0.05"), 0, 18))
	c := _check(inp, "window.error_rate_sustained")
	c.status == "unknown"
	c.evidence.coverage == 0.8571
	c.evidence.present == 18
	_decision(inp) == "no-go"
}

test_error_rate_coverage_just_above_ratio_breaches if {
	c := _check(_errors(array.slice(fx.series("0.05"), 2, 21)), "window.error_rate_sustained")
	c.status == "fail"
	c.evidence.coverage == 0.9048
}

# With sustained 9m at a 1m step, 10 samples are expected and 9 are exactly 90%.
_nine_minutes := fx.with_path(fx.with_path(_in, "runbook/criteria/error_rate/sustained", "9m"), "runbook/criteria/step", "1m")

_per_minute(n, v) := [[(fx.window_end_s - 540) + (i * 60), v] | some i in numbers.range(0, n - 1)]

test_error_rate_coverage_exactly_at_ratio_breaches if {
	inp := fx.set_fact(_nine_minutes, "error_rate", {"samples": _per_minute(9, "0.05")})
	c := _check(inp, "window.error_rate_sustained")
	c.status == "fail"
	c.evidence.coverage == 0.9
	c.evidence.expected == 10
}

test_error_rate_coverage_just_under_exact_ratio_is_unknown if {
	inp := fx.set_fact(_nine_minutes, "error_rate", {"samples": _per_minute(8, "0.05")})
	_check(inp, "window.error_rate_sustained").status == "unknown"
}

test_error_rate_all_nan_is_unknown if {
	inp := _errors(fx.series("NaN"))
	c := _check(inp, "window.error_rate_sustained")
	c.status == "unknown"
	c.evidence.present == 0
	c.evidence.observed == null
	contains(c.message, "NaN")
	_decision(inp) == "no-go"
}

test_error_rate_empty_series_is_unknown if {
	_check(_errors([]), "window.error_rate_sustained").status == "unknown"
}

test_error_rate_samples_not_an_array_is_unknown if {
	_check(_errors("0.004"), "window.error_rate_sustained").status == "unknown"
}

test_error_rate_malformed_samples_are_absent if {
	bad := [["1795615170", "0.05"], [1795615185], [1795615200, "lots"], "x", [1795615215, null]]
	c := _check(_errors(array.concat(bad, array.slice(fx.series("0.05"), 5, 21))), "window.error_rate_sustained")
	c.status == "unknown"
	c.evidence.present == 16
}

test_error_rate_samples_outside_the_window_do_not_count if {
	early := [[t - 300, v] | some s in fx.series("0.05"); t := s[0]; v := s[1]]
	late := [[t + 31, v] | some s in fx.series("0.05"); t := s[0]; v := s[1]]
	_check(_errors(early), "window.error_rate_sustained").status == "unknown"
	_check(_errors(late), "window.error_rate_sustained").status == "unknown"
}

test_error_rate_duplicate_timestamps_count_once if {
	doubled := array.concat(array.slice(fx.series("0.05"), 0, 10), array.slice(fx.series("0.05"), 0, 10))
	_check(_errors(doubled), "window.error_rate_sustained").evidence.present == 10
}

test_error_rate_plus_inf_is_above_any_threshold if {
	c := _check(_errors(fx.series("+Inf")), "window.error_rate_sustained")
	c.status == "fail"
	c.evidence.max == "+Inf"
	c.evidence.observed == "+Inf"
	c.evidence.min == "+Inf"
}

test_error_rate_minus_inf_is_below_any_threshold if {
	c := _check(_errors(array.concat(array.slice(fx.series("0.05"), 0, 20), [[fx.window_end_s, "-Inf"]])), "window.error_rate_sustained")
	c.status == "pass"
	c.evidence.min == "-Inf"
	c.evidence.max == 0.05
	c.evidence.observed == "-Inf"
}

test_error_rate_mixed_inf_and_finite if {
	values := array.concat([v | some _ in numbers.range(1, 20); v := "+Inf"], ["0.03"])
	c := _check(_errors(fx.series_at(values)), "window.error_rate_sustained")
	c.status == "fail"
	c.evidence.min == 0.03
}

test_error_rate_numeric_sample_values_accepted if {
	_check(_errors([[t, 0.05] | some s in fx.series("x"); t := s[0]]), "window.error_rate_sustained").status == "fail"
}

test_error_rate_runbook_gaps_are_unknown if {
	every p in ["runbook/criteria/error_rate/max_ratio", "runbook/criteria/error_rate/sustained", "runbook/criteria/step", "runbook/criteria/scrape_lag", "runbook/criteria/coverage_ratio"] {
		_check(json.remove(_in, [p]), "window.error_rate_sustained").status == "unknown"
	}
	_check(fx.with_path(_in, "runbook/criteria/coverage_ratio", 1.5), "window.error_rate_sustained").status == "unknown"
	_check(fx.with_path(_in, "runbook/criteria/step", "0s"), "window.error_rate_sustained").status == "unknown"
	_check(fx.with_path(_in, "runbook/criteria/error_rate/max_ratio", "2%"), "window.error_rate_sustained").status == "unknown"
}

test_error_rate_scrape_lag_shifts_the_window if {
	c := _check(fx.with_path(_in, "runbook/criteria/scrape_lag", "0s"), "window.error_rate_sustained")
	c.evidence.window_end == "2026-11-25T14:05:00Z"
	c.evidence.present == 19
}

# ---------------------------------------------------------------------------
# Sustained p95 latency: threshold 400ms * 1.2 = 0.48s

test_latency_threshold_is_budget_plus_tolerance if {
	c := _check(_in, "window.latency_p95_sustained")
	c.status == "pass"
	c.evidence.threshold == 0.48
}

test_latency_threshold_sides if {
	_check(_latency(fx.series("0.4799")), "window.latency_p95_sustained").status == "pass"
	_check(_latency(fx.series("0.48")), "window.latency_p95_sustained").status == "pass"
	_check(_latency(fx.series("0.4801")), "window.latency_p95_sustained").status == "fail"
	_decision(_latency(fx.series("0.4801"))) == "rollback"
}

test_latency_nan_is_unknown if {
	_check(_latency(fx.series("NaN")), "window.latency_p95_sustained").status == "unknown"
}

test_latency_runbook_gaps_are_unknown if {
	_check(json.remove(_in, ["runbook/criteria/latency_p95/budget"]), "window.latency_p95_sustained").status == "unknown"
	_check(fx.with_path(_in, "runbook/criteria/latency_p95/budget", "0.4"), "window.latency_p95_sustained").status == "unknown"
	_check(fx.with_path(_in, "runbook/criteria/latency_p95/tolerance_pct", "20"), "window.latency_p95_sustained").status == "unknown"
}

# ---------------------------------------------------------------------------
# max_unknown: an unknown criterion for longer than 5m after cutover rolls back.

_rule := "window.error_rate_sustained"

_unknown_rate := json.remove(_in, ["facts/error_rate"])

_with_history(records) := object.union(_unknown_rate, {"facts": {"history": fx.history(records)}})

test_unknown_without_history_holds if {
	c := _check(_unknown_rate, _rule)
	c.status == "unknown"
	c.outcome == "no-go"
	c.evidence.unknown_since == fx.now
	c.evidence.max_unknown == "5m"
}

test_unknown_just_under_max_unknown_holds if {
	inp := _with_history([fx.record("2026-11-25T14:00:01Z", {_rule: "unknown"}), fx.record("2026-11-25T14:04:00Z", {_rule: "unknown"})])
	c := _check(inp, _rule)
	c.outcome == "no-go"
	c.evidence.unknown_since == "2026-11-25T14:00:01Z"
	_decision(inp) == "no-go"
}

test_unknown_exactly_max_unknown_holds if {
	inp := _with_history([fx.record("2026-11-25T14:00:00Z", {_rule: "unknown"})])
	_check(inp, _rule).outcome == "no-go"
}

test_unknown_just_over_max_unknown_rolls_back if {
	inp := _with_history([fx.record("2026-11-25T13:59:59Z", {_rule: "unknown"}), fx.record("2026-11-25T14:04:00Z", {_rule: "unknown"})])
	c := _check(inp, _rule)
	c.outcome == "rollback"
	c.evidence.unknown_since == "2026-11-25T13:59:59Z"
	_decision(inp) == "rollback"
}

test_unknown_run_broken_by_a_pass_restarts if {
	inp := _with_history([
		fx.record("2026-11-25T13:50:00Z", {_rule: "unknown"}),
		fx.record("2026-11-25T13:55:00Z", {_rule: "pass"}),
		fx.record("2026-11-25T14:00:30Z", {_rule: "unknown"}),
		fx.record("2026-11-25T14:04:00Z", {_rule: "unknown"}),
	])
	c := _check(inp, _rule)
	c.outcome == "no-go"
	c.evidence.unknown_since == "2026-11-25T14:00:30Z"
}

test_unknown_run_after_a_pass_can_still_exceed if {
	inp := _with_history([
		fx.record("2026-11-25T13:50:00Z", {_rule: "pass"}),
		fx.record("2026-11-25T13:58:00Z", {_rule: "unknown"}),
		fx.record("2026-11-25T14:04:00Z", {_rule: "unknown"}),
	])
	_check(inp, _rule).outcome == "rollback"
}

test_records_of_other_gates_do_not_break_the_run if {
	inp := _with_history([
		fx.record("2026-11-25T13:50:00Z", {_rule: "unknown"}),
		fx.record("2026-11-25T13:55:00Z", {"canary.error_rate_sustained": "pass"}),
		fx.record("2026-11-25T14:04:00Z", {_rule: "unknown"}),
	])
	c := _check(inp, _rule)
	c.evidence.unknown_since == "2026-11-25T13:50:00Z"
	c.outcome == "rollback"
}

test_unknown_newest_record_not_unknown_starts_now if {
	inp := _with_history([fx.record("2026-11-25T13:00:00Z", {_rule: "unknown"}), fx.record("2026-11-25T14:04:00Z", {_rule: "fail"})])
	c := _check(inp, _rule)
	c.outcome == "no-go"
	c.evidence.unknown_since == fx.now
}

test_unusable_history_is_ignored if {
	old := [fx.record("2026-11-25T13:00:00Z", {_rule: "unknown"})]
	every fields in [{"error": "archive unreadable"}, {"collected_at": "2026-10-01T00:00:00Z"}, {"source": "http"}] {
		inp := fx.set_fact(_with_history(old), "history", fields)
		_check(inp, _rule).outcome == "no-go"
	}
	_check(_with_history(old), _rule).outcome == "rollback"
}

test_history_with_unparseable_record_time_starts_now if {
	inp := _with_history([fx.record("yesterday", {_rule: "unknown"})])
	_check(inp, _rule).evidence.unknown_since == fx.now
}

test_max_unknown_missing_never_escalates if {
	inp := json.remove(_with_history([fx.record("2026-11-25T13:00:00Z", {_rule: "unknown"})]), ["runbook/window/max_unknown"])
	c := _check(inp, _rule)
	c.outcome == "no-go"
	c.evidence.max_unknown == null
}

test_unknown_before_cutover_never_rolls_back if {
	inp := object.union(_with_history([fx.record("2026-11-25T13:00:00Z", {_rule: "unknown"})]), {"cutover_at": "2026-11-25T14:10:00Z"})
	_check(inp, _rule).outcome == "no-go"
	_decision(inp) == "no-go"
}

# ---------------------------------------------------------------------------
# Before cutover a rollback outcome becomes no-go.

test_breach_before_cutover_is_no_go if {
	inp := object.union(_errors(fx.series("0.5")), {"cutover_at": "2026-11-25T14:06:00Z"})
	_check(inp, "window.error_rate_sustained").status == "fail"
	_check(inp, "window.error_rate_sustained").outcome == "no-go"
	_decision(inp) == "no-go"
}

test_breach_without_cutover_is_no_go if {
	inp := json.remove(_errors(fx.series("0.5")), ["cutover_at"])
	_check(inp, "window.error_rate_sustained").outcome == "no-go"
	_decision(inp) == "no-go"
}

test_breach_at_cutover_instant_rolls_back if {
	_decision(object.union(_errors(fx.series("0.5")), {"cutover_at": fx.now})) == "rollback"
}

# ---------------------------------------------------------------------------
# complete: cutover_at + 60m <= now and go

test_complete_at_the_end_of_the_window if {
	fx.gate("window", object.union(_in, {"cutover_at": "2026-11-25T13:05:00Z"})).complete == true
	fx.gate("window", object.union(_in, {"cutover_at": "2026-11-25T12:00:00Z"})).complete == true
}

test_not_complete_just_before_the_end if {
	fx.gate("window", object.union(_in, {"cutover_at": "2026-11-25T13:05:01Z"})).complete == false
}

test_not_complete_unless_go if {
	inp := object.union(_errors(fx.series("NaN")), {"cutover_at": "2026-11-25T13:00:00Z"})
	fx.gate("window", inp).decision == "no-go"
	fx.gate("window", inp).complete == false
}

test_not_complete_without_window_duration if {
	inp := json.remove(object.union(_in, {"cutover_at": "2026-11-25T13:00:00Z"}), ["runbook/window/duration"])
	fx.gate("window", inp).complete == false
}

# ---------------------------------------------------------------------------
# Integrations and integrity (shared library, exercised through this gate)

_items(items) := fx.set_fact(_in, "integrations", {"items": items})

_up(name) := fx.integration(name, true, ["1", "1", "1"])

# down(name, samples): probe failing, availability as given.
_down(name, samples) := object.union(fx.integration(name, false, []), {"availability": {"query": "q", "samples": samples}})

# A payments outage whose first failing sample is at `start`, still failing at now-15s.
_payments_down_since(start) := _items([
	_down("payments", [[start - 60, "1"], [start, "0"], [fx.now_s - 15, "0"]]),
	_up("search"), _up("email"),
])

_cutover_s := 1795612800 # 13:20:00

test_integration_outage_longer_than_max_unavailable_rolls_back if {
	inp := _payments_down_since(fx.now_s - 181)
	c := _check(inp, "window.integrations")
	c.status == "fail"
	c.outcome == "rollback"
	c.evidence.integrations.payments.down_since == "2026-11-25T14:01:59Z"
	c.evidence.integrations.payments.down_for_seconds == 181
	c.evidence.integrations.payments.max_unavailable == "3m"
	_decision(inp) == "rollback"
}

test_integration_outage_exactly_max_unavailable_holds if {
	inp := _payments_down_since(fx.now_s - 180)
	c := _check(inp, "window.integrations")
	c.status == "fail"
	c.outcome == "no-go"
	_decision(inp) == "no-go"
}

test_integration_outage_shorter_than_max_unavailable_holds if {
	c := _check(_payments_down_since(fx.now_s - 179), "window.integrations")
	c.outcome == "no-go"
	c.evidence.integrations.payments.down_for_seconds == 179
}

test_integration_outage_before_cutover_warns_and_holds if {
	inp := _payments_down_since(_cutover_s - 600)
	c := _check(inp, "window.integrations")
	c.status == "fail"
	c.outcome == "no-go"
	_decision(inp) == "no-go"
	some w in fx.warnings_of("window", inp, "window.integrations")
	contains(w, "before cutover")
}

test_integration_outage_starting_at_cutover_counts_since_cutover if {
	_check(_payments_down_since(_cutover_s), "window.integrations").outcome == "rollback"
}

test_integration_outage_start_unknown_holds if {
	no_samples := _items([_down("payments", []), _up("search"), _up("email")])
	recovered := _items([_down("payments", [[fx.now_s - 120, "0"], [fx.now_s - 60, "1"]]), _up("search"), _up("email")])
	nan_last := _items([_down("payments", [[fx.now_s - 600, "0"], [fx.now_s - 60, "NaN"]]), _up("search"), _up("email")])
	every inp in [no_samples, recovered] {
		c := _check(inp, "window.integrations")
		c.status == "fail"
		c.outcome == "no-go"
		c.evidence.integrations.payments.down_since == null
	}
	_check(nan_last, "window.integrations").outcome == "rollback"
}

test_integration_whole_series_down_starts_at_first_sample if {
	inp := _items([_down("payments", [[fx.now_s - 600, "0"], [fx.now_s - 300, "0"]]), _up("search"), _up("email")])
	_check(inp, "window.integrations").evidence.integrations.payments.down_since == "2026-11-25T13:55:00Z"
}

test_integration_probe_error_is_down if {
	broken := object.union(_up("payments"), {"probe": {"error": "tls handshake timeout"}})
	inp := _items([broken, _up("search"), _up("email")])
	_check(inp, "window.integrations").status == "fail"
}

test_noncritical_integration_down_only_warns if {
	inp := _items([_up("payments"), _up("search"), _down("email", [[fx.now_s - 3600, "0"]])])
	_check(inp, "window.integrations").status == "pass"
	_decision(inp) == "go"
	some w in fx.warnings_of("window", inp, "window.integrations")
	contains(w, "non-critical integration email is down")
}

test_critical_integration_absent_is_unknown if {
	inp := _items([_up("search"), _up("email")])
	c := _check(inp, "window.integrations")
	c.status == "unknown"
	contains(c.message, "payments: no probe result")
	_decision(inp) == "no-go"
}

test_noncritical_integration_absent_warns if {
	inp := _items([_up("payments"), _up("search")])
	_check(inp, "window.integrations").status == "pass"
	some w in fx.warnings_of("window", inp, "window.integrations")
	contains(w, "email has no probe result")
}

test_integration_without_critical_flag_is_critical if {
	inp := fx.replace_path(_items([_up("payments"), _up("search"), _down("email", [])]), "runbook/criteria/integrations/2", {"name": "email", "max_unavailable": "15m"})
	_check(inp, "window.integrations").status == "fail"
}

test_integration_without_max_unavailable_holds if {
	inp := json.remove(_payments_down_since(fx.now_s - 1800), ["runbook/criteria/integrations/0/max_unavailable"])
	c := _check(inp, "window.integrations")
	c.outcome == "no-go"
	contains(c.message, "not a duration")
}

test_integration_fold_worst_wins if {
	inp := _items([_down("payments", [[fx.now_s - 1800, "0"]]), _down("search", []), _up("email")])
	c := _check(inp, "window.integrations")
	c.outcome == "rollback"
	contains(c.message, "search is down and the start of its outage is unknown")
}

test_integrations_unknown_beside_pass if {
	inp := fx.with_path(_in, "runbook/criteria/integrations/-", {"name": "inventory", "critical": true, "max_unavailable": "1m"})
	_check(inp, "window.integrations").status == "unknown"
}

test_no_integrations_declared_passes if {
	inp := json.remove(fx.with_path(_in, "runbook/criteria/integrations", []), ["facts/integrations"])
	_check(inp, "window.integrations").status == "pass"
	_decision(inp) == "go"
}

test_integrations_malformed_are_unknown if {
	_check(fx.with_path(_in, "runbook/criteria/integrations", "payments"), "window.integrations").status == "unknown"
	_check(fx.replace_path(_in, "runbook/criteria/integrations/0", {"critical": true}), "window.integrations").status == "unknown"
	_check(_items("none"), "window.integrations").status == "unknown"
}

_integrity(current, baseline) := fx.set_fact(fx.set_fact(_in, "integrity", {"checks": current}), "integrity_baseline", {"checks": baseline})

_counts(orphans, stock) := [{"name": "orphaned_order_items", "violations": orphans}, {"name": "negative_stock", "violations": stock}]

test_integrity_existing_violations_warn if {
	c := _check(_in, "window.integrity")
	c.status == "pass"
	c.evidence.existing == ["negative_stock"]
	fx.warnings_of("window", _in, "window.integrity") == ["integrity check negative_stock has 2 violations, already present in the pre-cutover baseline (2)"]
}

test_integrity_new_violation_rolls_back if {
	inp := _integrity(_counts(0, 3), _counts(0, 2))
	c := _check(inp, "window.integrity")
	c.status == "fail"
	c.outcome == "rollback"
	c.evidence.new == ["negative_stock"]
	c.evidence.checks.negative_stock == {"violations": 3, "baseline": 2}
	_decision(inp) == "rollback"
}

test_integrity_fewer_violations_pass if {
	_check(_integrity(_counts(0, 1), _counts(0, 2)), "window.integrity").status == "pass"
}

test_integrity_name_absent_from_baseline if {
	_check(_integrity(_counts(1, 2), [{"name": "negative_stock", "violations": 2}]), "window.integrity").outcome == "rollback"
	_check(_integrity(_counts(0, 2), [{"name": "negative_stock", "violations": 2}]), "window.integrity").status == "pass"
}

test_integrity_rollback_on_new_false_holds if {
	inp := fx.with_path(_integrity(_counts(0, 3), _counts(0, 2)), "runbook/criteria/data_integrity/rollback_on_new", false)
	c := _check(inp, "window.integrity")
	c.status == "fail"
	c.outcome == "no-go"
}

test_integrity_dirty_migration_holds if {
	inp := fx.set_fact(_in, "integrity", {"migrations": {"tool": "golang-migrate", "version": 43, "dirty": true}})
	c := _check(inp, "window.integrity")
	c.status == "fail"
	c.outcome == "no-go"
}

test_integrity_dirty_unknown_is_unknown if {
	_check(fx.set_fact(_in, "integrity", {"migrations": {"dirty": "no"}}), "window.integrity").status == "unknown"
}

test_integrity_non_numeric_counts_are_unknown if {
	_check(_integrity(_counts(0, "2"), _counts(0, 2)), "window.integrity").status == "unknown"
	_check(_integrity(_counts(0, 2), _counts(0, "NaN")), "window.integrity").status == "unknown"
	_check(_integrity(_counts(0, 2), _counts(null, 2)), "window.integrity").status == "unknown"
}

test_integrity_unreported_check_is_unknown if {
	inp := _integrity([{"name": "negative_stock", "violations": 2}], _counts(0, 2))
	c := _check(inp, "window.integrity")
	c.status == "unknown"
	contains(c.message, "orphaned_order_items")
}

test_integrity_checks_not_an_array_is_unknown if {
	_check(_integrity("none", _counts(0, 2)), "window.integrity").status == "unknown"
	_check(_integrity(_counts(0, 2), "none"), "window.integrity").status == "unknown"
}

test_integrity_missing_database_config_is_unknown if {
	_check(json.remove(_in, ["runbook/environments/production/database"]), "window.integrity").status == "unknown"
}

test_integrity_clean_run if {
	inp := _integrity(_counts(0, 0), _counts(0, 0))
	c := _check(inp, "window.integrity")
	c.status == "pass"
	c.message == "No new data-integrity violations: no violations, migrations clean"
	fx.warnings_of("window", inp, "window.integrity") == []
}

test_integrity_malformed_baseline_entry_is_unknown if {
	_check(_integrity(_counts(0, 2), array.concat(_counts(0, 2), [{"name": "stale_carts", "violations": "n/a"}])), "window.integrity").status == "unknown"
	_check(_integrity(_counts(0, 2), array.concat(_counts(0, 2), ["garbage"])), "window.integrity").status == "unknown"
}

test_integrity_runbook_check_without_name_is_unknown if {
	inp := fx.with_path(_in, "runbook/environments/production/database/checks/-", {"sql": "SELECT 1"})
	_check(inp, "window.integrity").status == "unknown"
}

test_messages_say_when_a_requirement_is_not_met if {
	inp := _integrity(_counts(37, 0), _counts(0, 0))
	startswith(_check(inp, "window.integrity").message, "No new data-integrity violations (not met): ")
	startswith(_check(_unknown_rate, _rule).message, "Error rate within its maximum (sustained window) (unknown): ")
}

# A runbook that tracks no migrations: the collector reports tool "none" and no dirty flag.
test_integrity_without_migrations_is_clean if {
	base := fx.with_path(_in, "runbook/environments/production/database/migrations", "none")
	inp := fx.with_path(base, "facts/integrity/migrations", {"tool": "none"})
	_check(inp, "window.integrity").status == "pass"
}

test_integrity_tool_none_but_runbook_tracks_migrations_is_unknown if {
	inp := fx.with_path(_in, "facts/integrity/migrations", {"tool": "none"})
	_check(inp, "window.integrity").status == "unknown"
}
