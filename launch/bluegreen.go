package launch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// EventWarmCheck is the archived check that blue-green's old colour is still up before the
// switch: switching back is the rollback, so it must be possible.
const EventWarmCheck = "warm_check"

// warmTimeout bounds each old-colour health request.
const warmTimeout = 10 * time.Second

// oldColourWarm asks every old-colour instance's health endpoint; warm means every one
// answered 2xx. The answers are archived.
func (r *Runner) oldColourWarm(ctx context.Context) (bool, string) {
	client := &http.Client{Timeout: warmTimeout}
	var (
		items []any
		bad   []string
	)
	for _, in := range r.env.Cohorts.Old.Instances {
		item := map[string]any{"name": in.Name, "url": in.HealthURL}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.HealthURL, nil)
		var resp *http.Response
		if err == nil {
			resp, err = client.Do(req)
		}
		switch {
		case err != nil:
			msg := engine.Redact(err.Error(), r.secrets()...)
			item["error"] = msg
			bad = append(bad, in.Name+": "+msg)
		default:
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			item["status_code"] = resp.StatusCode
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				bad = append(bad, fmt.Sprintf("%s: HTTP %d", in.Name, resp.StatusCode))
			}
		}
		items = append(items, item)
	}
	warm := len(bad) == 0 && len(items) > 0
	_ = r.event(EventWarmCheck, map[string]any{"cohort": r.env.Cohorts.Old.LabelValue, "warm": warm, "instances": items})
	r.view.Message(fmt.Sprintf("old colour %s warm: %v", r.env.Cohorts.Old.LabelValue, warm))
	if len(items) == 0 {
		return false, "cohorts.old has no instances"
	}
	return warm, strings.Join(bad, "; ")
}
