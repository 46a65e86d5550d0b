package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// FlaggerPayload is the body Flagger posts to a webhook (flaggerv1.CanaryWebhookPayload in
// fluxcd/flagger pkg/apis/flagger/v1beta1/canary.go). Metadata is the webhook's own
// metadata from the Canary; Flagger cannot set headers, so it also carries the token.
type FlaggerPayload struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Phase     string            `json:"phase"`
	Checksum  string            `json:"checksum"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// FlaggerHook is how one Flagger webhook type is answered: the gate it decides (unless the
// metadata names another) and the decision that makes it answer 2xx.
type FlaggerHook struct {
	Gate engine.Gate
	Pass engine.Outcome
}

// FlaggerHooks maps Flagger's webhook types onto gates. Flagger proceeds on a 2xx answer,
// except for rollback, where a 2xx answer makes it roll back.
var FlaggerHooks = map[string]FlaggerHook{
	// Before the canary is scaled up: nothing of the release is deployed yet.
	"confirm-rollout": {Gate: engine.PreCutover, Pass: engine.Go},
	// The canary is deployed and receives no traffic yet.
	"pre-rollout": {Gate: engine.PostDeploy, Pass: engine.Go},
	// Before each traffic increase: the current step's bake.
	"confirm-traffic-increase": {Gate: engine.Canary, Pass: engine.Go},
	// Before the canary is promoted: the last step's bake.
	"confirm-promotion": {Gate: engine.Canary, Pass: engine.Go},
	// Asked at every analysis iteration: 2xx only when gatekeeper decides rollback. Without a
	// step (metadata.step, or a canary decision in the launch's archive) it decides the window
	// gate, whose rollback criteria cover the whole release since cutover.
	"rollback": {Gate: engine.Canary, Pass: engine.Rollback},
}

func (s *Server) handleFlagger(w http.ResponseWriter, r *http.Request) {
	hook, ok := FlaggerHooks[r.PathValue("hook")]
	if !ok {
		writeError(w, &RequestError{Status: http.StatusNotFound, Field: "hook", Msg: fmt.Sprintf("unknown Flagger webhook %q (want one of %s)", r.PathValue("hook"), flaggerHookList())})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, fromDecodeError(err))
		return
	}
	var p FlaggerPayload
	if err := json.Unmarshal(body, &p); err != nil {
		// Authentication comes first where it can: an unauthenticated caller learns nothing
		// about the body, but a malformed one cannot carry a token.
		if !s.authorized(bearer(r)) {
			unauthorized(w)
			return
		}
		s.fail(w, fromDecodeError(err))
		return
	}
	if !s.authorized(bearer(r), p.Metadata["token"]) {
		unauthorized(w)
		return
	}
	rec, err := s.decideFlagger(r, hook, p)
	if err != nil {
		s.fail(w, err)
		return
	}
	status := http.StatusOK
	if rec.Decision != hook.Pass {
		// 412, not 5xx: Flagger retries 5xx answers, and a gate that is not go is an
		// answer, not a failure to give one.
		status = http.StatusPreconditionFailed
	}
	s.writeRecord(w, status, rec)
}

func (s *Server) decideFlagger(r *http.Request, hook FlaggerHook, p FlaggerPayload) (*engine.Record, error) {
	md := p.Metadata
	rb, err := s.runbook(md["runbook"], "metadata.runbook")
	if err != nil {
		return nil, err
	}
	c := coords{gate: string(hook.Gate), env: md["environment"], launchID: md["launch_id"], now: md["now"],
		cutoverAt: md["cutover_at"], stepStartedAt: md["step_started_at"]}
	if g := md["gate"]; g != "" {
		c.gate = g
	}
	stepGiven := md["step"] != ""
	if st := md["step"]; st != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(st), "%"))
		if err != nil {
			return nil, badField("metadata.step", "%q: want the canary step percent as a whole number", st)
		}
		c.step = &n
	}
	// What Flagger cannot send comes from gatekeeper's own record of the launch. The rollback
	// hook is asked before any canary step is known: it then watches the whole release as
	// the window gate does (the same rollback criteria, over the data since cutover).
	if hook.Pass == engine.Rollback && md["gate"] == "" && !stepGiven {
		st, err := s.launchState(s.launchIDOf(rb, c))
		if err != nil {
			return nil, err
		}
		if st.step == nil {
			c.gate = string(engine.Window)
		}
	}
	if err := s.fromArchive(rb, &c, "metadata.", true); err != nil {
		return nil, err
	}
	params, err := s.params(rb, c, fieldNames{prefix: "metadata."}, true)
	if err != nil {
		return nil, err
	}
	s.cfg.log.Info("flagger", "canary", p.Namespace+"/"+p.Name, "phase", p.Phase, "checksum", p.Checksum, "gate", string(params.Gate))
	return s.decide(r.Context(), job{rb: rb, params: params, live: true})
}

func flaggerHookList() string {
	names := make([]string, 0, len(FlaggerHooks))
	for name := range FlaggerHooks {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
