# Sample series and the "sustained" criteria (DESIGN.md, "Sustained, precisely").
#
# A series is Prometheus' encoding [[unix_seconds, "value"], ...]. "NaN" is no value
# (zero traffic makes ratios NaN), "+Inf" counts as above any threshold and "-Inf" as
# below it, so they stay in the series as present samples.
package gatekeeper.lib

_ns_per_s := 1000000000

# point(s) is {t (ns), inf (-1, 0, 1), v (number or "+Inf"/"-Inf")}; undefined for a
# malformed or NaN sample.
point(s) := object.union({"t": s[0] * _ns_per_s}, _value(s[1])) if {
	is_array(s)
	count(s) == 2
	is_number(s[0])
}

_value(v) := {"inf": 1, "v": "+Inf"} if {
	v in {"+Inf", "Inf", "+inf", "inf"}
} else := {"inf": -1, "v": "-Inf"} if {
	v in {"-Inf", "-inf"}
} else := {"inf": 0, "v": n} if {
	n := num(v)
}

_above(p, _) if p.inf == 1

_above(p, threshold) if {
	p.inf == 0
	p.v > threshold
}

# error_rate_threshold / latency_threshold: the values a sample must strictly exceed to
# count towards a breach. The latency budget is a duration, samples are seconds; the
# arithmetic stays in integers until the last division so 400ms*1.2 is exactly 0.48.
error_rate_threshold := t if {
	t := input.runbook.criteria.error_rate.max_ratio
	is_number(t)
	t >= 0
}

latency_threshold := t if {
	budget := duration_ns(input.runbook.criteria.latency_p95.budget)
	tolerance := input.runbook.criteria.latency_p95.tolerance_pct
	is_number(tolerance)
	tolerance >= 0
	t := (budget * (100 + tolerance)) / (100 * _ns_per_s)
}

coverage_ratio := r if {
	r := input.runbook.criteria.coverage_ratio
	is_number(r)
	r > 0
	r <= 1
}

# sustained_window(clip_ns) is {start, end, expected} in ns: the last Y (error_rate.sustained)
# before now − scrape_lag, starting no earlier than clip_ns (the canary step start; 0
# elsewhere). expected always counts samples over the full Y, so a clipped window has
# lower coverage: a step that started 2 minutes ago cannot show 5 sustained minutes.
sustained_window(clip_ns) := {"start": max([end - y, clip_ns]), "end": end, "expected": floor(y / step) + 1} if {
	c := input.runbook.criteria
	y := duration_ns(c.error_rate.sustained)
	y > 0
	step := duration_ns(c.step)
	step > 0
	end := now_ns - duration_ns(c.scrape_lag)
}

_window_problem := "runbook criteria.error_rate.sustained is missing or not a positive duration" if {
	not positive_duration(rb(["criteria", "error_rate", "sustained"]))
} else := "runbook criteria.step is missing or not a positive duration" if {
	not positive_duration(rb(["criteria", "step"]))
} else := "runbook criteria.scrape_lag is missing or not a duration" if {
	not duration_ns(rb(["criteria", "scrape_lag"]))
} else := sprintf("input.now %v is not an RFC 3339 time", [object.get(input, "now", null)])

# sustained(name, threshold, clip_ns) assesses the series in fact `name`.
sustained(name, threshold, clip_ns) := unknown(problem(name), {}) if {
	not usable(name)
} else := unknown(_window_problem, {}) if {
	not sustained_window(clip_ns)
} else := unknown("runbook criteria.coverage_ratio is missing or not in (0, 1]", {}) if {
	not coverage_ratio
} else := unknown(sprintf("fact %s.samples is missing or not an array", [name]), {}) if {
	not is_array(fact([name, "samples"]))
} else := _assess(name, input.facts[name].samples, sustained_window(clip_ns), threshold)

_assess(name, samples, w, threshold) := _verdict(name, present, present / w.expected, threshold, _breached(pts, finite, threshold), {
	"observed": _latest(pts),
	"max": _max(pts, finite),
	"min": _min(pts, finite),
	"threshold": threshold,
	"coverage": round((present / w.expected) * 10000) / 10000,
	"coverage_required": coverage_ratio,
	"present": present,
	"expected": w.expected,
	"window_start": rfc3339(w.start),
	"window_end": rfc3339(w.end),
}) if {
	pts := _window_points(samples, w)
	present := count({x[0] | some x in pts})
	finite := [x[2] | some x in pts; x[1] == 0]
}

# _window_points(samples, w): the samples in the window as sorted [t, inf, v] tuples, as
# point(s) describes them ([t, point(s)] pairs sort in the same order), without a call per
# sample.
_window_points(samples, w) := sort(_classified(raw)) if {
	# [t, v] of the well-formed samples ([number, value]) in the window
	raw := [[t, v] |
		some [s, v] in samples
		is_number(s)
		t := s * _ns_per_s
		t >= w.start
		t <= w.end
	]
}

# A series usually holds decimal strings only: one match over all of them then stands for
# one per sample. (A comma inside a value would split it in two: the count rules that out.)
_classified(raw) := [[t, 0, to_number(v)] | some [t, v] in raw] if {
	values := [v | some [_, v] in raw; is_string(v)]
	count(values) == count(raw)
	joined := concat(",", values)
	regex.match(_numbers_re, joined)
	count(split(joined, ",")) == count(values)
} else := [[t, p.inf, p.v] | some [t, v] in raw; p := _value(v)]

_numbers_re := `^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?(,[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)*$`

_verdict(name, present, coverage, threshold, breached, ev) := unknown(sprintf("no sample of fact %s in the window (empty series or NaN: no traffic)", [name]), ev) if {
	present == 0
} else := unknown(sprintf("fact %s.samples cover %v of the window, below the required %v", [name, ev.coverage, coverage_ratio]), ev) if {
	coverage < coverage_ratio
} else := fail("rollback", sprintf("all %d samples of %s in the window are above %v (latest %v)", [present, name, threshold, ev.observed]), ev) if {
	breached
} else := pass(sprintf("%s is not above %v throughout the window (latest %v, min %v)", [name, threshold, ev.observed, ev.min]), ev) if {
	present > 0
	coverage >= coverage_ratio
} else := unknown(sprintf("fact %s.samples cannot be assessed", [name]), ev)

# Every point is strictly above the threshold: +Inf always is, -Inf never.
_breached(pts, finite, threshold) if {
	every x in pts {
		x[1] != -1
	}
	every v in finite {
		v > threshold
	}
} else := false

_latest(pts) := pts[count(pts) - 1][2] if {
	count(pts) > 0
} else := null

# _max / _min: infinities are reported as the strings "+Inf"/"-Inf" because JSON numbers
# cannot hold them.
_max(pts, finite) := "+Inf" if {
	some x in pts
	x[1] == 1
} else := max(finite) if {
	count(finite) > 0
} else := "-Inf" if {
	count(pts) > 0
} else := null

_min(pts, finite) := "-Inf" if {
	some x in pts
	x[1] == -1
} else := min(finite) if {
	count(finite) > 0
} else := "+Inf" if {
	count(pts) > 0
} else := null
