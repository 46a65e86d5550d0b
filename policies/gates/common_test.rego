# Properties every gate shares: the passing fixtures go, and anything wrong with any
# fact or with the shared inputs (sign-off, cutover, gate id) never goes.
package gatekeeper.gates.common_test

import data.gatekeeper.test.fixtures as fx

gates := object.keys(fx.inputs)

_stale := "2026-10-01T00:00:00Z" # older than every max_age (the longest is 720h)

_future := "2026-11-25T14:05:01Z"

# Every fact of every gate, as [gate, fact name].
_facts := [[g, k] | some g in gates; some k in object.keys(fx.inputs[g].facts)]

_not_go(g, inp) if fx.decision(g, inp) != "go"

test_passing_inputs_go if {
	every g in gates {
		fx.decision(g, fx.inputs[g]) == "go"
	}
}

test_passing_inputs_every_check_passes if {
	every g in gates {
		every c in fx.gate(g, fx.inputs[g]).checks {
			c.status == "pass"
			c.outcome == "go"
		}
	}
}

test_every_required_rule_reports if {
	every g in gates {
		rules := {c.rule | some c in fx.gate(g, fx.inputs[g]).checks}
		every r in fx.gate(g, fx.inputs[g]).required {
			r in rules
		}
	}
}

test_checks_have_the_documented_shape if {
	every g in gates {
		every c in fx.gate(g, fx.inputs[g]).checks {
			object.keys(c) == {"rule", "outcome", "status", "message", "evidence"}
			is_object(c.evidence)
			is_string(c.message)
		}
	}
}

test_checks_sorted_by_rule if {
	every g in gates {
		rules := [c.rule | some c in fx.gate(g, fx.inputs[g]).checks]
		rules == sort(rules)
	}
}

test_fact_missing_never_goes if {
	bad := [x | some x in _facts; fx.decision(x[0], json.remove(fx.inputs[x[0]], [concat("/", ["facts", x[1]])])) == "go"]
	print("facts whose absence still goes:", bad)
	bad == []
}

test_fact_errored_never_goes if {
	bad := [x | some x in _facts; fx.decision(x[0], fx.set_fact(fx.inputs[x[0]], x[1], {"error": "connection refused"})) == "go"]
	print("facts whose error still goes:", bad)
	bad == []
}

test_fact_stale_never_goes if {
	bad := [x | some x in _facts; fx.decision(x[0], fx.set_fact(fx.inputs[x[0]], x[1], {"collected_at": _stale})) == "go"]
	print("stale facts that still go:", bad)
	bad == []
}

test_fact_future_dated_never_goes if {
	bad := [x | some x in _facts; fx.decision(x[0], fx.set_fact(fx.inputs[x[0]], x[1], {"collected_at": _future})) == "go"]
	print("future-dated facts that still go:", bad)
	bad == []
}

test_fact_unparseable_time_never_goes if {
	bad := [x | some x in _facts; fx.decision(x[0], fx.set_fact(fx.inputs[x[0]], x[1], {"collected_at": "yesterday"})) == "go"]
	print("facts with a bad collected_at that still go:", bad)
	bad == []
}

test_fact_wrong_source_never_goes if {
	bad := [x | some x in _facts; fx.decision(x[0], fx.set_fact(fx.inputs[x[0]], x[1], {"source": "custom"})) == "go"]
	print("facts with another source that still go:", bad)
	bad == []
}

test_fact_empty_never_goes if {
	bad := [x |
		some x in _facts
		f := fx.inputs[x[0]].facts[x[1]]
		empty := {k: v | some k, v in f; k in {"source", "collected_at", "error", "duration_ms", "query", "url", "path"}}
		fx.decision(x[0], fx.with_path(fx.inputs[x[0]], concat("/", ["facts", x[1]]), empty)) == "go"
	]
	print("facts with provenance but no data that still go:", bad)
	bad == []
}

test_fact_renamed_never_goes if {
	bad := [x |
		some x in _facts
		inp := fx.inputs[x[0]]
		renamed := object.union(object.remove(inp.facts, [x[1]]), {concat("", [x[1], "_v2"]): inp.facts[x[1]], upper(x[1]): inp.facts[x[1]]})
		fx.decision(x[0], fx.replace(inp, "facts", renamed)) == "go"
	]
	print("facts that still go under another name:", bad)
	bad == []
}

test_source_without_max_age_never_goes if {
	bad := [[g, s] |
		some g in gates
		some s in {f.source | some f in fx.inputs[g].facts}
		fx.decision(g, json.remove(fx.inputs[g], [concat("/", ["runbook/environments/production/max_age", s])])) == "go"
	]
	print("sources without max_age that still go:", bad)
	bad == []
}

test_signoff_digest_mismatch_never_goes if {
	every g in gates {
		inp := fx.set_fact(fx.inputs[g], "signoff", {"digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000"})
		fx.decision(g, inp) == "no-go"
		c := fx.check(g, inp, "runbook.signed_off")
		c.status == "fail"
		c.evidence == {"expected": fx.digest, "observed": "sha256:0000000000000000000000000000000000000000000000000000000000000000"}
	}
}

test_signoff_needs_names if {
	every g in gates {
		every by in [[], [""], ["Dana Ortiz", "  "], "Dana Ortiz", null] {
			c := fx.check(g, fx.with_path(fx.inputs[g], "runbook/signoff/by", by), "runbook.signed_off")
			c.status == "fail"
			c.outcome == "no-go"
		}
	}
}

test_signoff_digest_missing_on_both_sides_never_goes if {
	every g in gates {
		inp := json.remove(fx.inputs[g], ["runbook/signoff/digest", "facts/signoff/digest"])
		fx.check(g, inp, "runbook.signed_off").status == "fail"
	}
}

test_cutover_missing_never_goes if {
	every g in gates - {"pre_cutover"} {
		inp := json.remove(fx.inputs[g], ["cutover_at"])
		fx.decision(g, inp) != "go"
		fx.check(g, inp, "launch.cutover_recorded").status == "unknown"
	}
}

test_cutover_unparseable_never_goes if {
	every g in gates - {"pre_cutover"} {
		inp := object.union(fx.inputs[g], {"cutover_at": "25/11/2026 13:20"})
		fx.decision(g, inp) != "go"
		fx.check(g, inp, "launch.cutover_recorded").status == "unknown"
	}
}

test_cutover_after_now_never_goes if {
	every g in gates - {"pre_cutover"} {
		inp := object.union(fx.inputs[g], {"cutover_at": "2026-11-25T14:05:01Z"})
		fx.decision(g, inp) == "no-go"
		fx.check(g, inp, "launch.cutover_recorded").status == "fail"
	}
}

test_cutover_at_now_goes if {
	every g in gates - {"pre_cutover"} {
		inp := object.union(fx.inputs[g], {"cutover_at": fx.now})
		fx.check(g, inp, "launch.cutover_recorded").status == "pass"
	}
}

test_wrong_gate_never_goes if {
	every g in gates {
		inp := object.union(fx.inputs[g], {"gate": "some-other-gate"})
		fx.decision(g, inp) == "no-go"
		fx.check(g, inp, "launch.gate").status == "fail"
	}
}

test_now_unparseable_never_goes if {
	every g in gates {
		fx.decision(g, object.union(fx.inputs[g], {"now": "now"})) != "go"
	}
}

test_environment_unknown_never_goes if {
	every g in gates {
		fx.decision(g, object.union(fx.inputs[g], {"environment": "prod"})) != "go"
	}
}

test_no_facts_never_goes if {
	every g in gates {
		fx.decision(g, json.remove(fx.inputs[g], ["facts"])) == "no-go"
	}
}

test_no_runbook_never_goes if {
	every g in gates {
		fx.decision(g, json.remove(fx.inputs[g], ["runbook"])) == "no-go"
	}
}

test_empty_input_never_goes if {
	every g in gates {
		fx.decision(g, {}) == "no-go"
	}
}

test_only_window_completes if {
	every g in gates - {"window"} {
		fx.gate(g, fx.inputs[g]).complete == false
	}
}

# Nothing is deployed before pre-cutover and nothing is left to roll back to after a
# rollback: even with every fact gone and a long unknown history they only say no-go.
test_pre_cutover_and_post_rollback_never_roll_back if {
	every g in {"pre_cutover", "post_rollback"} {
		inp := fx.replace(fx.inputs[g], "facts", {"history": fx.history_unknown_since("2026-11-25T13:00:00Z", [c.rule | some c in fx.gate(g, fx.inputs[g]).checks])})
		fx.decision(g, inp) == "no-go"
		every c in fx.gate(g, inp).checks {
			c.outcome != "rollback"
		}
	}
}
