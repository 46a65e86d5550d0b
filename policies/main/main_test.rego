package gatekeeper.main_test

import data.gatekeeper.main
import data.gatekeeper.test.fixtures as fx

test_result_for_every_gate if {
	every pkg, inp in fx.inputs {
		r := main.result with input as inp
		g := fx.gate(pkg, inp)
		r == {
			"gate": inp.gate,
			"step": object.get(inp, "step", null),
			"decision": g.decision,
			"checks": g.checks,
			"warnings": g.warnings,
			"complete": g.complete,
		}
		r.decision == "go"
	}
}

test_gate_ids_map_to_packages if {
	every id, pkg in main.packages {
		fx.inputs[pkg].gate == id
	}
}

test_canary_step_is_reported if {
	r := main.result with input as fx.inputs.canary
	r.step == 25
}

test_unknown_gate_is_no_go if {
	r := main.result with input as object.union(fx.inputs.window, {"gate": "windows"})
	r.decision == "no-go"
	r.complete == false
	r.checks[0].rule == "launch.gate"
	r.checks[0].status == "unknown"
}

test_missing_gate_is_no_go if {
	r := main.result with input as json.remove(fx.inputs.window, ["gate"])
	r.decision == "no-go"
	r.gate == null
}

test_completed_window if {
	r := main.result with input as object.union(fx.inputs.window, {"cutover_at": "2026-11-25T13:00:00Z"})
	r.decision == "go"
	r.complete == true
}
