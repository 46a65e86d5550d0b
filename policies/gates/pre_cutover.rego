# Gate pre-cutover: before anything is deployed.
#
# Extending this gate: in a module of your own policy directory (loaded beside the
# built-ins) use the same package and add
#
#   # METADATA
#   # title: Change ticket approved
#   # description: The change ticket for the launch is approved.
#   findings contains f if {
#       f := {"rule": "custom.change_ticket", "status": "pass", "severity": "no-go",
#             "message": "Change ticket approved: CHG-123", "evidence": {}}
#   }
#
#   required contains "custom.change_ticket"
#
# Listing the rule in `required` turns a finding that fails to appear (a renamed fact,
# say) into an unknown check instead of a silent pass. Report pass only on explicit
# positive evidence; read your facts from input.facts.custom and test them with
# lib.custom_usable(name). Non-blocking notes go to
# `advisories contains {"rule": ..., "message": ..., "evidence": {...}}`.

# METADATA
# title: Gate pre-cutover
# description: |
#   The runbook is signed off, the build is the one UAT approved, people and plans are
#   in place, production is healthy and a data-integrity baseline exists. Nothing is
#   deployed yet, so this gate only says go or no-go.
package gatekeeper.gates.pre_cutover

import data.gatekeeper.lib

required contains rule if some rule in {
	"launch.gate",
	"input.facts_wellformed",
	"runbook.signed_off",
	"launch.no_test_settings",
	"pre_cutover.uat_build",
	"pre_cutover.commander",
	"pre_cutover.rollback_plan",
	"pre_cutover.rehearsal",
	"pre_cutover.announcement",
	"pre_cutover.production_health",
	"pre_cutover.integrity_baseline",
}

checks := lib.checks(findings, required)

decision := lib.decision(checks)

warnings := lib.warnings(advisories)

complete := false

# METADATA
# title: Input is for this gate
# description: Shared rule launch.gate (see lib/shared.rego).
findings contains lib.gate_check("pre-cutover")

# METADATA
# title: Runbook signed off and unchanged
# description: Shared rule runbook.signed_off (see lib/shared.rego).
findings contains lib.signed_off

# METADATA
# title: No test-only settings in production
# description: Shared rule launch.no_test_settings (see lib/shared.rego).
findings contains lib.no_test_settings

# METADATA
# title: Release build is the UAT-approved build
# description: |
#   The UAT record (fact uat, not a runbook field the release author typed) passed and
#   approved the same commit and image digest as runbook.release.
findings contains lib.finding("pre_cutover.uat_build", "Release build is the UAT-approved build", _uat_build)

_uat_evidence := {
	"expected": {"commit": lib.rb(["release", "commit"]), "image": lib.rb(["release", "image"]), "version": lib.rb(["release", "version"])},
	"observed": {
		"commit": lib.fact(["uat", "approved", "commit"]),
		"image": lib.fact(["uat", "approved", "image"]),
		"version": lib.fact(["uat", "approved", "version"]),
		"result": lib.fact(["uat", "result"]),
		"format": lib.fact(["uat", "format"]),
	},
}

# A UAT record must say PASSED. The UAT environment's version endpoint (when the runbook
# names it as the source) approves by serving the build: it reports ENDPOINT.
_uat_result_accepted if input.facts.uat.result == "PASSED"

_uat_result_accepted if {
	input.facts.uat.result == "ENDPOINT"
	input.facts.uat.format == "endpoint"
	is_object(input.runbook.uat.endpoint)
}

_uat_build := lib.unknown(lib.problem("uat"), _uat_evidence) if {
	not lib.usable("uat")
} else := lib.unknown("fact uat.result is missing", _uat_evidence) if {
	not lib.non_empty_string(_uat_evidence.observed.result)
} else := lib.fail("no-go", sprintf("fact uat.result is %v, not PASSED", [_uat_evidence.observed.result]), _uat_evidence) if {
	not _uat_result_accepted
} else := lib.unknown("fact uat.approved.commit is missing", _uat_evidence) if {
	not lib.non_empty_string(_uat_evidence.observed.commit)
} else := lib.unknown("runbook release.commit is missing", _uat_evidence) if {
	not lib.non_empty_string(_uat_evidence.expected.commit)
} else := lib.fail("no-go", sprintf("UAT approved commit %v, the release is %v", [_uat_evidence.observed.commit, _uat_evidence.expected.commit]), _uat_evidence) if {
	not lib.commit_match(_uat_evidence.observed.commit, _uat_evidence.expected.commit)
} else := lib.unknown("runbook release.image has no sha256 digest", _uat_evidence) if {
	not lib.image_digest(_uat_evidence.expected.image)
} else := lib.unknown("fact uat.approved.image is missing or has no sha256 digest", _uat_evidence) if {
	not lib.image_digest(_uat_evidence.observed.image)
} else := lib.fail("no-go", sprintf("UAT approved image %v, the release is %v", [_uat_evidence.observed.image, _uat_evidence.expected.image]), _uat_evidence) if {
	not _same_image(_uat_evidence.observed.image, _uat_evidence.expected.image)
} else := lib.fail("no-go", sprintf("UAT approved version %v, the release is %v", [_uat_evidence.observed.version, _uat_evidence.expected.version]), _uat_evidence) if {
	not _uat_evidence.observed.version in {null, ""}
	_uat_evidence.observed.version != _uat_evidence.expected.version
} else := lib.pass(sprintf("UAT passed commit %v, image %v", [_uat_evidence.expected.commit, lib.image_digest(_uat_evidence.expected.image)]), _uat_evidence) if {
	_uat_result_accepted
	lib.commit_match(_uat_evidence.observed.commit, _uat_evidence.expected.commit)
	lib.image_digest(_uat_evidence.observed.image) == lib.image_digest(_uat_evidence.expected.image)
} else := lib.unknown("the UAT record does not show the release build", _uat_evidence)

# Two references name the same build when their sha256 digests are equal; tags and
# registry hosts may differ between environments.
_same_image(a, b) if lib.image_digest(a) == lib.image_digest(b)

# METADATA
# title: Launch commander named
# description: runbook.commander names the person who calls hold or rollback.
findings contains lib.finding("pre_cutover.commander", "Launch commander named", _commander)

_commander := lib.pass(sprintf("commander is %v", [input.runbook.commander]), {"commander": input.runbook.commander}) if {
	lib.non_empty_string(input.runbook.commander)
} else := lib.fail("no-go", "runbook commander is missing or empty", {"commander": lib.rb(["commander"])})

# METADATA
# title: Rollback plan defined
# description: |
#   The rollback target (version, commit, image digest) and the rollback criteria for
#   error rate and p95 latency are defined, so a rollback can be both decided and done.
findings contains lib.finding("pre_cutover.rollback_plan", "Rollback plan defined", _rollback_plan)

_plan_gaps contains "rollback_target.version" if not lib.non_empty_string(lib.rb(["rollback_target", "version"]))

_plan_gaps contains "rollback_target.commit (40 hex)" if not lib.full_commit(lib.rb(["rollback_target", "commit"]))

_plan_gaps contains "rollback_target.image (with a sha256 digest)" if not lib.image_digest(lib.rb(["rollback_target", "image"]))

_plan_gaps contains "criteria.error_rate.max_ratio" if not lib.error_rate_threshold

_plan_gaps contains "criteria.error_rate.sustained" if not lib.positive_duration(lib.rb(["criteria", "error_rate", "sustained"]))

_plan_gaps contains "criteria.latency_p95.budget and tolerance_pct" if not lib.latency_threshold

# Rolling back to the release itself would change nothing.
_plan_gaps contains "a rollback_target.commit other than release.commit" if {
	lib.rb(["rollback_target", "commit"]) == lib.rb(["release", "commit"])
}

_plan_evidence := {
	"rollback_target": lib.rb(["rollback_target"]),
	"error_rate": lib.rb(["criteria", "error_rate"]),
	"latency_p95": lib.rb(["criteria", "latency_p95"]),
}

_rollback_plan := lib.pass(sprintf("roll back to %v (%v)", [input.runbook.rollback_target.version, input.runbook.rollback_target.commit]), _plan_evidence) if {
	count(_plan_gaps) == 0
} else := lib.fail("no-go", sprintf("runbook lacks: %v", [lib.join(sort(_plan_gaps))]), object.union(_plan_evidence, {"missing": sort(_plan_gaps)}))

# METADATA
# title: Release rehearsed on staging
# description: |
#   The staging rehearsal archive (fact rehearsal) records a completed launch of this
#   very commit and image. A staging launch is itself the rehearsal.
findings contains lib.finding("pre_cutover.rehearsal", "Release rehearsed on staging", _rehearsal)

_rehearsal_evidence := {
	"expected": {"environment": "staging", "commit": lib.rb(["release", "commit"]), "image": lib.rb(["release", "image"]), "outcome": "completed"},
	"observed": {
		"environment": lib.fact(["rehearsal", "environment"]),
		"commit": lib.fact(["rehearsal", "commit"]),
		"image": lib.fact(["rehearsal", "image"]),
		"outcome": lib.fact(["rehearsal", "outcome"]),
		"launch_id": lib.fact(["rehearsal", "launch_id"]),
	},
}

# A staging launch is the rehearsal itself: it cannot require one.
_rehearsal := lib.pass("this launch is the staging rehearsal", {"environment": "staging"}) if {
	input.environment == "staging"
} else := lib.unknown(lib.problem("rehearsal"), _rehearsal_evidence) if {
	not lib.usable("rehearsal")
} else := lib.unknown("fact rehearsal.environment is missing", _rehearsal_evidence) if {
	not lib.non_empty_string(_rehearsal_evidence.observed.environment)
} else := lib.fail("no-go", sprintf("the rehearsal ran on %v, not staging", [_rehearsal_evidence.observed.environment]), _rehearsal_evidence) if {
	_rehearsal_evidence.observed.environment != "staging"
} else := lib.unknown("fact rehearsal.outcome is missing", _rehearsal_evidence) if {
	not lib.non_empty_string(_rehearsal_evidence.observed.outcome)
} else := lib.fail("no-go", sprintf("the rehearsal outcome is %v, not completed", [_rehearsal_evidence.observed.outcome]), _rehearsal_evidence) if {
	_rehearsal_evidence.observed.outcome != "completed"
} else := lib.unknown("fact rehearsal.commit is missing", _rehearsal_evidence) if {
	not lib.non_empty_string(_rehearsal_evidence.observed.commit)
} else := lib.fail("no-go", sprintf("the rehearsal used commit %v, the release is %v", [_rehearsal_evidence.observed.commit, _rehearsal_evidence.expected.commit]), _rehearsal_evidence) if {
	not lib.commit_match(_rehearsal_evidence.observed.commit, _rehearsal_evidence.expected.commit)
} else := lib.unknown("fact rehearsal.image is missing or has no sha256 digest", _rehearsal_evidence) if {
	not lib.image_digest(_rehearsal_evidence.observed.image)
} else := lib.fail("no-go", sprintf("the rehearsal used image %v, the release is %v", [_rehearsal_evidence.observed.image, _rehearsal_evidence.expected.image]), _rehearsal_evidence) if {
	not _same_image(_rehearsal_evidence.observed.image, _rehearsal_evidence.expected.image)
} else := lib.pass(sprintf("rehearsal %v completed on staging", [_rehearsal_evidence.observed.launch_id]), _rehearsal_evidence) if {
	_rehearsal_evidence.observed.environment == "staging"
	_rehearsal_evidence.observed.outcome == "completed"
	lib.commit_match(_rehearsal_evidence.observed.commit, _rehearsal_evidence.expected.commit)
	lib.image_digest(_rehearsal_evidence.observed.image) == lib.image_digest(_rehearsal_evidence.expected.image)
} else := lib.unknown("the rehearsal record does not show the release build", _rehearsal_evidence)

# METADATA
# title: Launch window announced
# description: |
#   A window announcement (notification event "announced", or "window_announced" as
#   earlier facts files name it) was delivered (2xx) at least the environment's
#   announce_lead before now.
findings contains lib.finding("pre_cutover.announcement", "Launch window announced", _announcement)

_announce_events := {"announced", "window_announced"}

_lead := lib.scaled_ns(lib.env_get(["announce_lead"]))

_announcements := [{"channel": lib.get(d, "channel", null), "delivered": lib.get(d, "delivered", null), "status_code": lib.get(d, "status_code", null), "at": lib.get(d, "at", null)} |
	some d in input.facts.notifications.deliveries
	d.event in _announce_events
]

_announced_in_time if {
	some d in input.facts.notifications.deliveries
	d.event in _announce_events
	d.delivered == true
	is_number(d.status_code)
	d.status_code >= 200
	d.status_code < 300
	lib.time_ns(d.at) + _lead <= lib.now_ns
}

_announcement_evidence := {
	"announcements": _announcements,
	"announce_lead": lib.env_get(["announce_lead"]),
	"latest_allowed": lib.rfc3339(lib.now_ns - _lead),
}

_announcement := lib.unknown(lib.problem("notifications"), {}) if {
	not lib.usable("notifications")
} else := lib.unknown("fact notifications.deliveries is missing or not an array", {}) if {
	not is_array(lib.fact(["notifications", "deliveries"]))
} else := lib.unknown(sprintf("runbook environments.%v.announce_lead is missing or not a duration", [input.environment]), {}) if {
	not _lead
} else := lib.pass("window_announced delivered in time", _announcement_evidence) if {
	_announced_in_time
} else := lib.fail("no-go", sprintf("no window_announced notification delivered (2xx) at or before %v", [_announcement_evidence.latest_allowed]), _announcement_evidence)

# METADATA
# title: Production currently healthy
# description: |
#   The current production error rate (fact production_error_rate) is a number no
#   higher than criteria.error_rate.max_ratio: launching into an incident hides the
#   release's own effect.
findings contains lib.finding("pre_cutover.production_health", "Production currently healthy", _production_health)

_observed_rate := lib.fact(["production_error_rate", "value"])

_health_evidence := {"observed": lib.num(_observed_rate), "threshold": lib.error_rate_threshold} if {
	lib.num(_observed_rate)
	lib.error_rate_threshold
} else := {"observed": _observed_rate, "threshold": lib.rb(["criteria", "error_rate", "max_ratio"])}

_production_health := lib.unknown(lib.problem("production_error_rate"), _health_evidence) if {
	not lib.usable("production_error_rate")
} else := lib.unknown("runbook criteria.error_rate.max_ratio is missing or not a number", _health_evidence) if {
	not lib.error_rate_threshold
} else := lib.fail("no-go", "fact production_error_rate.value is +Inf", _health_evidence) if {
	_observed_rate in {"+Inf", "Inf", "+inf", "inf"}
} else := lib.unknown(sprintf("fact production_error_rate.value %v is not a number (NaN: no traffic)", [_observed_rate]), _health_evidence) if {
	not lib.num(_observed_rate)
} else := lib.pass(sprintf("error rate %v <= %v", [lib.num(_observed_rate), lib.error_rate_threshold]), _health_evidence) if {
	lib.num(_observed_rate) <= lib.error_rate_threshold
} else := lib.fail("no-go", sprintf("error rate %v > %v", [lib.num(_observed_rate), lib.error_rate_threshold]), _health_evidence) if {
	lib.num(_observed_rate) > lib.error_rate_threshold
} else := lib.unknown("fact production_error_rate.value cannot be compared", _health_evidence)

# METADATA
# title: Data-integrity baseline taken
# description: |
#   The integrity checks ran before cutover with numeric counts and clean migrations.
#   Later gates compare against this run; violations already present are warnings.
findings contains lib.finding("pre_cutover.integrity_baseline", "Data-integrity baseline taken", lib.baseline_result)

advisories contains w if {
	some w in lib.baseline_warnings("pre_cutover.integrity_baseline")
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
