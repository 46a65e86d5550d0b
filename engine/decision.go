package engine

// Outcome is a decision value: DESIGN.md fixes the three.
type Outcome string

// The decision values, from least to most severe.
const (
	Go       Outcome = "go"
	NoGo     Outcome = "no-go"
	Rollback Outcome = "rollback"
)

// Severity orders outcomes so that folding takes the most severe; unknown values rank
// above rollback's "cannot proceed" only as no-go, never as go.
func (o Outcome) Severity() int {
	switch o {
	case Go:
		return 0
	case Rollback:
		return 2
	default:
		return 1
	}
}

// Check is one rule's finding at a gate: the outcome it implies and the evidence behind it.
type Check struct {
	Rule     string         `json:"rule"`
	Outcome  Outcome        `json:"outcome"`
	Status   string         `json:"status"`
	Message  string         `json:"message"`
	Evidence map[string]any `json:"evidence"`
}

// Warning is a non-blocking observation a gate reports beside its checks.
type Warning struct {
	Rule     string         `json:"rule"`
	Message  string         `json:"message"`
	Evidence map[string]any `json:"evidence,omitempty"`
}

// Result is what the policies decided for one gate.
type Result struct {
	Decision Outcome   `json:"decision"`
	Checks   []Check   `json:"checks"`
	Warnings []Warning `json:"warnings"`
	// Complete is true only for a window gate decided go at or after the window's end.
	Complete bool `json:"complete"`
}

// Exit codes shared by every command that decides or verifies (DESIGN.md).
const (
	ExitGo             = 0
	ExitError          = 1
	ExitNoGo           = 2
	ExitRollback       = 3
	ExitVerifyFailed   = 4
	ExitReplayMismatch = 5
	ExitRollbackFailed = 6
)

// Record is the archived decision record of DESIGN.md.
type Record struct {
	DecisionID        string    `json:"decision_id"`
	LaunchID          string    `json:"launch_id"`
	Environment       string    `json:"environment"`
	Gate              Gate      `json:"gate"`
	Step              *int      `json:"step,omitempty"`
	Decision          Outcome   `json:"decision"`
	Complete          bool      `json:"complete"`
	Checks            []Check   `json:"checks"`
	Warnings          []Warning `json:"warnings"`
	Now               string    `json:"now"`
	CutoverAt         string    `json:"cutover_at,omitempty"`
	InputDigest       string    `json:"input_digest"`
	RunbookDigest     string    `json:"runbook_digest"`
	PoliciesDigest    string    `json:"policies_digest"`
	GatekeeperVersion string    `json:"gatekeeper_version"`
	Prev              string    `json:"prev,omitempty"`
}

// ExitCode maps the decision onto DESIGN.md's exit codes. A post-rollback gate that is not
// go means the rollback is not verified, which callers must tell apart from an ordinary hold.
func (r *Record) ExitCode() int {
	switch {
	case r.Decision == Go:
		return ExitGo
	case r.Gate == PostRollback:
		return ExitRollbackFailed
	case r.Decision == Rollback:
		return ExitRollback
	default:
		return ExitNoGo
	}
}

// Failed lists the checks that kept the gate from go, most severe first.
func (r *Record) Failed() []Check {
	var out []Check
	for _, sev := range []Outcome{Rollback, NoGo} {
		for _, c := range r.Checks {
			if c.Outcome == sev {
				out = append(out, c)
			}
		}
	}
	return out
}
