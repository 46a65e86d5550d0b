package httpx

import (
	"net/http"
	"time"
)

// Option configures the HTTP side that every HTTP collector shares; each collector
// re-exports these under its own name, so callers write health.WithTimeout(…).
type Option func(*Config)

// WithHTTPClient sets the HTTP client (transport, TLS); redirects stay limited unless the
// client sets its own CheckRedirect.
func WithHTTPClient(c *http.Client) Option { return func(x *Config) { x.Client = c } }

// WithTimeout sets the time limit of each request (default 10s).
func WithTimeout(d time.Duration) Option { return func(x *Config) { x.Timeout = d } }

// WithLookupEnv sets how environment variables are read (default os.LookupEnv).
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(x *Config) { x.LookupEnv = f }
}

// WithMaxBody sets the largest response body read, in bytes (default 1 MiB).
func WithMaxBody(n int64) Option { return func(x *Config) { x.MaxBody = n } }

// WithBearerTokenEnv sends "Authorization: Bearer" with the token held in the named
// environment variable; an unset variable fails the source.
func WithBearerTokenEnv(name string) Option { return func(x *Config) { x.TokenEnv = name } }

// Apply builds the normalized configuration from options.
func Apply(opts []Option) Config {
	var c Config
	for _, o := range opts {
		o(&c)
	}
	return c.Normalized()
}
