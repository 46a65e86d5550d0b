#!/usr/bin/env bash
# Replay throughput against bare prepared OPA evaluation, in one run, plus replay's peak RSS.
#
#   bench/replay.sh [N] [MEM_N]     (defaults 100000 and 1000000; needs /usr/bin/time:
#                                    apt-get install -y time)
#
# (a) `gatekeeper replay` of an N-record synthetic archive (bench/archivegen): records/s,
#     wall clock of the whole process (startup and policy compilation included);
# (b) bench/bareeval on the same archive: the same policies on the same inputs with
#     engine.CompilePolicies + Evaluate in runtime.NumCPU goroutines (evaluation only);
#     the ratio (a)/(b), target >= 0.8;
# (c) peak RSS of replaying a MEM_N-record archive, target < 200 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
MEM_N=${2:-1000000}
OUT=${BENCH_OUT:-bench/out/replay}
mkdir -p "$OUT"
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found: apt-get install -y time" >&2; exit 1; }
go build -trimpath -o "$OUT/gatekeeper" ./cmd/gatekeeper
go build -trimpath -o "$OUT/archivegen" ./bench/archivegen
go build -trimpath -o "$OUT/bareeval" ./bench/bareeval
gen() { [ -f "$2/records.jsonl" ] && [ "$(wc -l < "$2/records.jsonl")" -eq "$1" ] || { rm -rf "$2"; "$OUT/archivegen" -n "$1" -o "$2"; }; }
gen "$N" "$OUT/a$N"

start=$(date +%s.%N)
"$OUT/gatekeeper" replay "$OUT/a$N" > "$OUT/replay.txt"
end=$(date +%s.%N)
tail -1 "$OUT/replay.txt"
bare=$("$OUT/bareeval" "$OUT/a$N")
echo "$bare"
python3 - "$N" "$start" "$end" "$bare" <<'PY'
import sys
n, s, e, bare = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
kv = dict(x.split("=") for x in bare.split())
rr, br = n / (e - s), float(kv["bare_rate"])
print(f"replay: {n} records in {e - s:.1f} s = {rr:.1f} records/s | bare OPA ({kv['workers']} workers): {br:.1f} records/s")
print(f"ratio replay / bare = {rr / br:.2f} (target >= 0.80)")
PY

gen "$MEM_N" "$OUT/a$MEM_N"
/usr/bin/time -v "$OUT/gatekeeper" replay "$OUT/a$MEM_N" > /dev/null 2> "$OUT/time.txt" || true
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time.txt")
echo "peak RSS replaying $MEM_N records: $((rss / 1024)) MiB (target < 200 MiB)"
