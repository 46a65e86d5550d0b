package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Listen are the transport settings of Serve.
type Listen struct {
	// TLSCert and TLSKey are PEM files; both empty serves plain HTTP.
	TLSCert, TLSKey string
	// ReadTimeout bounds reading a whole request (default 30s).
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end of its answer:
	// it must exceed the live collection deadline (default 90s).
	WriteTimeout time.Duration
	// ShutdownTimeout bounds the drain after the context ends (default 30s).
	ShutdownTimeout time.Duration
	// DrainDelay keeps answering, with /readyz not ready, this long after the context ends
	// and before the listener closes: time for a load balancer (a Kubernetes Service) to stop
	// sending new requests. Default 0.
	DrainDelay time.Duration
}

// Serve answers on ln until ctx ends, then reports not ready, keeps answering for DrainDelay,
// stops accepting connections and waits for the requests in flight (at most
// ShutdownTimeout) before it returns. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener, l Listen) error {
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = 30 * time.Second
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 90 * time.Second
	}
	if l.ShutdownTimeout <= 0 {
		l.ShutdownTimeout = 30 * time.Second
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if (l.TLSCert == "") != (l.TLSKey == "") {
		return errors.New("serve: TLS needs both a certificate and a key")
	}
	if l.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(l.TLSCert, l.TLSKey)
		if err != nil {
			return fmt.Errorf("serve: tls: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.cfg.log.Info("serve: listening", "addr", ln.Addr().String(), "tls", l.TLSCert != "")
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.SetReady(false)
	s.cfg.log.Info("serve: shutting down", "drain_delay", l.DrainDelay.String(), "drain_timeout", l.ShutdownTimeout.String())
	if l.DrainDelay > 0 {
		select {
		case <-time.After(l.DrainDelay):
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), l.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	s.cfg.log.Info("serve: stopped")
	return nil
}
