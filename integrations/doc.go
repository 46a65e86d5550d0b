// Package integrations tests gatekeeper serve against the progressive-delivery controllers'
// own request code, from the Go module proxy: Argo Rollouts' web metric provider and Flagger's
// webhook caller. It is a separate module so that their dependencies (Kubernetes client
// libraries, cloud SDKs) stay out of gatekeeper's go.mod. Run it with
//
//	cd integrations && GOFLAGS=-mod=mod go test ./...
package integrations
