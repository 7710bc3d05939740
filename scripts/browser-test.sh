#!/usr/bin/env bash
# Browser test: Swagger UI at /docs driven by Playwright in Debian's headless Chromium.
# Installs what it needs (Chromium as root, playwright-core from the lock file), starts
# the demo server on a free loopback port, runs tests/browser/swagger.mjs, stops the
# server, and exits with the test's status. Screenshots go to test-artifacts/.
#
#   bash scripts/browser-test.sh                  # builds and runs examples/demo_server
#   SERVER_BIN=path/to/server bash scripts/browser-test.sh   # an already built server
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  step "installing chromium"
  if [ "$(id -u)" -ne 0 ]; then
    echo "Chromium is missing at $CHROMIUM and installing it needs root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq chromium >/dev/null
fi
"$CHROMIUM" --version

step "node dependencies (playwright-core, no browser download)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
wanted=$(node -p 'require("./tests/browser/package-lock.json").packages["node_modules/playwright-core"].version')
have=$(node -p 'try { require("./tests/browser/node_modules/playwright-core/package.json").version } catch { "" }')
if [ "$wanted" != "$have" ]; then
  (cd tests/browser && timeout 300 npm ci --no-audit --no-fund --loglevel=error)
fi
echo "playwright-core $wanted"

if [ -z "${SERVER_BIN:-}" ]; then
  step "building examples/demo_server"
  # In CI, the features the test step already compiled with, so only the link is new;
  # otherwise the default features, as `cargo run --example demo_server` uses.
  if [ -n "${CI:-}" ]; then features=(--all-features); else features=(); fi
  cargo build --quiet --example demo_server ${features[@]+"${features[@]}"}
  SERVER_BIN="target/debug/examples/demo_server"
fi

step "starting the server"
log_dir=$(mktemp -d)
BIND=127.0.0.1:0 JWT_SECRET="browser-test-secret-0123456789abcdef" \
  "$SERVER_BIN" >"$log_dir/stdout" 2>"$log_dir/stderr" &
server_pid=$!
cleanup() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  rm -rf "$log_dir"
}
trap cleanup EXIT

base_url=""
for _ in $(seq 1 100); do # at most ~20 s
  base_url=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*$/\1/p' "$log_dir/stdout" | head -n1)
  [ -n "$base_url" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the server exited early:" >&2
    cat "$log_dir/stderr" >&2
    exit 1
  fi
  sleep 0.2
done
if [ -z "$base_url" ]; then
  echo "the server never printed 'listening on http://ADDR'" >&2
  cat "$log_dir/stderr" >&2
  exit 1
fi
echo "server at $base_url"

step "tests/browser/swagger.mjs"
status=0
BASE_URL="$base_url" CHROMIUM="$CHROMIUM" ARTIFACTS="$PWD/test-artifacts" \
  timeout 180 node tests/browser/swagger.mjs || status=$?
echo "browser test finished in $(($(date +%s) - started)) s with status $status"
exit "$status"
