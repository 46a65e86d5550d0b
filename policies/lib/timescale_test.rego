package gatekeeper.lib.timescale_test

import data.gatekeeper.lib
import data.gatekeeper.test.fixtures as fx

_scaled(inp, n) := json.patch(inp, [{"op": "add", "path": "/runbook/testing", "value": {"time_scale": n}}])

test_scaled_ns_without_testing_is_duration_ns if {
	lib.scaled_ns("90s") == 90000000000 with input as fx.inputs.window
	lib.time_scale == 1 with input as fx.inputs.window
}

test_scaled_ns_divides_and_rounds_down if {
	lib.scaled_ns("30m") == 30000000000 with input as _scaled(fx.inputs.window, 60)
	lib.scaled_ns("10s") == 3333333333 with input as _scaled(fx.inputs.window, 3)
}

test_bad_time_scale_is_ignored if {
	lib.time_scale == 1 with input as _scaled(fx.inputs.window, "60")
	lib.time_scale == 1 with input as _scaled(fx.inputs.window, 0)
}

# The window (60m in the fixture, cutover 45m before now) completes at now only once
# time_scale shortens it, and max_unknown shrinks with it.
test_window_complete_follows_time_scale if {
	fx.gate("window", fx.inputs.window).complete == false
	fx.gate("window", _scaled(fx.inputs.window, 2)).complete == true
	lib.max_unknown_ns == 60000000000 with input as _scaled(fx.inputs.window, 5)
}

test_production_pre_cutover_refuses_test_settings if {
	fx.decision("pre_cutover", fx.inputs.pre_cutover) == "go"
	inp := _scaled(fx.inputs.pre_cutover, 60)
	fx.decision("pre_cutover", inp) == "no-go"
	c := fx.check("pre_cutover", inp, "launch.no_test_settings")
	c.outcome == "no-go"
	contains(c.message, "test settings")
}

test_staging_allows_test_settings if {
	c := fx.check("window", json.patch(_scaled(fx.inputs.window, 60), [{"op": "replace", "path": "/environment", "value": "staging"}]), "window.error_rate_sustained")
	c.rule == "window.error_rate_sustained"
	r := lib.no_test_settings with input as json.patch(_scaled(fx.inputs.pre_cutover, 60), [{"op": "replace", "path": "/environment", "value": "staging"}])
	r.status == "pass"
}
