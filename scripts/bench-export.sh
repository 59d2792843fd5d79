#!/usr/bin/env bash
# Export throughput and server memory on a large log.
#
#   bash scripts/bench-export.sh [EVENTS]      (default 1,000,000)
#
# Seeds EVENTS demo events into a scratch embedded PostgreSQL, starts the
# release server on it, creates an API key with the CLI, then streams the
# whole log through GET /api/v1/events/export (CSV, then NDJSON, then CSV
# again) with curl, while sampling the server's VmRSS from /proc every
# 100 ms. Prints rows/s, MB/s and the server's RSS before, at its peak and
# after each export. The server process is measured, not its PostgreSQL.
# Needs a release build (`bash scripts/build.sh`, or just the server:
# `cargo build --release --bin audit-timeline --features ssr`).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

events="${1:-1000000}"
[[ -x "$BIN" ]] || { echo "no server binary at $BIN: build it first" >&2; exit 1; }

# Somewhere the unprivileged postgres user can reach when we run as root.
work="$(mktemp -d /var/tmp/audit-timeline-bench.XXXXXX)"
chmod 755 "$work"
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cli() { env -u DATABASE_URL RUST_LOG=warn "$BIN" "$@" --data-dir "$work/db"; }

step "seeding $events events"
cli seed --events "$events" --days 365
secret="$(cli api-key create --org acme --name "Export benchmark" | grep -o 'atl_[0-9A-Za-z]*')"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
step "starting the server on $base"
env -u DATABASE_URL RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$work/db" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 240); do
  curl -sf -o /dev/null "$base/login" && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.5
done
sleep 2 # let start-up work (checkpoint signing) settle

kib() { awk '/^'"$1"':/ { print $2 }' "/proc/$server/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# One export of the whole log in `format`; prints one result line.
run() {
  local format="$1" before peak after hwm rows start end secs bytes
  before="$(kib VmRSS)"
  : >"$work/rss"
  ( while kill -0 "$server" 2>/dev/null; do kib VmRSS >>"$work/rss"; sleep 0.1; done ) &
  local sampler=$!
  start="$(date +%s.%N)"
  # Count lines as they arrive; for this data one line is one row (NDJSON
  # always; CSV's demo values hold no line breaks), minus the CSV header.
  curl -sS --fail -H "Authorization: Bearer $secret" "$base/api/v1/events/export?format=$format" \
    | tee >(wc -c >"$work/bytes") | wc -l >"$work/lines"
  end="$(date +%s.%N)"
  sleep 0.5
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  after="$(kib VmRSS)"
  hwm="$(kib VmHWM)"
  peak="$(sort -n "$work/rss" | tail -1)"
  rows="$(cat "$work/lines")"
  [[ "$format" == csv ]] && rows=$((rows - 1))
  bytes="$(cat "$work/bytes")"
  secs="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')"
  printf '%-6s %9d rows in %6ss: %8.0f rows/s, %6.1f MB/s | server RSS before %6s MiB, peak %6s MiB, after %6s MiB (VmHWM %s MiB)\n' \
    "$format" "$rows" "$secs" "$(awk -v r="$rows" -v s="$secs" 'BEGIN { print r / s }')" \
    "$(awk -v b="$bytes" -v s="$secs" 'BEGIN { print b / s / 1e6 }')" \
    "$(mib "$before")" "$(mib "$peak")" "$(mib "$after")" "$(mib "$hwm")"
}

step "exporting (the whole log, newest first)"
echo "host: $(nproc) CPU(s); $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
run csv
run ndjson
run csv
