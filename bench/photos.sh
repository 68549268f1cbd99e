#!/usr/bin/env bash
# The photo upload figures of docs/performance.md:
#
#   bench/photos.sh [sqlite|postgres|both]
#
# 1. The processing (src/photos/image.rs: format check, header, decode, halving, re-encode, thumbnail) of a 4 MB
#    4000×3000 JPEG, ten times, in a release build of that file alone (bench/photo-bench): the service's release
#    build takes some 20 minutes here, this one two.
# 2. The whole upload over HTTP to a test server (multipart, processing, the store's insert), ten times, in a
#    release build of the service and its test (`cargo test --release`: the first run builds it, ~20 minutes).
# PostgreSQL: ANZU_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-both}"
export ANZU_TEST_POSTGRES_URL="${ANZU_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
case "$backend" in
  sqlite) filter=upload_time_sqlite ;;
  postgres) filter=upload_time_postgres ;;
  both) filter=upload_time ;;
  *) echo "usage: $0 [sqlite|postgres|both]" >&2; exit 2 ;;
esac
(cd bench/photo-bench && cargo run --quiet --release)
cargo test --release --test photos "timing::$filter" -- --ignored --nocapture --test-threads=1 2>&1 \
  | grep -oE '(Sqlite|Postgres): .*'
