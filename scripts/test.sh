#!/usr/bin/env bash
# The README's test command: every test, with every feature, on a machine that has only
# the Rust toolchain. Installs or starts what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

# Property-based fuzz passes stay short here; run longer ones with a larger value.
export PROPTEST_CASES="${PROPTEST_CASES:-256}"

# The OpenAPI 3.1 validator for tests/openapi.rs, in a virtual environment of its own.
venv="${OPENAPI_VALIDATOR_VENV:-target/openapi-venv}"
if ! "$venv/bin/python" -c 'import openapi_spec_validator' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r tests/requirements-openapi.txt
fi
export OPENAPI_VALIDATOR_PYTHON="$PWD/$venv/bin/python"

# tests/dpop.rs: DPoP proofs from panva's `dpop` package on Node and from Python's
# joserfc (the test also installs these itself when missing).
if ! [ -f tests/dpop/node_modules/dpop/package.json ]; then
  (cd tests/dpop && npm ci --no-audit --no-fund --loglevel=error)
fi
dpop_venv=target/dpop-venv
if ! "$dpop_venv/bin/python" -c 'import joserfc' 2>/dev/null; then
  python3 -m venv "$dpop_venv"
  "$dpop_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r tests/dpop/requirements.txt
fi

# The Redis store tests start their own redis-server (the distribution's package) on a
# free loopback port; tests/redis_cluster.rs starts six and joins them with redis-cli
# (redis-tools). Install them when we can; elsewhere they skip with a loud message.
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server redis-tools) ||
            echo "WARNING: could not install redis-server; Redis tests will be SKIPPED" >&2
    else
        echo "WARNING: redis-server missing and not root; Redis tests will be SKIPPED" >&2
    fi
fi
# Where redis-server is installed, a skip would hide a failure: make it one.
if command -v redis-server >/dev/null; then
    export REQUIRE_REDIS=1
fi

# tests/oidc_jwt.rs runs a real OpenID Provider (the `oidc-provider` package, pinned by
# tests/oidc/package-lock.json) under Node.js 20+.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
    else
        echo "WARNING: node/npm missing and not root; tests/oidc_jwt.rs will fail" >&2
    fi
fi
if [ ! -f tests/oidc/node_modules/oidc-provider/package.json ]; then
    (cd tests/oidc && npm ci --no-audit --no-fund)
fi
# tests/introspection.rs runs a second, separately pinned oidc-provider (opaque tokens).
bash scripts/oidc-introspection-provider.sh

cargo test --all-features

# The Swagger UI flow in headless Chromium (installs Chromium and playwright-core).
timeout 1200 bash scripts/browser-test.sh
