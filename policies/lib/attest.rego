# Manual checks and the commander's calls, recorded with `gatekeeper attest` and read back
# from the launch archive as fact `attestations`. The practice guide supplements automated
# smoke tests with manual checks, and the commander owns the call: a failed critical manual
# check or a rollback call is a rollback reason, a hold call holds until resumed. Nothing
# attested adds no finding: manual checks supplement the automated checks, they are not
# required by any gate.
package gatekeeper.lib

# attested is what a gate adds to its findings for the attestations archived so far.
attested contains finding("attest.unreadable", "Attestations readable", unknown(problem("attestations"), {})) if {
	_attest_present
	not usable("attestations")
}

attested contains finding("attest.manual_checks", "No critical manual check failed", _manual) if {
	usable("attestations")
	count(_manual_checks) > 0
}

attested contains finding("attest.commander_call", "No hold or rollback call by the commander", _call) if {
	usable("attestations")
	count(_calls) > 0
}

# attest_advisories are the failed manual checks that are not critical.
attest_advisories contains warning("attest.manual_checks", sprintf("manual check %q failed (not critical), attested by %v at %v", [x.check, x.by, x.at]), x) if {
	usable("attestations")
	some x in _manual_checks
	not _passed(x)
	not x.critical == true
}

_attest_present if input.facts.attestations

_items := [x | some x in input.facts.attestations.items; is_object(x)]

_manual_checks := [_attestation(x) | some x in _items; x.kind == "manual_check"]

_calls := sort([[_at(x), _attestation(x)] | some x in _items; x.kind == "call"])

_attestation(x) := {k: v |
	some k in ["at", "by", "check", "result", "critical", "call", "note", "signed_by"]
	v := object.get(x, k, null)
}

_at(x) := x.at if is_string(x.at)

else := ""

_passed(x) if x.result == "pass"

# A critical check whose result is anything but "pass" (fail, or a malformed result) failed.
_failed_critical := [x | some x in _manual_checks; x.critical == true; not _passed(x)]

_manual := fail("rollback", sprintf("critical manual check(s) failed: %v", [join([sprintf("%v (by %v at %v)", [x.check, x.by, x.at]) | some x in _failed_critical])]), {"failed": _failed_critical, "checks": _manual_checks}) if {
	count(_failed_critical) > 0
} else := pass(sprintf("%d manual check(s) attested, no critical one failed", [count(_manual_checks)]), {"checks": _manual_checks})

_rollback_calls := [c | some pair in _calls; c := pair[1]; c.call == "rollback"]

_latest_call := _calls[count(_calls) - 1][1]

# A rollback call is final; a hold lasts until a later resume.
_call := fail("rollback", sprintf("the commander called a rollback (%v at %v): %v", [c.by, c.at, object.get(c, "note", "")]), {"calls": [pair[1] | some pair in _calls], "call": c}) if {
	count(_rollback_calls) > 0
	c := _rollback_calls[0]
} else := fail("no-go", sprintf("the commander called a hold (%v at %v): %v", [_latest_call.by, _latest_call.at, object.get(_latest_call, "note", "")]), {"calls": [pair[1] | some pair in _calls], "call": _latest_call}) if {
	_latest_call.call == "hold"
} else := pass(sprintf("the commander's last call is %v (%v at %v)", [_latest_call.call, _latest_call.by, _latest_call.at]), {"calls": [pair[1] | some pair in _calls], "call": _latest_call}) if {
	_latest_call.call == "resume"
} else := unknown(sprintf("the commander's last call %v is not hold, rollback or resume", [object.get(_latest_call, "call", null)]), {"calls": [pair[1] | some pair in _calls], "call": _latest_call})
