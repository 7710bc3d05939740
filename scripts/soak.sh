#!/usr/bin/env bash
# Soak: the demo server under bounded loopback load for a fixed time, with mixed
# traffic (valid tokens, forged and malformed tokens, no token, oversize headers,
# logins with the right and a wrong password), sampling the server's RSS. Fails on any
# 5xx, on a failed connection, or if RSS grows more than RSS_GROWTH_KIB (default
# 8192 KiB) between the first sample after warm-up and the end.
#
#   bash scripts/soak.sh                    # 60 s, 16 connections
#   DURATION=600 CONNS=32 bash scripts/soak.sh
#
# Needs `wrk` (installed with apt-get when missing and root). Targets 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-60}
CONNS=${CONNS:-16}
WARMUP=${WARMUP:-10}
RSS_GROWTH_KIB=${RSS_GROWTH_KIB:-8192}
PORT=${PORT:-18000}

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
  else
    echo "wrk not found (apt-get install -y wrk)" >&2
    exit 1
  fi
fi

cargo build --release --example demo_server >&2
work=$(mktemp -d)
BIND=127.0.0.1:$PORT target/release/examples/demo_server >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q 'listening on' "$work/server.log" && break; sleep 0.1; done
base=http://127.0.0.1:$PORT

token=$(curl -sf -d 'grant_type=password&username=johndoe&password=secret' "$base/token" |
  sed 's/.*"access_token":"\([^"]*\)".*/\1/')
[ -n "$token" ] || { echo "login failed" >&2; exit 1; }

cat >"$work/mix.lua" <<LUA
-- One request kind per call, in a fixed rotation; counts answers by status class.
local token = "$token"
local forged = token:sub(1, -3) .. (token:sub(-2) == "AA" and "BB" or "AA")
local kinds = {
  {"GET", "/users/me", {["Authorization"] = "Bearer " .. token}},
  {"GET", "/users/me/items", {["Authorization"] = "Bearer " .. token}},
  {"GET", "/users/me", {["Authorization"] = "Bearer " .. forged}},
  {"GET", "/users/me", {["Authorization"] = "Bearer not.a.jwt"}},
  {"GET", "/users/me", {}},
  {"GET", "/users/me", {["Authorization"] = "Bearer " .. string.rep("A", 20000)}},
  {"GET", "/users/me", {["Authorization"] = "Basic am9objpzZWNyZXQ="}},
  {"GET", "/users/me", {["Authorization"] = "Bearer " .. token}},
}
local logins = {
  "grant_type=password&username=johndoe&password=secret",
  "grant_type=password&username=johndoe&password=wrong",
  "grant_type=password&username=nobody&password=wrong",
  "grant_type=password&username=johndoe&password=secret&password=x",
}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  n = 0; ok = 0; client = 0; server = 0; login = 0
end
function request()
  n = n + 1
  if n % 50 == 0 then
    login = login + 1
    return wrk.format("POST", "/token",
      {["Content-Type"] = "application/x-www-form-urlencoded"}, logins[(login % #logins) + 1])
  end
  local k = kinds[(n % #kinds) + 1]
  return wrk.format(k[1], k[2], k[3])
end
function response(status, headers, body)
  if status >= 500 then server = server + 1
  elseif status >= 400 then client = client + 1
  else ok = ok + 1 end
end
function done(summary, latency, requests)
  local t = {ok = 0, client = 0, server = 0, login = 0}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(t) do t[key] = t[key] + thread:get(key) end
  end
  io.write(string.format("answers: 2xx=%d 4xx=%d 5xx=%d (logins sent: %d)\n",
    t.ok, t.client, t.server, t.login))
  io.write(string.format("errors: connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status))
end
LUA

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
echo "server pid $pid, RSS at start $(rss) KiB"
wrk -t2 -c"$CONNS" -d"$((DURATION + WARMUP))s" -s "$work/mix.lua" "$base" >"$work/wrk.txt" &
load=$!
sleep "$WARMUP"
first=$(rss)
echo "RSS after ${WARMUP}s warm-up: $first KiB"
samples=("$first")
for _ in $(seq $((DURATION / 5))); do
  sleep 5
  samples+=("$(rss)")
done
wait $load
last=$(rss)
echo "RSS samples (KiB, every 5 s): ${samples[*]}"
cat "$work/wrk.txt"
growth=$((last - first))
echo "RSS start $first KiB, end $last KiB, growth $growth KiB (limit $RSS_GROWTH_KIB)"

fail=0
grep -q ' 5xx=0 ' "$work/wrk.txt" || { echo "FAIL: 5xx answers" >&2; fail=1; }
grep -q 'errors: connect=0 ' "$work/wrk.txt" || { echo "FAIL: connection errors" >&2; fail=1; }
[ "$growth" -le "$RSS_GROWTH_KIB" ] || { echo "FAIL: RSS grew by $growth KiB" >&2; fail=1; }
kill -0 $pid || { echo "FAIL: the server died" >&2; fail=1; }
[ $fail = 0 ] && echo "soak passed"
exit $fail
