package gatekeeper.gates.post_deploy_test

import data.gatekeeper.test.fixtures as fx

_in := fx.inputs.post_deploy

_check(inp, rule) := fx.check("post_deploy", inp, rule)

_status(inp, rule) := _check(inp, rule).status

_decision(inp) := fx.decision("post_deploy", inp)

test_passing_input_goes if {
	_decision(_in) == "go"
}

test_rule_ids if {
	fx.builtin_rules(fx.gate("post_deploy", _in).checks, "post_deploy") == {
		"launch.gate", "runbook.signed_off", "launch.cutover_recorded",
		"post_deploy.deployment", "post_deploy.version", "post_deploy.health", "post_deploy.integrity",
	}
}

read_paths := [
	"gate", "now", "environment", "cutover_at",
	"facts/signoff", "facts/signoff/source", "facts/signoff/collected_at", "facts/signoff/digest",
	"facts/deployment", "facts/deployment/source", "facts/deployment/collected_at", "facts/deployment/status",
	"facts/versions", "facts/versions/source", "facts/versions/collected_at", "facts/versions/instances",
	"facts/versions/instances/0", "facts/versions/instances/0/commit", "facts/versions/instances/0/status_code",
	"facts/versions/instances/1/commit", "facts/versions/instances/2/status_code",
	"facts/health", "facts/health/source", "facts/health/collected_at", "facts/health/instances",
	"facts/health/instances/0", "facts/health/instances/0/status", "facts/health/instances/2/status",
	"facts/integrity", "facts/integrity/source", "facts/integrity/collected_at", "facts/integrity/checks",
	"facts/integrity/checks/0/name", "facts/integrity/checks/0/violations", "facts/integrity/checks/1/name",
	"facts/integrity/checks/1/violations", "facts/integrity/migrations/dirty",
	"facts/integrity_baseline", "facts/integrity_baseline/source", "facts/integrity_baseline/collected_at",
	"facts/integrity_baseline/checks", "facts/integrity_baseline/checks/0/name", "facts/integrity_baseline/checks/0/violations",
	"facts/integrity_baseline/checks/1/name", "facts/integrity_baseline/checks/1/violations",
	"runbook/signoff/by", "runbook/signoff/digest",
	"runbook/release", "runbook/release/commit", "runbook/release/image", "runbook/release/version",
	"runbook/environments/production/cohorts", "runbook/environments/production/cohorts/new",
	"runbook/environments/production/cohorts/new/replicas",
	"runbook/environments/production/max_age/gatekeeper", "runbook/environments/production/max_age/deploy",
	"runbook/environments/production/max_age/http", "runbook/environments/production/max_age/sql",
	"runbook/environments/production/max_age/archive",
	"runbook/environments/production/database/checks",
]

test_mutation_removing_any_read_path_never_goes if {
	survivors := fx.removal_survivors("post_deploy", _in, read_paths)
	print("paths whose removal still goes:", survivors)
	survivors == []
}

# Not decided on: provenance besides source/collected_at, deployment details, instance
# names and URLs, image and version (compared only when an instance reports them),
# health status codes (the status field is the health verdict), integrity samples,
# migration tool/version, and the baseline's own migration state.
not_decisive := [
	`^facts/[a-z_]+/(duration_ms|error|query|path|url)$`,
	`^facts/deployment/(detail|finished_at)$`,
	`^facts/(versions|health)/instances/[0-9]+/(name|url|error)$`,
	`^facts/versions/instances/[0-9]+/(image|version)$`,
	`^facts/health/instances/[0-9]+/status_code$`,
	`^facts/(integrity|integrity_baseline)/checks/[0-9]+/sample`,
	`^facts/(integrity|integrity_baseline)/migrations/(tool|version)$`,
	`^facts/integrity_baseline/migrations/dirty$`,
]

test_mutation_every_decisive_fact_leaf if {
	survivors := fx.removal_survivors("post_deploy", _in, fx.leaf_paths(_in.facts, "facts"))
	unexplained := [p | some p in survivors; not _matches_any(p, not_decisive)]
	print("fact leaves whose removal still goes:", unexplained)
	unexplained == []
}

_matches_any(p, patterns) if {
	some re in patterns
	regex.match(re, p)
}

# ---------------------------------------------------------------------------
# deployment

test_deployment_status if {
	_status(fx.set_fact(_in, "deployment", {"status": "succeeded"}), "post_deploy.deployment") == "pass"
	c := _check(fx.set_fact(_in, "deployment", {"status": "failed", "detail": "hook exited 1"}), "post_deploy.deployment")
	c.status == "fail"
	c.outcome == "rollback"
	contains(c.message, "hook exited 1")
	_status(fx.set_fact(_in, "deployment", {"status": "running"}), "post_deploy.deployment") == "unknown"
	_status(fx.set_fact(_in, "deployment", {"status": ""}), "post_deploy.deployment") == "unknown"
	_decision(fx.set_fact(_in, "deployment", {"status": "failed"})) == "rollback"
}

test_failed_deployment_before_cutover_is_no_go if {
	inp := object.union(fx.set_fact(_in, "deployment", {"status": "failed"}), {"cutover_at": "2026-11-25T15:00:00Z"})
	_check(inp, "post_deploy.deployment").outcome == "no-go"
	_decision(inp) == "no-go"
}

# ---------------------------------------------------------------------------
# version: at least cohorts.new.replicas (3) instances serve the release

_instances(list) := fx.set_fact(_in, "versions", {"instances": list})

_new(i) := fx.instance(sprintf("web-canary-%d", [i]), fx.release_commit, fx.release_image, "2.4.0")

_old(i) := fx.instance(sprintf("web-canary-%d", [i]), fx.target_commit, fx.target_image, "2.3.7")

test_version_replica_count_sides if {
	_status(_instances([_new(0), _new(1)]), "post_deploy.version") == "fail"
	_status(_instances([_new(0), _new(1), _new(2)]), "post_deploy.version") == "pass"
	_status(_instances([_new(0), _new(1), _new(2), _new(3)]), "post_deploy.version") == "pass"
}

test_version_no_instance_may_serve_another_commit if {
	c := _check(_instances([_new(0), _new(1), _new(2), _old(3)]), "post_deploy.version")
	c.status == "fail"
	c.outcome == "no-go"
	c.evidence.observed.commits == {fx.release_commit: 3, fx.target_commit: 1}
	c.evidence.observed.mismatched == ["web-canary-3"]
}

test_version_short_commit_accepted if {
	short := object.union(_new(2), {"commit": "86f7e43"})
	_status(_instances([_new(0), _new(1), short]), "post_deploy.version") == "pass"
	too_short := object.union(_new(2), {"commit": "86f7e4"})
	_status(_instances([_new(0), _new(1), too_short]), "post_deploy.version") == "fail"
}

test_version_image_and_version_when_reported if {
	other_image := object.union(_new(2), {"image": fx.target_image})
	_status(_instances([_new(0), _new(1), other_image]), "post_deploy.version") == "fail"
	other_version := object.union(_new(2), {"version": "2.4.0-rc1"})
	_status(_instances([_new(0), _new(1), other_version]), "post_deploy.version") == "fail"
	unreported := object.union(_new(2), {"image": "", "version": null})
	_status(_instances([_new(0), _new(1), unreported]), "post_deploy.version") == "pass"
	tag_only := object.union(_new(2), {"image": "registry.example.com/shop/web:2.4.0"})
	_status(_instances([_new(0), _new(1), tag_only]), "post_deploy.version") == "fail"
}

test_version_errored_instances_do_not_count if {
	errored := object.union(_new(2), {"error": "connection refused"})
	c := _check(_instances([_new(0), _new(1), errored]), "post_deploy.version")
	c.status == "fail"
	c.evidence.observed.not_answering == ["web-canary-2"]
	_status(_instances([_new(0), _new(1), errored, _new(3)]), "post_deploy.version") == "pass"
}

test_version_status_code_sides if {
	every code in [199, 300, 503, "200"] {
		_status(_instances([_new(0), _new(1), object.union(_new(2), {"status_code": code})]), "post_deploy.version") == "fail"
	}
	_status(_instances([_new(0), _new(1), object.union(_new(2), {"status_code": 299})]), "post_deploy.version") == "pass"
}

test_version_malformed if {
	_status(_instances("web-canary-0"), "post_deploy.version") == "unknown"
	_status(_instances([]), "post_deploy.version") == "fail"
	_status(_instances([_new(0), _new(1), "web-canary-2"]), "post_deploy.version") == "fail"
	_status(fx.with_path(_in, "runbook/environments/production/cohorts/new/replicas", "3"), "post_deploy.version") == "unknown"
	_status(fx.with_path(_in, "runbook/release/commit", ""), "post_deploy.version") == "unknown"
}

# ---------------------------------------------------------------------------
# health

_health(statuses) := fx.set_fact(_in, "health", {"instances": [fx.health_instance(sprintf("web-canary-%d", [i]), s) | some i, s in statuses]})

test_health_sides if {
	_status(_health(["pass", "pass"]), "post_deploy.health") == "fail"
	_status(_health(["pass", "pass", "pass"]), "post_deploy.health") == "pass"
	_status(_health(["pass", "pass", "pass", "pass"]), "post_deploy.health") == "pass"
	_status(_health(["pass", "pass", "pass", "fail"]), "post_deploy.health") == "fail"
	_status(_health(["pass", "pass", "unknown"]), "post_deploy.health") == "fail"
	_status(_health(["pass", "pass", ""]), "post_deploy.health") == "fail"
}

test_health_warn_passes_with_warning if {
	inp := _health(["pass", "warn", "pass"])
	_status(inp, "post_deploy.health") == "pass"
	fx.warnings_of("post_deploy", inp, "post_deploy.health") == ["instance web-canary-1 reports health warn"]
	_decision(inp) == "go"
}

test_health_errored_instance_not_counted if {
	errored := object.union(fx.health_instance("web-canary-2", "pass"), {"error": "timeout"})
	inp := fx.set_fact(_in, "health", {"instances": [fx.health_instance("web-canary-0", "pass"), fx.health_instance("web-canary-1", "pass"), errored]})
	c := _check(inp, "post_deploy.health")
	c.status == "fail"
	c.evidence.errors == ["web-canary-2"]
}

test_health_malformed if {
	_status(fx.set_fact(_in, "health", {"instances": {}}), "post_deploy.health") == "unknown"
	_status(fx.set_fact(_in, "health", {"instances": []}), "post_deploy.health") == "fail"
}

# ---------------------------------------------------------------------------
# integrity (details in window_test)

test_integrity_new_violation_rolls_back if {
	inp := fx.set_fact(_in, "integrity", {"checks": [{"name": "orphaned_order_items", "violations": 1}, {"name": "negative_stock", "violations": 2}]})
	_check(inp, "post_deploy.integrity").outcome == "rollback"
	_decision(inp) == "rollback"
}
