package report

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// HTML writes the report as one self-contained HTML page with inline SVG charts.
func (r *Report) HTML(w io.Writer) error {
	data := struct {
		*Report
		Summary [][2]string
		Charts  []template.HTML
	}{Report: r, Summary: r.summary()}
	data.Charts = []template.HTML{
		template.HTML(r.chart(r.ErrorRate, "error-rate", "%.3f", "%.4f")),
		template.HTML(r.chart(r.Latency, "latency-p95", "%.2f s", "%.3f s")),
	}
	if err := pageTmpl.Execute(w, data); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return nil
}

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"decision":  decision,
	"headline":  Gate.headline,
	"upper":     strings.ToUpper,
	"join":      strings.Join,
	"budget":    budgetWord,
	"confirmed": confirmed,
	"yesno":     yesNo,
	"fnum":      fnum,
	"lat":       func(f float64) string { return fmt.Sprintf("%.3f s", f) },
	"cls": func(s any) string {
		return strings.ReplaceAll(strings.ReplaceAll(fmt.Sprint(s), " ", "-"), "(complete)", "")
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Launch report: {{.Service}} {{.Version}} to {{.Environment}}</title>
<style>
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",Helvetica,Arial,sans-serif;color:#1f2937;max-width:1080px;margin:24px auto;padding:0 24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px solid #e5e7eb;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.sub{color:#6b7280;margin:0 0 16px}
.outcome{border-radius:8px;padding:12px 16px;margin:12px 0 8px;border:1px solid}
.outcome b{font-size:17px;letter-spacing:.04em}
.completed{background:#ecfdf5;border-color:#10b981}.rolled-back{background:#fef2f2;border-color:#ef4444}.stopped{background:#fffbeb;border-color:#f59e0b}.in-progress{background:#f3f4f6;border-color:#9ca3af}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:13px}
th,td{border:1px solid #e5e7eb;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f9fafb;font-weight:600}
table.kv th{width:180px}
td.obs{max-width:200px;word-break:break-all}td.t{white-space:nowrap}td code{word-break:normal;white-space:nowrap}
td.mono,code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.d{font-weight:600;border-radius:4px;padding:1px 6px;white-space:nowrap}
.d-go{background:#d1fae5;color:#065f46}.d-no-go{background:#fef3c7;color:#92400e}.d-rollback{background:#fee2e2;color:#991b1b}
tr.fail td{background:#fff7f7}
.crit{color:#b91c1c;font-weight:600}
details{margin:4px 0}summary{cursor:pointer;font-weight:600}
.chart{display:block;width:100%;height:auto;border:1px solid #e5e7eb;border-radius:6px;margin:6px 0 14px;background:#fff}
.legend{font-size:12px;color:#4b5563}
footer{margin-top:32px;color:#6b7280;font-size:12px;border-top:1px solid #e5e7eb;padding-top:8px}
@media print{details{display:block}}
</style>
</head>
<body>
<h1>Launch report: {{.Service}} {{.Version}} to {{.Environment}}</h1>
<p class="sub">Launch {{.LaunchID}} · cutover {{.CutoverAt}} · commander {{.Commander}}</p>
<div class="outcome {{cls .Outcome}}"><b>{{upper .Outcome}}</b><br>{{join .OutcomeWhy " "}}</div>

<h2>What was deployed</h2>
<table class="kv">{{range .Summary}}<tr><th>{{index . 0}}</th><td class="mono">{{index . 1}}</td></tr>
{{end}}</table>

<h2>Gate decisions</h2>
<table><tr><th>#</th><th>time</th><th>gate</th><th>decision</th><th>reasons (failing first)</th></tr>
{{range .Gates}}<tr><td>{{.N}}</td><td class="t">{{.Now}}</td><td>{{.Label}}</td><td><span class="d d-{{.Decision}}">{{decision .}}</span></td><td>{{headline .}}</td></tr>
{{end}}</table>
<h2>Smoke tests</h2>
{{with .Smoke}}<p>Suite ran {{.Started}} → {{.Finished}}: <b>{{.Duration}}</b> against a budget of {{.Budget}} ({{budget .WithinBudget}}).</p>
<table><tr><th>step</th><th>critical</th><th>status</th><th>duration</th><th>note</th></tr>
{{range .Tests}}<tr{{if and .Critical (ne .Status "passed") (ne .Status "flaky")}} class="fail"{{end}}><td>{{.Name}}</td><td>{{if .Critical}}<span class="crit">critical</span>{{end}}</td><td>{{.Status}}</td><td>{{.Duration}}</td><td>{{.Message}}</td></tr>
{{end}}</table>{{else}}<p>No smoke results recorded.</p>{{end}}

<h2>Monitoring observations</h2>
<p class="legend">Canary cohort samples from every canary and window decision, deduplicated by timestamp. Red dashed line: rollback threshold (error rate {{fnum .ErrorRate.Threshold}}; p95 {{lat .Latency.Threshold}} = budget plus tolerance). Vertical lines: decisions at their time; red band: the rollback point.</p>
{{range .Charts}}{{.}}
{{end}}
{{if .Monitoring}}<table><tr><th>time</th><th>gate</th><th>decision</th><th>latest error rate</th><th>latest p95</th><th>coverage</th></tr>
{{range .Monitoring}}<tr><td class="t">{{.Now}}</td><td>{{.Gate}}</td><td><span class="d d-{{.Decision}}">{{.Decision}}</span></td><td>{{.ErrorRate}}</td><td>{{.P95}}</td><td>{{.Coverage}}</td></tr>
{{end}}</table>{{end}}
<h3>Integrations (latest probe)</h3>
{{if .Integrations}}<table><tr><th>integration</th><th>critical</th><th>up</th><th>status</th><th>at</th><th>error</th></tr>
{{range .Integrations}}<tr{{if not .Up}} class="fail"{{end}}><td>{{.Name}}</td><td>{{yesno .Critical}}</td><td>{{yesno .Up}}</td><td>{{.Status}}</td><td>{{.At}}</td><td>{{.Error}}</td></tr>
{{end}}</table>{{else}}<p>None recorded.</p>{{end}}
<h3>Data integrity (latest run{{if .IntegrityAt}}, {{.IntegrityAt}}{{end}})</h3>
{{if .Integrity}}<table><tr><th>check</th><th>violations</th><th>baseline</th></tr>
{{range .Integrity}}<tr><td>{{.Name}}</td><td>{{.Violations}}</td><td>{{.Baseline}}</td></tr>
{{end}}</table>{{if .Migrations}}<p>Migrations: {{.Migrations}}.</p>{{end}}{{else}}<p>None recorded.</p>{{end}}

<h2>Notifications</h2>
{{if .Notices}}<table><tr><th>at</th><th>channel</th><th>event</th><th>confirmed</th></tr>
{{range .Notices}}<tr><td>{{.At}}</td><td>{{.Channel}}</td><td>{{.Event}}</td><td>{{confirmed .}}</td></tr>
{{end}}</table>{{else}}<p>None recorded.</p>{{end}}
<h2>Hooks run</h2>
{{if .Hooks}}<table><tr><th>at</th><th>hook</th><th>step</th><th>exit</th><th>duration</th></tr>
{{range .Hooks}}<tr{{if ne .Exit "0"}} class="fail"{{end}}><td>{{.At}}</td><td>{{.Name}}</td><td>{{.Step}}</td><td>{{.Exit}}</td><td>{{.Duration}}</td></tr>
{{end}}</table>{{else}}<p>None recorded.</p>{{end}}
<h2>Manual checks and commander's calls</h2>
{{if .Attestations}}<ul>{{range .Attestations}}<li>{{.CollectedAt}} <code>{{.Name}}</code>: {{.Detail}}</li>{{end}}</ul>{{else}}<p>None recorded.</p>{{end}}
<h2>Known issues</h2>
{{if .KnownIssues}}<ul>{{range .KnownIssues}}<li>{{.}}</li>{{end}}</ul>{{else}}<p>None recorded.</p>{{end}}
<h2>On-call and handoff</h2>
<p>On-call: {{.OnCall}}. {{.Handoff}}</p>
<h2>Decision details</h2>
<p class="legend">Every check of every decision, failing checks first; observed values against their thresholds from the archived evidence.</p>
{{range .Gates}}<details{{if ne (print .Decision) "go"}} open{{end}}><summary>{{.N}}. {{.Label}}: {{decision .}} at {{.Now}}</summary>
<table><tr><th>outcome</th><th>check</th><th>observed</th><th>threshold</th><th>message</th></tr>
{{range .Reasons}}<tr{{if ne (print .Outcome) "go"}} class="fail"{{end}}><td><span class="d d-{{.Outcome}}">{{.Outcome}}</span></td><td><code>{{.Rule}}</code></td><td class="obs">{{.Observed}}</td><td class="obs">{{.Threshold}}</td><td>{{.Message}}</td></tr>
{{end}}</table>{{range .Warnings}}<p>warning: {{.}}</p>{{end}}
</details>
{{end}}
<footer>{{.Footer}}</footer>
</body>
</html>
`))

const (
	chartW, chartH                 = 960, 270
	padL, padR, padT, padB float64 = 64, 24, 52, 36
)

// chart draws one series as inline SVG: samples, threshold, decision markers, rollback point.
func (r *Report) chart(s Series, id, yTick, _ string) string {
	var b strings.Builder
	var t0, t1 int64
	if len(s.Points) > 0 {
		t0, t1 = s.Points[0].T, s.Points[len(s.Points)-1].T
	}
	if ct, err := time.Parse(time.RFC3339, r.CutoverAt); err == nil && (t0 == 0 || ct.Unix() < t0) {
		t0 = ct.Unix()
	}
	if t0 == 0 && len(r.Markers) > 0 { // no samples and no cutover: start at the first decision, not 1970
		t0 = r.Markers[0].T
	}
	var marks []Marker
	for _, m := range r.Markers {
		if m.T >= t0 {
			marks = append(marks, m)
			if m.T > t1 {
				t1 = m.T
			}
		}
	}
	if t1 <= t0 {
		t1 = t0 + 60
	}
	ymax := s.Threshold
	for _, p := range s.Points {
		ymax = math.Max(ymax, p.V)
	}
	if ymax <= 0 {
		ymax = 1
	}
	ymax *= 1.15
	pw, ph := chartW-padL-padR, chartH-padT-padB
	x := func(t int64) float64 { return padL + float64(t-t0)/float64(t1-t0)*pw }
	y := func(v float64) float64 { return padT + ph - v/ymax*ph }
	fmt.Fprintf(&b, `<svg class="chart" id="chart-%s" data-points="%d" data-markers="%d" viewBox="0 0 %d %d" role="img" aria-label="%s against its threshold" xmlns="http://www.w3.org/2000/svg">`,
		id, len(s.Points), len(marks), chartW, chartH, html.EscapeString(s.Name))
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="14" font-weight="600" fill="#111827">%s (%s)</text>`, padL, html.EscapeString(s.Name), s.Unit)
	// Axes and grid.
	tick := niceStep(ymax / 4)
	for v := 0.0; v <= ymax*(1+1e-9); v += tick {
		yy := y(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eef0f3"/>`, padL, yy, padL+pw, yy)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#6b7280" text-anchor="end">%s</text>`, padL-6, yy+4, fmt.Sprintf(yTick, v))
	}
	for tt := (t0/600 + 1) * 600; tt <= t1; tt += 600 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#6b7280" text-anchor="middle">%s</text>`, x(tt), chartH-padB+16, time.Unix(tt, 0).UTC().Format("15:04"))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#6b7280" text-anchor="end">UTC</text>`, padL+pw, float64(chartH)-4)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9ca3af"/>`, padL, padT+ph, padL+pw, padT+ph)
	// Rollback point.
	if r.RollbackAt > 0 && r.RollbackAt >= t0 {
		rx := x(r.RollbackAt)
		fmt.Fprintf(&b, `<g class="rollback"><rect x="%.1f" y="%.1f" width="8" height="%.1f" fill="#fecaca"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dc2626" stroke-width="2"/><text x="%.1f" y="%.1f" font-size="11" font-weight="700" fill="#dc2626" text-anchor="end">ROLLBACK</text></g>`,
			rx-4, padT, ph, rx, padT, rx, padT+ph, rx-6, padT+ph-6)
	}
	// Decision markers.
	for i, m := range marks {
		mx := x(m.T)
		col := map[string]string{"go": "#059669", "no-go": "#d97706", "rollback": "#dc2626"}[string(m.Decision)]
		if col == "" {
			col = "#6b7280"
		}
		ly := padT - 4 - float64(i%2)*12
		anchor := "middle"
		if mx > padL+pw-70 {
			anchor = "end"
		}
		fmt.Fprintf(&b, `<g class="marker" data-decision="%s"><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="2 3"/><text x="%.1f" y="%.1f" font-size="10" fill="%s" text-anchor="%s">%s: %s</text></g>`,
			m.Decision, mx, padT, mx, padT+ph, col, mx, ly, col, anchor, html.EscapeString(m.Label), m.Decision)
	}
	// Threshold.
	if s.Threshold > 0 {
		ty := y(s.Threshold)
		fmt.Fprintf(&b, `<g class="threshold"><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dc2626" stroke-dasharray="6 4" stroke-width="1.5"/><text x="%.1f" y="%.1f" font-size="11" fill="#dc2626" text-anchor="end">threshold %s</text></g>`,
			padL, ty, padL+pw, ty, padL+pw-4, ty-5, strings.TrimSpace(fmt.Sprintf(yTick, s.Threshold)))
	}
	// Series: a path broken across gaps, and one dot per sample.
	var path strings.Builder
	for i, p := range s.Points {
		cmd := "L"
		if i == 0 || p.T-s.Points[i-1].T > 60 {
			cmd = "M"
		}
		fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(p.T), y(p.V))
	}
	fmt.Fprintf(&b, `<path class="series" d="%s" fill="none" stroke="#2563eb" stroke-width="1.5"/>`, strings.TrimSpace(path.String()))
	b.WriteString(`<g class="points" fill="#2563eb">`)
	for _, p := range s.Points {
		fmt.Fprintf(&b, `<circle class="pt" cx="%.1f" cy="%.1f" r="1.8"/>`, x(p.T), y(p.V))
	}
	b.WriteString(`</g></svg>`)
	return b.String()
}

// niceStep rounds a raw tick spacing up to 1, 2, 2.5 or 5 times a power of ten, so the axis
// reads 0, 0.01, 0.02, … rather than at arbitrary fractions of the maximum.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}
