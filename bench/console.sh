#!/usr/bin/env bash
# The console's dashboard (an admin's start page: the whole town's summary, rendered) at the bench's size:
# a fresh SQLite database seeded with examples/seed.rs (10,000 properties, 50,000 units, 200,000 tenancies by
# default), `anzu serve`, a sign-in through the console's form with curl, then wrk on GET /console/ with the session
# cookie, with one connection and with 16. Prints requests/s, p50 and p99 (docs/performance.md).
#
#   bench/console.sh
#
# Knobs: BENCH_PROPERTIES=10000 BENCH_UNITS_PER_PROPERTY=5 BENCH_TENANCIES=200000 BENCH_DURATION=10s BENCH_PORT=18081
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
properties="${BENCH_PROPERTIES:-10000}"
units_per_property="${BENCH_UNITS_PER_PROPERTY:-5}"
tenancies="${BENCH_TENANCIES:-200000}"
duration="${BENCH_DURATION:-10s}"
port="${BENCH_PORT:-18081}"
password="bench-password-1"
base_url="http://127.0.0.1:$port"
log() { printf '[console-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null

work_dir="$(mktemp -d -t anzu-console-bench.XXXXXX)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work_dir"
}
trap cleanup EXIT

log "building release (anzu and examples/seed)"
cargo build --release --bin anzu --example seed >&2
export ANZU_DATABASE_URL="$work_dir/anzu.db" ANZU_DATA_DIR="$work_dir" ANZU_BIND="127.0.0.1:$port" ANZU_LOG=warn
export ANZU_JWT_SECRET="bench-jwt-secret-bench-jwt-secret-0123456789"
export ANZU_DATA_KEY="YmVuY2gtZGF0YS1rZXktMzItYnl0ZXMtZXhhY3RseSE="
export ANZU_MAIL_DIR="$work_dir/outbox"
log "seeding $properties properties x $units_per_property units, $tenancies tenancies"
"$target_dir/release/examples/seed" --properties "$properties" --units-per-property "$units_per_property" \
  --tenancies "$tenancies" --password "$password" --out "$work_dir/seeded.env" >&2
source "$work_dir/seeded.env"
"$target_dir/release/anzu" serve >"$work_dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null --max-time 1 "$base_url/readyz" && break; sleep 0.1; done
sleep 3 # the start-up sweep and notice delivery

jar="$work_dir/cookies"
form=$(curl -sf -c "$jar" "$base_url/console/login")
csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$form" | head -n 1)
status=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" \
  --data-urlencode "login=$ADMIN_EMAIL" --data-urlencode "password=$password" --data-urlencode "csrf=$csrf" \
  "$base_url/console/login")
[[ "$status" == 303 ]] || { echo "console sign-in answered $status" >&2; exit 1; }
session=$(awk '$6 == "anzu_console" { print $7 }' "$jar")
page=$(curl -sf -H "Cookie: anzu_console=$session" "$base_url/console/")
grep -q 'id="n-properties">'"$properties"'<' <<<"$page" || { echo "the dashboard does not show $properties properties" >&2; exit 1; }

echo "console dashboard (admin: the whole town), $(git rev-parse --short HEAD), $properties properties, $tenancies tenancies"
for connections in 1 16; do
  result=$(wrk -t1 -c"$connections" -d"$duration" --latency -H "Cookie: anzu_console=$session" "$base_url/console/")
  rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$result")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$result")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$result")
  non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$result")
  printf '%2d connection(s): %8s req/s  p50 %8s  p99 %8s  non-2xx %s\n' "$connections" "$rps" "$p50" "$p99" "${non2xx:-0}"
done
