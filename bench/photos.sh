#!/usr/bin/env bash
# The photo upload figure of docs/performance.md: a 4 MB JPEG (4000×3000, made with the image crate) uploaded ten
# times over HTTP to a test server, each decoded, re-encoded, thumbnailed and stored; prints the median, fastest
# and slowest upload, and the processing alone.
#
#   bench/photos.sh [sqlite|postgres|both] [--release]
#
# The dev profile already compiles the photo path's crates (image, zune-jpeg, png, fdeflate) at opt-level 3, so
# without --release the figure is an upper bound (the HTTP and database layers unoptimised). PostgreSQL:
# ANZU_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-both}"
profile=()
[[ "${2:-}" == --release ]] && profile=(--release)
export ANZU_TEST_POSTGRES_URL="${ANZU_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
case "$backend" in
  sqlite) filter=upload_time_sqlite ;;
  postgres) filter=upload_time_postgres ;;
  both) filter=upload_time ;;
  *) echo "usage: $0 [sqlite|postgres|both] [--release]" >&2; exit 2 ;;
esac
cargo test "${profile[@]}" --test photos "timing::$filter" -- --ignored --nocapture --test-threads=1 2>&1 \
  | grep -E '^(Sqlite|Postgres): '
