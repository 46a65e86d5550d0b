package smoke

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// K6Parser reads k6's end-of-test summary: the data object handleSummary() receives, written
// as JSON (format k6-summary), or with Export the legacy --summary-export file (format
// k6-summary-export), which k6 derives from the same object but with groups and checks keyed
// by name, metric values flattened, and threshold booleans inverted (true means crossed).
//
// Each check of root_group and its nested groups becomes a test in suite "k6" (or
// "k6 › group › subgroup"): failed when fails > 0, passed when it passed and never failed,
// skipped when it never ran. Each threshold becomes a test "threshold <metric> <expr>" in
// suite "k6 thresholds" with the observed aggregate as its message. The two formats are told
// apart by shape, and a file of the other format is refused, so an inverted boolean is never
// read the wrong way round. k6 summaries carry a duration but no start time.
type K6Parser struct {
	// Export selects the legacy --summary-export format.
	Export bool
	// MaxDepth bounds group nesting; 0 means 64.
	MaxDepth int
	// MaxMessage bounds each test's message; 0 means 2048 bytes.
	MaxMessage int
}

type k6Doc struct {
	RootGroup json.RawMessage `json:"root_group"`
	Metrics   json.RawMessage `json:"metrics"`
}

type k6Group struct {
	Name   string          `json:"name"`
	Groups json.RawMessage `json:"groups"`
	Checks json.RawMessage `json:"checks"`
}

type k6Check struct {
	Name   string       `json:"name"`
	Passes *json.Number `json:"passes"`
	Fails  *json.Number `json:"fails"`
}

type k6State struct {
	p      *K6Parser
	format string
	maxMsg int
	out    Suite
	checks int   // checks listed in root_group and its groups
	ran    int64 // check runs the checks metric counted
}

// Parse reads one k6 summary.
func (p *K6Parser) Parse(r io.Reader) (*Suite, error) {
	st := &k6State{p: p, format: FormatK6Summary, maxMsg: p.MaxMessage}
	if p.Export {
		st.format = FormatK6SummaryExport
	}
	if st.maxMsg <= 0 {
		st.maxMsg = defaultMaxMessage
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", st.format, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty report", st.format)
	}
	var doc k6Doc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
			return nil, fmt.Errorf("%s: truncated report (unexpected end of input)", st.format)
		}
		return nil, fmt.Errorf("%s: %w", st.format, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: content after the summary object", st.format)
	}
	if !isObject(doc.RootGroup) || !isObject(doc.Metrics) {
		return nil, fmt.Errorf("%s: not a k6 summary: expected root_group and metrics objects", st.format)
	}
	if err := st.group(doc.RootGroup, nil, 1); err != nil {
		return nil, err
	}
	if err := st.metrics(doc.Metrics); err != nil {
		return nil, err
	}
	if st.checks == 0 && st.ran > 0 {
		st.out.Errors = append(st.out.Errors, fmt.Sprintf("the checks metric counted %d check runs but root_group lists no checks", st.ran))
	}
	if !p.Export {
		var state struct {
			State struct {
				TestRunDurationMs *float64 `json:"testRunDurationMs"`
			} `json:"state"`
		}
		if json.Unmarshal(data, &state) == nil && state.State.TestRunDurationMs != nil {
			st.out.Duration = millis(*state.State.TestRunDurationMs)
		}
	}
	return &st.out, nil
}

func firstByte(raw json.RawMessage) byte {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func isObject(raw json.RawMessage) bool { return firstByte(raw) == '{' }

type member struct {
	key   string
	value json.RawMessage
}

// members returns an object's members in file order, so that tests keep the report's order.
func members(raw json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var out []member
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		key, _ := k.(string)
		out = append(out, member{key, v})
	}
	return out, nil
}

// list returns the elements of a handleSummary array or of a --summary-export object.
func (st *k6State) list(raw json.RawMessage, what string) ([]member, error) {
	switch firstByte(raw) {
	case 0, 'n':
		return nil, nil
	case '[':
		if st.p.Export {
			return nil, fmt.Errorf("%s: %s is an array: this looks like a handleSummary() report; use format k6-summary", st.format, what)
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", st.format, what, err)
		}
		out := make([]member, len(elems))
		for i, e := range elems {
			out[i] = member{"", e}
		}
		return out, nil
	case '{':
		if !st.p.Export {
			return nil, fmt.Errorf("%s: %s is an object keyed by name: this looks like a --summary-export file; use format k6-summary-export", st.format, what)
		}
		m, err := members(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", st.format, what, err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("%s: %s: expected a list", st.format, what)
}

func count(n *json.Number) (int64, bool) {
	if n == nil {
		return 0, false
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f != math.Trunc(f) || f > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func (st *k6State) group(raw json.RawMessage, names []string, depth int) error {
	maxDepth := st.p.MaxDepth
	if maxDepth <= 0 {
		maxDepth = defaultMaxDepth
	}
	if depth > maxDepth {
		return fmt.Errorf("%s: groups nested deeper than %d", st.format, maxDepth)
	}
	var g k6Group
	if err := json.Unmarshal(raw, &g); err != nil {
		return fmt.Errorf("%s: group %q: %w", st.format, strings.Join(names, "::"), err)
	}
	suite := strings.Join(append([]string{"k6"}, names...), " › ")
	checks, err := st.list(g.Checks, "checks of group "+strconv.Quote(strings.Join(names, "::")))
	if err != nil {
		return err
	}
	for _, m := range checks {
		var c k6Check
		if err := json.Unmarshal(m.value, &c); err != nil {
			return fmt.Errorf("%s: check in group %q: %w", st.format, strings.Join(names, "::"), err)
		}
		if c.Name == "" {
			c.Name = m.key
		}
		passes, okP := count(c.Passes)
		fails, okF := count(c.Fails)
		if !okP || !okF {
			return fmt.Errorf("%s: check %q: passes and fails must be counts", st.format, c.Name)
		}
		t := Test{Name: clean(c.Name, 4*st.maxMsg), Suite: suite, Status: StatusPassed,
			Attrs: map[string]any{"passes": passes, "fails": fails}}
		switch {
		case fails > 0:
			t.Status = StatusFailed
			t.Message = fmt.Sprintf("%d of %d failed", fails, passes+fails)
		case passes == 0:
			t.Status = StatusSkipped
			t.Message = "check never ran"
		}
		st.out.Tests = append(st.out.Tests, t)
		st.checks++
	}
	groups, err := st.list(g.Groups, "groups of group "+strconv.Quote(strings.Join(names, "::")))
	if err != nil {
		return err
	}
	for _, m := range groups {
		var sub k6Group
		if err := json.Unmarshal(m.value, &sub); err != nil {
			return fmt.Errorf("%s: group in %q: %w", st.format, strings.Join(names, "::"), err)
		}
		name := sub.Name
		if name == "" {
			name = m.key
		}
		if err := st.group(m.value, append(names[:len(names):len(names)], clean(name, st.maxMsg)), depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (st *k6State) metrics(raw json.RawMessage) error {
	ms, err := members(raw)
	if err != nil {
		return fmt.Errorf("%s: metrics: %w", st.format, err)
	}
	for _, m := range ms {
		if !isObject(m.value) {
			return fmt.Errorf("%s: metric %q: expected an object", st.format, m.key)
		}
		fields, err := members(m.value)
		if err != nil {
			return fmt.Errorf("%s: metric %q: %w", st.format, m.key, err)
		}
		values := map[string]json.RawMessage{}
		var thresholds json.RawMessage
		hasValuesObject := false
		for _, f := range fields {
			switch {
			case f.key == "thresholds":
				thresholds = f.value
			case f.key == "values" && isObject(f.value):
				hasValuesObject = true
				if inner, err := members(f.value); err == nil {
					for _, v := range inner {
						values[v.key] = v.value
					}
				}
			default:
				values[f.key] = f.value
			}
		}
		if m.key == "checks" {
			for _, k := range []string{"passes", "fails"} {
				var n json.Number
				if json.Unmarshal(values[k], &n) == nil {
					if c, ok := count(&n); ok {
						st.ran += c
					}
				}
			}
		}
		if st.p.Export && hasValuesObject {
			return fmt.Errorf("%s: metric %q has a values object: this looks like a handleSummary() report; use format k6-summary", st.format, m.key)
		}
		if !st.p.Export && !hasValuesObject {
			return fmt.Errorf("%s: metric %q has no values object: this looks like a --summary-export file; use format k6-summary-export", st.format, m.key)
		}
		if firstByte(thresholds) == 0 || firstByte(thresholds) == 'n' {
			continue
		}
		if !isObject(thresholds) {
			return fmt.Errorf("%s: metric %q: thresholds: expected an object", st.format, m.key)
		}
		ths, err := members(thresholds)
		if err != nil {
			return fmt.Errorf("%s: metric %q: thresholds: %w", st.format, m.key, err)
		}
		for _, th := range ths {
			ok, err := st.thresholdOK(m.key, th)
			if err != nil {
				return err
			}
			t := Test{Name: clean("threshold "+m.key+" "+th.key, 4*st.maxMsg), Suite: "k6 thresholds", Status: StatusPassed}
			if !ok {
				t.Status = StatusFailed
			}
			t.Message = clean(observed(th.key, values, st.p.Export), st.maxMsg)
			if !ok {
				t.Message = clean("threshold crossed: "+t.Message, st.maxMsg)
			}
			st.out.Tests = append(st.out.Tests, t)
		}
	}
	return nil
}

// thresholdOK reads whether a threshold held: {"ok": bool} in handleSummary data, a bare
// boolean that is true when the threshold was crossed in --summary-export files.
func (st *k6State) thresholdOK(metric string, th member) (bool, error) {
	switch firstByte(th.value) {
	case 't', 'f':
		if !st.p.Export {
			return false, fmt.Errorf("%s: threshold %q of %s is a bare boolean: this looks like a --summary-export file (whose booleans are inverted); use format k6-summary-export", st.format, th.key, metric)
		}
		var crossed bool
		if err := json.Unmarshal(th.value, &crossed); err != nil {
			return false, fmt.Errorf("%s: threshold %q of %s: %w", st.format, th.key, metric, err)
		}
		return !crossed, nil
	case '{':
		if st.p.Export {
			return false, fmt.Errorf("%s: threshold %q of %s is an object: this looks like a handleSummary() report; use format k6-summary", st.format, th.key, metric)
		}
		var v struct {
			OK *bool `json:"ok"`
		}
		if err := json.Unmarshal(th.value, &v); err != nil || v.OK == nil {
			return false, fmt.Errorf("%s: threshold %q of %s: expected {\"ok\": true|false}", st.format, th.key, metric)
		}
		return *v.OK, nil
	}
	return false, fmt.Errorf("%s: threshold %q of %s: expected a result", st.format, th.key, metric)
}

// observed renders the aggregate a threshold expression tests ("p(95)<500" → "p(95)=612.3").
func observed(expr string, values map[string]json.RawMessage, export bool) string {
	agg := expr
	if i := strings.IndexAny(expr, "<>=!"); i >= 0 {
		agg = expr[:i]
	}
	agg = strings.TrimSpace(agg)
	v, ok := values[agg]
	if !ok && export && agg == "rate" {
		v, ok = values["value"] // --summary-export renames a rate metric's rate to value
	}
	if !ok {
		return "observed " + agg + " not reported"
	}
	return "observed " + agg + "=" + strings.TrimSpace(string(v))
}
