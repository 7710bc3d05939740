#!/usr/bin/env bash
# End-to-end load over loopback: server CPU time per request, with and without the
# bearer layer. Both servers run side by side; wrk loads them in turn (off, on, off,
# on, ...) for ROUNDS rounds of DURATION seconds each, after a 2 s warm-up of each, so
# that drift on a shared machine hits both alike. Reports each round and the median of
# the per-round differences. Bounded: 2 x (2 + ROUNDS x DURATION) seconds of load.
#
#   scripts/load.sh                          # ROUNDS=5 DURATION=5 CONNS=32
#   ROUNDS=9 DURATION=10 CONNS=64 scripts/load.sh
#
# Needs `wrk` (Debian: apt-get install -y wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CONNS=${CONNS:-32}
command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 1; }

cargo build --release --example bench_server >&2
bin=target/release/examples/bench_server
tck=$(getconf CLK_TCK)

cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

declare -A pid url
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for mode in off on; do
  out=$(mktemp)
  AUTH=$mode "$bin" >"$out" &
  pid[$mode]=$!
  pids+=($!)
  for _ in $(seq 50); do grep -q '^token ' "$out" && break; sleep 0.1; done
  url[$mode]=$(sed -n 's/^listening on //p' "$out")/
  token=$(sed -n 's/^token //p' "$out")
  rm -f "$out"
done
auth="Authorization: Bearer $token"

# One load run against `mode`: prints "requests cpu_us_per_request".
run() {
  local mode=$1 seconds=$2 before after report requests
  before=$(cpu_ticks "${pid[$mode]}")
  report=$(wrk -t1 -c"$CONNS" -d"${seconds}s" -H "$auth" "${url[$mode]}")
  after=$(cpu_ticks "${pid[$mode]}")
  if grep -q 'Non-2xx' <<<"$report"; then echo "$report" >&2; echo "mode $mode: non-2xx answers" >&2; exit 1; fi
  requests=$(awk '/requests in/ { print $1 }' <<<"$report")
  awk -v t=$((after - before)) -v hz="$tck" -v n="$requests" 'BEGIN { printf "%d %.3f\n", n, t / hz / n * 1e6 }'
}

run off 2 >/dev/null
run on 2 >/dev/null
differences=()
for round in $(seq "$ROUNDS"); do
  read -r n_off us_off < <(run off "$DURATION")
  read -r n_on us_on < <(run on "$DURATION")
  difference=$(awk -v a="$us_on" -v b="$us_off" 'BEGIN { printf "%.3f", a - b }')
  differences+=("$difference")
  printf 'round %d: off %s requests %s us/request | on %s requests %s us/request | %+.3f us\n' \
    "$round" "$n_off" "$us_off" "$n_on" "$us_on" "$difference"
done
printf '%s\n' "${differences[@]}" | sort -g | awk '
  { d[NR] = $1 }
  END {
    median = (NR % 2) ? d[(NR + 1) / 2] : (d[NR / 2] + d[NR / 2 + 1]) / 2
    printf "auth overhead: median %+.3f us server CPU per request over %d rounds (min %+.3f, max %+.3f)\n", median, NR, d[1], d[NR]
  }'
