# Rules every gate shares, and build-identity helpers.
package gatekeeper.lib

# METADATA
# title: Runbook signed off and unchanged
# description: |
#   The runbook has named sign-offs and the digest they signed equals the digest
#   gatekeeper computed for the runbook being evaluated (fact `signoff`). Anything else
#   means the runbook changed since sign-off, or cannot be shown not to have: no-go.
signed_off := finding("runbook.signed_off", "Runbook signed off and unchanged", _signed_off)

_signoff_evidence := {
	"expected": rb(["signoff", "digest"]),
	"observed": fact(["signoff", "digest"]),
}

_signed_off := fail("no-go", problem("signoff"), _signoff_evidence) if {
	not usable("signoff")
} else := fail("no-go", "runbook signoff.by must be a non-empty list of names", _signoff_evidence) if {
	not _signers_ok
} else := fail("no-go", "runbook signoff.digest is missing", _signoff_evidence) if {
	not non_empty_string(rb(["signoff", "digest"]))
} else := fail("no-go", "runbook signoff.digest differs from the digest of the runbook being evaluated (fact signoff.digest): the runbook changed after sign-off", _signoff_evidence) if {
	input.runbook.signoff.digest != input.facts.signoff.digest
} else := pass(sprintf("signed off by %v", [join(input.runbook.signoff.by)]), _signoff_evidence) if {
	input.runbook.signoff.digest == input.facts.signoff.digest
} else := fail("no-go", "fact signoff.digest is missing", _signoff_evidence)

_signers_ok if {
	is_array(input.runbook.signoff.by)
	count(input.runbook.signoff.by) > 0
	every s in input.runbook.signoff.by {
		non_empty_string(s)
	}
}

# METADATA
# title: No test-only settings in production
# description: |
#   A runbook with a testing section (testing.time_scale compresses the window, the
#   bakes and the announce lead for end-to-end tests) never launches to production:
#   in production this is no-go; elsewhere it passes and says so.
no_test_settings := finding("launch.no_test_settings", "No test-only settings in production", _no_test_settings)

_no_test_settings := fail("no-go", sprintf("runbook has test settings (testing %v): a production launch cannot run with them", [input.runbook.testing]), {"testing": input.runbook.testing}) if {
	input.environment == "production"
	object.get(input.runbook, "testing", null) != null
} else := pass("runbook has no test settings", {"testing": null}) if {
	object.get(input.runbook, "testing", null) == null
} else := pass(sprintf("test settings allowed in %v", [input.environment]), {"testing": input.runbook.testing}) if {
	input.environment != "production"
} else := unknown("cannot tell whether the runbook has test settings", {})

# METADATA
# title: Cutover time recorded
# description: |
#   Every gate after pre-cutover needs input.cutover_at: outages "since cutover",
#   rollback outcomes and the window's end are all measured from it.
cutover_recorded := finding("launch.cutover_recorded", "Cutover time recorded", _cutover_recorded)

_cutover_recorded := unknown(sprintf("input.cutover_at %v is missing or not an RFC 3339 time", [object.get(input, "cutover_at", null)]), {"cutover_at": object.get(input, "cutover_at", null)}) if {
	not cutover_ns
} else := unknown(sprintf("input.now %v is not an RFC 3339 time", [object.get(input, "now", null)]), {"cutover_at": input.cutover_at}) if {
	not now_ns
} else := fail("no-go", sprintf("input.cutover_at %v is after now %v", [input.cutover_at, input.now]), {"cutover_at": input.cutover_at, "now": input.now}) if {
	cutover_ns > now_ns
} else := pass(sprintf("cutover at %v", [input.cutover_at]), {"cutover_at": input.cutover_at, "now": input.now}) if {
	cutover_ns <= now_ns
} else := unknown("input.cutover_at cannot be compared with now", {"cutover_at": object.get(input, "cutover_at", null)})

# commit_match: equal commits, also when one side is an abbreviated SHA of at least 7
# hex digits (collectors and UAT records often carry the short form).
commit_match(a, b) if {
	is_string(a)
	is_string(b)
	x := lower(a)
	y := lower(b)
	regex.match(`^[0-9a-f]{7,40}$`, x)
	regex.match(`^[0-9a-f]{7,40}$`, y)
	_prefix_either(x, y)
}

_prefix_either(x, y) if startswith(x, y)

_prefix_either(x, y) if startswith(y, x)

# image_digest: the content digest of an image reference ("repo@sha256:…"). Tags are
# mutable, so only the digest identifies a build.
image_digest(ref) := d if {
	is_string(ref)
	parts := split(ref, "@")
	count(parts) == 2
	d := lower(parts[1])
	regex.match(`^sha256:[0-9a-f]{64}$`, d)
}

# A bare digest, as some version endpoints and attestations report it, names the build too.
image_digest(ref) := d if {
	is_string(ref)
	not contains(ref, "@")
	d := lower(ref)
	regex.match(`^sha256:[0-9a-f]{64}$`, d)
}

# version_result(name, target, replicas, all_instances): do the instances in fact
# `name` serve `target` ({version, commit, image})? With all_instances every reported
# instance must answer and match (post-rollback); otherwise at least `replicas`
# answering instances must match and none may serve anything else (post-deploy).
version_result(name, target, replicas, all_instances) := unknown(problem(name), {}) if {
	not usable(name)
} else := unknown(sprintf("fact %s.instances is missing or not an array", [name]), {}) if {
	not is_array(fact([name, "instances"]))
} else := unknown("the expected replica count is missing or not a number", {}) if {
	not is_number(replicas)
} else := unknown("the expected commit is missing", {}) if {
	not _has_commit(target)
} else := _version_verdict(input.facts[name].instances, target, replicas, all_instances)

_has_commit(target) if non_empty_string(target.commit)

_version_verdict(instances, target, replicas, all_instances) := fail("no-go", sprintf("%d answering instance(s) serve something other than commit %v / %v: %v", [count(bad), target.commit, get(target, "version", null), join(bad)]), ev) if {
	ev := _version_evidence(instances, target, replicas)
	bad := ev.observed.mismatched
	count(bad) > 0
} else := fail("no-go", sprintf("instances not answering: %v", [join(ev.observed.not_answering)]), ev) if {
	all_instances
	ev := _version_evidence(instances, target, replicas)
	count(ev.observed.not_answering) > 0
} else := fail("no-go", sprintf("%d instance(s) serve commit %v, %v expected", [ev.observed.matching, target.commit, replicas]), ev) if {
	ev := _version_evidence(instances, target, replicas)
	ev.observed.matching < replicas
} else := pass(sprintf("%d instance(s) serve commit %v", [ev.observed.matching, target.commit]), ev) if {
	ev := _version_evidence(instances, target, replicas)
	ev.observed.matching >= replicas
	count(ev.observed.mismatched) == 0
	_all_answered(ev, all_instances)
} else := unknown("the versions reported cannot be compared with the expected build", {})

_all_answered(_, false)

_all_answered(ev, true) if count(ev.observed.not_answering) == 0

_version_evidence(instances, target, replicas) := {
	"expected": {
		"commit": target.commit,
		"image": get(target, "image", null),
		"version": get(target, "version", null),
		"replicas": replicas,
	},
	"observed": {
		"reported": count(instances),
		"matching": count([i | some i in instances; _serves(i, target)]),
		"commits": {c: n |
			some c in {_commit_key(i) | some i in instances; _answering(i)}
			n := count([i | some i in instances; _answering(i); _commit_key(i) == c])
		},
		"mismatched": sort([_instance_name(i, k) | some k, i in instances; _answering(i); not _serves(i, target)]),
		"not_answering": sort([_instance_name(i, k) | some k, i in instances; not _answering(i)]),
	},
}

_commit_key(i) := sprintf("%v", [get(i, "commit", null)])

_instance_name(i, k) := i.name if {
	non_empty_string(i.name)
} else := sprintf("instances[%d]", [k])

# An instance answered when it has no error and a 2xx status code.
_answering(i) if {
	is_object(i)
	not has_error(i)
	is_number(i.status_code)
	i.status_code >= 200
	i.status_code < 300
}

# _serves: the commit matches; the image digest and version, when reported, match too.
_serves(i, target) if {
	_answering(i)
	commit_match(i.commit, target.commit)
	_image_ok(i, target)
	_version_ok(i, target)
}

_image_ok(i, _) if get(i, "image", null) in {null, ""}

_image_ok(i, target) if image_digest(i.image) == image_digest(target.image)

_version_ok(i, _) if get(i, "version", null) in {null, ""}

_version_ok(i, target) if i.version == target.version

# health_result(name, replicas): at least `replicas` instances report pass or warn and
# none reports fail.
health_result(name, replicas) := unknown(problem(name), {}) if {
	not usable(name)
} else := unknown(sprintf("fact %s.instances is missing or not an array", [name]), {}) if {
	not is_array(fact([name, "instances"]))
} else := unknown("the expected replica count is missing or not a number", {}) if {
	not is_number(replicas)
} else := _health_verdict(_health_evidence(input.facts[name].instances, replicas), replicas)

_health_verdict(ev, replicas) := fail("no-go", sprintf("instances report fail: %v", [join(ev.failing)]), ev) if {
	count(ev.failing) > 0
} else := fail("no-go", sprintf("%d healthy instance(s), %v expected", [ev.healthy, replicas]), ev) if {
	ev.healthy < replicas
} else := pass(sprintf("%d healthy instance(s)", [ev.healthy]), ev) if {
	count(ev.failing) == 0
	ev.healthy >= replicas
} else := unknown("the health reported cannot be compared with the expected replicas", ev)

_health_evidence(instances, replicas) := {
	"expected_replicas": replicas,
	"healthy": count([i | some i in instances; _healthy(i)]),
	"warn": sort([_instance_name(i, k) | some k, i in instances; _healthy(i); i.status == "warn"]),
	"failing": sort([_instance_name(i, k) | some k, i in instances; i.status == "fail"]),
	"errors": sort([_instance_name(i, k) | some k, i in instances; not _healthy(i); not i.status == "fail"]),
}

_healthy(i) if {
	is_object(i)
	not has_error(i)
	i.status in {"pass", "warn"}
}

health_warnings(rule, name) := {warning(rule, sprintf("instance %v reports health warn", [_instance_name(i, k)]), {"instance": _instance_name(i, k), "status_code": get(i, "status_code", null)}) |
	usable(name)
	some k, i in input.facts[name].instances
	_healthy(i)
	i.status == "warn"
}

# gate_check(id) is the shared rule launch.gate.
#
# METADATA
# title: Input is for this gate
# description: |
#   input.gate names the gate being evaluated. The cutover and rollback rules read
#   input.gate, so evaluating one gate's package with another gate's input would apply
#   the wrong rules.
gate_check(id) := finding("launch.gate", "Input is for this gate", _gate_check(id))

_gate_check(id) := pass(sprintf("input.gate is %v", [id]), {"expected": id, "observed": input.gate}) if {
	input.gate == id
} else := fail("no-go", sprintf("input.gate is %v, this is gate %v", [object.get(input, "gate", null), id]), {"expected": id, "observed": object.get(input, "gate", null)})
