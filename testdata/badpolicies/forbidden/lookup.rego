# A policy that tries to fetch data over the network while deciding: the capabilities
# allow-list must refuse it, or decisions would not replay.
package gatekeeper.gates.window

findings contains f if {
	resp := http.send({"method": "GET", "url": "http://127.0.0.1:1/status"})
	f := {"rule": "team.status", "status": "pass", "severity": "no-go", "message": resp.body, "evidence": {}}
}
