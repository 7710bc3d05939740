#!/usr/bin/env bash
# Instructions per request for bench rows, counted by callgrind: a steady second
# signal next to criterion's medians. Each row runs N1 and N2 times in the layer bench
# binary; (Ir(N2) - Ir(N1)) / (N2 - N1) cancels the setup.
#
#   scripts/instructions.sh hs256/bare hs256/bearer_layer hs256/handwritten_layer
#   FEATURES=cache scripts/instructions.sh rs256/cached
#
# Note: valgrind does not emulate SHA-NI, so SHA-256 runs its portable code here
# (about 17k instructions for an HS256 token) while natively it uses SHA-NI.
set -euo pipefail
cd "$(dirname "$0")/.."
FEATURES=${FEATURES:-cache}
N1=${N1:-1000}
N2=${N2:-11000}
bin=$(cargo bench --bench layer --features "$FEATURES" --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
ir() {
  BENCH_ROW=$1 BENCH_ITERS=$2 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '%-28s %12s\n' row instructions/request
for row in "$@"; do
  a=$(ir "$row" "$N1")
  b=$(ir "$row" "$N2")
  printf '%-28s %12d\n' "$row" $(((b - a) / (N2 - N1)))
done
