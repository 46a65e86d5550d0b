#!/usr/bin/env bash
# Times one whole `gatekeeper evaluate` process against the stock tools doing the same work
# separately (`cue vet` of the runbook plus `opa eval` of the gate on the same input), with
# hyperfine, and prints the medians and the ratio gatekeeper / (cue + opa). Target: <= 0.5.
#
#   bench/evaluate.sh [runs]        (needs hyperfine: apt-get install hyperfine; opa and cue on
#                                    PATH, e.g. after .ci/run they are in .ci/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
OUT=bench/out
mkdir -p "$OUT"
export PATH="$PWD/.ci/bin:$PATH"
command -v hyperfine >/dev/null || { echo "hyperfine not found: apt-get install hyperfine" >&2; exit 1; }
for t in opa cue; do command -v $t >/dev/null || { echo "$t not found: run .ci/run once or go install it" >&2; exit 1; }; done

go build -trimpath -o "$OUT/gatekeeper" ./cmd/gatekeeper
RB=testdata/example/runbook.yaml
FACTS=testdata/example/scenarios/healthy__window.json
# The exact policy input gatekeeper decides on, so opa eval does the same work.
"$OUT/gatekeeper" evaluate --runbook "$RB" --env production --gate window --facts "$FACTS" \
  --write-input "$OUT/input.json" -o json > "$OUT/decision.json"

hyperfine --warmup 3 --runs "$RUNS" -N --export-json "$OUT/evaluate.json" \
  -n gatekeeper "$OUT/gatekeeper evaluate --runbook $RB --env production --gate window --facts $FACTS -o json" \
  -n cue-vet "cue vet -c -d '#Runbook' schemas/runbook.cue $RB" \
  -n opa-eval "opa eval --ignore '*_test.rego' -d policies -i $OUT/input.json data.gatekeeper.gates.window.decision"

python3 - "$OUT/evaluate.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
med = {k: v["median"] * 1000 for k, v in r.items()}
stock = med["cue-vet"] + med["opa-eval"]
print(f"median ms: gatekeeper {med['gatekeeper']:.1f} | cue vet {med['cue-vet']:.1f} + opa eval {med['opa-eval']:.1f} = {stock:.1f}")
print(f"ratio gatekeeper / (cue vet + opa eval) = {med['gatekeeper'] / stock:.2f} (target <= 0.50)")
PY
