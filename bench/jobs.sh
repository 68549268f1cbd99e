#!/usr/bin/env bash
# The benchmarks of the safety, notices and reports issues, on one backend (docs/performance.md):
#
#   bench/jobs.sh sqlite|postgres
#
# Seeds a village (examples/seed.rs: 10,000 properties, 50,000 units, 200,000 tenancies by default), then:
#   - the compliance sweep over it (bench_jobs sweep), and again on a second database seeded at half the size,
#     to see how its time grows with the data;
#   - with `anzu serve` running: wrk on GET /healthz (the ceiling), the public rating, POST inspections with 30
#     results rotating over apartments (inspect.lua), and the village summary;
#   - the ledger export of every unit (time, rows/s, and the server's peak RSS growth while exporting);
#   - an import of 10,000 ledger rows into another village;
#   - delivery of 10,000 queued notices to a local SMTP server (aiosmtpd's Sink, over TCP) with the pooled
#     transport (bench_jobs notices).
# Everything talks to 127.0.0.1 only; every load run is bounded by its duration and every wait loop by a count.
#
# Knobs: BENCH_PROPERTIES=10000 BENCH_UNITS_PER_PROPERTY=5 BENCH_TENANCIES=200000 BENCH_DURATION=10s
#        BENCH_CONNECTIONS=16 BENCH_PORT=18081 BENCH_SMTP_PORT=18025 BENCH_PG_URL=postgres://postgres@127.0.0.1:5432
set -euo pipefail

backend="${1:-}"
[[ "$backend" == sqlite || "$backend" == postgres ]] || { echo "usage: $0 sqlite|postgres" >&2; exit 2; }
cd "$(dirname "$0")/.."
repo="$PWD"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
properties="${BENCH_PROPERTIES:-10000}"
units_per_property="${BENCH_UNITS_PER_PROPERTY:-5}"
tenancies="${BENCH_TENANCIES:-200000}"
duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-16}"
port="${BENCH_PORT:-18081}"
smtp_port="${BENCH_SMTP_PORT:-18025}"
pg_server_url="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
password="bench-password-1"
base_url="http://127.0.0.1:$port"
log() { printf '[jobs %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet aiosmtpd

work_dir="$(mktemp -d -t anzu-jobs.XXXXXX)"
pids=()
pg_dbs=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for db in "${pg_dbs[@]}"; do psql "$pg_server_url/postgres" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
  rm -rf "$work_dir"
}
trap cleanup EXIT

log "building release (anzu, examples/seed, examples/bench_jobs)"
cargo build --release --bin anzu --example seed --example bench_jobs >&2
anzu_bin="$target_dir/release/anzu"
seed_bin="$target_dir/release/examples/seed"
jobs_bin="$target_dir/release/examples/bench_jobs"

export ANZU_JWT_SECRET="bench-jwt-secret-bench-jwt-secret-0123456789"
export ANZU_DATA_KEY="YmVuY2gtZGF0YS1rZXktMzItYnl0ZXMtZXhhY3RseSE="
export ANZU_LOG=warn ANZU_ACCESS_TOKEN_TTL_SECS=3600 ANZU_PUBLIC_RATE_PER_MINUTE=100000000
export ANZU_BIND="127.0.0.1:$port" ANZU_DATA_DIR="$work_dir" ANZU_MAIL_DIR="$work_dir/outbox"
# The server's own sweep and delivery would run during the measurements: push them out of the way.
export ANZU_NOTICE_POLL_SECS=3600

fresh_database() { # NAME -> prints the URL
  if [[ "$backend" == sqlite ]]; then
    echo "$work_dir/$1.db"
  else
    local db="anzu_jobs_$1_$(date +%H%M%S)"
    psql "$pg_server_url/postgres" -qAtc "CREATE DATABASE $db" >/dev/null
    pg_dbs+=("$db")
    echo "$pg_server_url/$db"
  fi
}

seed() { # URL PROPERTIES TENANCIES OUT
  ANZU_DATABASE_URL="$1" "$seed_bin" --properties "$2" --units-per-property "$units_per_property" \
    --tenancies "$3" --password "$password" --out "$4" >&2
}

# --- the sweep at two sizes ----------------------------------------------------------------------------------
half_url=$(fresh_database half)
seed "$half_url" $((properties / 2)) $((tenancies / 2)) "$work_dir/half.env"
sweep() { # URL -> prints the seconds; the report goes to the log
  local out
  out=$(ANZU_DATABASE_URL="$1" "$jobs_bin" sweep)
  echo "$out" >&2
  sed -n 's/^sweep took \([0-9.]*\) s.*/\1/p' <<<"$out"
}
sweep_half=$(sweep "$half_url")
full_url=$(fresh_database full)
seed "$full_url" "$properties" "$tenancies" "$work_dir/full.env"
sweep_full=$(sweep "$full_url")
sweep_again=$(sweep "$full_url")
# shellcheck source=/dev/null
source "$work_dir/full.env"

# --- the server ----------------------------------------------------------------------------------------------
export ANZU_DATABASE_URL="$full_url"
"$anzu_bin" serve >"$work_dir/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 1 100); do curl -sf -o /dev/null "$base_url/readyz" && break; sleep 0.2; done
login() {
  curl -sf -H 'Content-Type: application/json' -d "{\"login\":\"$1\",\"password\":\"$password\"}" \
    "$base_url/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
admin_token=$(login "$ADMIN_EMAIL")
curl -sf -o /dev/null -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
  -d "{\"full_name\":\"压测网格员\",\"email\":\"bench-inspector@example.cn\",\"phone\":\"13900000009\",\"password\":\"$password\",\"role\":\"inspector\",\"village_id\":\"$VILLAGE_ID\"}" \
  "$base_url/api/v1/users"
inspector_token=$(login bench-inspector@example.cn)

# Apartments to inspect, and the body: every applicable item (32 for a factory), three failing, OCC-01 among them since some seeded units are overcrowded.
python3 - "$base_url" "$admin_token" "$VILLAGE_ID" "$work_dir" <<'PY'
import json, sys, urllib.request
base, token, village, out = sys.argv[1:5]
def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    return json.load(urllib.request.urlopen(req))
ids, cursor = [], None
while len(ids) < 500:
    page = get(f"/api/v1/properties?village_id={village}&limit=200" + (f"&cursor={cursor}" if cursor else ""))
    ids += [p["id"] for p in page["items"] if p["kind"] == "factory"]
    cursor = page["next_cursor"]
    if not cursor:
        break
items = [i for i in get("/api/v1/checklist")["items"] if not i["applies_to"] or "factory" in i["applies_to"]]
import datetime
today = (datetime.datetime.utcnow() + datetime.timedelta(hours=8)).date().isoformat()
results = [{"item_code": i["code"], "outcome": "fail" if i["code"] in ("MGT-01", "GAS-04", "OCC-01") else "pass"} for i in items]
open(f"{out}/properties.txt", "w").write("\n".join(ids) + "\n")
open(f"{out}/inspection.json", "w").write(json.dumps({"inspected_on": today, "results": results}))
print(f"{len(ids)} factories, {len(results)} results per inspection", file=sys.stderr)
PY
cat >"$work_dir/inspect.lua" <<'LUA'
-- POST an inspection to a different property each time, from a list.
local ids, body, token, n = {}, nil, nil, 0
function init(args)
  token = args[1]
  for line in io.lines(args[2]) do ids[#ids + 1] = line end
  body = io.open(args[3]):read("*a")
end
function request()
  n = n + 1
  local path = "/api/v1/properties/" .. ids[(n % #ids) + 1] .. "/inspections"
  return wrk.format("POST", path, {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
LUA

results=()
measure() { # NAME URL [wrk options] [-- script arguments]
  local name=$1 url=$2 out="$work_dir/wrk-${#results[@]}.txt" options=() script_args=()
  shift 2
  while [[ $# -gt 0 && "$1" != "--" ]]; do options+=("$1"); shift; done
  [[ $# -gt 0 ]] && { shift; script_args=(-- "$@"); }
  local conns="${MEASURE_CONNECTIONS:-$connections}" threads=2
  [[ "$conns" -ge 2 ]] || threads=1
  wrk -t"$threads" -c"$conns" -d3s "${options[@]}" "$url" "${script_args[@]}" >/dev/null
  wrk -t"$threads" -c"$conns" -d"$duration" --latency "${options[@]}" "$url" "${script_args[@]}" >"$out"
  cat "$out" >&2
  results+=("$name|$(awk '/^Requests\/sec:/{print $2}' "$out")|$(awk '$1 == "50%" {print $2}' "$out")|$(awk '$1 == "99%" {print $2}' "$out")|$(awk -F': *' '/Non-2xx/{print $2}' "$out")")
}
measure "GET /healthz" "$base_url/healthz"
measure "GET /public/v1/ratings/{code}" "$base_url/public/v1/ratings/BENCH-000001"
measure "POST /properties/{id}/inspections" "$base_url" -s "$work_dir/inspect.lua" -- "$inspector_token" "$work_dir/properties.txt" "$work_dir/inspection.json"
# The summary: what one auditor waits (one client), then under the same load as the rest.
MEASURE_CONNECTIONS=1 measure "GET /reports/summary (1 client)" "$base_url/api/v1/reports/summary?village_id=$VILLAGE_ID" -H "Authorization: Bearer $admin_token"
measure "GET /reports/summary" "$base_url/api/v1/reports/summary?village_id=$VILLAGE_ID" -H "Authorization: Bearer $admin_token"

# --- the ledger export: time and peak memory growth -----------------------------------------------------------
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$server_pid/status"; }
echo 5 >"/proc/$server_pid/clear_refs" # resets the peak (VmHWM) to the current RSS
rss_before=$(rss_kb)
export_secs=$(curl -sf -o "$work_dir/ledger.csv" -w '%{time_total}' -H "Authorization: Bearer $admin_token" \
  "$base_url/api/v1/reports/ledger.csv?village_id=$VILLAGE_ID")
peak_after=$(awk '/^VmHWM/{print $2}' "/proc/$server_pid/status")
export_rows=$(($(wc -l <"$work_dir/ledger.csv") - 1))

# --- an import of 10,000 rows into another village ---------------------------------------------------------------
village=$(curl -sf -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
  -d '{"name":"导入村","code":"IMPORT"}' "$base_url/api/v1/villages" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
python3 - "$work_dir/ledger.csv" "$work_dir/import.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig")))
header, body = rows[0], rows[1:10001]
col = {h.split("(")[-1].rstrip(")"): i for i, h in enumerate(header)}
with open(sys.argv[2], "w", encoding="utf-8-sig", newline="") as f:
    w = csv.writer(f)
    w.writerow(header)
    for n, r in enumerate(body):
        r[col["registration_code"]] = ""  # new codes in the new village
        r[col["grid"]] = ""
        owner = n // 500  # twenty landlords, matched by phone
        r[col["owner_phone"]] = f"1380000{owner:04d}"
        r[col["owner_email"]] = f"import-{owner}@example.cn"
        w.writerow(r)
PY
import_answer=$(curl -sf -w ' %{time_total}' -H "Authorization: Bearer $admin_token" -H 'Content-Type: text/csv' \
  --data-binary @"$work_dir/import.csv" "$base_url/api/v1/imports/ledger?village_id=$village")
import_secs=${import_answer##* }
import_created=$(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); print(a["accepted"], "accepted,", len(a["rejected"]), "rejected,", a["created"])' "${import_answer% *}")

kill -TERM "$server_pid"

# --- notice delivery to a real SMTP server -----------------------------------------------------------------------
python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Sink >/dev/null 2>&1 &
pids+=("$!")
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null && break; sleep 0.1; done
delivery=$("$jobs_bin" notices --count 10000 --smtp "smtp://127.0.0.1:$smtp_port" | tail -n 1)

# --- summary -------------------------------------------------------------------------------------------------------
{
  echo
  echo "anzu jobs benchmark: backend $backend, $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%FT%TZ)"
  echo "machine: $(nproc) cores; seeded $properties properties, $((properties * units_per_property)) units, $tenancies tenancies"
  printf '%-36s %10s %9s %9s %8s\n' scenario 'req/s' 'p50' 'p99' 'non-2xx'
  for row in "${results[@]}"; do
    IFS='|' read -r name rps p50 p99 non2xx <<<"$row"
    printf '%-36s %10s %9s %9s %8s\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
  done
  hello=$(cut -d'|' -f2 <<<"${results[0]}")
  public=$(cut -d'|' -f2 <<<"${results[1]}")
  awk -v p="$public" -v h="$hello" 'BEGIN {printf "public rating / healthz ceiling: %.1f%%\n", p / h * 100}'
  echo "sweep: $sweep_half s at half size, $sweep_full s at full size (first run), $sweep_again s again (nothing new)"
  awk -v r="$export_rows" -v s="$export_secs" -v b="$rss_before" -v a="$peak_after" \
    'BEGIN {printf "ledger export: %d rows in %.2f s = %.0f rows/s; peak RSS growth %.1f MB (from %.1f MB)\n", r, s, r / s, (a - b) / 1024, b / 1024}'
  echo "ledger import: 10000 rows in $import_secs s ($import_created)"
  echo "notices: $delivery"
} >"$work_dir/summary.txt"
cat "$work_dir/summary.txt"
[[ -z "${BENCH_RESULTS:-}" ]] || cat "$work_dir/summary.txt" >>"$BENCH_RESULTS"
