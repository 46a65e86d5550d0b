package prometheus

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// httpClient builds the HTTP client for env's Prometheus: credentials, CA and response size
// limit. It returns the secrets it read, to be redacted from everything the collector reports.
func (c *Collector) httpClient(req engine.Request, env engine.EnvSpec) (*http.Client, []string, error) {
	base := &http.Client{}
	if c.client != nil {
		cp := *c.client
		base = &cp
	}
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	owned := false
	if ca := env.Prometheus.TLSCAFile; ca != "" {
		t, ok := rt.(*http.Transport)
		if !ok {
			return nil, nil, fmt.Errorf("tls_ca_file needs an *http.Transport, the HTTP client has a %T", rt)
		}
		pem, err := c.readFile(c.resolve(req, ca))
		if err != nil {
			return nil, nil, fmt.Errorf("read tls_ca_file %s: %w", ca, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("tls_ca_file %s holds no PEM certificate", ca)
		}
		t = t.Clone()
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		t.TLSClientConfig.RootCAs = pool
		rt, owned = t, true
	} else if t, ok := rt.(*http.Transport); ok {
		// A transport of our own, so its idle connections can be closed after Collect.
		rt, owned = t.Clone(), true
	}
	authz, secrets, err := c.authorization(req, env.Prometheus.Auth)
	if err != nil {
		return nil, secrets, err
	}
	u, err := url.Parse(env.Prometheus.URL)
	if err != nil {
		return nil, secrets, fmt.Errorf("prometheus.url: %w", err)
	}
	base.Transport = &transport{base: rt, owned: owned, host: u.Host, authz: authz, maxBytes: c.maxBytes}
	return base, secrets, nil
}

// authorization reads the credentials named in auth and returns the Authorization header value.
// Missing variables are reported by name, never by value.
func (c *Collector) authorization(req engine.Request, auth *engine.PrometheusAuth) (string, []string, error) {
	if auth == nil {
		return "", nil, nil
	}
	bearer := auth.BearerTokenEnv != "" || auth.TokenFile != ""
	basic := auth.Username != "" || auth.PasswordEnv != ""
	switch {
	case auth.BearerTokenEnv != "" && auth.TokenFile != "":
		return "", nil, errors.New("prometheus.auth: set bearer_token_env or token_file, not both")
	case bearer && basic:
		return "", nil, errors.New("prometheus.auth: set a bearer token or basic auth (username, password_env), not both")
	case auth.BearerTokenEnv != "":
		tok, err := c.env(auth.BearerTokenEnv, "bearer_token_env")
		if err != nil {
			return "", nil, err
		}
		return "Bearer " + tok, []string{tok}, nil
	case auth.TokenFile != "":
		b, err := c.readFile(c.resolve(req, auth.TokenFile))
		if err != nil {
			return "", nil, fmt.Errorf("prometheus.auth.token_file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", nil, fmt.Errorf("prometheus.auth.token_file %s is empty", auth.TokenFile)
		}
		return "Bearer " + tok, []string{tok}, nil
	case basic:
		if auth.Username == "" || auth.PasswordEnv == "" {
			return "", nil, errors.New("prometheus.auth: basic auth needs both username and password_env")
		}
		pw, err := c.env(auth.PasswordEnv, "password_env")
		if err != nil {
			return "", nil, err
		}
		enc := base64.StdEncoding.EncodeToString([]byte(auth.Username + ":" + pw))
		return "Basic " + enc, []string{pw, enc}, nil
	}
	return "", nil, nil
}

// env reads a secret from the environment variable name, as the runbook field field named it.
func (c *Collector) env(name, field string) (string, error) {
	v, ok := c.lookup(name)
	switch {
	case !ok:
		return "", fmt.Errorf("prometheus.auth.%s: environment variable %s is not set", field, name)
	case strings.TrimSpace(v) == "":
		return "", fmt.Errorf("prometheus.auth.%s: environment variable %s is empty", field, name)
	}
	return strings.TrimSpace(v), nil
}

// resolve makes a relative runbook path relative to the runbook's directory.
func (c *Collector) resolve(req engine.Request, p string) string {
	if filepath.IsAbs(p) || req.Runbook == nil || req.Runbook.Path == "" {
		return p
	}
	return filepath.Join(filepath.Dir(req.Runbook.Path), p)
}

// transport adds the Authorization header, only towards the configured host (never to a
// redirect elsewhere), and bounds the size of response bodies.
type transport struct {
	base     http.RoundTripper
	owned    bool // base was made for this Collect, not shared with the caller
	host     string
	authz    string
	maxBytes int64
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.authz != "" && r.URL.Host == t.host {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", t.authz)
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.maxBytes, max: t.maxBytes}
	return resp, nil
}

// CloseIdleConnections closes the idle connections of the underlying transport when it is
// the collector's own.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok && t.owned {
		c.CloseIdleConnections()
	}
}

// limitedBody fails a read past max bytes instead of silently truncating the response.
type limitedBody struct {
	rc        io.ReadCloser
	left, max int64
}

// Read implements io.Reader, failing past the limit.
func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells an exact fit from an oversized body.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("response larger than %d bytes", b.max)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

// Close closes the underlying body.
func (b *limitedBody) Close() error { return b.rc.Close() }
