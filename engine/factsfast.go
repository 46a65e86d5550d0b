package engine

import (
	"regexp"
	"time"

	cueast "cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// A facts body is mostly sample series, and unifying those with #Facts costs CUE several
// times what deciding the gate costs OPA. factsAccepted checks the constraints of #Facts
// (schemas/facts.cue, with #Time, #Duration and #Digest of runbook.cue) in Go, on the
// values decodeJSON read. It is conservative: true only where CUE certainly accepts the
// document; false means "not certain", and ParseFacts then asks CUE, whose verdict and
// located messages are what a caller sees. So a rejected document costs what it did before,
// and nothing CUE rejects gets through (TestFactsFastSound, FuzzFactsFastSound).
//
// It mirrors the schema by hand: TestFactsFastSchemaDigest fails when schemas/facts.cue or
// the definitions it borrows change, until the checks below are reviewed against them.

// valueCheck reports whether a decoded JSON value certainly satisfies one constraint.
type valueCheck func(v any) bool

// object is a struct of the schema: the fields it constrains, those it requires, whether
// other fields are allowed (an open struct, `...`), and whether it is #Asked.
type object struct {
	fields   map[string]valueCheck
	required []string
	open     bool
	asked    bool
}

func (o *object) check(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, r := range o.required {
		if _, ok := m[r]; !ok {
			return false
		}
	}
	if o.asked && !hasAny(m, "query", "url", "path") {
		// #Asked: a fact must say what was asked.
		return false
	}
	for k, e := range m {
		c, ok := o.fields[k]
		if !ok {
			if !o.open {
				return false
			}
			continue // `...`: any value
		}
		if !c(e) {
			return false
		}
	}
	return true
}

func hasAny(m map[string]any, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// open returns the check of an open struct with these fields: the element structs of the
// facts' lists, all of which end in `...`.
func open(fields map[string]valueCheck) valueCheck {
	o := &object{fields: fields, open: true}
	return o.check
}

func isString(v any) bool { _, ok := v.(string); return ok }

func isBool(v any) bool { _, ok := v.(bool); return ok }

func isStruct(v any) bool { _, ok := v.(map[string]any); return ok }

// isNumber: decodeJSON gives numbers as int64 or as a CUE literal, never float64.
func isNumber(v any) bool {
	switch v.(type) {
	case int64, *cueast.BasicLit:
		return true
	}
	return false
}

// isInt is CUE's int: an integer literal. A literal with a fraction or an exponent (3.0,
// 3e0) is a float to CUE, and decodeJSON keeps -0 as one too.
func isInt(v any) bool {
	switch x := v.(type) {
	case int64:
		return true
	case *cueast.BasicLit:
		return x.Kind == token.INT
	}
	return false
}

// nonNegative is `number & >=0`: JSON spells a negative number, and only a negative one,
// with a leading minus. Minus zero is left to CUE.
func nonNegative(v any) bool {
	switch x := v.(type) {
	case int64:
		return x >= 0
	case *cueast.BasicLit:
		return len(x.Value) > 0 && x.Value[0] != '-'
	}
	return false
}

func intBetween(lo, hi int64) valueCheck {
	return func(v any) bool {
		i, ok := v.(int64)
		return ok && i >= lo && i <= hi
	}
}

func nonNegativeInt(v any) bool { return isInt(v) && nonNegative(v) }

func oneOf(values ...string) valueCheck {
	return func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return false
		}
		for _, w := range values {
			if s == w {
				return true
			}
		}
		return false
	}
}

func nullOr(c valueCheck) valueCheck {
	return func(v any) bool { return v == nil || c(v) }
}

func listOf(elem valueCheck) valueCheck {
	return func(v any) bool {
		l, ok := v.([]any)
		if !ok {
			return false
		}
		for _, e := range l {
			if !elem(e) {
				return false
			}
		}
		return true
	}
}

func isList(v any) bool { _, ok := v.([]any); return ok }

// isTime is #Time: CUE's time.Time is exactly this call (cuelang.org/go/pkg/time).
func isTime(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	_, err := time.ParseInLocation(time.RFC3339Nano, s, time.UTC)
	return err == nil
}

// durationSyntax is the pattern of #DurationSyntax.
var durationSyntax = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`)

// isDuration is #Duration: the pattern and CUE's time.Duration, which is time.ParseDuration.
func isDuration(v any) bool {
	s, ok := v.(string)
	if !ok || !durationSyntax.MatchString(s) {
		return false
	}
	_, err := time.ParseDuration(s)
	return err == nil
}

// isDigest is #Digest: "sha256:" and 64 lowercase hex digits.
func isDigest(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) != len("sha256:")+64 || s[:7] != "sha256:" {
		return false
	}
	for i := 7; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isSampleValue is #SampleValue without a regular expression, which would cost more than
// the rest of a sample series' checks; TestSampleValueMatchesSchema holds it to the pattern.
func isSampleValue(v any) bool {
	s, ok := v.(string)
	return ok && sampleValue(s)
}

// sampleValue matches ^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$|^[-+]?(Inf|NaN)$.
func sampleValue(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	if rest := s[i:]; rest == "Inf" || rest == "NaN" {
		return true
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if digits() > 0 {
		if i < len(s) && s[i] == '.' {
			i++
			digits()
		}
	} else {
		if i >= len(s) || s[i] != '.' {
			return false
		}
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// isSamples is #Samples: [...[number, #SampleValue]].
func isSamples(v any) bool {
	l, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range l {
		p, ok := e.([]any)
		if !ok || len(p) != 2 || !isNumber(p[0]) || !isSampleValue(p[1]) {
			return false
		}
	}
	return true
}

var gates = oneOf("pre-cutover", "post-deploy", "post-smoke", "canary", "window", "post-rollback")

// factSources is #FactSource.
var factSources = oneOf("prometheus", "http", "smoke", "sql", "uat", "archive", "notify", "deploy", "gatekeeper")

// provenance is #Provenance, less source, which each fact constrains itself.
var provenance = map[string]valueCheck{
	"collected_at": isTime,
	"query":        isString,
	"url":          isString,
	"path":         isString,
	"duration_ms":  nonNegative,
	"error":        isString,
}

// fact is #Provenance & {source!: src} & more, and #Asked when asked. #Provenance ends in
// `...`, which keeps every fact open.
func fact(src valueCheck, asked bool, more ...map[string]valueCheck) valueCheck {
	o := &object{fields: map[string]valueCheck{}, required: []string{"source", "collected_at"}, open: true, asked: asked}
	add := func(fs map[string]valueCheck) {
		for k, c := range fs {
			if prev, ok := o.fields[k]; ok {
				// A field constrained twice must meet both constraints.
				o.fields[k] = func(v any) bool { return prev(v) && c(v) }
				continue
			}
			o.fields[k] = c
		}
	}
	add(provenance)
	add(map[string]valueCheck{"source": src})
	for _, fs := range more {
		add(fs)
	}
	return o.check
}

func source(s string) valueCheck { return oneOf(s) }

// integrityRun is #IntegrityRun.
var integrityRun = map[string]valueCheck{
	"checks": listOf(open(map[string]valueCheck{
		"name":       isString,
		"violations": nonNegativeInt,
		"sample":     isList,
	})),
	"migrations": open(map[string]valueCheck{
		"tool":    isString,
		"version": func(v any) bool { return isInt(v) || isString(v) },
		"dirty":   isBool,
	}),
}

// series is #Series.
var series = map[string]valueCheck{
	"start":   isTime,
	"end":     isTime,
	"step":    isDuration,
	"samples": isSamples,
}

var sampleValueField = map[string]valueCheck{"value": isSampleValue}

// factSet is #FactSet, closed over the fact names.
var factSet = (&object{fields: map[string]valueCheck{
	"signoff": fact(source("gatekeeper"), false, map[string]valueCheck{"digest": isDigest}),
	"uat": fact(source("uat"), true, map[string]valueCheck{
		"approved": open(map[string]valueCheck{"version": isString, "commit": isString, "image": isString}),
		"result":   isString,
	}),
	"rehearsal": fact(source("archive"), true, map[string]valueCheck{
		"launch_id": isString, "environment": isString, "commit": isString, "image": isString,
		"outcome": isString, "finished_at": isTime,
	}),
	"notifications": fact(source("notify"), true, map[string]valueCheck{
		"deliveries": listOf(open(map[string]valueCheck{
			"channel": isString, "event": isString, "status_code": isInt, "delivered": isBool, "at": isTime,
		})),
	}),
	"attestations": fact(source("archive"), true, map[string]valueCheck{
		"items": listOf(open(map[string]valueCheck{
			"kind":      oneOf("manual_check", "call"),
			"at":        isTime,
			"by":        isString,
			"check":     isString,
			"result":    oneOf("pass", "fail"),
			"critical":  isBool,
			"call":      oneOf("hold", "rollback", "resume"),
			"note":      isString,
			"signed_by": isString,
		})),
	}),
	"hooks": fact(source("archive"), true, map[string]valueCheck{
		"runs": listOf(open(map[string]valueCheck{
			"name": isString, "step": nullOr(isInt), "exit_code": isInt, "timed_out": isBool,
			"started_at": isTime, "finished_at": isTime, "output_tail": isString,
		})),
	}),
	"production_error_rate": fact(source("prometheus"), true, sampleValueField),
	"integrity":             fact(source("sql"), true, integrityRun),
	"integrity_baseline":    fact(source("archive"), true, integrityRun),
	"deployment": fact(source("deploy"), true, map[string]valueCheck{
		"status": oneOf("succeeded", "failed"), "finished_at": isTime, "detail": isString,
	}),
	"versions": fact(source("http"), true, map[string]valueCheck{
		"instances": listOf(open(map[string]valueCheck{
			"name": isString, "url": isString, "status_code": isInt, "version": isString,
			"commit": isString, "image": isString, "error": isString,
		})),
	}),
	"health": fact(source("http"), true, map[string]valueCheck{
		"instances": listOf(open(map[string]valueCheck{
			"name": isString, "url": isString, "status_code": isInt,
			"status": oneOf("pass", "warn", "fail"), "error": isString,
		})),
	}),
	"smoke": fact(source("smoke"), true, map[string]valueCheck{
		"started_at": isTime, "finished_at": isTime,
		"tests": listOf(open(map[string]valueCheck{
			"name": isString, "suite": isString, "status": oneOf("passed", "failed", "skipped", "flaky"),
			"duration_ms": nonNegative, "message": isString,
		})),
		"errors": listOf(isString),
	}),
	"integrations": fact(source("http"), true, map[string]valueCheck{
		"items": listOf(open(map[string]valueCheck{
			"name": isString,
			"probe": open(map[string]valueCheck{
				"ok": isBool, "status_code": isInt, "at": isTime, "error": isString,
			}),
			"availability": open(map[string]valueCheck{"query": isString, "samples": isSamples}),
		})),
	}),
	"traffic":       fact(source("prometheus"), true, sampleValueField),
	"error_rate":    fact(source("prometheus"), true, series),
	"latency_p95":   fact(source("prometheus"), true, series),
	"request_count": fact(source("prometheus"), true, sampleValueField),
	"history": fact(source("archive"), true, map[string]valueCheck{
		"records": listOf(open(map[string]valueCheck{
			"now": isTime, "gate": gates, "step": nullOr(isInt),
			"checks": listOf(open(map[string]valueCheck{
				"rule": isString, "status": oneOf("pass", "fail", "unknown"),
			})),
		})),
	}),
	// custom?: [string]: #Fact, #Fact being #Provenance & {source!: #FactSource}.
	"custom": func(v any) bool {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for _, f := range m {
			if !customFact(f) {
				return false
			}
		}
		return true
	},
}}).check

var customFact = fact(factSources, false)

// factsDoc is #Facts, closed.
var factsDoc = &object{
	fields: map[string]valueCheck{
		"facts":           factSet,
		"gate":            gates,
		"step":            nullOr(intBetween(1, 100)),
		"environment":     oneOf("staging", "production"),
		"launch_id":       isString,
		"now":             isTime,
		"cutover_at":      nullOr(isTime),
		"step_started_at": nullOr(isTime),
		"runbook":         isStruct,
	},
	required: []string{"facts"},
}

// factsAccepted reports whether #Facts certainly accepts doc, a value decodeJSON returned.
func factsAccepted(doc any) bool {
	return factsDoc.check(doc)
}
