// Command gen writes the example launch's recorded facts: one facts file per (scenario,
// gate) under testdata/example/scenarios/, the decisions the policies must reach on them
// (scenarios/expected.json), the UAT record the runbook points to (uat/approval.json) and
// runbook-edited.yaml (runbook.yaml with one threshold changed after sign-off).
//
// Everything is derived from fixed times and fixed seeds, so running it twice gives the
// same bytes. Run from the module root:
//
//	go run ./testdata/example/gen          # regenerate
//	go run ./testdata/example/gen -check   # regenerate, then decide every file with the
//	                                       # stock opa CLI and compare with expected.json
//
// The shop runbook (runbook.yaml) is a canary launch to production: cutover at 13:20,
// steps 5/25/100 %, a 60-minute monitoring window, error ratio ≤ 0.02 and p95 ≤ 400ms
// +20 % sustained over 5m, coverage 0.9, min 500 requests.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

type obj = map[string]any

// The launch, as runbook.yaml has it.
const (
	service        = "shop"
	environment    = "production"
	launchID       = "shop-2.4.0-production"
	releaseVersion = "2.4.0"
	releaseCommit  = "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"
	imageRepo      = "registry.example.com/shop/web"
	releaseDigest  = "d7bdd545f09d8a73c2b990337c8211d708a04ccd9748627685e4fc79cc038039"
	releaseImage   = imageRepo + "@sha256:" + releaseDigest

	rollbackVersion = "2.3.7"
	rollbackCommit  = "e9d71f5ee7c92d6dc9e92ffdad17b8bd49418f98"
	rollbackImage   = imageRepo + "@sha256:6987740fb624e3e9943ec5d9ac5519b72cea1b35fb4bde5719df3923a36c08f7"

	// uat-mismatch: what UAT really approved. The runbook's commit is a retyped copy with two
	// digits swapped, and the image is the one built from the real commit.
	uatOtherCommit = "86f7e437faa5a7fce15d1ddcb9eaeaea376767b8"
	uatOtherImage  = imageRepo + "@sha256:7537b18d8632ed534929123e76002e80430ae41d02dce33e2c1690457b664c4d"

	stagingArchive    = "archives/shop-2.4.0-staging"
	productionArchive = "archives/shop-2.4.0-production"
	promURL           = "http://prometheus.prod.shop.internal:9090"
)

// Criteria of runbook.yaml the series are shaped around.
const (
	step      = 15 * time.Second
	scrapeLag = 30 * time.Second
	sustained = 5 * time.Minute
	interval  = time.Minute // window.interval: one decision record a minute
)

// PromQL the prometheus collector runs (the runbook leaves criteria.*.query at the default).
const (
	errorRatioQuery   = `sum(rate(http_requests_total{track="canary",code=~"5.."}[2m])) / sum(rate(http_requests_total{track="canary"}[2m]))`
	latencyP95Query   = `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{track="canary"}[2m])))`
	prodErrorQuery    = `sum(rate(http_requests_total{track="stable",code=~"5.."}[2m])) / sum(rate(http_requests_total{track="stable"}[2m]))`
	trafficQuery      = `sum(increase(http_requests_total{track="canary"}[10m]))`
	integrityQuery    = "SELECT oi.id FROM order_items oi LEFT JOIN orders o ON o.id = oi.order_id WHERE o.id IS NULL; SELECT sku FROM inventory WHERE on_hand < 0; SELECT version, dirty FROM schema_migrations"
	promUnreachable   = `collect prometheus: Get "http://prometheus.prod.shop.internal:9090/api/v1/query_range": dial tcp 10.0.3.7:9090: connect: connection refused`
	requestCountQuery = `sum(increase(http_requests_total{track="canary"}[%s]))`
)

// Times of the example launch (2026-11-25, UTC).
var (
	cutover      = at("13:20:00")
	preCutoverAt = at("13:15:00")
)

func at(hms string) time.Time {
	t, err := time.Parse(time.RFC3339, "2026-11-25T"+hms+"Z")
	if err != nil {
		panic(err)
	}
	return t
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func sec(n int) time.Duration { return time.Duration(n) * time.Second }

// ---------------------------------------------------------------------------------------
// Facts

// fact is one observation with its provenance (docs/facts.md): source, what was asked
// (query, url or path), when and how long; data fields sit beside them.
func fact(source, key, what string, collected time.Time, ms int, data obj) obj {
	m := obj{"source": source, key: what, "collected_at": ts(collected), "duration_ms": ms}
	for k, v := range data {
		m[k] = v
	}
	return m
}

// noise is a deterministic pseudo-random number in [0, 1) for a seed and a time.
func noise(seed string, t time.Time) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s@%d", seed, t.Unix())
	x := h.Sum64()
	// splitmix64 finaliser: FNV alone leaves neighbouring seconds too alike.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / float64(1<<53)
}

// decimal renders v rounded to places decimals, the way Prometheus prints it (no trailing zeros).
func decimal(v float64, places int) string {
	p := 1.0
	for range places {
		p *= 10
	}
	n := int64(v*p + 0.5)
	return strconv.FormatFloat(float64(n)/p, 'f', -1, 64)
}

type valueFn func(t time.Time) string

// between draws values in [lo, hi] with the given decimals.
func between(seed string, lo, hi float64, places int) valueFn {
	return func(t time.Time) string { return decimal(lo+(hi-lo)*noise(seed, t), places) }
}

func constant(v string) valueFn { return func(time.Time) string { return v } }

// during returns in's values inside [from, to] and out's elsewhere.
func during(from, to time.Time, in, out valueFn) valueFn {
	return func(t time.Time) string {
		if !t.Before(from) && !t.After(to) {
			return in(t)
		}
		return out(t)
	}
}

// samples is a Prometheus range-query result: [[unix_seconds, "value"], ...] every step.
func samples(start, end time.Time, v valueFn) [][]any {
	out := [][]any{}
	for t := start; !t.After(end); t = t.Add(step) {
		out = append(out, []any{t.Unix(), v(t)})
	}
	return out
}

// rangeFact is a prometheus range query over the sustained window before now: it ends at
// now − scrape_lag and starts sustained earlier, but never before clip (the canary step's
// start; zero outside canary).
func rangeFact(query string, now, clip, collected time.Time, ms int, v valueFn) obj {
	end := now.Add(-scrapeLag)
	start := end.Add(-sustained)
	if start.Before(clip) {
		start = clip
	}
	data := obj{"start": ts(start), "end": ts(end), "step": step.String(), "samples": samples(start, end, v)}
	return fact("prometheus", "query", query, collected, ms, data)
}

// Integrity checks of the production database, as runbook.yaml configures them.
type integrityRun struct {
	orphans, negStock            int
	orphanSample, negStockSample []string
	migration                    int
	dirty                        bool
}

var cleanDB = integrityRun{migration: 42}

func (r integrityRun) data() obj {
	sample := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return obj{
		"checks": []obj{
			{"name": "orphaned_order_items", "violations": r.orphans, "sample": sample(r.orphanSample)},
			{"name": "negative_stock", "violations": r.negStock, "sample": sample(r.negStockSample)},
		},
		"migrations": obj{"tool": "golang-migrate", "version": r.migration, "dirty": r.dirty},
	}
}

// baselineCollected is when the pre-cutover gate ran the integrity checks.
var baselineCollected = preCutoverAt.Add(-sec(6))

func integrity(now time.Time, r integrityRun) obj {
	return fact("sql", "query", integrityQuery, now.Add(-sec(6)), 184, r.data())
}

// integrityBaseline is the pre-cutover run, read back from the launch archive.
func integrityBaseline(r integrityRun) obj {
	return fact("archive", "path", productionArchive, baselineCollected, 3, r.data())
}

func cohort(prefix string) []string {
	return []string{prefix + "-0", prefix + "-1", prefix + "-2"}
}

func versionURL(name string) string { return "http://" + name + ".prod.shop.internal:8080/version" }
func healthURL(name string) string  { return "http://" + name + ".prod.shop.internal:8080/healthz" }

type build struct{ version, commit, image string }

var (
	release  = build{releaseVersion, releaseCommit, releaseImage}
	rollback = build{rollbackVersion, rollbackCommit, rollbackImage}
)

// versions: what each instance's /version answers; serving overrides the build per instance.
func versions(now time.Time, which string, names []string, want build, serving map[string]build) obj {
	insts := []obj{}
	for _, n := range names {
		b := want
		if o, ok := serving[n]; ok {
			b = o
		}
		insts = append(insts, obj{
			"name": n, "url": versionURL(n), "status_code": 200,
			"version": b.version, "commit": b.commit, "image": b.image, "error": "",
		})
	}
	return fact("http", "query", "GET version_url of cohort "+which+" ("+strings.Join(names, ", ")+")", now.Add(-sec(4)), 61, obj{"instances": insts})
}

func health(now time.Time, which string, names []string) obj {
	insts := []obj{}
	for _, n := range names {
		insts = append(insts, obj{"name": n, "url": healthURL(n), "status_code": 200, "status": "pass", "error": ""})
	}
	return fact("http", "query", "GET health_url of cohort "+which+" ("+strings.Join(names, ", ")+")", now.Add(-sec(4)), 47, obj{"instances": insts})
}

// Integrations of production (runbook.yaml): payments and search have an availability
// query (blackbox probe_success), email has none.
type integ struct{ name, url, availability string }

var integrationsSpec = []integ{
	{"payments", "https://api.payments.example.net/v1/ping", `probe_success{job="blackbox",target="payments"}`},
	{"search", "http://search.prod.shop.internal:9200/_cluster/health", `probe_success{job="blackbox",target="search"}`},
	{"email", "https://api.mail.example.org/v3/status", ""},
}

// outage: an integration down since a time, with what its probe reports now.
type outage struct {
	since  time.Time
	status int
	err    string
}

var (
	paymentsDown = outage{status: 503, err: "unexpected status 503 Service Unavailable (want 200)"}
	searchDown   = outage{status: 0, err: `Get "http://search.prod.shop.internal:9200/_cluster/health": dial tcp 10.0.4.21:9200: connect: connection refused`}
)

// availabilityLookback: availability series start 15 minutes before cutover, so an outage
// that began before cutover shows as such.
const availabilityLookback = 15 * time.Minute

func integrations(now time.Time, down map[string]outage, noProm bool) obj {
	items := []obj{}
	probeAt := now.Add(-sec(5))
	for _, s := range integrationsSpec {
		o, isDown := down[s.name]
		probe := obj{"ok": true, "status_code": 200, "at": ts(probeAt), "error": ""}
		if isDown {
			probe = obj{"ok": false, "status_code": o.status, "at": ts(probeAt), "error": o.err}
		}
		item := obj{"name": s.name, "probe": probe}
		if s.availability != "" {
			v := constant("1")
			if isDown {
				v = during(o.since, now, constant("0"), constant("1"))
			}
			series := samples(cutover.Add(-availabilityLookback), now.Add(-scrapeLag), v)
			if noProm {
				series = [][]any{}
			}
			item["availability"] = obj{"query": s.availability, "samples": series}
		}
		items = append(items, item)
	}
	return fact("http", "query", "probe integrations payments, search, email; availability from "+promURL, now.Add(-sec(5)), 412, obj{"items": items})
}

// history is the launch archive's earlier decision records: one per interval from `from`
// up to (not including) now, with the given rules' statuses.
func history(gate string, stepPct int, from, now time.Time, rules []string, status func(rule string, t time.Time) string) obj {
	recs := []obj{}
	for t := from; t.Before(now); t = t.Add(interval) {
		checks := []obj{}
		for _, r := range rules {
			checks = append(checks, obj{"rule": r, "status": status(r, t)})
		}
		rec := obj{"now": ts(t), "gate": gate, "checks": checks}
		if stepPct > 0 {
			rec["step"] = stepPct
		}
		recs = append(recs, rec)
	}
	return fact("archive", "path", productionArchive, now.Add(-sec(2)), 7, obj{"records": recs})
}

func allPass(string, time.Time) string { return "pass" }

// The rules the canary and window gates report (policies/gates), as their records hold them.
var (
	canaryRules = []string{
		"canary.error_rate_sustained", "canary.integrations", "canary.integrity",
		"canary.latency_p95_sustained", "canary.min_requests", "canary.step",
		"launch.cutover_recorded", "launch.gate", "runbook.signed_off",
	}
	windowRules = []string{
		"launch.cutover_recorded", "launch.gate", "runbook.signed_off",
		"window.error_rate_sustained", "window.integrations", "window.integrity",
		"window.latency_p95_sustained",
	}
)

// ---------------------------------------------------------------------------------------
// Gates

type facts = obj

func preCutover(approved build) facts {
	now := preCutoverAt
	return facts{
		"uat": fact("uat", "path", "uat/approval.json", now.Add(-sec(4)), 2, obj{
			"approved": obj{"version": approved.version, "commit": approved.commit, "image": approved.image},
			"result":   "PASSED",
		}),
		"rehearsal": fact("archive", "path", stagingArchive, now.Add(-sec(4)), 9, obj{
			"launch_id": "shop-2.4.0-staging", "environment": "staging",
			"commit": releaseCommit, "image": releaseImage,
			"outcome": "completed", "finished_at": "2026-11-23T16:47:12Z",
		}),
		"notifications": fact("notify", "path", productionArchive+"/notifications.json", time.Date(2026, 11, 24, 11, 0, 2, 0, time.UTC), 412, obj{
			"deliveries": []obj{
				{"channel": "launch-channel", "event": "window_announced", "status_code": 200, "delivered": true, "at": "2026-11-24T11:00:00Z"},
				{"channel": "status-page", "event": "window_announced", "status_code": 200, "delivered": true, "at": "2026-11-24T11:00:01Z"},
			},
		}),
		"production_error_rate": fact("prometheus", "query", prodErrorQuery, now.Add(-sec(3)), 38, obj{"value": "0.004"}),
		"integrity":             fact("sql", "query", integrityQuery, baselineCollected, 184, cleanDB.data()),
	}
}

var (
	postDeployAt   = at("13:24:00")
	postSmokeAt    = at("13:33:00")
	postRollbackAt = at("14:15:00")
	windowMidAt    = at("14:05:00")
	// The window ends at cutover + 60m; its last decision comes just after.
	windowEndAt = cutover.Add(60 * time.Minute).Add(sec(30))
)

func postDeploy() facts {
	now := postDeployAt
	newCohort := cohort("web-canary")
	return facts{
		"deployment": fact("deploy", "query", "./deploy/rollout.sh production", at("13:23:51"), 231140, obj{
			"status": "succeeded", "finished_at": "2026-11-25T13:23:51Z",
			"detail": `deployment "web-canary" successfully rolled out: 3 of 3 updated replicas are available (` + releaseImage + ")",
		}),
		"versions":           versions(now, "new", newCohort, release, nil),
		"health":             health(now, "new", newCohort),
		"integrity":          integrity(now, cleanDB),
		"integrity_baseline": integrityBaseline(cleanDB),
	}
}

type smokeTest struct {
	name, suite, status string
	ms                  int
	message             string
}

func smokeTests(checkoutFails bool) []obj {
	tests := []smokeTest{
		{"homepage loads with 200", "smoke/homepage.spec.ts", "passed", 2140, ""},
		{"dashboard loads for test user", "smoke/account.spec.ts", "passed", 5810, ""},
		{"checkout completes with test card", "smoke/checkout.spec.ts", "passed", 48230, ""},
		{"search returns results", "smoke/search.spec.ts", "flaky", 9120, "passed on retry #1; first attempt: Timeout 5000ms exceeded waiting for locator('[data-test=results]')"},
		{"wishlist sync", "smoke/wishlist.spec.ts", "passed", 31450, ""},
	}
	if checkoutFails {
		tests[2].status, tests[2].ms, tests[2].message = "failed", 12870, "expected 200, got 502"
	}
	out := []obj{}
	for _, t := range tests {
		out = append(out, obj{"name": t.name, "suite": t.suite, "status": t.status, "duration_ms": t.ms, "message": t.message})
	}
	return out
}

func postSmoke(checkoutFails bool) facts {
	now := postSmokeAt
	return facts{
		"smoke": fact("smoke", "path", "reports/smoke-junit.xml", now.Add(-sec(3)), 18, obj{
			"started_at": "2026-11-25T13:25:10Z", "finished_at": "2026-11-25T13:31:40Z",
			"tests": smokeTests(checkoutFails), "errors": []any{},
		}),
		"integrations":       integrations(now, nil, false),
		"traffic":            fact("prometheus", "query", trafficQuery, now.Add(-sec(3)), 22, obj{"value": "1840"}),
		"integrity":          integrity(now, cleanDB),
		"integrity_baseline": integrityBaseline(cleanDB),
	}
}

// A canary step as the healthy launch ran it.
type canaryStep struct {
	pct          int
	started, now time.Time
	requests     string
}

var canarySteps = map[int]canaryStep{
	5:   {5, at("13:35:00"), at("13:45:00"), "1512"},
	25:  {25, at("13:46:00"), at("14:01:00"), "7488"},
	100: {100, at("14:02:00"), at("14:12:00"), "29874"},
}

func healthyErrors(seed string) valueFn  { return between(seed+"/error_rate", 0.003, 0.006, 4) }
func healthyLatency(seed string) valueFn { return between(seed+"/latency_p95", 0.21, 0.26, 3) }

func windowRange(s canaryStep) string {
	end := s.now.Add(-scrapeLag)
	start := end.Add(-sustained)
	if start.Before(s.started) {
		start = s.started
	}
	return model(end.Sub(start))
}

// model renders a duration the way PromQL range selectors are written ("5m", "150s").
func model(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d/time.Second)) + "s"
}

type canaryOpts struct {
	errors, latency valueFn
	requests        string
	staleAt         time.Time // error_rate and latency_p95 collected then, if set
	historyStatus   func(string, time.Time) string
}

func canary(s canaryStep, o canaryOpts) facts {
	now := s.now
	errAt, latAt, evalAt := now.Add(-sec(3)), now.Add(-sec(3)), now
	if !o.staleAt.IsZero() {
		errAt, latAt, evalAt = o.staleAt, o.staleAt, o.staleAt
	}
	if o.requests == "" {
		o.requests = s.requests
	}
	if o.historyStatus == nil {
		o.historyStatus = allPass
	}
	return facts{
		"error_rate":         rangeFact(errorRatioQuery, evalAt, s.started, errAt, 57, o.errors),
		"latency_p95":        rangeFact(latencyP95Query, evalAt, s.started, latAt, 83, o.latency),
		"request_count":      fact("prometheus", "query", fmt.Sprintf(requestCountQuery, windowRange(s)), now.Add(-sec(3)), 19, obj{"value": o.requests}),
		"integrations":       integrations(now, nil, false),
		"integrity":          integrity(now, cleanDB),
		"integrity_baseline": integrityBaseline(cleanDB),
		"history":            history("canary", s.pct, s.started.Add(interval), now, canaryRules, o.historyStatus),
	}
}

type windowOpts struct {
	errors, latency valueFn
	errorFact       obj // replaces error_rate when set
	latencyFact     obj // replaces latency_p95 when set
	down            map[string]outage
	noProm          bool
	current, base   *integrityRun
	historyStatus   func(string, time.Time) string
}

func window(now time.Time, seed string, o windowOpts) facts {
	if o.errors == nil {
		o.errors = healthyErrors(seed)
	}
	if o.latency == nil {
		o.latency = healthyLatency(seed)
	}
	cur, base := cleanDB, cleanDB
	if o.current != nil {
		cur = *o.current
	}
	if o.base != nil {
		base = *o.base
	}
	if o.historyStatus == nil {
		o.historyStatus = allPass
	}
	f := facts{
		"error_rate":         rangeFact(errorRatioQuery, now, time.Time{}, now.Add(-sec(3)), 61, o.errors),
		"latency_p95":        rangeFact(latencyP95Query, now, time.Time{}, now.Add(-sec(3)), 88, o.latency),
		"integrations":       integrations(now, o.down, o.noProm),
		"integrity":          integrity(now, cur),
		"integrity_baseline": integrityBaseline(base),
		"history":            history("window", 0, cutover.Add(interval), now, windowRules, o.historyStatus),
	}
	if o.errorFact != nil {
		f["error_rate"] = o.errorFact
	}
	if o.latencyFact != nil {
		f["latency_p95"] = o.latencyFact
	}
	return f
}

func postRollback(serving map[string]build) facts {
	now := postRollbackAt
	old := cohort("web-stable")
	return facts{
		"versions": versions(now, "old", old, rollback, serving),
		"health":   health(now, "old", old),
	}
}

// ---------------------------------------------------------------------------------------
// Scenarios

type scenario struct {
	name, gate  string
	step        int
	now         time.Time
	stepStarted time.Time
	runbook     string
	facts       facts
	decision    string
	why         string
}

func (s scenario) file() string {
	g := s.gate
	if s.step > 0 {
		g += "-" + strconv.Itoa(s.step)
	}
	return s.name + "__" + g + ".json"
}

func (s scenario) exit() int {
	switch {
	case s.decision == "go":
		return 0
	case s.gate == "post-rollback":
		return 6
	case s.decision == "rollback":
		return 3
	default:
		return 2
	}
}

func scenarios() []scenario {
	var out []scenario
	add := func(s scenario) {
		if s.runbook == "" {
			s.runbook = "runbook.yaml"
		}
		out = append(out, s)
	}
	canaryScenario := func(name string, pct int, o canaryOpts, decision, why string) scenario {
		s := canarySteps[pct]
		return scenario{name: name, gate: "canary", step: pct, now: s.now, stepStarted: s.started, facts: canary(s, o), decision: decision, why: why}
	}
	windowScenario := func(name string, now time.Time, o windowOpts, decision, why string) scenario {
		return scenario{name: name, gate: "window", now: now, facts: window(now, name, o), decision: decision, why: why}
	}

	// 1. healthy: every gate go.
	add(scenario{name: "healthy", gate: "pre-cutover", now: preCutoverAt, facts: preCutover(release), decision: "go",
		why: "signed off, UAT approved this build, staging rehearsal completed, window announced 26h ahead, production healthy, integrity baseline clean"})
	add(scenario{name: "healthy", gate: "post-deploy", now: postDeployAt, facts: postDeploy(), decision: "go",
		why: "deployment succeeded; web-canary-0..2 serve 2.4.0 (86f7e43, d7bdd545) and are healthy; integrity equals the baseline"})
	add(scenario{name: "healthy", gate: "post-smoke", now: postSmokeAt, facts: postSmoke(false), decision: "go",
		why: "all critical smoke tests passed in 6m30s (budget 8m; non-critical search flaky), payments/search/email up, 1840 requests on the new version"})
	for _, pct := range []int{5, 25, 100} {
		seed := fmt.Sprintf("healthy/canary-%d", pct)
		add(canaryScenario("healthy", pct, canaryOpts{errors: healthyErrors(seed), latency: healthyLatency(seed)}, "go",
			fmt.Sprintf("step %d%%: error ratio 0.003-0.006 and p95 0.21-0.26s over the full window, %s requests, integrations up, integrity clean", pct, canarySteps[pct].requests)))
	}
	add(windowScenario("healthy", windowEndAt, windowOpts{}, "go",
		"end of the 60m window: no criterion breached or unknown, so the launch is complete"))

	// 2. The UAT record approved another build than the runbook names.
	add(scenario{name: "uat-mismatch", gate: "pre-cutover", now: preCutoverAt, facts: preCutover(build{releaseVersion, uatOtherCommit, uatOtherImage}), decision: "no-go",
		why: "UAT approved commit 86f7e437…376767b8 / sha256:7537b18d…, the runbook names …377667b8 / sha256:d7bdd545… (retyped SHA)"})

	// 3. The runbook was edited after sign-off (runbook-edited.yaml: max_ratio 0.02 → 0.05).
	add(scenario{name: "runbook-edited", gate: "pre-cutover", now: preCutoverAt, runbook: "runbook-edited.yaml", facts: preCutover(release), decision: "no-go",
		why: "runbook-edited.yaml raised criteria.error_rate.max_ratio to 0.05 after sign-off: its digest no longer matches signoff.digest"})

	// 4. A critical smoke test failed.
	add(scenario{name: "critical-smoke-failure", gate: "post-smoke", now: postSmokeAt, facts: postSmoke(true), decision: "rollback",
		why: `critical smoke test "checkout completes with test card" failed (expected 200, got 502)`})

	// 5. Errors above 2 % for the whole 5 minutes at step 25.
	add(canaryScenario("sustained-errors", 25, canaryOpts{
		errors:  between("sustained-errors/error_rate", 0.05, 0.08, 4),
		latency: healthyLatency("sustained-errors"),
	}, "rollback", "every error-ratio sample of the last 5m is 0.05-0.08 (> 0.02) with full coverage: sustained breach"))

	// 6. A one-minute spike is not sustained.
	add(windowScenario("short-spike", windowMidAt, windowOpts{
		errors: during(at("14:01:00"), at("14:02:00"), between("short-spike/spike", 0.088, 0.092, 3), between("short-spike/error_rate", 0.0035, 0.0048, 4)),
	}, "go", "error ratio spiked to ~0.09 for 60s (14:01-14:02) but stayed at ~0.004 otherwise: not sustained, keep monitoring"))

	// 7. p95 above 0.48 s for the whole 5 minutes.
	add(windowScenario("latency-regression", windowMidAt, windowOpts{
		latency: between("latency-regression/latency_p95", 0.55, 0.7, 3),
	}, "rollback", "every p95 sample of the last 5m is 0.55-0.70s, above 400ms +20% = 0.48s: sustained breach"))

	// 8. Data integrity.
	corrupt := cleanDB
	corrupt.orphans = 37
	corrupt.orphanSample = []string{"918233", "918234", "918241", "918247", "918250", "918262", "918263", "918270", "918288", "918291"}
	add(windowScenario("new-corruption", windowMidAt, windowOpts{current: &corrupt}, "rollback",
		"37 orphaned_order_items where the pre-cutover baseline had 0: new integrity violations roll back immediately"))
	preexisting := cleanDB
	preexisting.negStock = 2
	preexisting.negStockSample = []string{"SKU-10442", "SKU-20917"}
	add(windowScenario("preexisting-violations", windowMidAt, windowOpts{current: &preexisting, base: &preexisting}, "go",
		"negative_stock has 2 violations, the same 2 as the baseline: a warning, not a rollback"))

	// 9. No metrics: empty series, then Prometheus unreachable.
	emptyNow := windowMidAt
	empty := func(query string) obj {
		f := rangeFact(query, emptyNow, time.Time{}, emptyNow.Add(-sec(3)), 44, constant(""))
		f["samples"] = [][]any{}
		return f
	}
	add(windowScenario("missing-metrics", windowMidAt, windowOpts{errorFact: empty(errorRatioQuery), latencyFact: empty(latencyP95Query)}, "no-go",
		"error_rate and latency_p95 returned empty series: criteria unknown (just now, under max_unknown 5m), hold"))
	failed := func(query string) obj {
		return obj{"source": "prometheus", "query": query, "collected_at": ts(windowMidAt.Add(-sec(3))), "duration_ms": 3, "error": promUnreachable}
	}
	add(windowScenario("no-prometheus", windowMidAt, windowOpts{errorFact: failed(errorRatioQuery), latencyFact: failed(latencyP95Query), noProm: true}, "no-go",
		"Prometheus refused the connection: error_rate and latency_p95 carry the error, criteria unknown, hold"))

	// 10. Stale metrics: collected 9 minutes before now (max_age.prometheus 2m).
	s5 := canarySteps[5]
	add(canaryScenario("stale-facts", 5, canaryOpts{
		errors: healthyErrors("stale-facts"), latency: healthyLatency("stale-facts"),
		staleAt: s5.now.Add(-9 * time.Minute),
	}, "no-go", "error_rate and latency_p95 were collected at 13:36, 9m before now (max_age.prometheus 2m): unknown, hold"))

	// 11. Zero traffic on the canary, 3 minutes into step 5: too few requests, NaN ratios.
	zero := canaryStep{5, s5.started, at("13:38:00"), "120"}
	zeroUnknown := func(rule string, t time.Time) string {
		switch rule {
		case "canary.error_rate_sustained", "canary.latency_p95_sustained", "canary.min_requests":
			return "unknown"
		}
		return "pass"
	}
	add(scenario{name: "zero-traffic", gate: "canary", step: 5, now: zero.now, stepStarted: zero.started,
		facts:    canary(zero, canaryOpts{errors: constant("NaN"), latency: constant("NaN"), requests: "120", historyStatus: zeroUnknown}),
		decision: "no-go", why: "120 requests (< min_requests 500) and NaN ratios 3m into step 5: criteria unknown for 2m (< max_unknown 5m), hold"})

	// 12. Integrations down: since 13:50 (after cutover), and since 13:10 (before it).
	paySince := paymentsDown
	paySince.since = at("13:50:00")
	add(windowScenario("integration-down", windowMidAt, windowOpts{
		down: map[string]outage{"payments": paySince},
		historyStatus: func(rule string, t time.Time) string {
			if rule == "window.integrations" && t.After(paySince.since) {
				return "fail"
			}
			return "pass"
		},
	}, "rollback", "critical integration payments unavailable since 13:50 (15m, max_unavailable 3m), after cutover"))
	searchSince := searchDown
	searchSince.since = at("13:10:00")
	add(windowScenario("integration-down-before-cutover", windowMidAt, windowOpts{
		down: map[string]outage{"search": searchSince},
		historyStatus: func(rule string, t time.Time) string {
			if rule == "window.integrations" {
				return "fail"
			}
			return "pass"
		},
	}, "no-go", "critical integration search down since 13:10, before cutover 13:20: rolling back would not fix it, so hold with a warning"))

	// 13. After a rollback.
	add(scenario{name: "post-rollback-verified", gate: "post-rollback", now: postRollbackAt, facts: postRollback(nil), decision: "go",
		why: "web-stable-0..2 all serve 2.3.7 (e9d71f5, sha256:69877406) and are healthy: rollback verified"})
	add(scenario{name: "post-rollback-failed", gate: "post-rollback", now: postRollbackAt, facts: postRollback(map[string]build{"web-stable-2": release}), decision: "no-go",
		why: "web-stable-2 still serves 2.4.0 (86f7e43): rollback not verified"})

	// 14. Unknown for longer than max_unknown.
	add(windowScenario("unknown-too-long", windowMidAt, windowOpts{
		errorFact: empty(errorRatioQuery),
		historyStatus: func(rule string, t time.Time) string {
			if rule == "window.error_rate_sustained" && !t.Before(at("13:55:00")) {
				return "unknown"
			}
			return "pass"
		},
	}, "rollback", "error_rate has had no samples since 13:55 (10m, max_unknown 5m): unknown too long becomes rollback"))

	sort.SliceStable(out, func(i, j int) bool { return out[i].file() < out[j].file() })
	return out
}

// ---------------------------------------------------------------------------------------
// Output

func (s scenario) factsFile() obj {
	m := obj{"gate": s.gate, "environment": environment, "now": ts(s.now), "facts": s.facts}
	if s.gate != "pre-cutover" {
		m["cutover_at"] = ts(cutover)
	}
	if s.step > 0 {
		m["step"] = s.step
		m["step_started_at"] = ts(s.stepStarted)
	}
	return m
}

type expectation struct {
	File     string `json:"file"`
	Gate     string `json:"gate"`
	Step     *int   `json:"step"`
	Runbook  string `json:"runbook"`
	Decision string `json:"decision"`
	Exit     int    `json:"exit"`
	Why      string `json:"why"`
}

func (s scenario) expectation() expectation {
	e := expectation{File: s.file(), Gate: s.gate, Runbook: s.runbook, Decision: s.decision, Exit: s.exit(), Why: s.why}
	if s.step > 0 {
		st := s.step
		e.Step = &st
	}
	return e
}

// encode is the files' one format: 2-space indent, keys sorted (maps), no HTML escaping,
// trailing newline. It round-trips through a generic value so struct fields sort too.
func encode(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(generic); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func write(path string, v any) error {
	b, err := encode(v)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// uatApproval is the UAT record runbook.yaml points to: an in-toto Statement v1 with the
// test-result predicate, whose subjects are the approved image and the commit it was built from.
func uatApproval() obj {
	return obj{
		"_type": "https://in-toto.io/Statement/v1",
		"subject": []obj{
			{"name": imageRepo, "digest": obj{"sha256": releaseDigest}, "annotations": obj{"version": releaseVersion}},
			{"name": "git+https://git.example.com/shop/web", "digest": obj{"gitCommit": releaseCommit}},
		},
		"predicateType": "https://in-toto.io/attestation/test-result/v0.1",
		"predicate": obj{
			"result": "PASSED",
			"configuration": []obj{{
				"name":             "playwright.config.ts",
				"downloadLocation": "https://git.example.com/shop/web/-/blob/" + releaseCommit + "/playwright.config.ts",
				"digest":           obj{"gitBlob": "3c5e1f0a9d2b7e4c8f6a1d0b9e2c7f4a8d3b6e1c"},
			}},
			"url": "https://ci.example.com/shop/web/-/pipelines/48213",
			"passedTests": []string{
				"uat: account/login and logout",
				"uat: account/password reset email",
				"uat: catalog/browse categories",
				"uat: catalog/product page shows stock",
				"uat: checkout/card payment",
				"uat: checkout/gift card and card split",
				"uat: checkout/order confirmation email",
				"uat: search/typo tolerance",
				"uat: wishlist/add and remove",
			},
			"warnedTests": []string{
				"uat: wishlist/sync across devices (lag up to 2 minutes, SHOP-1432)",
			},
			"failedTests": []string{},
		},
	}
}

func generate(dir string) ([]scenario, error) {
	all := scenarios()
	scen := filepath.Join(dir, "scenarios")
	if err := os.RemoveAll(scen); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	exp := []expectation{}
	for _, s := range all {
		if seen[s.file()] {
			return nil, fmt.Errorf("duplicate scenario file %s", s.file())
		}
		seen[s.file()] = true
		if err := write(filepath.Join(scen, s.file()), s.factsFile()); err != nil {
			return nil, err
		}
		exp = append(exp, s.expectation())
	}
	if err := write(filepath.Join(scen, "expected.json"), exp); err != nil {
		return nil, err
	}
	if err := write(filepath.Join(dir, "uat", "approval.json"), uatApproval()); err != nil {
		return nil, err
	}
	if err := writeEditedRunbook(dir); err != nil {
		return nil, err
	}
	return all, nil
}

// writeEditedRunbook derives runbook-edited.yaml from runbook.yaml: the one change is
// criteria.error_rate.max_ratio 0.02 → 0.05, made after sign-off (the signoff block stays).
func writeEditedRunbook(dir string) error {
	const from, to = "    max_ratio: 0.02\n", "    max_ratio: 0.05\n"
	b, err := os.ReadFile(filepath.Join(dir, "runbook.yaml"))
	if err != nil {
		return err
	}
	if n := bytes.Count(b, []byte(from)); n != 1 {
		return fmt.Errorf("runbook.yaml: want exactly one line %q to edit, found %d", strings.TrimSpace(from), n)
	}
	return os.WriteFile(filepath.Join(dir, "runbook-edited.yaml"), bytes.Replace(b, []byte(from), []byte(to), 1), 0o644)
}

// findDir locates testdata/example from the module root or from the gen directory.
func findDir(flagDir string) (string, error) {
	for _, d := range []string{flagDir, "..", "."} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "runbook.yaml")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("cannot find testdata/example/runbook.yaml: run from the module root (go run ./testdata/example/gen) or pass -dir")
}

func main() {
	dirFlag := flag.String("dir", "testdata/example", "the example directory (holding runbook.yaml)")
	check := flag.Bool("check", false, "after generating, decide every scenario with the stock opa CLI and compare with expected.json")
	opaBin := flag.String("opa", "opa", "opa binary for -check")
	cueBin := flag.String("cue", "cue", "cue binary for -check")
	verbose := flag.Bool("v", false, "with -check, print every check of every decision")
	flag.Parse()
	dir, err := findDir(*dirFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	all, err := generate(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Printf("gen: wrote %d facts files, expected.json, uat/approval.json and runbook-edited.yaml under %s\n", len(all), dir)
	if *check {
		if err := runCheck(dir, all, *opaBin, *cueBin, *verbose); err != nil {
			fmt.Fprintln(os.Stderr, "gen -check:", err)
			os.Exit(1)
		}
	}
}
