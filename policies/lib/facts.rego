# METADATA
# title: gatekeeper shared library
# description: |
#   Fact usability, time and number parsing, and the result shapes that gate rules
#   build their findings from. Everything here reads only `input`.
package gatekeeper.lib

# Strings are matched against these shapes before they reach a parsing builtin, so a
# malformed value makes the caller undefined (and its rule unknown) instead of raising
# an evaluation error when the engine runs with strict builtin errors.
_rfc3339_re := `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`

_duration_re := `^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`

_number_re := `^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`

# time_ns parses an RFC 3339 time to Unix nanoseconds; undefined when it is not one.
time_ns(s) := time.parse_rfc3339_ns(s) if {
	is_string(s)
	regex.match(_rfc3339_re, s)
}

# duration_ns parses a Go/Prometheus duration ("90s", "1h30m"); undefined otherwise.
duration_ns(s) := time.parse_duration_ns(s) if {
	is_string(s)
	regex.match(_duration_re, s)
}

positive_duration(s) if duration_ns(s) > 0

# time_scale is the runbook's test-only time compression (testing.time_scale, see
# docs/facts.md); 1 in every real launch. The production pre-cutover gate is no-go
# while it is set, so it only ever compresses rehearsals and end-to-end tests.
time_scale := n if {
	n := input.runbook.testing.time_scale
	is_number(n)
	n >= 1
} else := 1

# scaled_ns(s): a window, bake or announce-lead duration as the launch runs it, i.e.
# duration_ns(s) divided by time_scale (rounded down, as the sequencer divides).
scaled_ns(s) := floor(duration_ns(s) / time_scale)

# full_commit: a full, lowercase 40-hex commit SHA.
full_commit(s) if {
	is_string(s)
	regex.match(`^[0-9a-f]{40}$`, s)
}

# rfc3339 formats Unix nanoseconds for evidence (UTC).
rfc3339(ns) := time.format(floor(ns))

# num accepts a JSON number or a finite decimal string ("0.013"); "NaN", "+Inf" and
# anything else are undefined, so callers treat them as "no value".
num(v) := v if {
	is_number(v)
} else := to_number(v) if {
	is_string(v)
	regex.match(_number_re, v)
}

# get is object.get that tolerates a non-object (data from collectors may be anything).
get(x, key, fallback) := object.get(x, key, fallback) if {
	is_object(x)
} else := fallback

# join lists anything for a message, whatever the element types.
join(xs) := concat(", ", [sprintf("%v", [x]) | some x in xs])

# non_empty_string is true for a string with something other than blanks in it.
non_empty_string(s) if {
	is_string(s)
	trim_space(s) != ""
}

now_ns := time_ns(input.now)

# env is the runbook block of the environment being launched to.
env := input.runbook.environments[input.environment]

cutover_ns := time_ns(input.cutover_at)

# after_cutover: rollback outcomes only make sense once production traffic has moved.
after_cutover if {
	input.gate != "pre-cutover"
	now_ns >= cutover_ns
}

# The source every known fact must come from. A fact claiming another source would be
# judged against the wrong max_age (e.g. an archive's 720h instead of sql's 10m).
fact_sources := {
	"signoff": "gatekeeper",
	"uat": "uat",
	"rehearsal": "archive",
	"notifications": "notify",
	"production_error_rate": "prometheus",
	"integrity": "sql",
	"integrity_baseline": "archive",
	"deployment": "deploy",
	"versions": "http",
	"health": "http",
	"smoke": "smoke",
	"integrations": "http",
	"traffic": "prometheus",
	"error_rate": "prometheus",
	"latency_p95": "prometheus",
	"request_count": "prometheus",
	"history": "archive",
	"attestations": "archive",
	"hooks": "archive",
}

_facts := input.facts if {
	is_object(input.facts)
} else := {}

_custom := _facts.custom if {
	is_object(_facts.custom)
} else := {}

_max_age := env.max_age if {
	is_object(env.max_age)
} else := {}

# usable(name): the fact is present, did not fail, comes from its documented source,
# was collected no later than now and is not older than max_age[source]. A source
# without a max_age is never fresh: staleness must be bounded explicitly.
usable(name) if {
	f := _facts[name]
	f.source == fact_sources[name]
	fact_usable(f)
}

# custom_usable(name) is usable() for a user fact under input.facts.custom.
custom_usable(name) if fact_usable(_custom[name])

# fact_usable applies the freshness rules to any fact object. (time_ns, duration_ns and
# has_error are spelled out: this runs for every fact a gate reads.)
fact_usable(f) if {
	is_object(f)
	object.get(f, "error", null) in {"", null}
	is_string(f.collected_at)
	regex.match(_rfc3339_re, f.collected_at)
	at := time.parse_rfc3339_ns(f.collected_at)
	at <= now_ns
	max_age := _max_age[f.source]
	is_string(max_age)
	regex.match(_duration_re, max_age)
	now_ns - at <= time.parse_duration_ns(max_age)
}

has_error(f) if {
	e := f.error
	not e in {"", null}
}

# problem(name) says why fact `name` is not usable, naming the field at fault.
problem(name) := _problem(object.get(_facts, name, null), name, object.get(fact_sources, name, null))

custom_problem(name) := _problem(object.get(_custom, name, null), sprintf("custom.%s", [name]), null)

_problem(f, name, want) := sprintf("fact %s is missing", [name]) if {
	f == null
} else := sprintf("fact %s is not an object", [name]) if {
	not is_object(f)
} else := sprintf("fact %s: collection failed: %v", [name, f.error]) if {
	has_error(f)
} else := sprintf("fact %s: source is %v, expected %v", [name, object.get(f, "source", null), want]) if {
	want != null
	object.get(f, "source", null) != want
} else := sprintf("fact %s: collected_at %v is not an RFC 3339 time", [name, object.get(f, "collected_at", null)]) if {
	not time_ns(object.get(f, "collected_at", null))
} else := sprintf("input.now %v is not an RFC 3339 time", [object.get(input, "now", null)]) if {
	not now_ns
} else := sprintf("fact %s: collected_at %v is after now %v", [name, f.collected_at, input.now]) if {
	time_ns(f.collected_at) > now_ns
} else := sprintf("fact %s: runbook environments.%v.max_age.%v is missing or not a duration", [name, object.get(input, "environment", null), object.get(f, "source", null)]) if {
	not duration_ns(object.get(_max_age, object.get(f, "source", null), null))
} else := sprintf("fact %s is stale: collected_at %v is older than max_age.%v (%v)", [name, f.collected_at, f.source, _max_age[f.source]]) if {
	now_ns - time_ns(f.collected_at) > duration_ns(_max_age[f.source])
} else := sprintf("fact %s is not usable", [name])

# Result shapes: a rule computes one of these (status, severity, reason, evidence)
# and finding() turns it into the documented finding.
pass(reason, evidence) := {"status": "pass", "severity": "no-go", "reason": reason, "evidence": evidence}

unknown(reason, evidence) := {"status": "unknown", "severity": "no-go", "reason": reason, "evidence": evidence}

fail(severity, reason, evidence) := {"status": "fail", "severity": severity, "reason": reason, "evidence": evidence}

finding(rule, title, r) := {
	"rule": rule,
	"status": r.status,
	"severity": r.severity,
	"message": sprintf("%s%s: %s", [title, _status_suffix[r.status], r.reason]),
	"evidence": r.evidence,
}

# Titles state what go requires; the verdict keeps a failed one from reading as a pass.
_status_suffix := {"pass": "", "fail": " (not met)", "unknown": " (unknown)"}

warning(rule, message, evidence) := {"rule": rule, "message": message, "evidence": evidence}

# Safe roots for evidence: object.get over these never makes a rule undefined.
runbook := input.runbook if {
	is_object(input.runbook)
} else := {}

environment := env if {
	is_object(env)
} else := {}

# rb(path) / env_get(path) / fact(path): a value for evidence, null when absent.
rb(path) := object.get(runbook, path, null)

env_get(path) := object.get(environment, path, null)

fact(path) := object.get(_facts, path, null)
