# An example of a team's own rule, loaded beside the built-ins with
#   gatekeeper evaluate --policies testdata/example/policies ...
# A rule added to a gate's package adds a check to that gate: here the client's change freeze
# forbids starting a cutover on a Friday after 15:00 UTC or at a weekend.
package gatekeeper.gates.pre_cutover

# METADATA
# title: Change freeze
# description: No cutover starts on Friday after 15:00 UTC, on Saturday or on Sunday.
findings contains f if {
	now_ns := time.parse_rfc3339_ns(input.now)
	day := time.weekday(now_ns)
	[hour, _, _] := time.clock(now_ns)
	frozen := _frozen(day, hour)
	f := {
		"rule": "team.change_freeze",
		"status": _status[frozen],
		"severity": "no-go",
		"message": sprintf("Change freeze: %s %02d:00 UTC is %s", [day, hour, _verdict[frozen]]),
		"evidence": {"observed": sprintf("%s %02d:00", [day, hour]), "threshold": "Mon-Fri 15:00"},
	}
}

_status := {true: "fail", false: "pass"}

_verdict := {true: "inside the freeze", false: "outside the freeze"}

_frozen(day, _) if day in {"Saturday", "Sunday"}

_frozen(day, hour) if {
	day == "Friday"
	hour >= 15
}

default _frozen(_, _) := false
