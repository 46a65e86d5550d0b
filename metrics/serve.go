package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DefaultAddr is where --metrics-addr listens by default: loopback, so gatekeeper's metrics
// reach no one beyond the host unless the commander asks for another address.
const DefaultAddr = "127.0.0.1:9464"

// Path is where Serve exposes the handler: Prometheus' default metrics_path.
const Path = "/metrics"

// Serve binds addr and serves h at /metrics in the background until ctx is done, then shuts
// the server down (waiting up to a second for scrapes in flight). It returns the bound
// address, useful with port 0, once the listener is ready, so a scrape right after Serve
// returns succeeds. A bind failure is returned; the server cannot fail after that.
func Serve(ctx context.Context, addr string, h http.Handler) (bound string, err error) {
	if addr == "" {
		addr = DefaultAddr
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("metrics: listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			// Serve returns only when the listener fails, which leaves nothing to report to:
			// the caller has moved on and the metrics simply stop answering.
			_ = l.Close()
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return l.Addr().String(), nil
}
