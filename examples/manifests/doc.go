// Package manifests tests the integration examples under examples/: the Kubernetes, Argo
// Rollouts and Flagger manifests decoded strictly into their published Go API types and
// validated by the controllers' own code, the CI pipelines linted and their gatekeeper
// command lines checked against the real command, and the examples run against a real
// `gatekeeper serve`. It is a separate module so that the main go.mod stays lean.
package manifests
