package sql

import (
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// redactor removes the DSN and its passwords from everything the collector reports.
type redactor struct {
	secrets []string
}

// kvPasswordRe finds password and sslpassword values of a keyword/value DSN, quoted or not.
var kvPasswordRe = regexp.MustCompile(`(?i)(?:^|\s)(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// newRedactor collects the secrets of a DSN: the string itself, the password pgx parsed from
// it (or from PGPASSWORD or a passfile), and, as pgx cannot parse every DSN it is given, the
// passwords a URL or keyword/value reading finds, each also in its URL-escaped forms.
func newRedactor(dsn string, cfg *pgx.ConnConfig) redactor {
	var pws []string
	if cfg != nil {
		pws = append(pws, cfg.Password)
		if v, ok := cfg.RuntimeParams["sslpassword"]; ok {
			pws = append(pws, v)
		}
	}
	if u, err := url.Parse(strings.TrimSpace(dsn)); err == nil {
		if p, ok := u.User.Password(); ok {
			pws = append(pws, p)
		}
		for _, k := range []string{"password", "sslpassword"} {
			pws = append(pws, u.Query()[k]...)
		}
	}
	if i := strings.Index(dsn, "://"); i >= 0 {
		// An unparsable URL: take what sits between the user's colon and the last '@'.
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				raw := rest[colon+1 : at]
				pws = append(pws, raw)
				if p, err := url.PathUnescape(raw); err == nil {
					pws = append(pws, p)
				}
			}
		}
	}
	for _, m := range kvPasswordRe.FindAllStringSubmatch(dsn, -1) {
		v := m[1]
		pws = append(pws, v)
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = v[1 : len(v)-1]
			pws = append(pws, v, strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(v))
		}
	}
	secrets := []string{dsn, strings.TrimSpace(dsn)}
	for _, p := range pws {
		if p == "" {
			continue
		}
		secrets = append(secrets, p, url.QueryEscape(p), url.PathEscape(p),
			strings.TrimPrefix(url.UserPassword("", p).String(), ":"))
	}
	return redactor{secrets: secrets}
}

// redact removes every secret of the DSN, and anything credential-shaped, from s.
func (r redactor) redact(s string) string { return engine.Redact(s, r.secrets...) }

// error returns err with its message redacted; nil stays nil.
func (r redactor) error(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(r.redact(err.Error()))
}
