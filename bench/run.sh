#!/usr/bin/env bash
# Load test of anzu on one backend, from a fresh database to a summary table (docs/performance.md).
#
#   bench/run.sh sqlite|postgres
#
# Steps: build release (`anzu` and `examples/seed.rs`); make a fresh database (SQLite: a file in a temp folder;
# PostgreSQL: database anzu_bench_<timestamp> on $BENCH_PG_URL, dropped at the end); seed it; start `anzu serve` on
# 127.0.0.1:$BENCH_PORT and wait until its start-up work (the compliance sweep, notice delivery) is done; log in
# as the seeded landlord and admin; on PostgreSQL, measure the database's own point-read limit with
# `pgbench -S -M prepared` (select-only, 32 clients, 2 threads, the same duration, in a database of its own);
# run wrk against each scenario (a short warm-up, then the measured run); print requests/s, p50 and p99 per scenario with the CPU the server and the whole machine
# used; stop the server and clean up.
#
# Every request goes to 127.0.0.1 only, every wrk run is bounded by its duration, and every wait loop by a count.
# A run is valid only when no scenario had a non-2xx response or a socket error; otherwise the script says so and
# exits 1 after the summary.
#
# Knobs (environment, with defaults):
#   BENCH_PROPERTIES=10000 BENCH_UNITS_PER_PROPERTY=5 BENCH_TENANCIES=200000   seeded sizes
#   BENCH_DURATION=15s BENCH_WARMUP=3s BENCH_THREADS=2 BENCH_CONNECTIONS=32     wrk
#   BENCH_PORT=18080  BENCH_PG_URL=postgres://postgres@127.0.0.1:5432           server, PostgreSQL server
#   BENCH_BUILD_JOBS (cargo -j; unset: cargo's default)  CARGO_TARGET_DIR (as cargo reads it)
#   BENCH_PGBENCH_SCALE=10 (postgres only: pgbench's scale, 100,000 accounts each)
#   BENCH_RESULTS (a file to which the summary is appended as well)
set -euo pipefail

backend="${1:-}"
if [[ "$backend" != sqlite && "$backend" != postgres ]]; then
  echo "usage: $0 sqlite|postgres" >&2
  exit 2
fi

cd "$(dirname "$0")/.."
repo="$PWD"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
properties="${BENCH_PROPERTIES:-10000}"
units_per_property="${BENCH_UNITS_PER_PROPERTY:-5}"
tenancies="${BENCH_TENANCIES:-200000}"
duration="${BENCH_DURATION:-15s}"
warmup="${BENCH_WARMUP:-3s}"
threads="${BENCH_THREADS:-2}"
connections="${BENCH_CONNECTIONS:-32}"
port="${BENCH_PORT:-18080}"
pg_server_url="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
password="bench-password-1"
base_url="http://127.0.0.1:$port"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- tools -------------------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  log "installing wrk (Debian package)"
  apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
for tool in curl cargo; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done
if [[ "$backend" == postgres ]]; then
  for tool in psql pgbench; do
    command -v "$tool" >/dev/null || { echo "$tool is needed for the postgres run" >&2; exit 1; }
  done
fi

# --- clean-up, whatever happens ------------------------------------------------------------------------------
work_dir="$(mktemp -d -t anzu-bench.XXXXXX)"
server_pid=""
pg_db=""
pgbench_db=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if [[ -n "$pg_db" ]]; then
    psql "$pg_server_url/postgres" -qAtc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 \
      || log "could not drop database $pg_db; drop it by hand"
  fi
  if [[ -n "$pgbench_db" ]]; then
    psql "$pg_server_url/postgres" -qAtc "DROP DATABASE IF EXISTS $pgbench_db WITH (FORCE)" >/dev/null 2>&1 \
      || log "could not drop database $pgbench_db; drop it by hand"
  fi
  rm -rf "$work_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- (a) build -----------------------------------------------------------------------------------------------
log "building release (anzu and examples/seed)"
cargo build --release ${BENCH_BUILD_JOBS:+-j "$BENCH_BUILD_JOBS"} --bin anzu --example seed >&2
anzu_bin="$target_dir/release/anzu"
seed_bin="$target_dir/release/examples/seed"

# --- (b) a fresh database ------------------------------------------------------------------------------------
if [[ "$backend" == sqlite ]]; then
  database_url="$work_dir/anzu-bench.db"
else
  pg_db="anzu_bench_$(date +%Y%m%d%H%M%S)"
  psql "$pg_server_url/postgres" -qAtc "CREATE DATABASE $pg_db" >/dev/null
  database_url="$pg_server_url/$pg_db"
fi
log "database: $database_url"

# The same settings for the seed and the server: the seed encrypts identity numbers with the data key.
export ANZU_DATABASE_URL="$database_url"
export ANZU_DATA_DIR="$work_dir"
export ANZU_BIND="127.0.0.1:$port"
export ANZU_JWT_SECRET="bench-jwt-secret-bench-jwt-secret-0123456789"
export ANZU_DATA_KEY="YmVuY2gtZGF0YS1rZXktMzItYnl0ZXMtZXhhY3RseSE="
export ANZU_LOG=warn
export ANZU_MAIL_DIR="$work_dir/outbox"
# Long enough that no token expires during a run.
export ANZU_ACCESS_TOKEN_TTL_SECS=3600

# --- (c) seed ------------------------------------------------------------------------------------------------
log "seeding $properties properties x $units_per_property units, $tenancies tenancies"
seed_started=$SECONDS
"$seed_bin" --properties "$properties" --units-per-property "$units_per_property" --tenancies "$tenancies" \
  --password "$password" --out "$work_dir/seeded.env" --sample-units $((properties * units_per_property)) >&2
seed_secs=$((SECONDS - seed_started))
# shellcheck source=/dev/null
source "$work_dir/seeded.env"

# --- (d) serve -----------------------------------------------------------------------------------------------
if curl -s -o /dev/null --max-time 1 "$base_url/healthz"; then
  echo "something already answers on $base_url; stop it or set BENCH_PORT" >&2
  exit 1
fi
log "starting anzu serve on $base_url"
"$anzu_bin" serve >"$work_dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -sf -o /dev/null --max-time 1 "$base_url/readyz" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work_dir/server.log" >&2; echo "the server stopped" >&2; exit 1; }
  sleep 0.2
done
curl -sf -o /dev/null --max-time 1 "$base_url/readyz" || { echo "the server did not become ready" >&2; exit 1; }
# At start the server runs the compliance sweep and its notice worker delivers what the sweep queued; measure
# only once that is done: the server's CPU under 5% of a core for 3 s in a row (at most 600 s).
settle_started=$SECONDS
quiet=0
previous=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
while (( quiet < 3 && SECONDS - settle_started < 600 )); do
  sleep 1
  current=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  if (( (current - previous) * 100 < 5 * $(getconf CLK_TCK) )); then quiet=$((quiet + 1)); else quiet=0; fi
  previous=$current
done
settle_secs=$((SECONDS - settle_started))
log "server settled after $settle_secs s (start-up sweep and notice delivery)"

# --- (e) log in ----------------------------------------------------------------------------------------------
login() {
  local answer
  answer=$(curl -sf --max-time 10 -H 'Content-Type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"$password\"}" "$base_url/api/v1/auth/login") \
    || { echo "login as $1 failed" >&2; exit 1; }
  sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' <<<"$answer"
}
landlord_token=$(login "$LANDLORD_EMAIL")
admin_token=$(login "$ADMIN_EMAIL")
[[ -n "$landlord_token" && -n "$admin_token" ]] || { echo "no access token in the login answer" >&2; exit 1; }

# Each scenario must answer 2xx once before it is measured.
check() {
  local status
  status=$(curl -s -o "$work_dir/check.json" -w '%{http_code}' --max-time 10 "$@")
  [[ "$status" == 2* ]] || { echo "check failed ($status): $*" >&2; cat "$work_dir/check.json" >&2; exit 1; }
}
check "$base_url/healthz"
check -H "Authorization: Bearer $landlord_token" "$base_url/api/v1/properties/$PROPERTY_ID"
check -H "Authorization: Bearer $landlord_token" "$base_url/api/v1/properties?village_id=$VILLAGE_ID"
check -H "Authorization: Bearer $admin_token" "$base_url/api/v1/properties?village_id=$VILLAGE_ID"

# --- (f) measure ---------------------------------------------------------------------------------------------
# The local date of the server (China Standard Time), so that the move-in is never in its future.
today=$(date -u -d '+8 hours' +%F)
clock_ticks=$(getconf CLK_TCK)

cpu_of_server() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
# CPU of this shell's finished children: during a measured run, that is wrk alone.
cpu_of_wrk() { awk '{print $16 + $17}' "/proc/$$/stat"; }
cpu_of_machine() { awk '/^cpu /{busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6}' /proc/stat; }

results=()
# run NAME URL [wrk options...]: a warm-up, then the measured run; appends a row to `results`.
run() {
  local name=$1 url=$2
  shift 2
  local out="$work_dir/wrk-${#results[@]}.txt"
  log "$name: warm-up $warmup"
  wrk -t"$threads" -c"$connections" -d"$warmup" "$@" "$url" "${warmup_args[@]}" >/dev/null
  log "$name: measuring $duration"
  local server_before machine_before machine_after server_after wrk_before wrk_after
  wrk_before=$(cpu_of_wrk)
  server_before=$(cpu_of_server)
  machine_before=$(cpu_of_machine)
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@" "$url" "${measure_args[@]}" >"$out"
  server_after=$(cpu_of_server)
  machine_after=$(cpu_of_machine)
  wrk_after=$(cpu_of_wrk)
  cat "$out" >&2
  local rps p50 p99 non2xx sockerr server_cpu wrk_cpu machine_cpu
  rps=$(awk '/^Requests\/sec:/{print $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  non2xx=$(awk -F': *' '/Non-2xx or 3xx responses/{print $2}' "$out")
  sockerr=$(awk '/Socket errors/{gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
  read -r busy_before total_before <<<"$machine_before"
  read -r busy_after total_after <<<"$machine_after"
  # Server CPU in cores (100% = one core) over the measured run; machine CPU as a share of all cores.
  server_cpu=$(awk -v a="$server_before" -v b="$server_after" -v t="$clock_ticks" -v d="${duration%s}" \
    'BEGIN {printf "%.0f%%", (b - a) / t / d * 100}')
  wrk_cpu=$(awk -v a="$wrk_before" -v b="$wrk_after" -v t="$clock_ticks" -v d="${duration%s}" \
    'BEGIN {printf "%.0f%%", (b - a) / t / d * 100}')
  machine_cpu=$(awk -v a="$busy_before" -v b="$busy_after" -v ta="$total_before" -v tb="$total_after" \
    'BEGIN {printf "%.0f%%", (b - a) / (tb - ta) * 100}')
  results+=("$name|$rps|$p50|$p99|${non2xx:-0}|${sockerr:-0}|$server_cpu|$wrk_cpu|$machine_cpu")
}

warmup_args=() measure_args=()
run "GET /healthz" "$base_url/healthz"
run "GET /properties/{id}" "$base_url/api/v1/properties/$PROPERTY_ID" \
  -H "Authorization: Bearer $landlord_token"
# PostgreSQL's own limit for a point read on this machine, measured in the same run while the server idles.
pgbench_tps=""
if [[ "$backend" == postgres ]]; then
  pgbench_db="${pg_db}_pgbench"
  psql "$pg_server_url/postgres" -qAtc "CREATE DATABASE $pgbench_db" >/dev/null
  log "pgbench: initialising scale ${BENCH_PGBENCH_SCALE:-10}"
  pgbench -i -q -s "${BENCH_PGBENCH_SCALE:-10}" "$pg_server_url/$pgbench_db" >"$work_dir/pgbench-init.txt" 2>&1
  log "pgbench -S -M prepared: warm-up $warmup, then $duration"
  pgbench -S -M prepared -c "$connections" -j "$threads" -T "${warmup%s}" "$pg_server_url/$pgbench_db" >/dev/null 2>&1
  pgbench -S -M prepared -c "$connections" -j "$threads" -T "${duration%s}" "$pg_server_url/$pgbench_db" \
    >"$work_dir/pgbench.txt" 2>&1
  cat "$work_dir/pgbench.txt" >&2
  pgbench_tps=$(awk '/^tps = / {printf "%.0f", $3}' "$work_dir/pgbench.txt")
  psql "$pg_server_url/postgres" -qAtc "DROP DATABASE IF EXISTS $pgbench_db WITH (FORCE)" >/dev/null
  pgbench_db=""
fi
run "GET /properties?village_id (landlord)" "$base_url/api/v1/properties?village_id=$VILLAGE_ID" \
  -H "Authorization: Bearer $landlord_token"
run "GET /properties?village_id (admin)" "$base_url/api/v1/properties?village_id=$VILLAGE_ID" \
  -H "Authorization: Bearer $admin_token"
# The warm-up declares with other resident ID numbers (RUN 0) than the measured run (RUN 1).
warmup_args=(-- "$landlord_token" "$UNIT_IDS_FILE" "$today" 0)
measure_args=(-- "$landlord_token" "$UNIT_IDS_FILE" "$today" 1)
run "POST /units/{id}/tenancies" "$base_url" -s "$repo/bench/declare.lua"
declared=$(grep '^declare.lua:' "$work_dir/wrk-$((${#results[@]} - 1)).txt" || echo "declare.lua: no tally")

# --- (g) summary ---------------------------------------------------------------------------------------------
to_ms() { # wrk latency such as 812.00us, 1.23ms, 1.05s -> milliseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.2f", n }'
}
summary="$work_dir/summary.txt"
valid=1
for row in "${results[@]}"; do
  IFS='|' read -r _ _ _ _ non2xx sockerr _ _ _ <<<"$row"
  [[ "$non2xx" == 0 && "$sockerr" == 0 ]] || valid=0
done
{
  echo
  echo "anzu load test: backend $backend, $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%FT%TZ)"
  echo "machine: $(nproc) cores, $(free -h | awk '/^Mem:/{print $2}') memory; wrk -t$threads -c$connections -d$duration"
  echo "seeded: $properties properties, $((properties * units_per_property)) units, $tenancies tenancies in $seed_secs s"
  echo "server start-up work (sweep, notices) took $settle_secs s before the measurements"
  printf '%-38s %9s %8s %8s %7s %7s %7s %7s %7s\n' scenario 'req/s' 'p50 ms' 'p99 ms' 'non-2xx' 'sockerr' \
    'srv CPU' 'wrk CPU' 'all CPU'
  for row in "${results[@]}"; do
    IFS='|' read -r name rps p50 p99 non2xx sockerr server_cpu wrk_cpu machine_cpu <<<"$row"
    printf '%-38s %9s %8s %8s %7s %7s %7s %7s %7s\n' "$name" "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" \
      "$non2xx" "$sockerr" "$server_cpu" "$wrk_cpu" "$machine_cpu"
  done
  echo "$declared"
  hello=$(cut -d'|' -f2 <<<"${results[0]}")
  get=$(cut -d'|' -f2 <<<"${results[1]}")
  awk -v g="$get" -v h="$hello" 'BEGIN {printf "GET /properties/{id} / healthz ceiling: %.1f%%\n", g / h * 100}'
  if [[ -n "$pgbench_tps" ]]; then
    awk -v g="$get" -v p="$pgbench_tps" -v c="$connections" -v j="$threads" \
      'BEGIN {printf "pgbench -S -M prepared (-c%s -j%s): %s tps; GET /properties/{id} / pgbench: %.1f%%\n", c, j, p, g / p * 100}'
  fi
  echo "(srv CPU: the anzu process, wrk CPU: wrk, each 100% = one core; all CPU: the whole machine incl. PostgreSQL,"
  echo " $(nproc) cores = 100%)"
  if [[ $valid == 1 ]]; then echo "valid run: no non-2xx responses, no socket errors"; else echo "INVALID RUN: see non-2xx / sockerr"; fi
} >"$summary"
cat "$summary"
[[ -z "${BENCH_RESULTS:-}" ]] || cat "$summary" >>"$BENCH_RESULTS"

# --- (h) stop and clean up (the EXIT trap) -------------------------------------------------------------------
if grep -qiE 'error|panic' "$work_dir/server.log"; then
  log "the server logged errors:"
  grep -iE 'error|panic' "$work_dir/server.log" | tail -n 20 >&2
fi
[[ $valid == 1 ]]
