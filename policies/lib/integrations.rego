# Critical integrations (post-smoke, canary, window).
#
# One aggregate result covers every integration the runbook declares, so a gate can
# require a single rule id and still never go when any critical integration is down,
# missing from the fact, or unassessable. Per-integration details are in the evidence.
package gatekeeper.lib

_integration_specs := rb(["criteria", "integrations"])

integrations_result := unknown("runbook criteria.integrations is missing or not an array", {}) if {
	not is_array(_integration_specs)
} else := unknown("runbook criteria.integrations has an entry without a name", {}) if {
	some s in _integration_specs
	not _named(s)
} else := pass("no integrations declared in runbook criteria.integrations", {"integrations": {}}) if {
	count(_integration_specs) == 0
} else := unknown(problem("integrations"), {}) if {
	not usable("integrations")
} else := unknown("fact integrations.items is missing or not an array", {}) if {
	not is_array(fact(["integrations", "items"]))
} else := _fold_integrations(integration_assessments)

# integration_assessments: name → {status, severity, reason, evidence, warning}.
integration_assessments[name] := _assess_integration(spec, items) if {
	some name in {s.name | some s in _integration_specs}
	spec := [s | some s in _integration_specs; s.name == name][0]
	items := [it | some it in input.facts.integrations.items; it.name == name]
}

# integration_warnings(rule): non-critical outages, outages that began before cutover,
# and critical integrations the fact does not mention.
integration_warnings(rule) := {warning(rule, a.warning, {"integration": name, "detail": a.evidence}) |
	usable("integrations")
	some name, a in integration_assessments
	a.warning != null
}

_named(s) if non_empty_string(s.name)

# Missing `critical` is treated as critical: an unclassified dependency is not optional.
_critical(spec) if get(spec, "critical", true) != false

_up(items) if {
	count(items) > 0
	every it in items {
		it.probe.ok == true
		not has_error(it.probe)
	}
}

_assess_integration(spec, items) := object.union(unknown(sprintf("%s: no probe result in fact integrations.items", [spec.name]), _integration_evidence(spec, null)), {"warning": null}) if {
	count(items) == 0
	_critical(spec)
} else := object.union(pass(sprintf("%s (non-critical): no probe result", [spec.name]), _integration_evidence(spec, null)), {"warning": sprintf("non-critical integration %s has no probe result in fact integrations.items", [spec.name])}) if {
	count(items) == 0
} else := object.union(pass(sprintf("%s is up", [spec.name]), _integration_evidence(spec, items[0])), {"warning": null}) if {
	_up(items)
} else := _assess_down(spec, items[0], _integration_evidence(spec, items[0]))

_assess_down(spec, item, ev) := object.union(pass(sprintf("%s (non-critical) is down", [spec.name]), ev), {"warning": sprintf("non-critical integration %s is down (down since %v)", [spec.name, ev.down_since])}) if {
	not _critical(spec)
} else := object.union(fail("no-go", sprintf("%s is down and the start of its outage is unknown (no availability samples ending in a failure)", [spec.name]), ev), {"warning": null}) if {
	not _outage_start_ns(item)
} else := object.union(fail("no-go", sprintf("%s is down since %v, before cutover: rolling back would not fix it", [spec.name, ev.down_since]), ev), {"warning": sprintf("critical integration %s has been down since %v, before cutover %v: rolling back would not fix it", [spec.name, ev.down_since, input.cutover_at])}) if {
	_outage_start_ns(item) < cutover_ns
} else := object.union(fail("no-go", sprintf("%s is down since %v; input.cutover_at is missing or not a time", [spec.name, ev.down_since]), ev), {"warning": null}) if {
	not cutover_ns
} else := object.union(fail("no-go", sprintf("%s is down since %v; its max_unavailable %v is not a duration", [spec.name, ev.down_since, get(spec, "max_unavailable", null)]), ev), {"warning": null}) if {
	not duration_ns(get(spec, "max_unavailable", null))
} else := object.union(fail("rollback", sprintf("%s has been down since %v, longer than max_unavailable %v", [spec.name, ev.down_since, spec.max_unavailable]), ev), {"warning": null}) if {
	now_ns - _outage_start_ns(item) > duration_ns(spec.max_unavailable)
} else := object.union(fail("no-go", sprintf("%s is down since %v, not yet longer than max_unavailable %v", [spec.name, ev.down_since, spec.max_unavailable]), ev), {"warning": null})

_integration_evidence(spec, item) := {
	"critical": _critical_flag(spec),
	"up": _up_flag(item),
	"probe_status_code": object.get(_probe(item), "status_code", null),
	"down_since": _down_since(item),
	"down_for_seconds": _down_for(item),
	"max_unavailable": get(spec, "max_unavailable", null),
}

_probe(item) := item.probe if {
	is_object(item.probe)
} else := {}

_critical_flag(spec) if {
	_critical(spec)
} else := false

_up_flag(item) if {
	_up([item])
} else := false

_down_since(item) := rfc3339(_outage_start_ns(item)) if {
	not _up([item])
} else := null

_down_for(item) := (now_ns - _outage_start_ns(item)) / _ns_per_s if {
	not _up([item])
} else := null

# _outage_start_ns(item): the first timestamp of the trailing run of "0" availability
# samples ending at the newest sample; undefined when the newest sample is not a failure.
_outage_start_ns(item) := pts[_run_start(ups)][0] if {
	pts := sort([[p.t, p.down] | some s in item.availability.samples; p := _availability(s)])
	count(pts) > 0
	pts[count(pts) - 1][1] == true
	ups := [i | some i, x in pts; x[1] == false]
}

_availability(s) := {"t": s[0] * _ns_per_s, "down": _is_zero(num(s[1]))} if {
	is_array(s)
	count(s) == 2
	is_number(s[0])
}

_is_zero(n) if {
	n == 0
} else := false

_fold_integrations(assessed) := fail(_worst(assessed), concat("; ", sort([a.reason | some a in assessed; a.status == "fail"])), _integrations_evidence(assessed)) if {
	some a in assessed
	a.status == "fail"
} else := unknown(concat("; ", sort([a.reason | some a in assessed; a.status != "pass"])), _integrations_evidence(assessed)) if {
	some a in assessed
	a.status != "pass"
} else := pass(concat("; ", sort([a.reason | some a in assessed])), _integrations_evidence(assessed))

_worst(assessed) := "rollback" if {
	some a in assessed
	a.status == "fail"
	a.severity == "rollback"
} else := "no-go"

_integrations_evidence(assessed) := {"integrations": {name: a.evidence | some name, a in assessed}}
