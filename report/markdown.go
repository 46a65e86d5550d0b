package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Markdown writes the report as Markdown.
func (r *Report) Markdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p("# Launch report: %s %s to %s\n\n", r.Service, r.Version, r.Environment)
	p("**Outcome: %s.** %s\n\n", strings.ToUpper(r.Outcome), strings.Join(r.OutcomeWhy, " "))

	p("## What was deployed\n\n")
	p("| | |\n|---|---|\n")
	for _, kv := range r.summary() {
		p("| %s | %s |\n", kv[0], md(kv[1]))
	}

	p("\n## Gate decisions\n\n")
	p("| # | time | gate | decision | reasons (failing first) |\n|---|---|---|---|---|\n")
	for _, g := range r.Gates {
		p("| %d | %s | %s | %s | %s |\n", g.N, g.Now, g.Label, decision(g), md(g.headline()))
	}
	p("\n## Smoke tests\n\n")
	if s := r.Smoke; s == nil {
		p("No smoke results recorded.\n")
	} else {
		p("Suite ran %s → %s: **%s** against a budget of %s (%s).\n\n", s.Started, s.Finished, s.Duration, s.Budget, budgetWord(s.WithinBudget))
		p("| step | critical | status | duration | note |\n|---|---|---|---|---|\n")
		for _, t := range s.Tests {
			crit := ""
			if t.Critical {
				crit = "**critical**"
			}
			p("| %s | %s | %s | %s | %s |\n", md(t.Name), crit, t.Status, t.Duration, md(t.Message))
		}
	}

	p("\n## Monitoring observations\n\n")
	p("Thresholds: error rate ≤ %s; p95 latency ≤ %.3f s (budget plus tolerance). %d error-rate and %d latency samples recorded.\n\n",
		fnum(r.ErrorRate.Threshold), r.Latency.Threshold, len(r.ErrorRate.Points), len(r.Latency.Points))
	if len(r.Monitoring) == 0 {
		p("No canary or window decisions recorded.\n")
	} else {
		p("| time | gate | decision | latest error rate | latest p95 | coverage |\n|---|---|---|---|---|---|\n")
		for _, m := range r.Monitoring {
			p("| %s | %s | %s | %s | %s | %s |\n", m.Now, m.Gate, m.Decision, m.ErrorRate, m.P95, m.Coverage)
		}
	}
	p("\n### Integrations (latest probe)\n\n")
	if len(r.Integrations) == 0 {
		p("None recorded.\n")
	} else {
		p("| integration | critical | up | status | at | error |\n|---|---|---|---|---|---|\n")
		for _, in := range r.Integrations {
			p("| %s | %s | %s | %s | %s | %s |\n", in.Name, yesNo(in.Critical), yesNo(in.Up), in.Status, in.At, md(in.Error))
		}
	}
	p("\n### Data integrity (latest run%s)\n\n", atSuffix(r.IntegrityAt))
	if len(r.Integrity) == 0 {
		p("None recorded.\n")
	} else {
		p("| check | violations | baseline |\n|---|---|---|\n")
		for _, c := range r.Integrity {
			p("| %s | %s | %s |\n", c.Name, c.Violations, c.Baseline)
		}
		if r.Migrations != "" {
			p("\nMigrations: %s.\n", r.Migrations)
		}
	}

	p("\n## Notifications\n\n")
	if len(r.Notices) == 0 {
		p("None recorded.\n")
	} else {
		p("| at | channel | event | confirmed |\n|---|---|---|---|\n")
		for _, n := range r.Notices {
			p("| %s | %s | %s | %s |\n", n.At, n.Channel, n.Event, confirmed(n))
		}
	}
	p("\n## Hooks run\n\n")
	if len(r.Hooks) == 0 {
		p("None recorded.\n")
	} else {
		p("| at | hook | step | exit | duration |\n|---|---|---|---|---|\n")
		for _, h := range r.Hooks {
			p("| %s | %s | %s | %s | %s |\n", h.At, md(h.Name), h.Step, h.Exit, h.Duration)
		}
	}
	p("\n## Manual checks and commander's calls\n\n")
	if len(r.Attestations) == 0 {
		p("None recorded.\n")
	} else {
		for _, a := range r.Attestations {
			p("- %s `%s`: %s\n", a.CollectedAt, a.Name, md(a.Detail))
		}
	}
	p("\n## Known issues\n\n")
	if len(r.KnownIssues) == 0 {
		p("None recorded.\n")
	}
	for _, k := range r.KnownIssues {
		p("- %s\n", md(k))
	}
	p("\n## On-call and handoff\n\n")
	p("On-call: %s. %s\n", md(orDash(r.OnCall)), md(r.Handoff))
	p("\n## Decision details\n")
	for _, g := range r.Gates {
		p("\n### %d. %s: %s at %s\n\n", g.N, g.Label, decision(g), g.Now)
		p("| outcome | check | observed | threshold | message |\n|---|---|---|---|---|\n")
		for _, c := range g.Reasons {
			p("| %s | `%s` | %s | %s | %s |\n", c.Outcome, c.Rule, md(c.Observed), md(c.Threshold), md(c.Message))
		}
		for _, wn := range g.Warnings {
			p("\n> warning: %s\n", md(wn))
		}
	}

	p("\n---\n\n%s\n", r.Footer())
	return bw.Flush()
}

// Footer is the fixed line naming the archive the report was generated from.
func (r *Report) Footer() string {
	return fmt.Sprintf("Generated from archive %s (%s), %d records, last record digest %s.", r.LaunchID, r.Environment, r.Records, r.LastDigest)
}

func (r *Report) summary() [][2]string {
	steps := make([]string, 0, len(r.Steps))
	for _, s := range r.Steps {
		steps = append(steps, fmt.Sprintf("%d%% (bake %s)", s.Percent, s.Bake))
	}
	st := r.Strategy
	if len(steps) > 0 {
		st += ": " + strings.Join(steps, " → ")
	}
	return [][2]string{
		{"Service", r.Service},
		{"Version", r.Version},
		{"Commit", r.Commit},
		{"Image", r.Image},
		{"UAT build", r.UAT},
		{"Environment", r.Environment},
		{"Launch id", r.LaunchID},
		{"Launch commander", r.Commander},
		{"Strategy", st},
		{"Monitoring window", orDash(r.Window)},
		{"Rollback target", orDash(r.RollbackTo)},
		{"Cutover", r.CutoverAt},
	}
}

func (g Gate) headline() string {
	var failing []string
	for _, c := range g.Reasons {
		if c.Outcome != "go" {
			failing = append(failing, c.Message)
		}
	}
	if len(failing) == 0 {
		return fmt.Sprintf("all %d checks passed", len(g.Reasons))
	}
	return strings.Join(failing, "; ")
}

func decision(g Gate) string {
	if g.Complete {
		return string(g.Decision) + " (complete)"
	}
	return string(g.Decision)
}

func budgetWord(ok bool) string {
	if ok {
		return "within budget"
	}
	return "OVER budget"
}

func confirmed(n Notification) string {
	if n.Delivered {
		return "yes (HTTP " + n.Status + ")"
	}
	return "NO (HTTP " + n.Status + ")"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func atSuffix(at string) string {
	if at == "" {
		return ""
	}
	return ", " + at
}

func fnum(f float64) string { return fmt.Sprintf("%g", f) }

// md escapes text for a Markdown table cell.
func md(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	return s
}
