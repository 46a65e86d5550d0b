// Package e2e runs whole launches of the demo shop (cmd/demo-shop) on this machine with the
// real parts: the gatekeeper binary, Debian's prometheus scraping every instance at 1 s,
// Debian's PostgreSQL for data integrity, pytest for the smoke suite, the demo's router and
// load generator (cmd/demo-load), shell hooks that deploy, shift and roll back, and local
// webhook receivers for the notifications.
//
// The tests live in *_test.go; testdata/ holds the runbook template, the hooks, the smoke
// suite, the shop's schema and the Prometheus scrape configuration. `go test -short` skips
// them all.
package e2e
