package gatekeeper.lib_test

import data.gatekeeper.lib
import data.gatekeeper.test.fixtures as fx

_in := fx.inputs.window

# ---------------------------------------------------------------------------
# Parsing

test_time_ns if {
	lib.time_ns("2026-11-25T14:05:00Z") == 1795615500000000000
	lib.time_ns("2026-11-25T15:05:00+01:00") == 1795615500000000000
	lib.time_ns("2026-11-25T14:05:00.5Z") == 1795615500500000000
	not lib.time_ns("2026-11-25 14:05:00")
	not lib.time_ns("2026-11-25")
	not lib.time_ns(1795615500)
	not lib.time_ns(null)
}

test_duration_ns if {
	lib.duration_ns("400ms") == 400000000
	lib.duration_ns("1h30m") == 5400000000000
	lib.duration_ns("0") == 0
	lib.duration_ns("1.5s") == 1500000000
	not lib.duration_ns("5 minutes")
	not lib.duration_ns("-5m")
	not lib.duration_ns("1d")
	not lib.duration_ns(300)
	not lib.duration_ns("")
}

test_rfc3339 if {
	lib.rfc3339(1795615500000000000) == "2026-11-25T14:05:00Z"
}

test_num if {
	lib.num("0.004") == 0.004
	lib.num("12") == 12
	lib.num("-1.5e-3") == -0.0015
	lib.num(7) == 7
	not lib.num("NaN")
	not lib.num("+Inf")
	not lib.num("")
	not lib.num("0x10")
	not lib.num(null)
	not lib.num(true)
}

test_non_empty_string if {
	lib.non_empty_string("a")
	not lib.non_empty_string(" \t")
	not lib.non_empty_string(1)
}

test_commit_match if {
	lib.commit_match(fx.release_commit, fx.release_commit)
	lib.commit_match("86f7e43", fx.release_commit)
	lib.commit_match(fx.release_commit, "86F7E43")
	not lib.commit_match("86f7e4", fx.release_commit)
	not lib.commit_match(fx.target_commit, fx.release_commit)
	not lib.commit_match("", fx.release_commit)
	not lib.commit_match("zzzzzzz", "zzzzzzz")
}

test_image_digest if {
	lib.image_digest(fx.release_image) == "sha256:d7bdd545f09d8a73c2b990337c8211d708a04ccd9748627685e4fc79cc038039"
	not lib.image_digest("registry.example.com/shop/web:2.4.0")
	not lib.image_digest("registry.example.com/shop/web@sha256:abc")
	not lib.image_digest("a@b@sha256:d7bdd545f09d8a73c2b990337c8211d708a04ccd9748627685e4fc79cc038039")
	not lib.image_digest(null)
}

# ---------------------------------------------------------------------------
# Fact usability (signoff: source gatekeeper, max_age 1m)

_signoff(fields) := fx.set_fact(_in, "signoff", fields)

test_usable_fresh if {
	lib.usable("signoff") with input as _in
}

test_usable_boundaries if {
	lib.usable("signoff") with input as _signoff({"collected_at": "2026-11-25T14:04:00Z"})
	lib.usable("signoff") with input as _signoff({"collected_at": fx.now})
	not lib.usable("signoff") with input as _signoff({"collected_at": "2026-11-25T14:03:59Z"})
	not lib.usable("signoff") with input as _signoff({"collected_at": "2026-11-25T14:05:01Z"})
}

test_problem_messages if {
	contains(lib.problem("signoff"), "is stale: collected_at 2026-11-25T14:03:59Z is older than max_age.gatekeeper (1m)") with input as _signoff({"collected_at": "2026-11-25T14:03:59Z"})
	contains(lib.problem("signoff"), "is after now") with input as _signoff({"collected_at": "2026-11-25T14:05:01Z"})
	contains(lib.problem("signoff"), "collection failed: timeout") with input as _signoff({"error": "timeout"})
	contains(lib.problem("signoff"), "is not an RFC 3339 time") with input as _signoff({"collected_at": "now"})
	contains(lib.problem("signoff"), "source is prometheus, expected gatekeeper") with input as _signoff({"source": "prometheus"})
	lib.problem("signoff") == "fact signoff is missing" with input as json.remove(_in, ["facts/signoff"])
	lib.problem("signoff") == "fact signoff is not an object" with input as fx.with_path(_in, "facts/signoff", "sha256:x")
	contains(lib.problem("signoff"), "max_age.gatekeeper is missing") with input as json.remove(_in, ["runbook/environments/production/max_age/gatekeeper"])
	contains(lib.problem("signoff"), "input.now") with input as object.union(_in, {"now": "today"})
}

test_error_field_values if {
	lib.usable("signoff") with input as _signoff({"error": null})
	lib.usable("signoff") with input as json.remove(_in, ["facts/signoff/error"])
	not lib.usable("signoff") with input as _signoff({"error": {"code": 500}})
	not lib.usable("signoff") with input as _signoff({"error": false})
}

test_max_age_must_be_a_duration if {
	not lib.usable("signoff") with input as fx.with_path(_in, "runbook/environments/production/max_age/gatekeeper", 60)
}

test_unknown_fact_names_are_never_usable if {
	not lib.usable("errorrate") with input as fx.with_path(_in, "facts/errorrate", _in.facts.error_rate)
}

test_custom_facts if {
	custom := {"source": "http", "url": "https://example.com", "collected_at": "2026-11-25T14:04:30Z", "error": "", "ok": true}
	inp := fx.with_path(_in, "facts/custom", {"conversion": custom})
	lib.custom_usable("conversion") with input as inp
	not lib.custom_usable("other") with input as inp
	lib.custom_problem("other") == "fact custom.other is missing" with input as inp
	not lib.custom_usable("conversion") with input as fx.with_path(_in, "facts/custom", {"conversion": object.union(custom, {"collected_at": "2026-11-25T14:00:00Z"})})
}

# ---------------------------------------------------------------------------
# Folding findings into checks

_f(rule, status, severity) := {"rule": rule, "status": status, "severity": severity, "message": rule, "evidence": {}}

test_decision_ordering if {
	lib.decision([]) == "no-go"
	lib.decision([{"outcome": "go"}]) == "go"
	lib.decision([{"outcome": "go"}, {"outcome": "no-go"}]) == "no-go"
	lib.decision([{"outcome": "no-go"}, {"outcome": "rollback"}, {"outcome": "go"}]) == "rollback"
	lib.decision([{"outcome": "maybe"}]) == "no-go"
}

test_outcomes_after_cutover if {
	cs := lib.checks({_f("a", "pass", "no-go"), _f("b", "fail", "rollback"), _f("c", "fail", "no-go"), _f("d", "unknown", "rollback")}, set()) with input as _in
	[c.outcome | some c in cs] == ["go", "rollback", "no-go", "no-go"]
}

test_outcomes_before_cutover if {
	inp := object.union(_in, {"cutover_at": "2026-11-25T14:05:01Z"})
	cs := lib.checks({_f("b", "fail", "rollback")}, set()) with input as inp
	cs[0].outcome == "no-go"
}

test_malformed_findings_fail_closed if {
	cs := lib.checks({_f("a", "ok", "no-go"), _f("b", "fail", "panic"), {"status": "pass"}, "pass"}, set()) with input as _in
	{[c.rule, c.status, c.outcome] | some c in cs} == {
		["a", "unknown", "no-go"], ["b", "fail", "no-go"],
		["invalid.finding", "pass", "go"], ["invalid.finding", "unknown", "no-go"],
	}
}

test_finding_evidence_and_message_normalised if {
	cs := lib.checks({{"rule": "a", "status": "pass", "message": 42, "evidence": [1]}}, set()) with input as _in
	cs[0].message == "42"
	cs[0].evidence == {"value": [1]}
}

test_required_without_finding_is_unknown if {
	cs := lib.checks({_f("a", "pass", "no-go")}, {"a", "b"}) with input as _in
	[c.rule | some c in cs] == ["a", "b"]
	cs[1].status == "unknown"
	contains(cs[1].message, "b: required rule produced no finding")
	lib.decision(cs) == "no-go"
}

test_checks_sorted_and_deterministic if {
	cs := lib.checks({_f("z.rule", "pass", "no-go"), _f("a.rule", "pass", "no-go"), _f("m.rule", "pass", "no-go")}, set()) with input as _in
	[c.rule | some c in cs] == ["a.rule", "m.rule", "z.rule"]
}

test_warnings_sorted_by_rule_then_message if {
	ws := lib.warnings({
		{"rule": "b", "message": "y", "evidence": {}},
		{"rule": "a", "message": "z", "evidence": {}},
		{"rule": "b", "message": "x", "evidence": {}},
		{"message": "no rule"},
	})
	[[w.rule, w.message] | some w in ws] == [["a", "z"], ["b", "x"], ["b", "y"], ["invalid.finding", "no rule"]]
	ws[3].evidence == {}
}

test_unknown_evidence_only_after_cutover if {
	after := lib.checks({_f("a", "unknown", "no-go")}, set()) with input as _in
	after[0].evidence == {"unknown_since": fx.now, "max_unknown": "5m"}
	before := lib.checks({_f("a", "unknown", "no-go")}, set()) with input as json.remove(_in, ["cutover_at"])
	before[0].evidence == {}
}

# ---------------------------------------------------------------------------
# Sustained window arithmetic

test_sustained_window if {
	w := lib.sustained_window(0) with input as _in
	w == {"start": 1795615170000000000, "end": 1795615470000000000, "expected": 21}
	clipped := lib.sustained_window(1795615320000000000) with input as _in
	clipped.start == 1795615320000000000
	clipped.expected == 21
}

test_sustained_window_uneven_step if {
	w := lib.sustained_window(0) with input as fx.with_path(_in, "runbook/criteria/step", "40s")
	w.expected == 8
}

test_window_problems if {
	lib.sustained("error_rate", 0.02, 0).reason == "runbook criteria.step is missing or not a positive duration" with input as json.remove(_in, ["runbook/criteria/step"])
	lib.sustained("error_rate", 0.02, 0).reason == "runbook criteria.scrape_lag is missing or not a duration" with input as json.remove(_in, ["runbook/criteria/scrape_lag"])
	lib.sustained("error_rate", 0.02, 0).reason == "runbook criteria.error_rate.sustained is missing or not a positive duration" with input as fx.with_path(_in, "runbook/criteria/error_rate/sustained", "0s")
}

test_point if {
	lib.point([1795615170, "0.5"]) == {"t": 1795615170000000000, "inf": 0, "v": 0.5}
	lib.point([1795615170.5, "+Inf"]) == {"t": 1795615170500000000, "inf": 1, "v": "+Inf"}
	lib.point([1795615170, "-Inf"]).inf == -1
	not lib.point([1795615170, "NaN"])
	not lib.point([1795615170])
	not lib.point(["1795615170", "1"])
}

test_latency_threshold_fractional_tolerance if {
	lib.latency_threshold == 0.45 with input as fx.with_path(_in, "runbook/criteria/latency_p95/tolerance_pct", 12.5)
	not lib.latency_threshold with input as fx.with_path(_in, "runbook/criteria/latency_p95/tolerance_pct", -1)
}
