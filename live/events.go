package live

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// eventFacts turns the events of a launch archive into the facts later decisions read:
// `attestations` (manual checks and the commander's calls), `notifications` (deliveries,
// which the pre-cutover announcement check reads) and `hooks` (hook runs). A deploy hook's
// last run is also the `deployment` fact, for runbooks whose deploy tooling leaves no status
// of its own. Facts are stamped with now: they are what the archive holds at this decision.
func eventFacts(dir string, now time.Time, events []archive.Entry) map[string]engine.Fact {
	var attest, deliveries, runs []any
	var deploy map[string]any
	for _, e := range events {
		ev := e.Event
		item := map[string]any{"at": ev.At}
		for k, v := range ev.Data {
			item[k] = v
		}
		switch ev.Type {
		case archive.EventAttestation:
			if e.Signature != nil {
				item["signed_by"] = e.Signature.KeyFingerprint
			}
			attest = append(attest, item)
		case archive.EventNotification:
			deliveries = append(deliveries, item)
		case archive.EventHook:
			runs = append(runs, item)
			if item["name"] == "deploy" {
				deploy = item
			}
		}
	}
	facts := map[string]engine.Fact{}
	add := func(name, source, key string, items []any) {
		if items != nil {
			facts[name] = engine.Fact{Source: source, Path: dir, CollectedAt: now, Data: map[string]any{key: items}}
		}
	}
	add("attestations", "archive", "items", attest)
	add("notifications", "notify", "deliveries", deliveries)
	add("hooks", "archive", "runs", runs)
	if deploy != nil {
		facts["deployment"] = deploymentFromHook(dir, now, deploy)
	}
	return facts
}

// deploymentFromHook is the deployment fact a deploy hook run amounts to: succeeded when it
// exited 0 in time, failed otherwise.
func deploymentFromHook(dir string, now time.Time, run map[string]any) engine.Fact {
	status, detail := "failed", fmt.Sprintf("deploy hook exited %v", run["exit_code"])
	if code, ok := run["exit_code"].(float64); ok && code == 0 && run["timed_out"] != true {
		status, detail = "succeeded", "deploy hook exited 0"
	} else if run["timed_out"] == true {
		detail = "deploy hook timed out"
	}
	data := map[string]any{"status": status, "detail": detail}
	if fin, ok := run["finished_at"].(string); ok {
		data["finished_at"] = fin
	}
	return engine.Fact{Source: "deploy", Path: dir, CollectedAt: now, Data: data}
}

// Rehearsal reads the staging rehearsal archive the runbook names for env (a path relative to
// the runbook's directory) into the `rehearsal` fact: the build is taken from the archived,
// digest-verified runbook of its last decision, and the outcome from its last outcome event,
// so neither can be a field typed next to the release. A missing or unverifiable archive is
// the fact's error, so the pre-cutover check is unknown (no-go), never passed.
func Rehearsal(rb *engine.Runbook, env engine.EnvSpec, now time.Time) engine.Fact {
	dir := env.RehearsalArchive
	if dir == "" {
		return engine.Fact{Source: "archive", Path: "environments." + env.Name + ".rehearsal_archive", CollectedAt: now, Err: "the runbook names no rehearsal_archive for " + env.Name}
	}
	if !filepath.IsAbs(dir) && rb.Path != "" {
		dir = filepath.Join(filepath.Dir(rb.Path), dir)
	}
	f := engine.Fact{Source: "archive", Path: env.RehearsalArchive, CollectedAt: now, Data: map[string]any{}}
	if _, err := os.Stat(dir); err != nil {
		f.Err = fmt.Sprintf("rehearsal archive %s: %v", env.RehearsalArchive, err)
		return f
	}
	a, err := archive.Open(dir)
	if err != nil {
		f.Err = fmt.Sprintf("rehearsal: %v", err)
		return f
	}
	var lastRunbook string
	var outcome *archive.Event
	err = a.WalkAll(func(_ int, e *archive.Entry, _ []byte) error {
		switch {
		case e.Event == nil:
			lastRunbook = e.RunbookDigest
		case e.Event.Type == archive.EventOutcome:
			outcome = e.Event
		}
		return nil
	})
	if err != nil {
		f.Err = fmt.Sprintf("rehearsal: %v", err)
		return f
	}
	m := a.Meta()
	f.Data["launch_id"], f.Data["environment"] = m.LaunchID, m.Environment
	if lastRunbook != "" {
		b, err := a.Blob(lastRunbook)
		if err != nil {
			f.Err = fmt.Sprintf("rehearsal: runbook %s: %v", lastRunbook, err)
			return f
		}
		var spec struct {
			Release engine.Build `json:"release"`
		}
		if err := json.Unmarshal(b, &spec); err != nil {
			f.Err = fmt.Sprintf("rehearsal: runbook %s: %v", lastRunbook, err)
			return f
		}
		f.Data["commit"], f.Data["image"], f.Data["version"] = spec.Release.Commit, spec.Release.Image, spec.Release.Version
	}
	if outcome != nil {
		f.Data["outcome"], _ = outcome.Data["outcome"].(string)
		f.Data["finished_at"] = outcome.At
	}
	return f
}
