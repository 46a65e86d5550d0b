// Package server is gatekeeper's HTTP API: pipelines and progressive-delivery controllers
// (Argo Rollouts' web metric provider, Flagger's webhooks) ask it to decide a gate and get
// the decision record back. The controller owns the cadence and the traffic; gatekeeper owns
// the criteria (sustained windows, coverage, hold, max_unknown).
//
// A Server compiles the policies once, when it is created, and decides every request with
// that one policy set: the same engine.BuildInput and engine.Decide that `gatekeeper evaluate`
// runs, and, with an archive, the same archive.AppendDecision. So a decision reached through
// the API is the record `evaluate` would have written for the same input, byte for byte.
//
// Endpoints (JSON in and out):
//
//	POST /v1/decide                   decide a gate; facts in the body, or collected live
//	GET  /v1/decisions/{decision_id}  a recent or archived decision record
//	POST /v1/flagger/{hook}           Flagger webhooks: confirm-rollout, pre-rollout,
//	                                  confirm-traffic-increase, confirm-promotion, rollback
//	GET  /healthz, /readyz, /metrics  liveness, readiness, Prometheus metrics
//
// A decided gate answers 200 with its record whatever the decision (Argo Rollouts counts a
// non-2xx answer as a measurement error, not a failure); only Flagger's hooks, which read
// nothing but the status, answer non-2xx when the hook's condition does not hold.
package server
