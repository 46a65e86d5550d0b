package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Job is the Pushgateway job every push uses.
const Job = "gatekeeper"

// PushTimeout bounds one push when the caller's context has no earlier deadline: a pipeline
// step must not hang on its monitoring.
const PushTimeout = 10 * time.Second

// PushError is a failed push. It names the Pushgateway's host and never the credentials or
// query of its URL.
type PushError struct {
	Host    string
	Err     error
	secrets []string
}

// Error implements error.
func (e *PushError) Error() string {
	return fmt.Sprintf("push to pushgateway %s: %s", e.Host, engine.Redact(e.Err.Error(), e.secrets...))
}

// Unwrap returns the underlying error.
func (e *PushError) Unwrap() error { return e.Err }

// errBadURL is returned for a Pushgateway URL that cannot be used; it never quotes the URL,
// which may carry a password.
var errBadURL = errors.New("pushgateway URL: want http(s)://[user:password@]host:port[/path]")

// Grouping is the grouping key of a push: one group per launch, environment and gate, so a
// pipeline's evaluate of each gate keeps its own latest metrics. An unknown gate name becomes
// "unknown", like the gate label.
func Grouping(launchID, environment, gate string) map[string]string {
	return map[string]string{"launch_id": launchID, "environment": environment, "gate": gateLabel(gate)}
}

// Push replaces the metrics of the group in the Pushgateway at rawURL (job "gatekeeper") with
// the registry's. Credentials in the URL are sent as basic auth. A metric label that is also a
// grouping label (gate) is taken from the grouping key instead, as the Pushgateway requires;
// series of other values of it belong to other groups and are not pushed.
func (m *Metrics) Push(ctx context.Context, rawURL string, grouping map[string]string) error {
	target, host, user, pass, err := parsePushURL(rawURL)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, PushTimeout)
	defer cancel()
	p := push.New(target, Job).
		Gatherer(groupGatherer{m.reg, grouping}).
		Client(&http.Client{Timeout: PushTimeout})
	keys := make([]string, 0, len(grouping))
	for k := range grouping {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p = p.Grouping(k, grouping[k])
	}
	if user != "" || pass != "" {
		p = p.BasicAuth(user, pass)
	}
	if err := p.PushContext(ctx); err != nil {
		return &PushError{Host: host, Err: err, secrets: []string{user, pass}}
	}
	return nil
}

// parsePushURL splits the user's URL into what push.New gets (no userinfo, no query) and the
// basic-auth credentials. A bare host:port means http, as push.New assumes.
func parsePushURL(raw string) (target, host, user, pass string, err error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", "", "", "", errBadURL
	}
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	u.User = nil
	return u.String(), u.Host, user, pass, nil
}

// groupGatherer gathers the registry for one Pushgateway group: labels named in the grouping
// key are dropped from each series (the Pushgateway adds them back from the key), and series
// whose value for such a label differs from the key's are left out.
type groupGatherer struct {
	g        prometheus.Gatherer
	grouping map[string]string
}

// Gather implements prometheus.Gatherer.
func (g groupGatherer) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := g.g.Gather()
	if err != nil {
		return nil, err
	}
	out := mfs[:0]
	for _, mf := range mfs {
		kept := mf.Metric[:0]
	series:
		for _, s := range mf.Metric {
			labels := s.Label[:0]
			for _, l := range s.Label {
				want, grouped := g.grouping[l.GetName()]
				switch {
				case !grouped:
					labels = append(labels, l)
				case l.GetValue() != want:
					continue series
				}
			}
			s.Label = labels
			kept = append(kept, s)
		}
		if len(kept) > 0 {
			mf.Metric = kept
			out = append(out, mf)
		}
	}
	return out, nil
}
