#!/usr/bin/env bash
# Bounded coverage-guided fuzzing of the header parser, the JWT fast path, the
# challenge renderer and the token-endpoint form decoder (cargo fuzz, libFuzzer). Each
# target runs FUZZ_SECONDS (default 20)
# starting from the committed seeds in fuzz/seeds/<target> plus whatever corpus earlier
# runs left in fuzz/corpus/<target>. A crash stops the script with the failing input in
# fuzz/artifacts/<target>/; turn it into a regression test under tests/.
#
#   bash scripts/fuzz.sh                        # the CI-sized run, about 1 minute of fuzzing
#   FUZZ_SECONDS=3600 bash scripts/fuzz.sh      # the longer run
#   FUZZ_TARGETS="jwt_verify" bash scripts/fuzz.sh
#
# cargo fuzz needs nightly compiler flags (sanitizers); the default (stable) toolchain is
# used with RUSTC_BOOTSTRAP=1, so no nightly toolchain is needed. The first build of the
# targets takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"
targets="${FUZZ_TARGETS:-authorization_header jwt_verify challenge form}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
fuzz=(cargo fuzz)

cd fuzz
"${fuzz[@]}" build -O
for target in $targets; do
  mkdir -p "corpus/$target"
  log="$(mktemp)"
  echo "==> fuzz $target for ${seconds}s"
  if ! "${fuzz[@]}" run -O "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
      >"$log" 2>&1; then
    grep -A 4 "panicked at" "$log" | head -n 20 || true
    grep -E -A 3 "^(SUMMARY|Failing input)" "$log" || true
    tail -n 5 "$log"
    echo "fuzz target $target failed; see fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
  grep -E 'cov: [0-9]+' "$log" | tail -n 1 || true
  rm -f "$log"
done
