package gatekeeper.gates.pre_cutover_test

import data.gatekeeper.gates.pre_cutover

freeze_checks(now) := [c |
	some c in pre_cutover.checks with input as {"now": now}
	c.rule == "team.change_freeze"
]

test_wednesday_morning_is_open if {
	[c] := freeze_checks("2026-11-25T09:00:00Z")
	c.status == "pass"
}

test_friday_afternoon_is_frozen if {
	[c] := freeze_checks("2026-11-27T15:30:00Z")
	c.status == "fail"
	c.outcome == "no-go"
}

test_sunday_is_frozen if {
	[c] := freeze_checks("2026-11-29T10:00:00Z")
	c.status == "fail"
}
