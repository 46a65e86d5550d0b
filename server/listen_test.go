package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/server/servertest"
)

// TestGracefulShutdown: when the context ends, a decision in flight still gets its answer,
// /readyz turns not ready first, new connections are refused, and Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	h := servertest.NewHold()
	s, _ := newServer(t, WithLive(liveFrom(t, "healthy__canary-25.json", h)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, Listen{ShutdownTimeout: 20 * time.Second}) }()

	type answer struct {
		code int
		body []byte
		err  error
	}
	inflight := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/decide?runbook=runbook", strings.NewReader(
			`{"gate":"canary","step":25,"environment":"production","now":"2026-11-25T14:01:00Z","cutover_at":"2026-11-25T13:20:00Z","step_started_at":"2026-11-25T13:46:00Z"}`))
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inflight <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		inflight <- answer{code: resp.StatusCode, body: b}
	}()
	// Wait until the decision is collecting (the request is in flight), then shut down.
	select {
	case <-h.Started:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never started")
	}
	stop()
	deadline := time.Now().Add(10 * time.Second)
	for s.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("still ready after the shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The listener is closed: a new connection is refused while the old request drains.
	time.Sleep(50 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("a new connection was accepted during the drain")
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) before the request in flight was answered", err)
	default:
	}
	close(h.Release)
	a := <-inflight
	if a.err != nil || a.code != 200 {
		t.Fatalf("in-flight request: status %d, err %v: %s", a.code, a.err, a.body)
	}
	if rec := decodeRecord(t, a.body); rec.Decision != "go" {
		t.Fatalf("in-flight decision %s, want go", rec.Decision)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the drain")
	}
}

// TestTLS serves over TLS with a certificate made for the test; plain HTTP is not answered.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	s, _ := newServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, Listen{TLSCert: cert, TLSKey: key}) }()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get("https://" + ln.Addr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("status %d over TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + ln.Addr().String() + "/readyz"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && bytes.Contains(body, []byte(`"ready"`)) {
			t.Fatal("plain HTTP answered on the TLS port")
		}
	}
	bad, _ := newServer(t)
	if err := bad.Serve(context.Background(), ln, Listen{TLSCert: cert}); err == nil || !strings.Contains(err.Error(), "both") {
		t.Fatalf("TLS with a certificate and no key: %v", err)
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatekeeper-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestDrainDelay: after the context ends, serve keeps answering for the drain delay with
// /readyz not ready, so a load balancer stops routing to it before the listener closes.
func TestDrainDelay(t *testing.T) {
	s, _ := newServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/readyz"
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, Listen{DrainDelay: 2 * time.Second}) }()
	c := &http.Client{Timeout: 5 * time.Second}
	get := func() int {
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("readyz: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != 200 {
		t.Fatalf("readyz %d before shutdown, want 200", code)
	}
	stop()
	deadline := time.Now().Add(time.Second)
	for s.ready.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if code := get(); code != 503 {
		t.Fatalf("readyz %d during the drain delay, want 503", code)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the drain delay")
	}
	if _, err := c.Get(url); err == nil {
		t.Fatal("still answering after the drain")
	}
}
