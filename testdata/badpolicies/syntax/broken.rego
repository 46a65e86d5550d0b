package gatekeeper.gates.window

findings contains f if {
	f := {"rule": "team.broken"
}
