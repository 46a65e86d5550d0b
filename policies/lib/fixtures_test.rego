# Shared test fixtures: one complete, passing input per gate.
#
# The runbook is the example runbook (testdata/example/runbook.yaml) as normalized JSON,
# with a fixed sign-off digest and a max_age for every source. Each gate's input holds
# only the facts that gate reads, all usable at `now`, so that removing any one of them
# (or any field the gate reads) must turn the decision away from go.
package gatekeeper.test.fixtures

now := "2026-11-25T14:05:00Z"

cutover_at := "2026-11-25T13:20:00Z"

# Unix seconds of `now`, and of the sustained window [now-30s-5m, now-30s].
now_s := 1795615500

window_start_s := 1795615170

window_end_s := 1795615470

digest := "sha256:5e1f0c8a3b7d9e2f4a6c8b0d1e3f5a7c9b2d4e6f8a0c1e3b5d7f9a2c4e6b8d0f"

release_commit := "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"

release_image := "registry.example.com/shop/web@sha256:d7bdd545f09d8a73c2b990337c8211d708a04ccd9748627685e4fc79cc038039"

target_commit := "e9d71f5ee7c92d6dc9e92ffdad17b8bd49418f98"

target_image := "registry.example.com/shop/web@sha256:6987740fb624e3e9943ec5d9ac5519b72cea1b35fb4bde5719df3923a36c08f7"

runbook := {
	"service": "shop",
	"release": {
		"version": "2.4.0",
		"commit": "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8",
		"image": "registry.example.com/shop/web@sha256:d7bdd545f09d8a73c2b990337c8211d708a04ccd9748627685e4fc79cc038039",
	},
	"uat": {
		"record": {
			"path": "uat/approval.json",
			"format": "in-toto",
		},
	},
	"rollback_target": {
		"version": "2.3.7",
		"commit": "e9d71f5ee7c92d6dc9e92ffdad17b8bd49418f98",
		"image": "registry.example.com/shop/web@sha256:6987740fb624e3e9943ec5d9ac5519b72cea1b35fb4bde5719df3923a36c08f7",
	},
	"commander": "Dana Ortiz",
	"on_call": {
		"name": "Sam Lee",
		"contact": "#shop-oncall, +1 555 0100",
	},
	"known_issues": [
		"Wishlist sync can lag up to 2 minutes behind (SHOP-1432)",
	],
	"strategy": {
		"kind": "canary",
		"steps": [
			{
				"percent": 5,
				"bake": "10m",
			},
			{
				"percent": 25,
				"bake": "15m",
			},
			{
				"percent": 100,
				"bake": "10m",
			},
		],
	},
	"window": {
		"duration": "60m",
		"interval": "1m",
		"max_unknown": "5m",
	},
	"smoke": {
		"command": [
			"npx",
			"playwright",
			"test",
			"--project=smoke",
		],
		"reports": [
			{
				"path": "reports/smoke-junit.xml",
				"format": "junit",
			},
		],
		"budget": "8m",
		"critical": [
			"homepage loads with 200",
			"dashboard loads for test user",
			"/^checkout /",
		],
	},
	"criteria": {
		"error_rate": {
			"max_ratio": 0.02,
			"sustained": "5m",
		},
		"latency_p95": {
			"budget": "400ms",
			"tolerance_pct": 20,
		},
		"coverage_ratio": 0.9,
		"min_requests": 500,
		"step": "15s",
		"scrape_lag": "30s",
		"integrations": [
			{
				"name": "payments",
				"critical": true,
				"max_unavailable": "3m",
			},
			{
				"name": "search",
				"critical": true,
				"max_unavailable": "5m",
			},
			{
				"name": "email",
				"critical": false,
				"max_unavailable": "15m",
			},
		],
		"data_integrity": {
			"rollback_on_new": true,
		},
	},
	"environments": {
		"staging": {
			"prometheus": {
				"url": "http://prometheus.staging.shop.internal:9090",
			},
			"cohort_label": "track",
			"cohorts": {
				"new": {
					"label_value": "canary",
					"replicas": 1,
					"instances": [
						{
							"name": "web-canary-0",
							"version_url": "http://web-canary-0.staging.shop.internal:8080/version",
							"health_url": "http://web-canary-0.staging.shop.internal:8080/healthz",
						},
					],
				},
				"old": {
					"label_value": "stable",
					"replicas": 1,
					"instances": [
						{
							"name": "web-stable-0",
							"version_url": "http://web-stable-0.staging.shop.internal:8080/version",
							"health_url": "http://web-stable-0.staging.shop.internal:8080/healthz",
						},
					],
				},
			},
			"integrations": [
				{
					"name": "payments",
					"url": "https://sandbox.payments.example.net/v1/ping",
					"expect_status": 200,
					"timeout": "5s",
				},
				{
					"name": "search",
					"url": "http://search.staging.shop.internal:9200/_cluster/health",
					"expect_status": 200,
					"timeout": "3s",
				},
				{
					"name": "email",
					"url": "https://api.mail.example.org/v3/status",
					"expect_status": 200,
					"timeout": "5s",
				},
			],
			"database": {
				"dsn_env": "SHOP_STAGING_DB_DSN",
				"statement_timeout": "5s",
				"migrations": "golang-migrate",
				"checks": [
					{
						"name": "orphaned_order_items",
						"sql": "SELECT oi.id FROM order_items oi LEFT JOIN orders o ON o.id = oi.order_id WHERE o.id IS NULL",
					},
				],
			},
			"notifications": [
				{
					"name": "launch-channel",
					"kind": "slack",
					"url_env": "SLACK_LAUNCH_WEBHOOK_URL",
				},
			],
			"hooks": {
				"deploy": [
					"./deploy/rollout.sh",
					"staging",
				],
				"shift": [
					"./deploy/shift.sh",
					"staging",
				],
				"rollback": [
					"./deploy/rollback.sh",
					"staging",
				],
				"smoke": [
					"npx",
					"playwright",
					"test",
					"--project=smoke",
				],
				"timeout": "10m",
			},
			"announce_lead": "1h",
			"max_age": {
				"prometheus": "2m",
				"http": "2m",
				"smoke": "30m",
				"sql": "10m",
				"uat": "720h",
				"archive": "720h",
				"notify": "720h",
				"deploy": "2h",
				"gatekeeper": "1m",
			},
		},
		"production": {
			"prometheus": {
				"url": "http://prometheus.prod.shop.internal:9090",
				"auth": {
					"bearer_token_env": "SHOP_PROM_TOKEN",
				},
			},
			"cohort_label": "track",
			"cohorts": {
				"new": {
					"label_value": "canary",
					"replicas": 3,
					"instances": [
						{
							"name": "web-canary-0",
							"version_url": "http://web-canary-0.prod.shop.internal:8080/version",
							"health_url": "http://web-canary-0.prod.shop.internal:8080/healthz",
						},
						{
							"name": "web-canary-1",
							"version_url": "http://web-canary-1.prod.shop.internal:8080/version",
							"health_url": "http://web-canary-1.prod.shop.internal:8080/healthz",
						},
						{
							"name": "web-canary-2",
							"version_url": "http://web-canary-2.prod.shop.internal:8080/version",
							"health_url": "http://web-canary-2.prod.shop.internal:8080/healthz",
						},
					],
				},
				"old": {
					"label_value": "stable",
					"replicas": 3,
					"instances": [
						{
							"name": "web-stable-0",
							"version_url": "http://web-stable-0.prod.shop.internal:8080/version",
							"health_url": "http://web-stable-0.prod.shop.internal:8080/healthz",
						},
						{
							"name": "web-stable-1",
							"version_url": "http://web-stable-1.prod.shop.internal:8080/version",
							"health_url": "http://web-stable-1.prod.shop.internal:8080/healthz",
						},
						{
							"name": "web-stable-2",
							"version_url": "http://web-stable-2.prod.shop.internal:8080/version",
							"health_url": "http://web-stable-2.prod.shop.internal:8080/healthz",
						},
					],
				},
			},
			"integrations": [
				{
					"name": "payments",
					"url": "https://api.payments.example.net/v1/ping",
					"expect_status": 200,
					"timeout": "5s",
					"availability_query": "probe_success{job=\"blackbox\",target=\"payments\"}",
				},
				{
					"name": "search",
					"url": "http://search.prod.shop.internal:9200/_cluster/health",
					"expect_status": 200,
					"timeout": "3s",
					"availability_query": "probe_success{job=\"blackbox\",target=\"search\"}",
				},
				{
					"name": "email",
					"url": "https://api.mail.example.org/v3/status",
					"expect_status": 200,
					"timeout": "5s",
				},
			],
			"database": {
				"dsn_env": "SHOP_DB_DSN",
				"statement_timeout": "5s",
				"migrations": "golang-migrate",
				"checks": [
					{
						"name": "orphaned_order_items",
						"sql": "SELECT oi.id FROM order_items oi LEFT JOIN orders o ON o.id = oi.order_id WHERE o.id IS NULL",
					},
					{
						"name": "negative_stock",
						"sql": "SELECT sku FROM inventory WHERE on_hand < 0",
					},
				],
			},
			"notifications": [
				{
					"name": "launch-channel",
					"kind": "slack",
					"url_env": "SLACK_LAUNCH_WEBHOOK_URL",
				},
				{
					"name": "status-page",
					"kind": "webhook",
					"url_env": "STATUSPAGE_WEBHOOK_URL",
				},
			],
			"hooks": {
				"deploy": [
					"./deploy/rollout.sh",
					"production",
				],
				"shift": [
					"./deploy/shift.sh",
					"production",
				],
				"rollback": [
					"./deploy/rollback.sh",
					"production",
				],
				"smoke": [
					"npx",
					"playwright",
					"test",
					"--project=smoke",
				],
				"timeout": "10m",
			},
			"rehearsal_archive": "archives/shop-2.4.0-staging",
			"announce_lead": "24h",
			"max_age": {
				"prometheus": "2m",
				"http": "2m",
				"smoke": "30m",
				"sql": "10m",
				"uat": "720h",
				"archive": "720h",
				"notify": "720h",
				"deploy": "2h",
				"gatekeeper": "1m",
			},
		},
	},
	"signoff": {
		"by": [
			"Dana Ortiz",
			"Priya Raman (client)",
		],
		"at": "2026-11-24T16:00:00Z",
		"digest": "sha256:5e1f0c8a3b7d9e2f4a6c8b0d1e3f5a7c9b2d4e6f8a0c1e3b5d7f9a2c4e6b8d0f",
	},
}

# series(v): a full sustained window of 21 samples, all with value v.
series(v) := [[t, v] | some i in numbers.range(0, 20); t := window_start_s + (i * 15)]

# series_at(values): samples at the window's timestamps, one per value.
series_at(values) := [[window_start_s + (i * 15), v] | some i, v in values]

signoff := {"source": "gatekeeper", "collected_at": "2026-11-25T14:04:58Z", "duration_ms": 2, "error": "", "digest": digest}

uat := {
	"source": "uat", "path": "uat/approval.json", "collected_at": "2026-11-25T14:00:00Z", "duration_ms": 12, "error": "",
	"approved": {"version": "2.4.0", "commit": release_commit, "image": release_image},
	"result": "PASSED",
}

rehearsal := {
	"source": "archive", "path": "archives/shop-2.4.0-staging", "collected_at": "2026-11-25T14:00:00Z", "duration_ms": 40, "error": "",
	"launch_id": "shop-2.4.0-staging", "environment": "staging", "commit": release_commit, "image": release_image,
	"outcome": "completed", "finished_at": "2026-11-23T15:00:00Z",
}

notifications := {
	"source": "notify", "path": "archives/shop-2.4.0-prod/notifications.json", "collected_at": "2026-11-25T14:00:00Z", "duration_ms": 5, "error": "",
	"deliveries": [{"channel": "launch-channel", "event": "window_announced", "status_code": 200, "delivered": true, "at": "2026-11-24T10:00:00Z"}],
}

production_error_rate := {
	"source": "prometheus", "query": "sum(rate(http_requests_total{code=~\"5..\"}[1m])) / sum(rate(http_requests_total[1m]))",
	"collected_at": "2026-11-25T14:04:50Z", "duration_ms": 20, "error": "", "value": "0.004",
}

integrity := {
	"source": "sql", "query": "integrity checks", "collected_at": "2026-11-25T14:04:00Z", "duration_ms": 80, "error": "",
	"checks": [
		{"name": "orphaned_order_items", "violations": 0, "sample": []},
		{"name": "negative_stock", "violations": 2, "sample": ["sku-1041", "sku-2210"]},
	],
	"migrations": {"tool": "golang-migrate", "version": 42, "dirty": false},
}

integrity_baseline := {
	"source": "archive", "path": "archives/shop-2.4.0-prod/pre-cutover.json", "collected_at": "2026-11-25T13:00:00Z", "duration_ms": 3, "error": "",
	"checks": [
		{"name": "orphaned_order_items", "violations": 0, "sample": []},
		{"name": "negative_stock", "violations": 2, "sample": ["sku-1041", "sku-2210"]},
	],
	"migrations": {"tool": "golang-migrate", "version": 42, "dirty": false},
}

deployment := {
	"source": "deploy", "path": "deploy/status.json", "collected_at": "2026-11-25T14:00:00Z", "duration_ms": 1, "error": "",
	"status": "succeeded", "finished_at": "2026-11-25T13:19:00Z", "detail": "rollout complete",
}

instance(name, commit, image, version) := {
	"name": name, "url": sprintf("http://%s.prod.shop.internal:8080/version", [name]), "status_code": 200,
	"version": version, "commit": commit, "image": image, "error": "",
}

versions := {
	"source": "http", "url": "cohorts.new.instances[*].version_url", "collected_at": "2026-11-25T14:04:30Z", "duration_ms": 30, "error": "",
	"instances": [instance(sprintf("web-canary-%d", [i]), release_commit, release_image, "2.4.0") | some i in numbers.range(0, 2)],
}

health_instance(name, status) := {"name": name, "url": sprintf("http://%s.prod.shop.internal:8080/healthz", [name]), "status_code": 200, "status": status, "error": ""}

health := {
	"source": "http", "url": "cohorts.new.instances[*].health_url", "collected_at": "2026-11-25T14:04:30Z", "duration_ms": 25, "error": "",
	"instances": [health_instance(sprintf("web-canary-%d", [i]), "pass") | some i in numbers.range(0, 2)],
}

smoke_test(suite, name, status) := {"suite": suite, "name": name, "status": status, "duration_ms": 900, "message": ""}

smoke := {
	"source": "smoke", "path": "reports/smoke-junit.xml", "collected_at": "2026-11-25T14:00:00Z", "duration_ms": 4, "error": "",
	"started_at": "2026-11-25T13:50:00Z", "finished_at": "2026-11-25T13:55:30Z",
	"tests": [
		smoke_test("home", "homepage loads with 200", "passed"),
		smoke_test("account", "dashboard loads for test user", "passed"),
		smoke_test("checkout", "checkout pays with card", "passed"),
		smoke_test("checkout", "checkout applies coupon", "passed"),
		smoke_test("account", "wishlist syncs", "passed"),
	],
	"errors": [],
}

# availability(values): one sample a minute, the last one at now-1m.
availability(values) := [[(now_s - 60) - (((count(values) - 1) - i) * 60), v] | some i, v in values]

integration(name, ok, values) := {
	"name": name,
	"probe": {"ok": ok, "status_code": 200, "at": "2026-11-25T14:04:45Z", "error": ""},
	"availability": {"query": sprintf("probe_success{target=\"%s\"}", [name]), "samples": availability(values)},
}

integrations := {
	"source": "http", "url": "environments.production.integrations[*].url", "collected_at": "2026-11-25T14:04:45Z", "duration_ms": 60, "error": "",
	"items": [
		integration("payments", true, ["1", "1", "1", "1", "1"]),
		integration("search", true, ["1", "1", "1", "1", "1"]),
		integration("email", true, ["1", "1", "1", "1", "1"]),
	],
}

traffic := {"source": "prometheus", "query": "sum(rate(http_requests_total{track=\"canary\"}[1m]))", "collected_at": "2026-11-25T14:04:50Z", "duration_ms": 15, "error": "", "value": "12.5"}

range_fact(query, samples) := {
	"source": "prometheus", "query": query, "collected_at": "2026-11-25T14:04:50Z", "duration_ms": 40, "error": "",
	"start": "2026-11-25T13:59:30Z", "end": "2026-11-25T14:04:30Z", "step": "15s", "samples": samples,
}

error_rate := range_fact("error ratio", series("0.004"))

latency_p95 := range_fact("p95 latency", series("0.31"))

request_count := {"source": "prometheus", "query": "sum(increase(http_requests_total{track=\"canary\"}[15m]))", "collected_at": "2026-11-25T14:04:50Z", "duration_ms": 15, "error": "", "value": "1834"}

base := {"environment": "production", "launch_id": "shop-2.4.0-prod", "now": now, "runbook": runbook}

inputs := {
	"pre_cutover": object.union(base, {"gate": "pre-cutover", "facts": {
		"signoff": signoff, "uat": uat, "rehearsal": rehearsal, "notifications": notifications,
		"production_error_rate": production_error_rate, "integrity": integrity,
	}}),
	"post_deploy": object.union(base, {"gate": "post-deploy", "cutover_at": cutover_at, "facts": {
		"signoff": signoff, "deployment": deployment, "versions": versions, "health": health,
		"integrity": integrity, "integrity_baseline": integrity_baseline,
	}}),
	"post_smoke": object.union(base, {"gate": "post-smoke", "cutover_at": cutover_at, "facts": {
		"signoff": signoff, "smoke": smoke, "integrations": integrations, "traffic": traffic,
		"integrity": integrity, "integrity_baseline": integrity_baseline,
	}}),
	"canary": object.union(base, {"gate": "canary", "step": 25, "cutover_at": cutover_at, "step_started_at": "2026-11-25T13:50:00Z", "facts": {
		"signoff": signoff, "request_count": request_count, "error_rate": error_rate, "latency_p95": latency_p95,
		"integrations": integrations, "integrity": integrity, "integrity_baseline": integrity_baseline,
	}}),
	"window": object.union(base, {"gate": "window", "cutover_at": cutover_at, "facts": {
		"signoff": signoff, "error_rate": error_rate, "latency_p95": latency_p95,
		"integrations": integrations, "integrity": integrity, "integrity_baseline": integrity_baseline,
	}}),
	"post_rollback": object.union(base, {"gate": "post-rollback", "cutover_at": cutover_at, "facts": {
		"signoff": signoff,
		"versions": object.union(versions, {"url": "cohorts.old.instances[*].version_url", "instances": [instance(sprintf("web-stable-%d", [i]), target_commit, target_image, "2.3.7") | some i in numbers.range(0, 2)]}),
		"health": object.union(health, {"url": "cohorts.old.instances[*].health_url", "instances": [health_instance(sprintf("web-stable-%d", [i]), "pass") | some i in numbers.range(0, 2)]}),
	}}),
}

# Helpers for gate tests.

# gate(pkg, inp): the gate package's documents for inp. Dispatch is static so test
# packages living under data.gatekeeper.gates do not make the rules look recursive.
gate("pre_cutover", inp) := g if {
	g := data.gatekeeper.gates.pre_cutover with input as inp
}

gate("post_deploy", inp) := g if {
	g := data.gatekeeper.gates.post_deploy with input as inp
}

gate("post_smoke", inp) := g if {
	g := data.gatekeeper.gates.post_smoke with input as inp
}

gate("canary", inp) := g if {
	g := data.gatekeeper.gates.canary with input as inp
}

gate("window", inp) := g if {
	g := data.gatekeeper.gates.window with input as inp
}

gate("post_rollback", inp) := g if {
	g := data.gatekeeper.gates.post_rollback with input as inp
}

decision(pkg, inp) := gate(pkg, inp).decision

# check(pkg, inp, rule): the (first) check for rule.
check(pkg, inp, rule) := [c | some c in gate(pkg, inp).checks; c.rule == rule][0]

# warnings_of(pkg, inp, rule): the warning messages for rule.
warnings_of(pkg, inp, rule) := [w.message | some w in gate(pkg, inp).warnings; w.rule == rule]

# replace(obj, key, value): obj with key set to value (object.union would merge objects).
replace(obj, key, value) := object.union(object.remove(obj, [key]), {key: value})

# with_path(inp, path, value): inp with the value at "a/b/0/c" replaced.
with_path(inp, path, value) := json.patch(inp, [{"op": "add", "path": concat("", ["/", path]), "value": value}])

# replace_path(inp, path, value): like with_path, for a path that exists (array items).
replace_path(inp, path, value) := json.patch(inp, [{"op": "replace", "path": concat("", ["/", path]), "value": value}])

# set_fact(inp, name, fields): merge fields into fact `name`.
set_fact(inp, name, fields) := json.patch(inp, [{"op": "add", "path": concat("/", ["", "facts", name]), "value": object.union(inp.facts[name], fields)}])

# removal_survivors: paths ("a/b/0/c") whose removal still lets the gate go.
removal_survivors(pkg, inp, paths) := [p | some p in paths; decision(pkg, json.remove(inp, [p])) == "go"]

# leaf_paths(x, prefix): every leaf (scalar, empty array or object) under x, as "a/b/0/c".
leaf_paths(x, prefix) := sort([concat("/", array.concat([prefix], [sprintf("%v", [s]) | some s in path])) |
	walk(x, [path, v])
	_leaf(v)
])

_leaf(v) if {
	not is_object(v)
	not is_array(v)
}

_leaf(v) if v == []

_leaf(v) if v == {}

# history(records): a usable history fact.
history(records) := {
	"source": "archive", "path": "archives/shop-2.4.0-prod/decisions", "collected_at": "2026-11-25T14:04:59Z", "duration_ms": 2, "error": "",
	"records": records,
}

# record(now, statuses): a history record with rule → status.
record(at, statuses) := {"now": at, "gate": "window", "step": null, "checks": [{"rule": r, "status": s} | some r, s in statuses]}

# history_unknown_since(at, rules): every rule unknown at `at` and at now-1m.
history_unknown_since(at, rules) := history([
	record(at, {r: "unknown" | some r in rules}),
	record("2026-11-25T14:04:00Z", {r: "unknown" | some r in rules}),
])

# builtin_rules keeps the rule ids a built-in gate owns, so that checks a team adds to the gate
# (loaded beside the built-ins, as `opa test policies/ theirs/` does) do not fail these tests.
builtin_rules(checks, pkg) := {c.rule |
	some c in checks
	some prefix in {"launch.", "runbook.", concat("", [pkg, "."])}
	startswith(c.rule, prefix)
}
