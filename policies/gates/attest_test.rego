package gatekeeper.gates.attest_test

import data.gatekeeper.test.fixtures as fx

_with(gate, items) := object.union(fx.inputs[gate], {"facts": {"attestations": {
	"source": "archive", "path": "archives/shop-2.4.0-production", "collected_at": "2026-11-25T14:04:59Z", "items": items,
}}})

_check(gate, items, rule) := fx.check(gate, _with(gate, items), rule)

_mc(check, result, critical) := {"kind": "manual_check", "at": "2026-11-25T13:50:00Z", "by": "Dana Ortiz", "check": check, "result": result, "critical": critical, "note": "", "signed_by": "ed25519:abc"}

_call(at, call) := {"kind": "call", "at": at, "by": "Dana Ortiz", "call": call, "note": "checkout looks wrong", "signed_by": "ed25519:abc"}

test_nothing_attested_adds_nothing if {
	every gate in ["pre_cutover", "post_deploy", "post_smoke", "canary", "window"] {
		fx.decision(gate, fx.inputs[gate]) == "go"
		count([c | some c in fx.gate(gate, fx.inputs[gate]).checks; startswith(c.rule, "attest.")]) == 0
	}
}

test_passing_manual_checks_keep_go if {
	c := _check("window", [_mc("refund works", "pass", true), _mc("emails arrive", "pass", false)], "attest.manual_checks")
	c.outcome == "go"
	fx.decision("window", _with("window", [_mc("refund works", "pass", true)])) == "go"
}

test_failed_critical_manual_check_rolls_back if {
	every gate in ["post_deploy", "post_smoke", "canary", "window"] {
		_check(gate, [_mc("refund works", "fail", true)], "attest.manual_checks").outcome == "rollback"
		fx.decision(gate, _with(gate, [_mc("refund works", "fail", true)])) == "rollback"
	}
}

test_malformed_critical_result_counts_as_failed if {
	_check("window", [_mc("refund works", "ok?", true)], "attest.manual_checks").outcome == "rollback"
}

test_failed_manual_check_before_cutover_is_no_go if {
	_check("pre_cutover", [_mc("refund works", "fail", true)], "attest.manual_checks").outcome == "no-go"
	fx.decision("pre_cutover", _with("pre_cutover", [_mc("refund works", "fail", true)])) == "no-go"
}

test_failed_non_critical_check_is_a_warning if {
	inp := _with("window", [_mc("emails arrive", "fail", false)])
	fx.decision("window", inp) == "go"
	count(fx.warnings_of("window", inp, "attest.manual_checks")) == 1
}

test_rollback_call_rolls_back_even_after_resume if {
	items := [_call("2026-11-25T13:40:00Z", "rollback"), _call("2026-11-25T13:45:00Z", "resume")]
	_check("window", items, "attest.commander_call").outcome == "rollback"
	fx.decision("window", _with("window", items)) == "rollback"
}

test_hold_call_holds_until_resumed if {
	held := [_call("2026-11-25T13:40:00Z", "hold")]
	_check("canary", held, "attest.commander_call").outcome == "no-go"
	fx.decision("canary", _with("canary", held)) == "no-go"
	resumed := array.concat(held, [_call("2026-11-25T13:45:00Z", "resume")])
	_check("canary", resumed, "attest.commander_call").outcome == "go"
	fx.decision("canary", _with("canary", resumed)) == "go"
}

test_unknown_call_is_not_go if {
	_check("window", [_call("2026-11-25T13:40:00Z", "maybe")], "attest.commander_call").outcome == "no-go"
}

test_unreadable_attestations_hold if {
	inp := object.union(fx.inputs.window, {"facts": {"attestations": {"source": "archive", "path": "a", "collected_at": "2026-11-25T14:04:59Z", "error": "archive unreadable"}}})
	fx.check("window", inp, "attest.unreadable").outcome == "no-go"
	fx.decision("window", inp) == "no-go"
}
