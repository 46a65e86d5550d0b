#!/usr/bin/env bash
# Decides every gate of the shipped example launch (a web shop, canary 5/25/100, 60-minute
# window) from recorded facts, then a few launches that must stop or roll back. No servers.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
go build -o bench/out/gatekeeper ./cmd/gatekeeper || exit 1
GK=bench/out/gatekeeper
RB=testdata/example/runbook.yaml
S=testdata/example/scenarios

decide() { # gate [step] facts-file [runbook]
  local gate=$1 step=$2 file=$3 rb=${4:-$RB} args=()
  [[ -n $step ]] && args=(--step "$step")
  echo "================================================================================"
  echo "\$ gatekeeper evaluate --runbook $rb --env production --gate $gate ${args[*]} --facts $file"
  "$GK" evaluate --runbook "$rb" --env production --gate "$gate" "${args[@]}" --facts "$file"
  echo "(exit $?)"
}

"$GK" vet "$RB" || exit 1
echo
echo "### The healthy launch: every gate go, the window completes"
decide pre-cutover "" $S/healthy__pre-cutover.json
decide post-deploy "" $S/healthy__post-deploy.json
decide post-smoke "" $S/healthy__post-smoke.json
for step in 5 25 100; do decide canary $step $S/healthy__canary-$step.json; done
decide window "" $S/healthy__window.json
echo
echo "### Launches that must stop or roll back"
decide pre-cutover "" $S/uat-mismatch__pre-cutover.json
decide pre-cutover "" $S/runbook-edited__pre-cutover.json testdata/example/runbook-edited.yaml
decide post-smoke "" $S/critical-smoke-failure__post-smoke.json
decide canary 25 $S/sustained-errors__canary-25.json
decide window "" $S/short-spike__window.json
decide window "" $S/latency-regression__window.json
decide window "" $S/new-corruption__window.json
decide window "" $S/missing-metrics__window.json
decide canary 5 $S/stale-facts__canary-5.json
decide post-rollback "" $S/post-rollback-verified__post-rollback.json
echo
echo "### The whole launch as 'gatekeeper launch' would run it (--dry-run: nothing runs)"
"$GK" launch --runbook "$RB" --env production --archive bench/out/example-archive --dry-run
echo
echo "### The healthy launch archived, verified and replayed, and its launch report"
A=bench/out/example-archive
rm -rf "$A"
for g in pre-cutover post-deploy post-smoke canary:5 canary:25 canary:100 window; do
  gate=${g%%:*} step=${g#*:} args=() name=$gate
  [[ $gate == canary ]] && args=(--step "$step") name=canary-$step
  "$GK" evaluate --runbook "$RB" --env production --gate "$gate" "${args[@]}" \
    --facts "$S/healthy__$name.json" --archive "$A" -o json > /dev/null || exit 1
done
"$GK" replay "$A" | tail -1
"$GK" report "$A" --format html -o bench/out/example-report.html && echo "report: bench/out/example-report.html"
exit 0
