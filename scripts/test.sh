#!/usr/bin/env bash
# Every check the project has: formatting, lints, unit tests, store tests on
# a real PostgreSQL (a fresh database per test), and end-to-end tests in
# Chromium against the release server on its embedded PostgreSQL.
# DATABASE_URL (a superuser URL) is used for the store tests when set;
# otherwise a throwaway embedded cluster is started for them.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash scripts/setup.sh --test

step "cargo fmt --check"
cargo fmt --all --check

# Lint per package and target: `--workspace` would unify the ssr and hydrate
# features of `app`, which never build together.
step "cargo clippy"
cargo clippy --locked -p app --features ssr --all-targets -- -D warnings
cargo clippy --locked -p server -p demo -p bench --all-targets -- -D warnings
cargo clippy --locked -p host-dashboard --all-targets -- -D warnings
cargo clippy --locked -p audit-timeline --features ssr --bins --tests -- -D warnings
cargo clippy --locked -p app --features hydrate --lib --target wasm32-unknown-unknown -- -D warnings
cargo clippy --locked -p audit-timeline --features hydrate --lib --target wasm32-unknown-unknown -- -D warnings

bash scripts/build.sh

# Somewhere the unprivileged postgres user can reach when we run as root.
work="$(mktemp -d /var/tmp/audit-timeline-test.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -z "${DATABASE_URL:-}" ]]; then
  step "starting a throwaway PostgreSQL for the store tests"
  "$BIN" postgres --data-dir "$work/pg" >"$work/pg.out" 2>"$work/pg.err" &
  pids+=($!)
  for _ in $(seq 120); do
    grep -q '^DATABASE_URL=' "$work/pg.out" 2>/dev/null && break
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/pg.err" >&2; exit 1; }
    sleep 0.5
  done
  export DATABASE_URL="$(sed -n 's/^DATABASE_URL=//p' "$work/pg.out")"
  [[ -n "$DATABASE_URL" ]] || { echo "embedded PostgreSQL did not start" >&2; cat "$work/pg.err" >&2; exit 1; }
fi

step "unit and store tests"
cargo test --locked -p app --features ssr
cargo test --locked -p server -p demo -p bench
cargo test --locked -p host-dashboard
cargo test --locked -p audit-timeline --features ssr --bin audit-timeline

step "end-to-end tests (Chromium, release server, embedded PostgreSQL, demo data)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# --demo: the tests sign in with the demo accounts; nothing else loads them.
env -u DATABASE_URL "$BIN" serve --demo --listen "127.0.0.1:$port" --data-dir "$work/e2e" >"$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 240); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/" && break
  kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.5
done
BASE_URL="http://127.0.0.1:$port" AUDIT_BIN="$BIN" AUDIT_DATA_DIR="$work/e2e" \
  node --test --test-concurrency=1 --test-timeout=300000 end2end/tests/ || {
  echo "--- server log" >&2; tail -50 "$work/server.log" >&2; exit 1;
}

step "reliability campaign, quick mode (schemathesis, fuzz, fault drills, starvation)"
AUDIT_BIN="$BIN" bash scripts/attack.sh --quick

step "benchmark smoke (a few thousand events; the full run is for people, not CI)"
"$BENCH_BIN" --bench-dir "$work/bench" --events 6000 --orgs 3 --runs 5 --export-rows 2000 \
  --ingest-events 2000 --out "$work/benchmarks.md" >"$work/bench.log" 2>&1 || {
  cat "$work/bench.log" >&2; exit 1;
}
for table in Targets "Paging the largest org" "Structured filters" "Substring search" "Browser bundle" \
  "Server rendering" "Streaming export" "Ingestion" "Single events at a steady rate"; do
  grep -q "^## $table\$" "$work/benchmarks.md" || { echo "the benchmark report has no '$table'" >&2; exit 1; }
done
