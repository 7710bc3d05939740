#!/usr/bin/env bash
# End-to-end load over loopback: server CPU time per request, with and without the
# bearer layer. Bounded: DURATION seconds per mode (default 10) plus a 2 s warm-up.
#
#   scripts/load.sh                 # DURATION=10 CONNS=32 by default
#   DURATION=20 CONNS=64 scripts/load.sh
#
# Needs `wrk` (Debian: apt-get install -y wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 1; }

cargo build --release --example bench_server >&2
bin=target/release/examples/bench_server
tck=$(getconf CLK_TCK)

cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

declare -A per_req
for mode in off on; do
  out=$(mktemp)
  AUTH=$mode "$bin" >"$out" &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 50); do grep -q '^token ' "$out" && break; sleep 0.1; done
  url=$(sed -n 's/^listening on //p' "$out")/
  token=$(sed -n 's/^token //p' "$out")
  auth="Authorization: Bearer $token"
  wrk -t1 -c"$CONNS" -d2s -H "$auth" "$url" >/dev/null
  before=$(cpu_ticks $pid)
  report=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" -H "$auth" "$url")
  after=$(cpu_ticks $pid)
  kill $pid; wait $pid 2>/dev/null || true
  trap - EXIT
  rm -f "$out"
  if grep -q 'Non-2xx' <<<"$report"; then echo "$report" >&2; echo "mode $mode: non-2xx answers" >&2; exit 1; fi
  requests=$(awk '/requests in/ { print $1 }' <<<"$report")
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$report")
  us=$(awk -v t=$((after - before)) -v hz="$tck" -v n="$requests" 'BEGIN { printf "%.3f", t / hz / n * 1e6 }')
  per_req[$mode]=$us
  printf 'auth=%-3s requests=%-9s req/s=%-10s server CPU s=%-7s CPU us/request=%s\n' \
    "$mode" "$requests" "$rps" "$(awk -v t=$((after - before)) -v hz="$tck" 'BEGIN { printf "%.2f", t / hz }')" "$us"
done
awk -v on="${per_req[on]}" -v off="${per_req[off]}" \
  'BEGIN { printf "auth overhead: %+.3f us server CPU per request (%.1f%%)\n", on - off, (on / off - 1) * 100 }'
