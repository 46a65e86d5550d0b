package gatekeeper.gates.pre_cutover_test

import data.gatekeeper.test.fixtures as fx

_in := fx.inputs.pre_cutover

_check(inp, rule) := fx.check("pre_cutover", inp, rule)

_status(inp, rule) := _check(inp, rule).status

_decision(inp) := fx.decision("pre_cutover", inp)

test_passing_input_goes if {
	_decision(_in) == "go"
	fx.gate("pre_cutover", _in).complete == false
	fx.gate("pre_cutover", _in).warnings == [{
		"rule": "pre_cutover.integrity_baseline",
		"message": "integrity check negative_stock already has 2 violations before cutover",
		"evidence": {"check": "negative_stock", "violations": 2},
	}]
}

test_rule_ids if {
	fx.builtin_rules(fx.gate("pre_cutover", _in).checks, "pre_cutover") == {
		"launch.gate", "runbook.signed_off", "launch.no_test_settings",
		"pre_cutover.uat_build", "pre_cutover.commander", "pre_cutover.rollback_plan", "pre_cutover.rehearsal",
		"pre_cutover.announcement", "pre_cutover.production_health", "pre_cutover.integrity_baseline",
	}
}

read_paths := [
	"gate", "now", "environment",
	"facts/signoff", "facts/signoff/source", "facts/signoff/collected_at", "facts/signoff/digest",
	"facts/uat", "facts/uat/source", "facts/uat/collected_at", "facts/uat/result",
	"facts/uat/approved", "facts/uat/approved/commit", "facts/uat/approved/image",
	"facts/rehearsal", "facts/rehearsal/source", "facts/rehearsal/collected_at", "facts/rehearsal/environment",
	"facts/rehearsal/commit", "facts/rehearsal/image", "facts/rehearsal/outcome",
	"facts/notifications", "facts/notifications/source", "facts/notifications/collected_at",
	"facts/notifications/deliveries", "facts/notifications/deliveries/0", "facts/notifications/deliveries/0/event",
	"facts/notifications/deliveries/0/delivered", "facts/notifications/deliveries/0/status_code",
	"facts/notifications/deliveries/0/at",
	"facts/production_error_rate", "facts/production_error_rate/source", "facts/production_error_rate/collected_at",
	"facts/production_error_rate/value",
	"facts/integrity", "facts/integrity/source", "facts/integrity/collected_at", "facts/integrity/checks",
	"facts/integrity/checks/0/name", "facts/integrity/checks/0/violations", "facts/integrity/checks/1/name",
	"facts/integrity/checks/1/violations", "facts/integrity/migrations", "facts/integrity/migrations/dirty",
	"runbook/signoff", "runbook/signoff/by", "runbook/signoff/digest", "runbook/commander",
	"runbook/release", "runbook/release/commit", "runbook/release/image", "runbook/release/version",
	"runbook/rollback_target", "runbook/rollback_target/version", "runbook/rollback_target/commit",
	"runbook/rollback_target/image",
	"runbook/criteria", "runbook/criteria/error_rate", "runbook/criteria/error_rate/max_ratio",
	"runbook/criteria/error_rate/sustained", "runbook/criteria/latency_p95", "runbook/criteria/latency_p95/budget",
	"runbook/criteria/latency_p95/tolerance_pct",
	"runbook/environments/production", "runbook/environments/production/announce_lead",
	"runbook/environments/production/max_age", "runbook/environments/production/max_age/gatekeeper",
	"runbook/environments/production/max_age/uat", "runbook/environments/production/max_age/archive",
	"runbook/environments/production/max_age/notify", "runbook/environments/production/max_age/prometheus",
	"runbook/environments/production/max_age/sql",
	"runbook/environments/production/database", "runbook/environments/production/database/checks",
]

test_mutation_removing_any_read_path_never_goes if {
	survivors := fx.removal_survivors("pre_cutover", _in, read_paths)
	print("paths whose removal still goes:", survivors)
	survivors == []
}

# Not decided on: provenance besides source/collected_at, the UAT version (compared only
# when reported), the rehearsal's finish time and id, the notification channel, and the
# integrity samples and migration tool/version.
not_decisive := [
	`^facts/[a-z_]+/(duration_ms|error|query|path|url)$`,
	`^facts/uat/approved/version$`,
	`^facts/rehearsal/(finished_at|launch_id)$`,
	`^facts/notifications/deliveries/[0-9]+/channel$`,
	`^facts/integrity/checks/[0-9]+/sample`,
	`^facts/integrity/migrations/(tool|version)$`,
]

test_mutation_every_decisive_fact_leaf if {
	survivors := fx.removal_survivors("pre_cutover", _in, fx.leaf_paths(_in.facts, "facts"))
	unexplained := [p | some p in survivors; not _matches_any(p, not_decisive)]
	print("fact leaves whose removal still goes:", unexplained)
	unexplained == []
}

_matches_any(p, patterns) if {
	some re in patterns
	regex.match(re, p)
}

# ---------------------------------------------------------------------------
# uat_build

_uat(fields) := fx.set_fact(_in, "uat", fields)

_approved(fields) := _uat({"approved": object.union(_in.facts.uat.approved, fields)})

test_uat_result_must_be_passed if {
	_status(_uat({"result": "FAILED"}), "pre_cutover.uat_build") == "fail"
	_status(_uat({"result": "passed"}), "pre_cutover.uat_build") == "fail"
	_status(_uat({"result": ""}), "pre_cutover.uat_build") == "unknown"
}

test_uat_commit_prefix if {
	_status(_approved({"commit": "86f7e43"}), "pre_cutover.uat_build") == "pass"
	_status(_approved({"commit": "86F7E437FAA5A7FCE15D1DDCB9EAEAEA377667B8"}), "pre_cutover.uat_build") == "pass"
	_status(_approved({"commit": "86f7e4"}), "pre_cutover.uat_build") == "fail"
	_status(_approved({"commit": "86f7e438"}), "pre_cutover.uat_build") == "fail"
	_status(_approved({"commit": fx.target_commit}), "pre_cutover.uat_build") == "fail"
	_status(_approved({"commit": ""}), "pre_cutover.uat_build") == "unknown"
}

test_uat_image_digest if {
	_status(_approved({"image": concat("@", ["uat-registry.example.com/shop/web", split(fx.release_image, "@")[1]])}), "pre_cutover.uat_build") == "pass"
	_status(_approved({"image": fx.target_image}), "pre_cutover.uat_build") == "fail"
	_status(_approved({"image": "registry.example.com/shop/web:2.4.0"}), "pre_cutover.uat_build") == "unknown"
	_status(fx.with_path(_in, "runbook/release/image", "registry.example.com/shop/web:2.4.0"), "pre_cutover.uat_build") == "unknown"
}

test_uat_version_when_reported if {
	_status(_approved({"version": "2.4.1"}), "pre_cutover.uat_build") == "fail"
	_status(_approved({"version": ""}), "pre_cutover.uat_build") == "pass"
}

test_uat_evidence if {
	c := _check(_approved({"commit": fx.target_commit}), "pre_cutover.uat_build")
	c.evidence.expected.commit == fx.release_commit
	c.evidence.observed.commit == fx.target_commit
	c.outcome == "no-go"
}

# ---------------------------------------------------------------------------
# commander, rollback plan

test_commander_must_be_named if {
	every v in ["", "   ", null, ["Dana"]] {
		_status(fx.with_path(_in, "runbook/commander", v), "pre_cutover.commander") == "fail"
	}
}

test_rollback_plan_gaps if {
	every p in ["runbook/rollback_target/version", "runbook/rollback_target/commit", "runbook/rollback_target/image", "runbook/criteria/error_rate", "runbook/criteria/latency_p95/budget", "runbook/criteria/latency_p95"] {
		c := _check(json.remove(_in, [p]), "pre_cutover.rollback_plan")
		c.status == "fail"
		count(c.evidence.missing) > 0
	}
}

test_rollback_plan_target_must_differ_from_release if {
	inp := fx.with_path(_in, "runbook/rollback_target/commit", fx.release_commit)
	c := _check(inp, "pre_cutover.rollback_plan")
	c.status == "fail"
	contains(c.message, "other than release.commit")
}

test_rollback_plan_short_commit_and_tag_only_image if {
	_status(fx.with_path(_in, "runbook/rollback_target/commit", "e9d71f5"), "pre_cutover.rollback_plan") == "fail"
	_status(fx.with_path(_in, "runbook/rollback_target/image", "registry.example.com/shop/web:2.3.7"), "pre_cutover.rollback_plan") == "fail"
}

# ---------------------------------------------------------------------------
# rehearsal

_rehearsal(fields) := fx.set_fact(_in, "rehearsal", fields)

test_rehearsal_sides if {
	_status(_rehearsal({"environment": "production"}), "pre_cutover.rehearsal") == "fail"
	_status(_rehearsal({"outcome": "rolled_back"}), "pre_cutover.rehearsal") == "fail"
	_status(_rehearsal({"commit": fx.target_commit}), "pre_cutover.rehearsal") == "fail"
	_status(_rehearsal({"commit": "86f7e43"}), "pre_cutover.rehearsal") == "pass"
	_status(_rehearsal({"image": fx.target_image}), "pre_cutover.rehearsal") == "fail"
	_status(_rehearsal({"image": "shop/web:latest"}), "pre_cutover.rehearsal") == "unknown"
	_status(_rehearsal({"environment": ""}), "pre_cutover.rehearsal") == "unknown"
	_status(_rehearsal({"outcome": null}), "pre_cutover.rehearsal") == "unknown"
	_status(_rehearsal({"commit": ""}), "pre_cutover.rehearsal") == "unknown"
}

test_rehearsal_release_image_without_digest if {
	_status(fx.with_path(_in, "runbook/release/image", "shop/web:2.4.0"), "pre_cutover.rehearsal") == "fail"
}

# ---------------------------------------------------------------------------
# announcement: delivered at least announce_lead (24h) before now

_delivery(fields) := fx.set_fact(_in, "notifications", {"deliveries": [object.union(_in.facts.notifications.deliveries[0], fields)]})

test_announcement_lead_sides if {
	_status(_delivery({"at": "2026-11-24T14:05:00Z"}), "pre_cutover.announcement") == "pass"
	_status(_delivery({"at": "2026-11-24T14:04:59Z"}), "pre_cutover.announcement") == "pass"
	_status(_delivery({"at": "2026-11-24T14:05:01Z"}), "pre_cutover.announcement") == "fail"
	_status(_delivery({"at": "tomorrow"}), "pre_cutover.announcement") == "fail"
}

test_announcement_status_code_sides if {
	_status(_delivery({"status_code": 199}), "pre_cutover.announcement") == "fail"
	_status(_delivery({"status_code": 200}), "pre_cutover.announcement") == "pass"
	_status(_delivery({"status_code": 299}), "pre_cutover.announcement") == "pass"
	_status(_delivery({"status_code": 300}), "pre_cutover.announcement") == "fail"
	_status(_delivery({"status_code": "200"}), "pre_cutover.announcement") == "fail"
}

test_announcement_must_be_delivered_window_announced if {
	_status(_delivery({"delivered": false}), "pre_cutover.announcement") == "fail"
	_status(_delivery({"delivered": "true"}), "pre_cutover.announcement") == "fail"
	_status(_delivery({"event": "launch_started"}), "pre_cutover.announcement") == "fail"
	_status(fx.set_fact(_in, "notifications", {"deliveries": []}), "pre_cutover.announcement") == "fail"
	_status(fx.set_fact(_in, "notifications", {"deliveries": "sent"}), "pre_cutover.announcement") == "unknown"
}

test_announcement_one_good_delivery_is_enough if {
	failed := object.union(_in.facts.notifications.deliveries[0], {"channel": "status-page", "delivered": false, "status_code": 502})
	inp := fx.set_fact(_in, "notifications", {"deliveries": [failed, _in.facts.notifications.deliveries[0]]})
	_status(inp, "pre_cutover.announcement") == "pass"
}

test_announcement_lead_missing_is_unknown if {
	_status(json.remove(_in, ["runbook/environments/production/announce_lead"]), "pre_cutover.announcement") == "unknown"
}

test_announcement_evidence if {
	c := _check(_delivery({"at": "2026-11-25T10:00:00Z"}), "pre_cutover.announcement")
	c.evidence.latest_allowed == "2026-11-24T14:05:00Z"
	c.evidence.announce_lead == "24h"
	c.evidence.announcements[0].at == "2026-11-25T10:00:00Z"
}

# ---------------------------------------------------------------------------
# production health: current error rate <= 0.02

_rate(v) := fx.set_fact(_in, "production_error_rate", {"value": v})

test_production_health_threshold_sides if {
	_status(_rate("0.0199"), "pre_cutover.production_health") == "pass"
	_status(_rate("0.02"), "pre_cutover.production_health") == "pass"
	_status(_rate("0.0201"), "pre_cutover.production_health") == "fail"
	_status(_rate(0.01), "pre_cutover.production_health") == "pass"
}

test_production_health_nan_empty_inf if {
	_status(_rate("NaN"), "pre_cutover.production_health") == "unknown"
	_status(_rate(""), "pre_cutover.production_health") == "unknown"
	_status(_rate(null), "pre_cutover.production_health") == "unknown"
	_status(_rate("+Inf"), "pre_cutover.production_health") == "fail"
}

test_production_health_evidence if {
	_check(_rate("0.0201"), "pre_cutover.production_health").evidence == {"observed": 0.0201, "threshold": 0.02}
}

test_production_health_without_threshold if {
	_status(json.remove(_in, ["runbook/criteria/error_rate/max_ratio"]), "pre_cutover.production_health") == "unknown"
}

# ---------------------------------------------------------------------------
# integrity baseline

_integrity(fields) := fx.set_fact(_in, "integrity", fields)

test_baseline_dirty_migration_fails if {
	c := _check(_integrity({"migrations": {"tool": "golang-migrate", "version": 42, "dirty": true}}), "pre_cutover.integrity_baseline")
	c.status == "fail"
	c.outcome == "no-go"
}

test_baseline_dirty_missing_is_unknown if {
	_status(fx.with_path(_in, "facts/integrity/migrations", {"tool": "golang-migrate"}), "pre_cutover.integrity_baseline") == "unknown"
}

test_baseline_counts_must_be_numbers if {
	c := _check(_integrity({"checks": [{"name": "orphaned_order_items", "violations": "0"}, {"name": "negative_stock", "violations": 2}]}), "pre_cutover.integrity_baseline")
	c.status == "unknown"
	contains(c.message, "orphaned_order_items")
}

test_baseline_clean_has_no_warnings if {
	inp := _integrity({"checks": [{"name": "orphaned_order_items", "violations": 0}, {"name": "negative_stock", "violations": 0}]})
	_status(inp, "pre_cutover.integrity_baseline") == "pass"
	fx.gate("pre_cutover", inp).warnings == []
}

test_baseline_unreported_check_is_unknown if {
	_status(_integrity({"checks": [{"name": "negative_stock", "violations": 0}]}), "pre_cutover.integrity_baseline") == "unknown"
}

# ---------------------------------------------------------------------------
# Only go / no-go

test_never_rollback_even_with_everything_failing if {
	inp := fx.set_fact(fx.set_fact(_in, "uat", {"result": "FAILED"}), "production_error_rate", {"value": "0.9"})
	_decision(inp) == "no-go"
}

test_user_rollback_finding_is_no_go_before_cutover if {
	extra := {"rule": "custom.x", "status": "fail", "severity": "rollback", "message": "x", "evidence": {}}
	g := fx.gate("pre_cutover", _in) with data.gatekeeper.gates.pre_cutover.findings as {extra}
	g.decision == "no-go"
	[c | some c in g.checks; c.rule == "custom.x"][0].outcome == "no-go"
}

# The UAT environment's version endpoint approves by serving the build, when the runbook
# names it as the UAT source; a record saying ENDPOINT does not.
_endpoint_uat := fx.set_fact(
	fx.with_path(json.remove(_in, ["runbook/uat/record"]), "runbook/uat/endpoint", {"url": "https://uat.shop.example.com/version", "commit_path": "commit"}),
	"uat", {"result": "ENDPOINT", "format": "endpoint"},
)

test_uat_endpoint_source_approves if {
	_check(_endpoint_uat, "pre_cutover.uat_build").status == "pass"
}

test_uat_endpoint_result_needs_endpoint_source if {
	inp := fx.set_fact(_in, "uat", {"result": "ENDPOINT", "format": "endpoint"})
	_check(inp, "pre_cutover.uat_build").status == "fail"
}

test_uat_endpoint_result_needs_endpoint_format if {
	inp := fx.set_fact(_endpoint_uat, "uat", {"format": "in-toto"})
	_check(inp, "pre_cutover.uat_build").status == "fail"
}

test_uat_bare_image_digest_matches if {
	inp := fx.set_fact(_in, "uat", {"approved": object.union(_in.facts.uat.approved, {"image": "sha256:d7bdd545f09d8a73c2b990337c8211d708a04ccd9748627685e4fc79cc038039"})})
	_check(inp, "pre_cutover.uat_build").status == "pass"
}

test_staging_launch_is_the_rehearsal if {
	inp := json.remove(object.union(_in, {"environment": "staging"}), ["facts/rehearsal"])
	_status(inp, "pre_cutover.rehearsal") == "pass"
	_status(json.remove(_in, ["facts/rehearsal"]), "pre_cutover.rehearsal") == "unknown"
}
