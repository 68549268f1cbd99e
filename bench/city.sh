#!/usr/bin/env bash
# The town-scale benchmark (issue 17; docs/performance.md, "A town"):
#
#   bench/city.sh [postgres|sqlite]        (default postgres)
#
# Seeds a fresh database with a town (examples/seed.rs: 100 villages, 10,000 landlords, 100,000 properties,
# 500,000 units, 2,000,000 tenancies of which 1,000,000 active, seven properties in ten rated; the first village,
# BENCH, holds a tenth of it), then measures and prints:
#   - the seed's time and the database's size (whole, and the tenancies with their indexes per 100,000 rows);
#   - one compliance sweep over the town (bench_jobs sweep; it queues the rating reminders and overcrowding
#     notices of the whole town);
#   - the query plans (PostgreSQL: auto_explain of one request of each scenario, written to plans.txt in
#     BENCH_KEEP or shown at the end);
#   - with `anzu serve` running: the first page of GET /properties as a landlord (100 properties), the auditor of
#     BENCH (10,000) and an admin (all), each without a filter and with `status`, `stars` and `q` (wrk, p50/p99);
#     the summary of BENCH (auditor) and of the whole town (admin), one client at a time;
#   - the ledger export of BENCH (50,000 units): rows/s and the server's peak RSS growth, twice.
# Everything talks to 127.0.0.1 only; every load run is bounded by its duration and every wait loop by a count.
#
# Knobs: CITY_VILLAGES=100 CITY_LANDLORDS_PER_VILLAGE=100 CITY_PROPERTIES=100000 CITY_UNITS_PER_PROPERTY=5
#        CITY_TENANCIES=2000000 CITY_ENDED_EVERY=2 BENCH_DURATION=10s BENCH_WARMUP=2s BENCH_CONNECTIONS=32
#        BENCH_THREADS=2 BENCH_PORT=18082 BENCH_PG_URL=postgres://postgres@127.0.0.1:5432 BENCH_RESULTS (a file the
#        summary is appended to) BENCH_KEEP (a folder to keep plans.txt and the server log in)
set -euo pipefail

backend="${1:-postgres}"
[[ "$backend" == sqlite || "$backend" == postgres ]] || { echo "usage: $0 [postgres|sqlite]" >&2; exit 2; }
cd "$(dirname "$0")/.."
repo="$PWD"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
villages="${CITY_VILLAGES:-100}"
landlords_per_village="${CITY_LANDLORDS_PER_VILLAGE:-100}"
properties="${CITY_PROPERTIES:-100000}"
units_per_property="${CITY_UNITS_PER_PROPERTY:-5}"
tenancies="${CITY_TENANCIES:-2000000}"
ended_every="${CITY_ENDED_EVERY:-2}"
duration="${BENCH_DURATION:-10s}"
warmup="${BENCH_WARMUP:-2s}"
connections="${BENCH_CONNECTIONS:-32}"
threads="${BENCH_THREADS:-2}"
port="${BENCH_PORT:-18082}"
pg_server_url="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
password="bench-password-1"
base_url="http://127.0.0.1:$port"
log() { printf '[city %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
for tool in curl cargo python3; do command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }; done
[[ "$backend" == sqlite ]] || command -v psql >/dev/null || { echo "psql is needed" >&2; exit 1; }

work_dir="$(mktemp -d -t anzu-city.XXXXXX)"
server_pid=""
pg_db=""
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
cleanup() {
  stop_server
  if [[ -n "${BENCH_KEEP:-}" ]]; then
    mkdir -p "$BENCH_KEEP" && cp "$work_dir"/*.txt "$work_dir"/*.log "$BENCH_KEEP"/ 2>/dev/null || true
  fi
  if [[ -n "$pg_db" ]]; then
    psql "$pg_server_url/postgres" -qAtc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 \
      || log "could not drop database $pg_db; drop it by hand"
  fi
  rm -rf "$work_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building release (anzu, examples/seed, examples/bench_jobs)"
cargo build --release --bin anzu --example seed --example bench_jobs >&2
anzu_bin="$target_dir/release/anzu"

if [[ "$backend" == sqlite ]]; then
  database_url="$work_dir/anzu-city.db"
else
  pg_db="anzu_city_$(date +%Y%m%d%H%M%S)"
  psql "$pg_server_url/postgres" -qAtc "CREATE DATABASE $pg_db" >/dev/null
  database_url="$pg_server_url/$pg_db"
fi
export ANZU_DATABASE_URL="$database_url" ANZU_DATA_DIR="$work_dir" ANZU_MAIL_DIR="$work_dir/outbox"
export ANZU_BIND="127.0.0.1:$port" ANZU_LOG=warn ANZU_ACCESS_TOKEN_TTL_SECS=3600
export ANZU_JWT_SECRET="bench-jwt-secret-bench-jwt-secret-0123456789"
export ANZU_DATA_KEY="YmVuY2gtZGF0YS1rZXktMzItYnl0ZXMtZXhhY3RseSE="

# --- seed ----------------------------------------------------------------------------------------------------
log "seeding $villages villages, $properties properties x $units_per_property units, $tenancies tenancies"
seed_started=$SECONDS
"$target_dir/release/examples/seed" --villages "$villages" --landlords-per-village "$landlords_per_village" \
  --properties "$properties" --units-per-property "$units_per_property" --tenancies "$tenancies" \
  --ended-every "$ended_every" --rated --password "$password" --out "$work_dir/seeded.env" --sample-units 100 >&2
seed_secs=$((SECONDS - seed_started))
# shellcheck source=/dev/null
source "$work_dir/seeded.env"

mb() { awk -v b="$1" 'BEGIN {printf "%.0f MB", b / 1048576}'; }
if [[ "$backend" == postgres ]]; then
  sql() { psql "$database_url" -qAtc "$1"; }
  db_bytes=$(sql "SELECT pg_database_size(current_database())")
  tenancy_bytes=$(sql "SELECT pg_total_relation_size('tenancies')")
  tenancy_heap=$(sql "SELECT pg_relation_size('tenancies')")
else
  db_bytes=$(stat -c %s "$database_url")
  tenancy_bytes=""
fi
size_line="database $(mb "$db_bytes")"
if [[ -n "$tenancy_bytes" ]]; then
  size_line="$size_line; tenancies with their indexes $(mb "$tenancy_bytes") ($(mb "$tenancy_heap") rows, the rest indexes), $(mb $((tenancy_bytes * 100000 / tenancies))) per 100,000 tenancies"
fi
log "$size_line"

# --- the sweep -----------------------------------------------------------------------------------------------
log "one compliance sweep over the town"
sweep_line=$("$target_dir/release/examples/bench_jobs" sweep 2>&1 | tail -1)
log "$sweep_line"

# --- serve ---------------------------------------------------------------------------------------------------
start_server() {
  if curl -s -o /dev/null --max-time 1 "$base_url/healthz"; then
    echo "something already answers on $base_url; stop it or set BENCH_PORT" >&2
    exit 1
  fi
  "$anzu_bin" serve >>"$work_dir/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null --max-time 1 "$base_url/readyz" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work_dir/server.log" >&2; echo "the server stopped" >&2; exit 1; }
    sleep 0.2
  done
  # The start-up work (the day's sweep, the notice worker delivering what the sweep queued): wait until the
  # server's CPU stays under 5% of a core for 3 s in a row (at most 600 s).
  local started=$SECONDS quiet=0 previous current
  previous=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  while (( quiet < 3 && SECONDS - started < 600 )); do
    sleep 1
    current=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
    if (( (current - previous) * 100 < 5 * $(getconf CLK_TCK) )); then quiet=$((quiet + 1)); else quiet=0; fi
    previous=$current
  done
  log "server ready and settled after $((SECONDS - started)) s"
}
login() {
  curl -sf --max-time 10 -H 'Content-Type: application/json' -d "{\"login\":\"$1\",\"password\":\"$password\"}" \
    "$base_url/api/v1/auth/login" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}

# A number that names few properties: the list with `q` reads every property in the caller's scope.
query="7777"
list="$base_url/api/v1/properties"
scenarios=(
  "landlord|$list" "landlord|$list?status=rated" "landlord|$list?stars=3" "landlord|$list?q=$query"
  "auditor|$list" "auditor|$list?status=rated" "auditor|$list?stars=3" "auditor|$list?q=$query"
  "admin|$list" "admin|$list?status=rated" "admin|$list?stars=3" "admin|$list?q=$query"
  "admin|$list?village_id=$VILLAGE_ID&status=expired"
)
token_of() { case $1 in landlord) echo "$landlord_token" ;; auditor) echo "$auditor_token" ;; admin) echo "$admin_token" ;; esac; }
check() {
  local status
  status=$(curl -s -o "$work_dir/check.json" -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $(token_of "$1")" "$2")
  [[ "$status" == 2* ]] || { echo "check failed ($status): $1 $2" >&2; cat "$work_dir/check.json" >&2; exit 1; }
}

# --- query plans (PostgreSQL): auto_explain for one request of each scenario -------------------------------
if [[ "$backend" == postgres ]]; then
  pg_log=$(sql "SELECT pg_current_logfile()" 2>/dev/null || true)
  [[ -n "$pg_log" ]] || pg_log=$(ls -t /var/log/postgresql/postgresql-*-main.log 2>/dev/null | head -1)
  if [[ -n "$pg_log" && -r "$pg_log" ]]; then
    sql "ALTER DATABASE $pg_db SET session_preload_libraries = 'auto_explain'"
    sql "ALTER DATABASE $pg_db SET auto_explain.log_min_duration = 0"
    sql "ALTER DATABASE $pg_db SET auto_explain.log_analyze = on"
    sql "ALTER DATABASE $pg_db SET auto_explain.log_timing = on"
    log_offset=$(stat -c %s "$pg_log")
    start_server
    landlord_token=$(login "$LANDLORD_EMAIL") auditor_token=$(login "$AUDITOR_EMAIL") admin_token=$(login "$ADMIN_EMAIL")
    for scenario in "${scenarios[@]}"; do
      IFS='|' read -r role url <<<"$scenario"
      echo "=== $role $url" >>"$work_dir/plans.txt"
      before=$(stat -c %s "$pg_log")
      check "$role" "$url"
      sleep 0.3
      tail -c +"$((before + 1))" "$pg_log" | grep -v 'auto_explain.*FROM "users"' >>"$work_dir/plans.txt" || true
    done
    for url in "$base_url/api/v1/reports/summary?village_id=$VILLAGE_ID" "$base_url/api/v1/reports/summary"; do
      echo "=== admin $url" >>"$work_dir/plans.txt"
      before=$(stat -c %s "$pg_log")
      check admin "$url"
      sleep 0.3
      tail -c +"$((before + 1))" "$pg_log" >>"$work_dir/plans.txt"
    done
    stop_server
    sql "ALTER DATABASE $pg_db RESET ALL"
    log "query plans in plans.txt ($(wc -l <"$work_dir/plans.txt") lines, from $pg_log after byte $log_offset)"
  else
    log "no readable PostgreSQL log ($pg_log): no query plans"
  fi
fi

# --- measure -------------------------------------------------------------------------------------------------
start_server
landlord_token=$(login "$LANDLORD_EMAIL") auditor_token=$(login "$AUDITOR_EMAIL") admin_token=$(login "$ADMIN_EMAIL")
[[ -n "$landlord_token" && -n "$auditor_token" && -n "$admin_token" ]] || { echo "a bench login failed" >&2; exit 1; }
results=()
# measure NAME ROLE URL CONNECTIONS: a warm-up, then the measured run; appends a row to `results`.
measure() {
  local name=$1 role=$2 url=$3 conns=$4 out="$work_dir/wrk-${#results[@]}.txt" t=$threads
  (( conns < t )) && t=$conns
  check "$role" "$url"
  log "$name"
  wrk -t"$t" -c"$conns" -d"$warmup" -H "Authorization: Bearer $(token_of "$role")" "$url" >/dev/null
  wrk -t"$t" -c"$conns" -d"$duration" --latency -H "Authorization: Bearer $(token_of "$role")" "$url" >"$out"
  results+=("$name|$(awk '/^Requests\/sec:/{print $2}' "$out")|$(awk '$1 == "50%" {print $2}' "$out")|$(awk '$1 == "99%" {print $2}' "$out")|$(awk -F': *' '/Non-2xx/{print $2}' "$out")")
}
for scenario in "${scenarios[@]}"; do
  IFS='|' read -r role url <<<"$scenario"
  measure "GET ${url#"$base_url"/api/v1} ($role)" "$role" "$url" "$connections"
done
measure "summary of BENCH (1 client)" auditor "$base_url/api/v1/reports/summary?village_id=$VILLAGE_ID" 1
measure "summary of the town (admin, 1 client)" admin "$base_url/api/v1/reports/summary" 1

# The ledger export of BENCH, twice: time and the server's peak RSS growth (VmHWM reset before each).
exports=()
for attempt in 1 2; do
  echo 5 >"/proc/$server_pid/clear_refs"
  rss_before=$(awk '/^VmRSS/{print $2}' "/proc/$server_pid/status")
  secs=$(curl -sf -o "$work_dir/ledger.csv" -w '%{time_total}' -H "Authorization: Bearer $admin_token" \
    "$base_url/api/v1/reports/ledger.csv?village_id=$VILLAGE_ID")
  peak=$(awk '/^VmHWM/{print $2}' "/proc/$server_pid/status")
  rows=$(($(wc -l <"$work_dir/ledger.csv") - 1))
  exports+=("$(awk -v r="$rows" -v s="$secs" -v b="$rss_before" -v a="$peak" -v n="$attempt" \
    'BEGIN {printf "ledger export of BENCH (%d): %d rows in %.2f s = %.0f rows/s; peak RSS growth %.1f MB (from %.1f MB)", n, r, s, r / s, (a - b) / 1024, b / 1024}')")
done

# --- summary -------------------------------------------------------------------------------------------------
to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.1f", n }'
}
{
  echo
  echo "anzu town benchmark: backend $backend, $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%FT%TZ)"
  echo "machine: $(nproc) cores, $(free -h | awk '/^Mem:/{print $2}') memory; wrk -t$threads -c$connections -d$duration"
  echo "seeded: $villages villages, $((villages * landlords_per_village)) landlords, $properties properties, $((properties * units_per_property)) units, $tenancies tenancies (one in $ended_every ended) in $seed_secs s"
  echo "size: $size_line"
  echo "sweep: $sweep_line"
  printf '%-58s %9s %9s %9s %8s\n' scenario 'req/s' 'p50 ms' 'p99 ms' 'non-2xx'
  for row in "${results[@]}"; do
    IFS='|' read -r name rps p50 p99 non2xx <<<"$row"
    printf '%-58s %9s %9s %9s %8s\n' "$name" "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" "${non2xx:-0}"
  done
  printf '%s\n' "${exports[@]}"
} >"$work_dir/summary.txt"
cat "$work_dir/summary.txt"
[[ -z "${BENCH_RESULTS:-}" ]] || cat "$work_dir/summary.txt" >>"$BENCH_RESULTS"
