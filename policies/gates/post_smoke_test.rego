package gatekeeper.gates.post_smoke_test

import data.gatekeeper.test.fixtures as fx

_in := fx.inputs.post_smoke

_check(inp, rule) := fx.check("post_smoke", inp, rule)

_status(inp, rule) := _check(inp, rule).status

_decision(inp) := fx.decision("post_smoke", inp)

test_passing_input_goes if {
	_decision(_in) == "go"
}

test_rule_ids if {
	fx.builtin_rules(fx.gate("post_smoke", _in).checks, "post_smoke") == {
		"launch.gate", "runbook.signed_off", "launch.cutover_recorded",
		"post_smoke.critical_steps", "post_smoke.budget", "post_smoke.after_cutover",
		"post_smoke.integrations", "post_smoke.traffic", "post_smoke.integrity",
	}
}

read_paths := [
	"gate", "now", "environment", "cutover_at",
	"facts/signoff", "facts/signoff/source", "facts/signoff/collected_at", "facts/signoff/digest",
	"facts/smoke", "facts/smoke/source", "facts/smoke/collected_at", "facts/smoke/started_at",
	"facts/smoke/finished_at", "facts/smoke/tests", "facts/smoke/errors",
	"facts/smoke/tests/0", "facts/smoke/tests/0/name", "facts/smoke/tests/0/status",
	"facts/smoke/tests/1", "facts/smoke/tests/1/name", "facts/smoke/tests/1/status",
	"facts/smoke/tests/2/status", "facts/smoke/tests/3/status", "facts/smoke/tests/2/name", "facts/smoke/tests/4/name",
	"facts/smoke/tests/4/status",
	"facts/integrations", "facts/integrations/source", "facts/integrations/collected_at", "facts/integrations/items",
	"facts/integrations/items/0/name", "facts/integrations/items/0/probe/ok",
	"facts/integrations/items/1/name", "facts/integrations/items/1/probe/ok",
	"facts/traffic", "facts/traffic/source", "facts/traffic/collected_at", "facts/traffic/value",
	"facts/integrity", "facts/integrity/source", "facts/integrity/collected_at", "facts/integrity/checks",
	"facts/integrity/checks/0/violations", "facts/integrity/checks/1/violations", "facts/integrity/migrations/dirty",
	"facts/integrity_baseline", "facts/integrity_baseline/source", "facts/integrity_baseline/collected_at",
	"facts/integrity_baseline/checks", "facts/integrity_baseline/checks/0/name", "facts/integrity_baseline/checks/1/violations",
	"runbook/signoff/by", "runbook/signoff/digest",
	"runbook/smoke", "runbook/smoke/critical", "runbook/smoke/budget",
	"runbook/criteria/integrations", "runbook/criteria/integrations/0/name", "runbook/criteria/integrations/1/name",
	"runbook/environments/production/max_age/gatekeeper", "runbook/environments/production/max_age/smoke",
	"runbook/environments/production/max_age/http", "runbook/environments/production/max_age/prometheus",
	"runbook/environments/production/max_age/sql", "runbook/environments/production/max_age/archive",
	"runbook/environments/production/database/checks",
]

test_mutation_removing_any_read_path_never_goes if {
	survivors := fx.removal_survivors("post_smoke", _in, read_paths)
	print("paths whose removal still goes:", survivors)
	survivors == []
}

# Not decided on: provenance besides source/collected_at; test messages, durations and
# suites (the critical entries here match by name); probe details; the non-critical
# integration; availability series of integrations that are up; integrity samples and
# migration tool/version; the baseline's own migration state.
not_decisive := [
	`^facts/[a-z_]+/(duration_ms|error|query|path|url)$`,
	`^facts/smoke/tests/[0-9]+/(message|duration_ms|suite)$`,
	`^facts/integrations/items/[0-9]+/availability/`,
	`^facts/integrations/items/[0-9]+/probe/(at|error|status_code)$`,
	`^facts/integrations/items/2/`,
	`^facts/(integrity|integrity_baseline)/checks/[0-9]+/sample`,
	`^facts/(integrity|integrity_baseline)/migrations/(tool|version)$`,
	`^facts/integrity_baseline/migrations/dirty$`,
]

test_mutation_every_decisive_fact_leaf if {
	survivors := fx.removal_survivors("post_smoke", _in, fx.leaf_paths(_in.facts, "facts"))
	unexplained := [p | some p in survivors; not _matches_any(p, not_decisive)]
	print("fact leaves whose removal still goes:", unexplained)
	unexplained == []
}

_matches_any(p, patterns) if {
	some re in patterns
	regex.match(re, p)
}

# ---------------------------------------------------------------------------
# critical steps

_tests(list) := fx.set_fact(_in, "smoke", {"tests": list})

_t(suite, name, status) := fx.smoke_test(suite, name, status)

_base_tests := _in.facts.smoke.tests

_with_test(i, status) := _tests([t |
	some j, orig in _base_tests
	t := _pick(i, j, orig, status)
])

_pick(i, i, orig, status) := object.union(orig, {"status": status})

_pick(i, j, orig, _) := orig if i != j

test_critical_failure_rolls_back if {
	inp := _with_test(2, "failed")
	c := _check(inp, "post_smoke.critical_steps")
	c.status == "fail"
	c.outcome == "rollback"
	contains(c.message, "checkout > checkout pays with card")
	c.evidence.critical["/^checkout /"].status == "fail"
	_decision(inp) == "rollback"
}

test_critical_exact_name_failure_rolls_back if {
	_check(_with_test(0, "failed"), "post_smoke.critical_steps").outcome == "rollback"
}

test_critical_flaky_passes_with_warning if {
	inp := _with_test(3, "flaky")
	_status(inp, "post_smoke.critical_steps") == "pass"
	fx.warnings_of("post_smoke", inp, "post_smoke.critical_steps") == ["critical smoke step checkout > checkout applies coupon is flaky"]
	_decision(inp) == "go"
}

test_critical_skipped_is_unknown if {
	c := _check(_with_test(1, "skipped"), "post_smoke.critical_steps")
	c.status == "unknown"
	contains(c.message, "skipped")
}

test_critical_odd_status_is_unknown if {
	_status(_with_test(1, "PASSED"), "post_smoke.critical_steps") == "unknown"
	_status(_with_test(1, null), "post_smoke.critical_steps") == "unknown"
}

test_critical_without_matching_test_is_unknown if {
	inp := _tests([t | some t in _base_tests; t.name != "dashboard loads for test user"])
	c := _check(inp, "post_smoke.critical_steps")
	c.status == "unknown"
	contains(c.message, "no test matches critical dashboard loads for test user")
}

test_critical_regex_against_suite_and_name if {
	inp := fx.replace_path(_in, "runbook/smoke/critical/2", "/^checkout > .*card$/")
	_status(inp, "post_smoke.critical_steps") == "pass"
	_status(fx.replace_path(_in, "runbook/smoke/critical/2", "/^payments > /"), "post_smoke.critical_steps") == "unknown"
}

test_critical_exact_qualified_name if {
	_status(fx.replace_path(_in, "runbook/smoke/critical/0", "home > homepage loads with 200"), "post_smoke.critical_steps") == "pass"
	_status(fx.replace_path(_in, "runbook/smoke/critical/0", "homepage loads"), "post_smoke.critical_steps") == "unknown"
}

test_critical_invalid_regex_is_unknown if {
	c := _check(fx.replace_path(_in, "runbook/smoke/critical/2", "/checkout (/"), "post_smoke.critical_steps")
	c.status == "unknown"
	contains(c.message, "not a valid regular expression")
}

test_failure_beats_unknown if {
	inp := fx.replace_path(_with_test(0, "failed"), "runbook/smoke/critical/1", "no such test")
	_check(inp, "post_smoke.critical_steps").outcome == "rollback"
}

test_noncritical_failure_only_warns if {
	inp := _with_test(4, "failed")
	_status(inp, "post_smoke.critical_steps") == "pass"
	_decision(inp) == "go"
	some w in fx.warnings_of("post_smoke", inp, "post_smoke.critical_steps")
	contains(w, "non-critical smoke step account > wishlist syncs failed")
}

test_smoke_errors_and_empty_tests_are_unknown if {
	_status(fx.set_fact(_in, "smoke", {"errors": ["reports/smoke-junit.xml: no such file"]}), "post_smoke.critical_steps") == "unknown"
	_status(fx.set_fact(_in, "smoke", {"errors": null}), "post_smoke.critical_steps") == "unknown"
	_status(_tests([]), "post_smoke.critical_steps") == "unknown"
	_status(_tests({}), "post_smoke.critical_steps") == "unknown"
	_status(fx.with_path(_in, "runbook/smoke/critical", "homepage"), "post_smoke.critical_steps") == "unknown"
}

test_no_critical_entries_pass_on_a_clean_run if {
	_status(fx.with_path(_in, "runbook/smoke/critical", []), "post_smoke.critical_steps") == "pass"
}

test_failed_critical_before_cutover_is_no_go if {
	inp := object.union(_with_test(2, "failed"), {"cutover_at": "2026-11-25T14:30:00Z"})
	_check(inp, "post_smoke.critical_steps").outcome == "no-go"
	_decision(inp) == "no-go"
}

# ---------------------------------------------------------------------------
# budget: 8m

_run(started, finished) := fx.set_fact(_in, "smoke", {"started_at": started, "finished_at": finished})

test_budget_sides if {
	_status(_run("2026-11-25T13:50:00Z", "2026-11-25T13:57:59Z"), "post_smoke.budget") == "pass"
	_status(_run("2026-11-25T13:50:00Z", "2026-11-25T13:58:00Z"), "post_smoke.budget") == "pass"
	c := _check(_run("2026-11-25T13:50:00Z", "2026-11-25T13:58:01Z"), "post_smoke.budget")
	c.status == "fail"
	c.outcome == "no-go"
	c.evidence.observed_seconds == 481
	c.evidence.budget == "8m"
}

test_budget_bad_times_are_unknown if {
	_status(_run("2026-11-25T13:50:00Z", "2026-11-25T13:49:59Z"), "post_smoke.budget") == "unknown"
	_status(_run("2026-11-25T13:50:00Z", "soon"), "post_smoke.budget") == "unknown"
	_status(_run(null, "2026-11-25T13:55:00Z"), "post_smoke.budget") == "unknown"
	_status(fx.with_path(_in, "runbook/smoke/budget", 480), "post_smoke.budget") == "unknown"
}

# ---------------------------------------------------------------------------
# after cutover (13:20:00)

test_after_cutover_sides if {
	_status(_run("2026-11-25T13:20:00Z", "2026-11-25T13:25:00Z"), "post_smoke.after_cutover") == "pass"
	c := _check(_run("2026-11-25T13:19:59Z", "2026-11-25T13:25:00Z"), "post_smoke.after_cutover")
	c.status == "fail"
	contains(c.message, "predate cutover")
	_status(_run("2026-11-25T13:20:01Z", "2026-11-25T13:25:00Z"), "post_smoke.after_cutover") == "pass"
	_status(_run("13:20", "2026-11-25T13:25:00Z"), "post_smoke.after_cutover") == "unknown"
}

# ---------------------------------------------------------------------------
# traffic

_traffic(v) := fx.set_fact(_in, "traffic", {"value": v})

test_traffic_sides if {
	_status(_traffic("0"), "post_smoke.traffic") == "fail"
	_status(_traffic("-0.5"), "post_smoke.traffic") == "fail"
	_status(_traffic("0.0001"), "post_smoke.traffic") == "pass"
	_status(_traffic(3), "post_smoke.traffic") == "pass"
	_status(_traffic("NaN"), "post_smoke.traffic") == "unknown"
	_status(_traffic("+Inf"), "post_smoke.traffic") == "unknown"
	_status(_traffic(""), "post_smoke.traffic") == "unknown"
}

test_traffic_evidence if {
	_check(_traffic("0"), "post_smoke.traffic").evidence == {"observed": 0, "threshold": 0}
}

# ---------------------------------------------------------------------------
# integrations at post-smoke are measured from cutover too

test_long_integration_outage_rolls_back if {
	down := object.union(fx.integration("search", false, []), {"availability": {"query": "q", "samples": [[fx.now_s - 400, "0"], [fx.now_s - 30, "0"]]}})
	inp := fx.set_fact(_in, "integrations", {"items": [fx.integration("payments", true, ["1"]), down, fx.integration("email", true, ["1"])]})
	_check(inp, "post_smoke.integrations").outcome == "rollback"
}

test_integration_outage_without_cutover_holds if {
	down := object.union(fx.integration("search", false, []), {"availability": {"query": "q", "samples": [[fx.now_s - 400, "0"]]}})
	inp := json.remove(fx.set_fact(_in, "integrations", {"items": [fx.integration("payments", true, ["1"]), down, fx.integration("email", true, ["1"])]}), ["cutover_at"])
	c := _check(inp, "post_smoke.integrations")
	c.outcome == "no-go"
	contains(c.message, "input.cutover_at is missing")
}

test_malformed_test_entries_are_unknown if {
	inp := _tests(array.concat(_base_tests, ["checkout pays with card: passed", {"name": "checkout refunds"}]))
	c := _check(inp, "post_smoke.critical_steps")
	c.status == "unknown"
	contains(c.message, "malformed entries")
}

# A built-in HTTP check marked critical is a critical step under its own name.
_with_check(critical, status) := fx.set_fact(
	fx.with_path(_in, "runbook/smoke/checks", [{"name": "homepage over http", "url": "/", "critical": critical}]),
	"smoke", {"tests": array.concat(_in.facts.smoke.tests, [{"name": "homepage over http", "suite": "gatekeeper http checks", "status": status, "duration_ms": 12}])},
)

test_critical_http_check_failing_rolls_back if {
	c := _check(_with_check(true, "failed"), "post_smoke.critical_steps")
	c.status == "fail"
	c.outcome == "rollback"
}

test_non_critical_http_check_failing_warns if {
	inp := _with_check(false, "failed")
	_check(inp, "post_smoke.critical_steps").status == "pass"
	count([w | some w in fx.gate("post_smoke", inp).warnings; contains(w.message, "homepage over http")]) == 1
}

test_critical_http_check_passing_passes if {
	_check(_with_check(true, "passed"), "post_smoke.critical_steps").status == "pass"
}
