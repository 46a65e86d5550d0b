#!/usr/bin/env bash
# Load test of `gatekeeper serve` on loopback with wrk: decisions with the facts in the body
# (an example facts file posted to /v1/decide), wrk pinned to CPU 0 and serve to CPU 1 with
# taskset, so the generator does not steal the server's core. Each run reports throughput and
# latency percentiles; the script prints the medians over the runs.
#
#   bench/serve.sh [runs] [duration]      (default 3 runs of 20s; needs wrk: apt-get install -y wrk)
#
# Environment: FACTS (facts file, default the healthy window: 82 KB, the largest gate input),
# CONNS (concurrent connections, default 4), SERVE_CPU / LOAD_CPU (default 1 / 0).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
DURATION=${2:-20s}
FACTS=${FACTS:-testdata/example/scenarios/healthy__window.json}
CONNS=${CONNS:-4}
SERVE_CPU=${SERVE_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
OUT=bench/out/serve
mkdir -p "$OUT"
for t in wrk taskset curl python3; do
  command -v $t >/dev/null || { echo "$t not found (apt-get install -y wrk util-linux curl python3)" >&2; exit 1; }
done

go build -trimpath -o "$OUT/gatekeeper" ./cmd/gatekeeper
TOKEN=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT/v1/decide?runbook=runbook"

GATEKEEPER_TOKEN=$TOKEN taskset -c "$SERVE_CPU" "$OUT/gatekeeper" serve --runbook testdata/example/runbook.yaml \
  --addr "127.0.0.1:$PORT" --log-format json 2>"$OUT/serve.log" &
SERVE=$!
trap 'kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "serve did not start:" >&2; cat "$OUT/serve.log" >&2; exit 1; }

# One decision first: it must be the scenario's, answered 200.
DECISION=$(curl -sf -H "Authorization: Bearer $TOKEN" --data-binary "@$FACTS" "$URL" | python3 -c 'import json,sys; print(json.load(sys.stdin)["decision"])')
echo "serve on CPU $SERVE_CPU, wrk on CPU $LOAD_CPU, $CONNS connections, $DURATION x $RUNS; $FACTS ($(wc -c <"$FACTS") bytes) decides: $DECISION"

# wrk posts the file; done() prints one JSON line with the numbers.
cat >"$OUT/post.lua" <<LUA
local f = assert(io.open("$FACTS", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %d, "seconds": %.3f, "rps": %.2f, "p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, "non2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
LUA

: >"$OUT/results.jsonl"
for i in $(seq "$RUNS"); do
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --timeout 10s -s "$OUT/post.lua" "$URL" >"$OUT/wrk-$i.txt"
  line=$(grep '^RESULT ' "$OUT/wrk-$i.txt" | sed 's/^RESULT //')
  echo "run $i: $line"
  echo "$line" >>"$OUT/results.jsonl"
done

python3 - "$OUT/results.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
bad = sum(r["non2xx"] + r["socket_errors"] for r in runs)
med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_ms", "p90_ms", "p99_ms")}
print(f"median of {len(runs)} runs: {med['rps']:.1f} decisions/s, p50 {med['p50_ms']:.1f} ms, p90 {med['p90_ms']:.1f} ms, p99 {med['p99_ms']:.1f} ms; non-2xx or socket errors: {bad}")
sys.exit(1 if bad else 0)
PY
