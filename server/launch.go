package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// fromArchive completes a live request's coordinates from gatekeeper's own record of the
// launch, its archive, where the controller cannot send them: Argo Rollouts and Flagger know
// neither when the cutover was nor when traffic shifted to the current step, and Flagger
// sends no traffic weight. Only what the request leaves empty is filled:
//
//   - cutover_at (every gate after pre-cutover): the cutover time of the launch's last
//     decision that has one; before any, the time of the last pre-cutover go.
//   - step (canary, when stepFromArchive): the step of the launch's last canary decision.
//   - step_started_at (canary): as recorded with the launch's first decision at this step;
//     for the first, that decision's own time (the controller asks as it shifts traffic).
//
// Each guess errs early for a cutover (a window that starts too early has less coverage
// and holds) and late for a step start (a window that starts too late has less data and
// holds); neither makes a window include what it must not.
func (s *Server) fromArchive(rb *engine.Runbook, c *coords, prefix string, stepFromArchive bool) error {
	canary := c.gate == string(engine.Canary)
	needStep := canary && c.step == nil && stepFromArchive
	needCutover := c.cutoverAt == "" && c.gate != string(engine.PreCutover)
	needStart := canary && c.stepStartedAt == "" && (c.step != nil || needStep)
	if !needStep && !needCutover && !needStart {
		return nil
	}
	launchID := s.launchIDOf(rb, *c)
	st, err := s.launchState(launchID)
	if err != nil {
		return err
	}
	if needStep {
		if st.step == nil {
			return badField(prefix+"step", "required: no step given and the archive holds no canary decision of launch %q yet", launchID)
		}
		n := *st.step
		c.step = &n
	}
	if needCutover {
		c.cutoverAt = st.cutoverAt
	}
	if needStart {
		if at, ok := st.stepStarted[*c.step]; ok {
			c.stepStartedAt = at
		} else {
			now := s.now()
			if c.now != "" {
				now, _ = time.Parse(time.RFC3339, c.now)
			}
			c.stepStartedAt = now.UTC().Truncate(time.Second).Format(time.RFC3339)
		}
	}
	return nil
}

// launchIDOf is the launch a request is about: its launch_id, else the runbook's default for
// its environment (or the server's); "" when neither is known yet.
func (s *Server) launchIDOf(rb *engine.Runbook, c coords) string {
	if c.launchID != "" {
		return c.launchID
	}
	if env := firstNonEmpty(c.env, s.cfg.env); env != "" {
		return engine.DefaultLaunchID(rb, env)
	}
	return ""
}

// launchStateOf is what a launch's archive says about where the launch is.
type launchStateOf struct {
	step        *int           // the step of the last canary decision
	cutoverAt   string         // see fromArchive
	stepStarted map[int]string // step -> step_started_at of its first decision
}

// launchState reads the launch's archive, verifying it; empty when there is none.
func (s *Server) launchState(launchID string) (launchStateOf, error) {
	st := launchStateOf{stepStarted: map[int]string{}}
	if s.cfg.archive == "" || !launchIDRe.MatchString(launchID) {
		return st, nil
	}
	dir := filepath.Join(s.cfg.archive, launchID)
	if _, err := os.Stat(filepath.Join(dir, archive.MetaFile)); errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	a, err := archive.Open(dir)
	if err != nil {
		return st, err
	}
	err = a.Walk(func(_ int, e *archive.Entry, input []byte) error {
		if e.Kind != "" {
			return nil // an event, not a decision
		}
		if e.Gate == engine.Canary && e.Step != nil {
			n := *e.Step
			st.step = &n
			if _, seen := st.stepStarted[n]; !seen {
				var in struct {
					StepStartedAt string `json:"step_started_at"`
				}
				if err := json.Unmarshal(input, &in); err != nil {
					return fmt.Errorf("record %s: input: %w", e.DecisionID, err)
				}
				if in.StepStartedAt != "" {
					st.stepStarted[n] = in.StepStartedAt
				}
			}
		}
		switch {
		case e.CutoverAt != "":
			st.cutoverAt = e.CutoverAt
		case e.Gate == engine.PreCutover && e.Decision == engine.Go:
			st.cutoverAt = e.Now
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("read archive of launch %s: %w", launchID, err)
	}
	return st, nil
}
