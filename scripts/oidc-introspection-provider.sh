#!/usr/bin/env bash
# Installs the pinned `oidc-provider` (tests/oidc/introspection/package-lock.json) into
# tests/oidc/introspection/node_modules when it is missing or stale. Idempotent; called
# by tests/introspection.rs before it starts the provider. Needs Node 20+ and npm.
set -euo pipefail
dir="$(cd "$(dirname "$0")/../tests/oidc/introspection" && pwd)"
cd "$dir"
# One install at a time: a second `npm ci` would delete the first one's node_modules.
exec 9>"$dir/.install.lock"
flock 9
stamp=node_modules/.package-lock.json
if [ -f "$stamp" ] && [ node_modules/.package-lock.json -nt package-lock.json ] &&
    [ -d node_modules/oidc-provider ]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error >&2
