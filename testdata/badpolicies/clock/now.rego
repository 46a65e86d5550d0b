# A policy that reads the wall clock instead of input.now: refused by the allow-list.
package gatekeeper.gates.window

findings contains f if {
	time.now_ns() > 0
	f := {"rule": "team.clock", "status": "pass", "severity": "no-go", "message": "clock", "evidence": {}}
}
