#!/usr/bin/env bash
# Two demo nodes on a Redis Cluster (three primaries, three replicas) under a bounded wrk
# mix on 127.0.0.1: logins, protected routes, refresh-token rotations, a reuse attempt
# of a spent refresh token, and access-token revocations. Each wrk thread drives one
# connection through a session's life in order, so it knows what every answer must be:
#   - any 5xx                                  -> counted as server_errors
#   - the current refresh token refused        -> lost_sessions
#   - a spent refresh token accepted           -> reuse_accepted
#   - a revoked access token accepted (same node, right after /revoke) -> revoked_accepted
# Exits non-zero unless all four are zero.  Bounded: DURATION seconds of load per node
# pair (default 20), THREADS sequential clients per node (default 2).
#
#   scripts/cluster-load.sh
#   DURATION=30 THREADS=4 LOGIN_LIMIT=1000 scripts/cluster-load.sh
#   DEMO_BIN=target/debug/examples/demo_server scripts/cluster-load.sh
#
# Needs redis-server, redis-cli and wrk (Debian: apt-get install -y redis-server wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20}
THREADS=${THREADS:-2}
BASE=${CLUSTER_BASE_PORT:-31001}
for tool in redis-server redis-cli wrk; do
  command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install -y redis-server wrk)" >&2; exit 1; }
done

# DEMO_BIN: an already built demo server (skips the release build).
if [ -n "${DEMO_BIN:-}" ]; then
  bin=$DEMO_BIN
else
  cargo build --release --example demo_server >&2
  bin=target/release/examples/demo_server
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ports=()
for i in 0 1 2 3 4 5; do
  port=$((BASE + i))
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
    --cluster-port $((port + 100)) --cluster-config-file "nodes-$port.conf" \
    --cluster-node-timeout 1000 --save "" --appendonly no --dir "$work" \
    >"$work/redis-$port.log" 2>&1 &
  pids+=($!)
  ports+=("127.0.0.1:$port")
done
for port in "${ports[@]}"; do
  for _ in $(seq 100); do redis-cli -p "${port#*:}" ping >/dev/null 2>&1 && break; sleep 0.05; done
done
redis-cli --cluster create "${ports[@]}" --cluster-replicas 1 --cluster-yes >/dev/null
for _ in $(seq 300); do
  ok=1
  for port in "${ports[@]}"; do
    redis-cli -p "${port#*:}" cluster info | grep -q 'cluster_state:ok' || ok=0
    redis-cli -p "${port#*:}" info replication | grep -q 'role:slave' &&
      ! redis-cli -p "${port#*:}" info replication | grep -q 'master_link_status:up' && ok=0
  done
  [ "$ok" = 1 ] && break
  sleep 0.1
done
[ "$ok" = 1 ] || { echo "the cluster did not become healthy" >&2; exit 1; }
seeds=$(printf 'redis://%s,' "${ports[@]}")
seeds=${seeds%,}

urls=()
for node in a b; do
  out="$work/demo-$node.out"
  BIND=127.0.0.1:0 JWT_SECRET=cluster-load-secret-of-at-least-32-bytes REDIS_CLUSTER="$seeds" \
    ${LOGIN_LIMIT:+LOGIN_LIMIT=$LOGIN_LIMIT} "$bin" >"$out" 2>"$work/demo-$node.err" &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^listening on ' "$out" && break; sleep 0.1; done
  urls+=("$(sed -n 's/^listening on //p' "$out")")
done

cat >"$work/mix.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end

local names = {"requests", "server_errors", "lost_sessions", "reuse_accepted", "reuse_refused",
  "revoked_accepted", "logins", "refreshes", "revocations", "protected", "unexpected"}
local form = {["Content-Type"] = "application/x-www-form-urlencoded"}
local paths = {"/status", "/users/me", "/users/me/items"}

function init(args)
  for _, name in ipairs(names) do _G[name] = 0 end
  step, gets, access, refresh, spent = "login", 0, nil, nil, nil
end

local function bearer() return {Authorization = "Bearer " .. access} end

function request()
  if step == "login" then
    return wrk.format("POST", "/token", form, "grant_type=password&username=johndoe&password=secret")
  elseif step == "get" then
    return wrk.format("GET", paths[gets % 3 + 1], bearer())
  elseif step == "refresh" then
    return wrk.format("POST", "/token", form, "grant_type=refresh_token&refresh_token=" .. refresh)
  elseif step == "reuse" then
    return wrk.format("POST", "/token", form, "grant_type=refresh_token&refresh_token=" .. spent)
  elseif step == "revoke" then
    return wrk.format("POST", "/revoke", form, "token=" .. access .. "&token_type_hint=access_token")
  else -- "revoked": the revoked access token on the node that revoked it
    return wrk.format("GET", "/status", bearer())
  end
end

local function tokens(body)
  access = body:match('"access_token":"([^"]+)"')
  refresh = body:match('"refresh_token":"([^"]+)"') or refresh
end

function response(status, headers, body)
  requests = requests + 1
  if status >= 500 then server_errors = server_errors + 1 end
  if step == "login" then
    if status == 200 then logins = logins + 1; tokens(body); spent = nil; gets = 0; step = "get"
    elseif status < 500 then unexpected = unexpected + 1 end
  elseif step == "get" then
    if status == 200 then protected = protected + 1 elseif status < 500 then unexpected = unexpected + 1 end
    gets = gets + 1
    if gets % 5 == 0 then step = (gets >= 15) and "reuse" or "refresh" end
  elseif step == "refresh" then
    local old = refresh
    if status == 200 then refreshes = refreshes + 1; tokens(body); spent = old; step = "get"
    else lost_sessions = lost_sessions + 1; step = "login" end
  elseif step == "reuse" then
    if status == 200 then reuse_accepted = reuse_accepted + 1 else reuse_refused = reuse_refused + 1 end
    step = "revoke"
  elseif step == "revoke" then
    if status == 200 then revocations = revocations + 1; step = "revoked" else step = "login" end
  else
    if status == 200 then revoked_accepted = revoked_accepted + 1
    elseif status ~= 401 then unexpected = unexpected + 1 end
    step = "login"
  end
end

function done(summary, latency, requests_)
  for _, name in ipairs(names) do
    local total = 0
    for _, t in ipairs(threads) do total = total + t:get(name) end
    io.write(string.format("RESULT %s %d\n", name, total))
  end
  io.write(string.format("RESULT p99_ms %.1f\n", latency:percentile(99) / 1000))
end
LUA

echo "cluster ${ports[*]}; demo nodes ${urls[*]}; ${DURATION}s, ${THREADS} sequential clients per node" >&2
for i in 0 1; do
  wrk -t"$THREADS" -c"$THREADS" -d"${DURATION}s" --timeout 10s -s "$work/mix.lua" "${urls[$i]}" >"$work/wrk-$i.out" &
  wrks[$i]=$!
done
wait "${wrks[0]}" "${wrks[1]}"

declare -A total
for i in 0 1; do
  while read -r _ name value; do
    if [ "$name" = p99_ms ]; then echo "node $i p99 latency: ${value} ms"; continue; fi
    total[$name]=$(( ${total[$name]:-0} + value ))
  done < <(grep '^RESULT ' "$work/wrk-$i.out")
done
for name in requests logins refreshes protected revocations reuse_refused server_errors lost_sessions reuse_accepted revoked_accepted unexpected; do
  printf '%-17s %s\n' "$name" "${total[$name]:-0}"
done
fail=0
for name in server_errors lost_sessions reuse_accepted revoked_accepted unexpected; do
  [ "${total[$name]:-0}" = 0 ] || { echo "FAIL: $name = ${total[$name]}" >&2; fail=1; }
done
[ "${total[requests]:-0}" -gt 0 ] || { echo "FAIL: no requests" >&2; fail=1; }
exit "$fail"
