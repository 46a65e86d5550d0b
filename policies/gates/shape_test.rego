package gatekeeper.gates.shape_test

import data.gatekeeper.test.fixtures as fx

_gates := ["pre_cutover", "post_deploy", "post_smoke", "canary", "window", "post_rollback"]

_shape(gate, inp) := fx.check(gate, inp, "input.facts_wellformed")

test_example_inputs_are_wellformed if {
	every gate in _gates {
		_shape(gate, fx.inputs[gate]).outcome == "go"
	}
}

test_malformed_facts_never_go if {
	every gate in _gates {
		every mutate in _mutations {
			inp := object.union(fx.inputs[gate], {"facts": mutate})
			_shape(gate, inp).outcome == "no-go"
			fx.decision(gate, inp) != "go"
		}
	}
}

_signoff := fx.signoff

_mutations := {
	"unknown fact name": {"error_ratio": object.union(_signoff, {"source": "prometheus"})},
	"error null": {"signoff": object.union(_signoff, {"error": null})},
	"duration_ms a string": {"signoff": object.union(_signoff, {"duration_ms": "2"})},
	"duration_ms negative": {"signoff": object.union(_signoff, {"duration_ms": -1})},
	"query a number": {"signoff": object.union(_signoff, {"query": 7})},
	"fact not an object": {"deploy": "succeeded"},
	"custom fact without source": {"custom": {"cache_flushed": {"collected_at": "2026-11-25T14:04:58Z"}}},
	"custom not an object": {"custom": ["cache_flushed"]},
}

test_missing_facts_never_go if {
	every gate in _gates {
		inp := json.remove(fx.inputs[gate], ["facts"])
		_shape(gate, inp).outcome == "no-go"
		fx.decision(gate, inp) != "go"
	}
}

test_problem_names_the_fact_and_field if {
	inp := object.union(fx.inputs.window, {"facts": {"signoff": object.union(_signoff, {"error": null})}})
	_shape("window", inp).message == "Facts well-formed (not met): fact signoff: error is null (null), expected a string or absent"
}

test_custom_facts_with_provenance_are_wellformed if {
	inp := object.union(fx.inputs.window, {"facts": {"custom": {"cache_flushed": {"source": "gatekeeper", "collected_at": "2026-11-25T14:04:58Z", "path": "x"}}}})
	_shape("window", inp).outcome == "go"
}
