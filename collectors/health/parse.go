package health

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatekeeper-dev/gatekeeper/collectors/internal/httpx"
)

// Normalized health statuses, as the facts hold them.
const (
	Pass = "pass" // healthy
	Warn = "warn" // healthy, with a warning
	Fail = "fail" // unhealthy
)

// Response formats told apart by the parser, reported as the instance's `format`.
const (
	FormatHealthJSON = "health+json" // application/health+json (draft-inadarei-api-health-check)
	FormatActuator   = "actuator"    // Spring Boot actuator /health
	FormatPlain      = "plain"       // no health document: the status code decides
)

// statusAliases maps every accepted raw status, lower-cased, onto pass, warn or fail.
var statusAliases = map[string]string{
	// application/health+json and its common aliases.
	"pass": Pass, "ok": Pass, "up": Pass,
	"warn": Warn,
	"fail": Fail, "down": Fail, "error": Fail,
	// Spring Boot actuator.
	"out_of_service": Fail,
	"unknown":        Warn,
}

var severity = map[string]int{Pass: 0, Warn: 1, Fail: 2}

// Normalize maps a raw health status (health+json, its aliases, or actuator) onto pass,
// warn or fail; ok is false for a status it does not know.
func Normalize(raw string) (status string, ok bool) {
	status, ok = statusAliases[strings.ToLower(strings.TrimSpace(raw))]
	return status, ok
}

func worse(a, b string) string {
	if severity[b] > severity[a] {
		return b
	}
	return a
}

// result is what one health response says.
type result struct {
	Status   string   // pass | warn | fail, or "" when nothing could be said
	Raw      string   // the raw status string (document status, or the plain body's first line)
	Format   string   // FormatHealthJSON | FormatActuator | FormatPlain, "" when unrecognized
	Degraded []string // "name: status" of nested checks or components that are not passing
	Err      string   // why the response is not a usable health answer
}

// parse reads one health response. The document's own status wins for health+json and
// actuator bodies, made worse by nested health+json checks (worst wins) and by a non-2xx
// status code (a document saying pass over HTTP 503 is not healthy). A body that is not JSON
// is judged by its status code alone, except an HTML page, which is never a health answer
// (a proxy error or login page in front of the service). Every problem leaves Err set; a
// non-2xx answer is then still reported as fail.
func parse(mediaType string, code int, body []byte) result {
	ok2xx := code >= 200 && code < 300
	failed := func(msg string, args ...any) result {
		r := result{Err: fmt.Sprintf(msg, args...)}
		if !ok2xx {
			r.Status = Fail
			r.Err = fmt.Sprintf("HTTP %d: %s", code, r.Err)
		}
		return r
	}
	switch {
	case httpx.IsJSONType(mediaType) || httpx.LooksLikeJSON(body):
		doc, err := httpx.DecodeJSON(body)
		if err != nil {
			return failed("%v", err)
		}
		obj, isObj := doc.(map[string]any)
		if !isObj {
			return failed("JSON body is %s, not a health document", httpx.AnType(doc))
		}
		raw, isStr := obj["status"].(string)
		if !isStr {
			return failed("JSON body is not a health document: no status string (%s)", httpx.Snippet(body, 120))
		}
		format := detectFormat(mediaType, raw, obj)
		r := result{Raw: raw, Format: format}
		status, known := Normalize(raw)
		if !known {
			r.Err = fmt.Sprintf("unrecognized health status %q", raw)
			if !ok2xx {
				r.Status = Fail
			}
			return r
		}
		r.Status = status
		if format == FormatHealthJSON {
			worst, degraded, err := checks(obj["checks"])
			if err != "" {
				r.Err = err
			}
			r.Status = worse(r.Status, worst)
			r.Degraded = degraded
		} else {
			r.Degraded = components("", obj)
		}
		if !ok2xx {
			r.Status = Fail
		}
		return r
	case httpx.IsHTML(mediaType, body):
		return failed("an HTML page, not a health response (a proxy error or login page?): %s", httpx.Snippet(body, 120))
	default:
		raw, ok := httpx.FirstLine(body, 64)
		if !ok {
			raw = fmt.Sprintf("HTTP %d", code)
		}
		if ok2xx {
			return result{Status: Pass, Raw: raw, Format: FormatPlain}
		}
		return result{Status: Fail, Raw: raw, Format: FormatPlain, Err: fmt.Sprintf("HTTP %d without a health document: %s", code, httpx.Snippet(body, 120))}
	}
}

// detectFormat tells health+json from actuator: by media type, else by actuator's
// upper-case statuses or its components/details members.
func detectFormat(mediaType, raw string, obj map[string]any) string {
	switch {
	case mediaType == "application/health+json":
		return FormatHealthJSON
	case strings.Contains(mediaType, "spring-boot.actuator"):
		return FormatActuator
	case slices.Contains([]string{"UP", "DOWN", "OUT_OF_SERVICE", "UNKNOWN"}, raw):
		return FormatActuator
	}
	if _, ok := obj["components"]; ok {
		return FormatActuator
	}
	return FormatHealthJSON
}

// checks folds health+json's `checks` ({"name": [{"status": …}, …]}) to the worst status
// and lists the checks that are not passing. A check whose status is unrecognized is an
// error (it could hide a failure); a check without a status says nothing and is skipped.
func checks(v any) (worst string, degraded []string, err string) {
	worst = Pass
	m, ok := v.(map[string]any)
	if v == nil {
		return worst, nil, ""
	}
	if !ok {
		return Fail, nil, fmt.Sprintf("checks is %s, not an object", httpx.AnType(v))
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	var errs []string
	for _, name := range names {
		list, ok := m[name].([]any)
		if !ok {
			// Some emitters write one object instead of a list.
			list = []any{m[name]}
		}
		for i, e := range list {
			label := name
			if len(list) > 1 {
				label = fmt.Sprintf("%s[%d]", name, i)
			}
			obj, ok := e.(map[string]any)
			if !ok {
				errs = append(errs, fmt.Sprintf("check %s is %s, not an object", label, httpx.AnType(e)))
				worst = Fail
				continue
			}
			raw, present := obj["status"]
			if !present {
				continue
			}
			s, isStr := raw.(string)
			status, known := Normalize(s)
			if !isStr || !known {
				errs = append(errs, fmt.Sprintf("check %s has unrecognized status %v", label, raw))
				worst = Fail
				continue
			}
			worst = worse(worst, status)
			if status != Pass {
				degraded = append(degraded, label+": "+s)
			}
		}
	}
	return worst, degraded, strings.Join(errs, "; ")
}

// components lists actuator components (nested, Boot 2+) or details (Boot 1) that are not
// UP, for the evidence. Actuator's top-level status is its own aggregate (with the
// service's configured status order), so these do not change the reported status.
func components(prefix string, obj map[string]any) []string {
	var out []string
	for _, key := range []string{"components", "details"} {
		m, ok := obj[key].(map[string]any)
		if !ok {
			continue
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, name := range names {
			c, ok := m[name].(map[string]any)
			if !ok {
				continue
			}
			label := prefix + name
			if s, ok := c["status"].(string); ok && !strings.EqualFold(s, "UP") {
				out = append(out, label+": "+s)
			}
			out = append(out, components(label+".", c)...)
		}
	}
	return out
}
