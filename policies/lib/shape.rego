# The shape of the facts, checked in Rego so that an OPA server running the bundle — which
# does not run gatekeeper's CUE validation — refuses what `evaluate` refuses: an unknown fact
# name, a fact that is not an object, or provenance of the wrong type. The fields each gate
# reads are checked where they are read; this covers what no gate reads.
package gatekeeper.lib

# METADATA
# title: Facts well-formed
# description: |
#   input.facts is an object whose keys are known fact names (or custom), each fact an
#   object with a string source and collected_at, and error, duration_ms, query, url and
#   path absent or of their documented type. Anything else is no-go: a fact written under
#   the wrong name or shape must never be silently ignored.
wellformed := finding("input.facts_wellformed", "Facts well-formed", _wellformed)

_wellformed := fail("no-go", join(sort(_shape_problems)), {"problems": sort(_shape_problems)}) if {
	count(_shape_problems) > 0
} else := pass(sprintf("%d fact(s), all of known names and well-formed provenance", [count(object.keys(_facts))]), {"facts": sort(object.keys(_facts))})

_shape_problems contains "input.facts is missing or not an object" if not is_object(object.get(input, "facts", null))

_shape_problems contains sprintf("fact %s is not a known fact name (a typo or a renamed fact?)", [name]) if {
	some name, _ in _facts
	not fact_sources[name]
	name != "custom"
}

_shape_problems contains "fact custom is not an object" if {
	_facts.custom
	not is_object(_facts.custom)
}

_shape_problems contains p if {
	some name, f in _facts
	name != "custom"
	some p in _provenance_problems(name, f)
}

_shape_problems contains p if {
	some name, f in _custom
	some p in _provenance_problems(sprintf("custom.%s", [name]), f)
}

_provenance_problems(name, f) := {sprintf("fact %s is not an object", [name])} if {
	not is_object(f)
} else := {p |
	some field, want in _provenance_types
	v := object.get(f, field, _absent)
	not _type_ok(v, want)
	p := sprintf("fact %s: %s is %v, expected %s", [name, field, _shown(v), want])
}

_absent := {"gatekeeper": "absent"}

_provenance_types := {
	"source": "a string",
	"collected_at": "a string",
	"error": "a string or absent",
	"duration_ms": "a number >= 0 or absent",
	"query": "a string or absent",
	"url": "a string or absent",
	"path": "a string or absent",
}

_type_ok(v, "a string") if is_string(v)

_type_ok(v, "a string or absent") if is_string(v)

_type_ok(v, "a string or absent") if v == _absent

_type_ok(v, "a number >= 0 or absent") if {
	is_number(v)
	v >= 0
}

_type_ok(v, "a number >= 0 or absent") if v == _absent

_shown(v) := "missing" if v == _absent

else := sprintf("%v (%s)", [v, type_name(v)])
