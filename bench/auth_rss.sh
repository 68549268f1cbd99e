#!/usr/bin/env bash
# Peak RSS growth of `anzu serve` under 100 concurrent password requests (docs/performance.md):
#   1. 100 concurrent `POST /auth/set-password` with made-up tokens;
#   2. 100 concurrent `POST /auth/register`, each with a new e-mail and phone (every one hashes a password).
# The per-address limit is raised so that the hashing path, not the 429, is what is measured.
#
# Usage: bench/auth_rss.sh [path to the anzu binary, default target/debug/anzu]
# BENCH_PORT (default 18181), BENCH_REQUESTS (default 100).
set -euo pipefail

BIN=${1:-target/debug/anzu}
PORT=${BENCH_PORT:-18181}
N=${BENCH_REQUESTS:-100}
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

export ANZU_DATABASE_URL="$WORK/anzu.db" ANZU_BIND="127.0.0.1:$PORT" ANZU_LOG=warn ANZU_MAIL_DIR="$WORK/outbox" \
  ANZU_ACCOUNT_REQUESTS_PER_MINUTE=1000000
"$BIN" serve >"$WORK/log" 2>&1 &
PID=$!
for _ in $(seq 1 500); do
  curl -fs "$BASE/readyz" >/dev/null 2>&1 && break
  sleep 0.02
done
"$BIN" admin create --email bench-admin@example.cn --password bench-password-1 >/dev/null

kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$PID/status"; }

# Runs `$N` copies of the request made by function $1 at once; prints the statuses and the RSS figures.
measure() {
  local name=$1
  sleep 1
  echo 5 >"/proc/$PID/clear_refs" # resets VmHWM (peak RSS) to the current RSS
  local before
  before=$(kib VmRSS)
  seq 1 "$N" | xargs -P "$N" -I{} bash -c "$name {}" >"$WORK/statuses"
  local peak after
  peak=$(kib VmHWM)
  after=$(kib VmRSS)
  printf '%-40s statuses: %s\n' "$name" "$(sort "$WORK/statuses" | uniq -c | tr -s ' ' | tr '\n' ' ')"
  printf '%-40s RSS before %.1f MB, peak %.1f MB (growth %.1f MB), after %.1f MB\n' "$name" \
    "$(echo "$before/1024" | bc -l)" "$(echo "$peak/1024" | bc -l)" "$(echo "($peak-$before)/1024" | bc -l)" \
    "$(echo "$after/1024" | bc -l)"
}

set_password() {
  curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
    -d "{\"token\":\"made-up-token-$1-$RANDOM$RANDOM\",\"password\":\"a-new-password-$1\"}" "$BASE/api/v1/auth/set-password"
}
register() {
  local n=$(( $1 + 10000 * (RANDOM % 1000) ))
  curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
    -d "{\"full_name\":\"Bench\",\"phone\":\"137$(printf '%08d' "$n")\",\"email\":\"bench$n@example.cn\",\"password\":\"bench-password-1\",\"village_id\":\"$VILLAGE\"}" \
    "$BASE/api/v1/auth/register"
}
export -f set_password register
export BASE

TOKEN=$(curl -s -H 'Content-Type: application/json' -d '{"login":"bench-admin@example.cn","password":"bench-password-1"}' \
  "$BASE/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
VILLAGE=$(curl -s -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
  -d '{"name":"Bench","code":"BENCH"}' "$BASE/api/v1/villages" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
export VILLAGE

measure set_password
measure register
