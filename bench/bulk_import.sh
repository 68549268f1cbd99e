#!/usr/bin/env bash
# The bulk declaration figure of docs/performance.md and docs/bulk-import.md: 1,000 workers by CSV on SQLite.
#
#   bench/bulk_import.sh
#
# A fresh SQLite database; `anzu migrate` and `anzu admin create`; `anzu serve`; a village, an active landlord,
# a property with eleven units made through the API; then files of BENCH_LINES workers (valid resident IDs, each
# person once) sent with curl, each timed as the client sees it (the whole request: upload, parsing,
# encryption, the one transaction, the answer):
#   1. a unit's file with ?dry_run=true (everything but the commit);
#   2. the same file into a dormitory that holds them all (on time: no notice);
#   3. a property's file of other workers over ten small rooms, moved in ten days ago: every line late, every
#      room overcrowded, so every notice the single declaration queues is queued here too.
# Each run is repeated BENCH_REPEAT times into a fresh dormitory and fresh people; the best and the worst are
# printed. A run is valid only when every answer was 200 with everything accepted and nothing rejected.
#
# Knobs: BENCH_PROFILE=release (or debug: the dev build as it is, for a rough figure without a release build)
#        BENCH_NO_BUILD=1 (use the binary as it is)  BENCH_LINES=1000  BENCH_REPEAT=3  BENCH_PORT=18083
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
profile="${BENCH_PROFILE:-release}"
lines="${BENCH_LINES:-1000}"
repeat="${BENCH_REPEAT:-3}"
port="${BENCH_PORT:-18083}"
password="bench-password-1"
base_url="http://127.0.0.1:$port"
log() { printf '[bulk-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done

work_dir="$(mktemp -d -t anzu-bulk-bench.XXXXXX)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
  if [[ "$profile" == release ]]; then
    log "building release (anzu)"
    cargo build --release --bin anzu >&2
  else
    cargo build --bin anzu >&2
  fi
fi
anzu="$target_dir/$profile/anzu"
export ANZU_DATABASE_URL="$work_dir/anzu.db" ANZU_DATA_DIR="$work_dir" ANZU_BIND="127.0.0.1:$port" ANZU_LOG=warn
export ANZU_JWT_SECRET="bench-jwt-secret-bench-jwt-secret-0123456789"
export ANZU_DATA_KEY="YmVuY2gtZGF0YS1rZXktMzItYnl0ZXMtZXhhY3RseSE="
export ANZU_MAIL_DIR="$work_dir/outbox" ANZU_ACCESS_TOKEN_TTL_SECS=3600
"$anzu" migrate >&2
"$anzu" admin create --email bench-admin@example.cn --password "$password" >&2
"$anzu" serve >"$work_dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null --max-time 1 "$base_url/readyz" && break; sleep 0.1; done

# call METHOD PATH TOKEN JSON → the answer's body; fails on a status other than 2xx.
call() {
  curl -sf -X "$1" -H 'Content-Type: application/json' ${3:+-H "Authorization: Bearer $3"} \
    ${4:+-d "$4"} "$base_url$2"
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
login() { call POST /api/v1/auth/login "" "{\"login\":\"$1\",\"password\":\"$password\"}" | field access_token; }

admin=$(login bench-admin@example.cn)
village=$(call POST /api/v1/villages "$admin" '{"name":"压测村","code":"BULK"}' | field id)
call POST /api/v1/users "$admin" "{\"full_name\":\"压测房东\",\"email\":\"bench-landlord@example.cn\",
  \"phone\":\"13700000001\",\"password\":\"$password\",\"role\":\"landlord\",\"village_id\":\"$village\"}" >/dev/null
landlord=$(login bench-landlord@example.cn)
property=$(call POST /api/v1/properties "$landlord" "{\"name\":\"鞋厂宿舍楼\",\"address\":\"花厅口村工业路1号\",
  \"village_id\":\"$village\",\"kind\":\"factory\",\"floors\":6,\"floor_area_m2\":8000,\"mixed_use_residence\":false}" |
  field id)
for room in $(seq 1 10); do
  call POST "/api/v1/properties/$property/units" "$landlord" \
    "{\"label\":\"R$room\",\"floor\":2,\"area_m2\":20,\"kind\":\"dormitory\"}" >/dev/null
done

# workers FILE FIRST_PERSON DAYS_AGO [rooms]: a CSV of $lines workers with Chinese headers and a byte-order mark;
# with "rooms", a property's file spreading them over R1..R10.
workers() {
  python3 - "$1" "$2" "$3" "$lines" "${4:-}" <<'PY'
import datetime, sys
path, first, days_ago, count, rooms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
def resident_id(n):
    birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=n // 400)
    body = f"350582{birth:%Y%m%d}{(n % 400) * 2 + 1:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]
move_in = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date() - datetime.timedelta(days=days_ago)
header = (["房号"] if rooms else []) + ["姓名", "证件类型", "身份证号", "手机号", "籍贯", "入住日期"]
with open(path, "w", encoding="utf-8-sig") as out:
    out.write(",".join(header) + "\n")
    for i in range(count):
        cells = ([f"R{i % 10 + 1}"] if rooms else []) + [
            f"工人{i}", "身份证", resident_id(first + i), f"139{(first + i) % 100000000:08d}", "四川省", str(move_in)]
        out.write(",".join(cells) + "\n")
PY
}

# post FILE PATH → "seconds status accepted rejected"
post() {
  curl -s -o "$work_dir/answer.json" -w '%{time_total} %{http_code}' -H "Authorization: Bearer $landlord" \
    -H 'Content-Type: text/csv' --data-binary "@$1" "$base_url$2" |
    { read -r seconds status; printf '%s %s %s\n' "$seconds" "$status" "$(python3 -c '
import json, sys
try:
    a = json.load(open(sys.argv[1]))
    print(a.get("accepted"), len(a.get("rejected", [])))
except Exception:
    print("? ?")' "$work_dir/answer.json")"; }
}

valid=1
summary() {
  local name="$1"; shift
  python3 - "$name" "$lines" "$@" <<'PY'
import sys
name, lines, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times = sorted(float(r.split()[0]) for r in runs)
print(f"{name:<52} best {times[0]:6.3f} s  worst {times[-1]:6.3f} s  ({len(times)} runs)")
PY
}
check() {
  read -r _ status accepted rejected <<<"$1"
  if [[ "$status" != 200 || "$accepted" != "$lines" || "$rejected" != 0 ]]; then
    log "invalid run: status $status, accepted $accepted, rejected $rejected"; valid=0
  fi
}

echo "bulk declaration, $(git rev-parse --short HEAD), $lines lines, SQLite, $profile build"
dry=(); unit=(); late=()
for run in $(seq 1 "$repeat"); do
  base=$((run * 100000))
  dorm=$(call POST "/api/v1/properties/$property/units" "$landlord" \
    "{\"label\":\"宿舍$run\",\"floor\":1,\"area_m2\":6000,\"kind\":\"dormitory\"}" | field id)
  workers "$work_dir/unit.csv" "$base" 1
  result=$(post "$work_dir/unit.csv" "/api/v1/units/$dorm/tenancies/import?dry_run=true"); check "$result"; dry+=("$result")
  result=$(post "$work_dir/unit.csv" "/api/v1/units/$dorm/tenancies/import"); check "$result"; unit+=("$result")
  workers "$work_dir/property.csv" "$((base + 50000))" 10 rooms
  result=$(post "$work_dir/property.csv" "/api/v1/properties/$property/tenancies/import"); check "$result"; late+=("$result")
done
summary "a unit's file, dry run" "${dry[@]}"
summary "a unit's file (one dormitory, on time)" "${unit[@]}"
summary "a property's file (ten rooms, all late, overcrowded)" "${late[@]}"
notices=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from notices').fetchone()[0])" \
  "$work_dir/anzu.db" 2>/dev/null || echo "?")
echo "notices queued in all: $notices"
if [[ "$valid" != 1 ]]; then
  echo "INVALID: some answer was not 200 with every line accepted" >&2
  exit 1
fi
