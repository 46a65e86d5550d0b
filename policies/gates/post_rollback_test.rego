package gatekeeper.gates.post_rollback_test

import data.gatekeeper.test.fixtures as fx

_in := fx.inputs.post_rollback

_check(inp, rule) := fx.check("post_rollback", inp, rule)

_status(inp, rule) := _check(inp, rule).status

_decision(inp) := fx.decision("post_rollback", inp)

test_passing_input_goes if {
	_decision(_in) == "go"
}

test_rule_ids if {
	fx.builtin_rules(fx.gate("post_rollback", _in).checks, "post_rollback") == {
		"launch.gate", "runbook.signed_off", "launch.cutover_recorded",
		"post_rollback.version", "post_rollback.health",
	}
}

read_paths := [
	"gate", "now", "environment", "cutover_at",
	"facts/signoff", "facts/signoff/source", "facts/signoff/collected_at", "facts/signoff/digest",
	"facts/versions", "facts/versions/source", "facts/versions/collected_at", "facts/versions/instances",
	"facts/versions/instances/0/commit", "facts/versions/instances/1/status_code", "facts/versions/instances/2",
	"facts/health", "facts/health/source", "facts/health/collected_at", "facts/health/instances",
	"facts/health/instances/0/status", "facts/health/instances/1",
	"runbook/signoff/by", "runbook/signoff/digest",
	"runbook/rollback_target", "runbook/rollback_target/commit", "runbook/rollback_target/image",
	"runbook/rollback_target/version",
	"runbook/environments/production/cohorts/old", "runbook/environments/production/cohorts/old/replicas",
	"runbook/environments/production/max_age/gatekeeper", "runbook/environments/production/max_age/http",
]

test_mutation_removing_any_read_path_never_goes if {
	survivors := fx.removal_survivors("post_rollback", _in, read_paths)
	print("paths whose removal still goes:", survivors)
	survivors == []
}

# As post-deploy (see post_deploy_test.not_decisive).
not_decisive := [
	`^facts/[a-z_]+/(duration_ms|error|query|path|url)$`,
	`^facts/(versions|health)/instances/[0-9]+/(name|url|error)$`,
	`^facts/versions/instances/[0-9]+/(image|version)$`,
	`^facts/health/instances/[0-9]+/status_code$`,
]

test_mutation_every_decisive_fact_leaf if {
	survivors := fx.removal_survivors("post_rollback", _in, fx.leaf_paths(_in.facts, "facts"))
	unexplained := [p | some p in survivors; not _matches_any(p, not_decisive)]
	print("fact leaves whose removal still goes:", unexplained)
	unexplained == []
}

_matches_any(p, patterns) if {
	some re in patterns
	regex.match(re, p)
}

_instances(list) := fx.set_fact(_in, "versions", {"instances": list})

_old(i) := fx.instance(sprintf("web-stable-%d", [i]), fx.target_commit, fx.target_image, "2.3.7")

_new(i) := fx.instance(sprintf("web-stable-%d", [i]), fx.release_commit, fx.release_image, "2.4.0")

test_every_instance_must_serve_the_target if {
	c := _check(_instances([_old(0), _old(1), _old(2), _new(3)]), "post_rollback.version")
	c.status == "fail"
	c.outcome == "no-go"
	c.evidence.observed.mismatched == ["web-stable-3"]
}

test_every_instance_must_answer if {
	errored := object.union(_old(3), {"error": "connection refused"})
	c := _check(_instances([_old(0), _old(1), _old(2), errored]), "post_rollback.version")
	c.status == "fail"
	c.evidence.observed.not_answering == ["web-stable-3"]
}

test_replica_count_sides if {
	_status(_instances([_old(0), _old(1)]), "post_rollback.version") == "fail"
	_status(_instances([_old(0), _old(1), _old(2)]), "post_rollback.version") == "pass"
	_status(_instances([_old(0), _old(1), _old(2), _old(3)]), "post_rollback.version") == "pass"
}

test_target_version_and_image if {
	_status(_instances([_old(0), _old(1), object.union(_old(2), {"version": "2.3.6"})]), "post_rollback.version") == "fail"
	_status(_instances([_old(0), _old(1), object.union(_old(2), {"image": fx.release_image})]), "post_rollback.version") == "fail"
}

_healthy(n) := [fx.health_instance(sprintf("web-stable-%d", [i]), "pass") | some i in numbers.range(0, n - 1)]

test_health_sides if {
	_status(fx.set_fact(_in, "health", {"instances": _healthy(2)}), "post_rollback.health") == "fail"
	_status(fx.set_fact(_in, "health", {"instances": _healthy(3)}), "post_rollback.health") == "pass"
	failing := array.concat(_healthy(3), [fx.health_instance("web-stable-3", "fail")])
	_status(fx.set_fact(_in, "health", {"instances": failing}), "post_rollback.health") == "fail"
}

test_failures_never_roll_back if {
	inp := _instances([_new(0), _new(1), _new(2)])
	_decision(inp) == "no-go"
	long_unknown := object.union(json.remove(_in, ["facts/health"]), {"facts": {"history": fx.history_unknown_since("2026-11-25T13:30:00Z", ["post_rollback.health"])}})
	c := _check(long_unknown, "post_rollback.health")
	c.status == "unknown"
	c.outcome == "no-go"
	_decision(long_unknown) == "no-go"
}

test_health_warn_is_a_warning if {
	warn := [fx.health_instance("web-stable-0", "warn"), fx.health_instance("web-stable-1", "pass"), fx.health_instance("web-stable-2", "pass")]
	inp := fx.set_fact(_in, "health", {"instances": warn})
	_decision(inp) == "go"
	fx.warnings_of("post_rollback", inp, "post_rollback.health") == ["instance web-stable-0 reports health warn"]
}
