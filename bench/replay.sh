#!/usr/bin/env bash
# Replay throughput against bare prepared OPA evaluation, in one run, plus replay's peak RSS.
#
#   bench/replay.sh [N] [MEM_N...]  (defaults 100000 and 1000000; needs /usr/bin/time:
#                                    apt-get install -y time; several MEM_N show flatness, 0 skips)
#
# (a) `gatekeeper replay` of an N-record synthetic archive (bench/archivegen): records/s,
#     wall clock of the whole process (startup and policy compilation included);
# (b) bench/bareeval on the same archive, right after (a): the same policies on the same
#     inputs with engine.CompilePolicies + Evaluate in runtime.NumCPU goroutines, (b1) on
#     inputs decoded once up front (evaluation only) and (b2) reading and JSON-decoding each
#     record's input blob before its evaluation, as replay must; the ratios (a)/(b1) and
#     (a)/(b2), target >= 0.8;
# (c) peak RSS of replaying each MEM_N-record archive, target < 200 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
shift $(( $# > 0 ? 1 : 0 ))
MEM_NS=("${@:-1000000}")
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
rr, br, bd = n / (e - s), float(kv["bare_rate"]), float(kv["bare_decode_rate"])
print(f"replay: {n} records in {e - s:.1f} s = {rr:.1f} records/s (whole process, verification included)")
print(f"bare OPA ({kv['workers']} workers): prepared inputs {br:.1f} records/s | read+decode each input {bd:.1f} records/s")
print(f"ratio replay / bare prepared = {rr / br:.2f}, replay / bare read+decode = {rr / bd:.2f} (target >= 0.80)")
PY

for MEM_N in "${MEM_NS[@]}"; do
	[ "$MEM_N" -gt 0 ] || continue
	gen "$MEM_N" "$OUT/a$MEM_N"
	/usr/bin/time -v "$OUT/gatekeeper" replay "$OUT/a$MEM_N" > /dev/null 2> "$OUT/time.txt" || true
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time.txt")
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$OUT/time.txt")
	echo "peak RSS replaying $MEM_N records: $((rss / 1024)) MiB (target < 200 MiB), wall $wall"
done
