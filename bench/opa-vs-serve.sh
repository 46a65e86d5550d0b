#!/usr/bin/env bash
# The same gate decisions through `gatekeeper serve` (POST /v1/decide, facts in the body) and
# through the stock `opa run --server` with `gatekeeper bundle` (POST
# /v1/data/gatekeeper/main/result, the policy input in the body), under the same wrk load in
# one run: the load generator pinned to one core, the server under test to the other. Prints
# the median throughput and p99 latency of RUNS runs per server and the ratio
# serve / opa (target: >= 1.0 for throughput).
#
#   bench/opa-vs-serve.sh [runs] [seconds]     (default 3 runs of 10 s each)
#
# Needs: wrk (apt-get install wrk), taskset (util-linux), python3, curl, and the stock opa
# (.ci/bin/opa after .ci/run, or on PATH). When this build of gatekeeper has no `serve`
# command yet, only the opa side is measured, and the script says so.
#
# Environment: GATEKEEPER (a gatekeeper binary to use instead of building one), CONNS (wrk connections, default 8), GEN_CPU / SERVER_CPU (cores, default 0 / 1),
# SCENARIO (facts file under testdata/example/scenarios, default healthy__window.json; its gate
# and step are read from testdata/example/scenarios/expected.json).
#
# What each side does per request is what a caller gets: serve validates the facts against
# schemas/facts.cue, builds the input (runbook, sign-off fact), decides and returns the
# decision record with its digests; opa parses the input and evaluates the bundle's
# entrypoint. OPA runs without authentication (its default); serve checks a bearer token.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SECS=${2:-10}
CONNS=${CONNS:-8}
GEN_CPU=${GEN_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
SCENARIO=${SCENARIO:-healthy__window.json}
OUT=bench/out/opa-vs-serve
mkdir -p "$OUT"
export PATH="$PWD/.ci/bin:$PATH"
for t in wrk taskset python3 curl opa; do
  command -v $t >/dev/null || { echo "$t not found (wrk: apt-get install wrk; opa: run .ci/run once)" >&2; exit 1; }
done

if [ -n "${GATEKEEPER:-}" ]; then
  GK=$GATEKEEPER
else
  go build -trimpath -o "$OUT/gatekeeper" ./cmd/gatekeeper
  GK="$OUT/gatekeeper"
fi
RB=testdata/example/runbook.yaml
FACTS=testdata/example/scenarios/$SCENARIO
read -r GATE STEP < <(python3 - "$SCENARIO" <<'PY'
import json, sys
s = next(x for x in json.load(open("testdata/example/scenarios/expected.json")) if x["file"] == sys.argv[1])
print(s["gate"], s["step"] if s["step"] is not None else "")
PY
)
STEPARG=()
[ -n "$STEP" ] && STEPARG=(--step "$STEP")

# The policy input gatekeeper decides on, as OPA's request body; the decision to expect.
set +e
"$GK" evaluate --runbook "$RB" --env production --gate "$GATE" "${STEPARG[@]}" --facts "$FACTS" \
  --write-input "$OUT/input.json" -o json > "$OUT/record.json"
code=$?
set -e
[ "$code" = 1 ] && { echo "evaluate could not decide $FACTS" >&2; exit 1; }
python3 -c 'import json,sys; json.dump({"input": json.load(open(sys.argv[1]))}, open(sys.argv[2], "w"))' \
  "$OUT/input.json" "$OUT/opa-body.json"
WANT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["decision"])' "$OUT/record.json")
"$GK" bundle -o "$OUT/bundle.tar.gz" > /dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_ready() { # url
  for _ in $(seq 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "server not ready at $1" >&2; return 1
}

# --- opa run --server with the bundle
OPA_PORT=$(free_port)
taskset -c "$SERVER_CPU" opa run --server --bundle --addr "127.0.0.1:$OPA_PORT" --log-level error \
  "$OUT/bundle.tar.gz" > "$OUT/opa.log" 2>&1 &
PIDS+=($!)
wait_ready "http://127.0.0.1:$OPA_PORT/health?bundles"
OPA_URL="http://127.0.0.1:$OPA_PORT/v1/data/gatekeeper/main/result"
got=$(curl -fsS -X POST -H 'Content-Type: application/json' --data-binary "@$OUT/opa-body.json" "$OPA_URL" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["decision"])')
[ "$got" = "$WANT" ] || { echo "opa decided $got, evaluate $WANT" >&2; exit 1; }
cat > "$OUT/opa.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$OUT/opa-body.json", "rb"); wrk.body = f:read("*a"); f:close()
EOF
TARGETS=("opa|$OPA_URL|$OUT/opa.lua")

# --- gatekeeper serve, when this build has it
SERVE=no
if "$GK" serve --help > "$OUT/serve-help.txt" 2>&1; then
  SERVE=yes
  SERVE_PORT=$(free_port)
  TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  printf '%s\n' "$TOKEN" > "$OUT/token"
  chmod 600 "$OUT/token"
  # SERVE_ARGS overrides the flags below if serve's differ.
  if [ -z "${SERVE_ARGS:-}" ]; then
    SERVE_ARGS="--addr 127.0.0.1:$SERVE_PORT --runbook $RB --env production"
    if grep -q -- '--token-file' "$OUT/serve-help.txt"; then SERVE_ARGS+=" --token-file $OUT/token"; fi
  fi
  GATEKEEPER_TOKEN=$TOKEN taskset -c "$SERVER_CPU" "$GK" serve $SERVE_ARGS > "$OUT/serve.log" 2>&1 &
  PIDS+=($!)
  wait_ready "http://127.0.0.1:$SERVE_PORT/readyz"
  SERVE_URL="http://127.0.0.1:$SERVE_PORT/v1/decide"
  got=$(curl -fsS -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
    --data-binary "@$FACTS" "$SERVE_URL" | python3 -c 'import json,sys; print(json.load(sys.stdin)["decision"])')
  [ "$got" = "$WANT" ] || { echo "serve decided $got, evaluate $WANT" >&2; exit 1; }
  cat > "$OUT/serve.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
local f = io.open("$FACTS", "rb"); wrk.body = f:read("*a"); f:close()
EOF
  TARGETS+=("serve|$SERVE_URL|$OUT/serve.lua")
fi

# --- load: warm up each server, then alternate them run by run
for t in "${TARGETS[@]}"; do
  IFS='|' read -r name url lua <<< "$t"
  taskset -c "$GEN_CPU" wrk -t1 -c"$CONNS" -d2s -s "$lua" "$url" > /dev/null
done
: > "$OUT/results.tsv"
for i in $(seq "$RUNS"); do
  for t in "${TARGETS[@]}"; do
    IFS='|' read -r name url lua <<< "$t"
    taskset -c "$GEN_CPU" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$lua" "$url" > "$OUT/wrk-$name-$i.txt"
    if grep -q 'Non-2xx' "$OUT/wrk-$name-$i.txt"; then
      echo "$name answered non-2xx under load:" >&2; cat "$OUT/wrk-$name-$i.txt" >&2; exit 1
    fi
    printf '%s\t%s\t%s\n' "$name" "$i" "$OUT/wrk-$name-$i.txt" >> "$OUT/results.tsv"
  done
done

python3 - "$OUT/results.tsv" "$SERVE" "$SCENARIO" "$WANT" "$CONNS" "$SECS" <<'PY'
import re, statistics, sys
tsv, serve, scenario, want, conns, secs = sys.argv[1:]
def ms(s):
    v, u = re.match(r"([\d.]+)(us|ms|s)", s).groups()
    return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u]
runs = {}
for line in open(tsv):
    name, i, path = line.split()
    txt = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", txt).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", txt, re.M).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", txt, re.M).group(1))
    runs.setdefault(name, []).append((rps, p50, p99))
print(f"scenario {scenario} (decision {want}), wrk -t1 -c{conns}, {secs}s per run, generator and server on separate cores")
med = {}
for name, rs in runs.items():
    med[name] = tuple(statistics.median(x[k] for x in rs) for k in range(3))
    each = ", ".join(f"{r:.0f}" for r, _, _ in rs)
    print(f"{name:6s} median {med[name][0]:8.1f} req/s  p50 {med[name][1]:7.2f} ms  p99 {med[name][2]:7.2f} ms   (req/s per run: {each})")
if "serve" in med:
    print(f"ratio serve / opa: throughput {med['serve'][0] / med['opa'][0]:.2f} (target >= 1.0), p99 {med['serve'][2] / med['opa'][2]:.2f}")
else:
    print("gatekeeper serve is not in this build: opa side only, no ratio")
PY
