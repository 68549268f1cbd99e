#!/usr/bin/env bash
# The inspection plan of a village of 10,000 properties (docs/performance.md): a fresh SQLite database seeded with
# examples/seed.rs (10,000 properties, 50,000 units, 200,000 tenancies by default), then given a history by SQL
# straight into the file: one property in seven never rated, the others inspected once up to 360 days back at
# 0 to 5 stars (rating, validity and status as an inspection leaves them), one in twenty holding an open critical
# order, a thousand in a grid with patrol visits, one in ten of them finding an issue. Then `anzu serve` and wrk
# on GET /inspections/plan (the village's first page of 50, an inspector's default), the grid's patrol plan and the
# village's summary, with one connection and with 16. Prints requests/s, p50 and p99.
#
#   bench/plan.sh
#
# Knobs: BENCH_NO_BUILD=1 (use the release binaries as they are) BENCH_PROPERTIES=10000 BENCH_UNITS_PER_PROPERTY=5 BENCH_TENANCIES=200000 BENCH_DURATION=10s BENCH_PORT=18082
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
properties="${BENCH_PROPERTIES:-10000}"
units_per_property="${BENCH_UNITS_PER_PROPERTY:-5}"
tenancies="${BENCH_TENANCIES:-200000}"
duration="${BENCH_DURATION:-10s}"
port="${BENCH_PORT:-18082}"
password="bench-password-1"
base_url="http://127.0.0.1:$port"
log() { printf '[plan-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
command -v sqlite3 >/dev/null || apt-get install -y -qq sqlite3 >/dev/null

work_dir="$(mktemp -d -t anzu-plan-bench.XXXXXX)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work_dir"
}
trap cleanup EXIT

if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
  log "building release (anzu and examples/seed)"
  cargo build --release --bin anzu --example seed >&2
fi
db="$work_dir/anzu.db"
export ANZU_DATABASE_URL="$db" ANZU_DATA_DIR="$work_dir" ANZU_BIND="127.0.0.1:$port" ANZU_LOG=warn
export ANZU_JWT_SECRET="bench-jwt-secret-bench-jwt-secret-0123456789"
export ANZU_DATA_KEY="YmVuY2gtZGF0YS1rZXktMzItYnl0ZXMtZXhhY3RseSE="
export ANZU_MAIL_DIR="$work_dir/outbox" ANZU_ACCESS_TOKEN_TTL_SECS=3600
log "seeding $properties properties x $units_per_property units, $tenancies tenancies"
"$target_dir/release/examples/seed" --properties "$properties" --units-per-property "$units_per_property" \
  --tenancies "$tenancies" --password "$password" --out "$work_dir/seeded.env" >&2
source "$work_dir/seeded.env"

log "giving the properties a history (inspections, orders, a grid and its patrols)"
sqlite3 "$db" <<SQL
BEGIN;
INSERT INTO grids (id, village_id, name, code, created_at, updated_at, version)
  VALUES ('bench-grid', '$VILLAGE_ID', '压测网格', 'G1', datetime('now'), datetime('now'), 1);
CREATE TEMP TABLE plan AS
  SELECT id, CAST(substr(registration_code, 7) AS INTEGER) AS n FROM properties WHERE village_id = '$VILLAGE_ID';
CREATE TEMP TABLE rated AS
  SELECT id, n, n % 6 AS stars, date('now', '-' || (n * 37 % 360) || ' days') AS inspected_on FROM plan WHERE n % 7 != 0;
INSERT INTO inspections (id, property_id, inspector_id, checklist_version, inspected_on, score, stars, valid_until,
                         summary, next_star, created_at)
  SELECT 'bench-inspection-' || n, id, (SELECT id FROM users WHERE email = '$ADMIN_EMAIL'), 1, inspected_on,
         50 + stars * 10, stars,
         CASE stars WHEN 0 THEN NULL ELSE date(inspected_on, '+' || (CASE stars WHEN 1 THEN 3 WHEN 2 THEN 6
              WHEN 3 THEN 12 WHEN 4 THEN 18 ELSE 24 END) || ' months') END,
         NULL, NULL, datetime('now')
  FROM rated;
UPDATE properties SET stars = (SELECT stars FROM inspections i WHERE i.property_id = properties.id),
                      score = (SELECT score FROM inspections i WHERE i.property_id = properties.id),
                      rating_valid_until = (SELECT valid_until FROM inspections i WHERE i.property_id = properties.id),
                      status = CASE (SELECT stars FROM inspections i WHERE i.property_id = properties.id)
                               WHEN 0 THEN 'rectification' ELSE 'rated' END
  WHERE id IN (SELECT id FROM rated);
INSERT INTO rectifications (id, property_id, inspection_id, item_code, severity, due_on, status, created_at,
                            updated_at, version)
  SELECT 'bench-order-' || n, id, 'bench-inspection-' || n, 'ESC-01', 'critical', date(inspected_on, '+1 day'),
         'open', datetime('now'), datetime('now'), 1
  FROM rated WHERE n % 20 = 1;
UPDATE properties SET grid_id = 'bench-grid' WHERE id IN (SELECT id FROM plan WHERE n <= 1000);
INSERT INTO patrols (id, grid_id, inspector_id, patrolled_on, created_at)
  SELECT 'bench-patrol-' || d, 'bench-grid', (SELECT id FROM users WHERE email = '$ADMIN_EMAIL'),
         date('now', '-' || d || ' days'), datetime('now')
  FROM (SELECT n AS d FROM plan WHERE n <= 100);
INSERT INTO patrol_visits (patrol_id, property_id, position, finding, note)
  SELECT 'bench-patrol-' || (n % 100 + 1), id, n, CASE WHEN n % 10 = 0 THEN 'issue' ELSE 'ok' END,
         CASE WHEN n % 10 = 0 THEN '楼道堆放杂物' END
  FROM plan WHERE n <= 1000;
COMMIT;
ANALYZE;
SQL

"$target_dir/release/anzu" serve >"$work_dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null --max-time 1 "$base_url/readyz" && break; sleep 0.1; done
sleep 3 # the start-up sweep and notice delivery

token=$(curl -sf -H 'Content-Type: application/json' -d "{\"login\":\"$ADMIN_EMAIL\",\"password\":\"$password\"}" \
  "$base_url/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
plan_path="/api/v1/inspections/plan?village_id=$VILLAGE_ID"
patrol_path="/api/v1/grids/bench-grid/patrol-plan"
# The grid's id is not a UUID: it is only ever a path segment here, which the patrol plan does not check.
curl -sf -H "Authorization: Bearer $token" "$base_url$plan_path&limit=200" | python3 -c '
import json, sys
page = json.load(sys.stdin)
lines = page["items"]
reasons = {}
for line in lines:
    for r in line["reasons"]:
        reasons[r] = reasons.get(r, 0) + 1
more = page["next_cursor"] is not None
print(f"first page: {len(lines)} lines, more: {more}, reasons {reasons}", file=sys.stderr)'
summary=$(curl -sf -H "Authorization: Bearer $token" "$base_url/api/v1/reports/summary?village_id=$VILLAGE_ID" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["inspections_overdue"])')
log "summary: $summary inspections overdue"

echo "inspection plan, $(git rev-parse --short HEAD), $properties properties, $tenancies tenancies (SQLite)"
# The summary computes the plan too, for its count of inspections overdue.
for path in "$plan_path" "$patrol_path" "/api/v1/reports/summary?village_id=$VILLAGE_ID"; do
  for connections in 1 16; do
    result=$(wrk -t1 -c"$connections" -d"$duration" --latency -H "Authorization: Bearer $token" "$base_url$path")
    rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$result")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$result")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$result")
    non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$result")
    printf '%-45s %2d connection(s): %8s req/s  p50 %8s  p99 %8s  non-2xx %s\n' "${path%%\?*}" "$connections" \
      "$rps" "$p50" "$p99" "${non2xx:-0}"
  done
done
