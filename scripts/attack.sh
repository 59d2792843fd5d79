#!/usr/bin/env bash
# The reliability campaign against the release server on its own embedded
# PostgreSQL, with demo data: schemathesis over the OpenAPI document, a
# property-based fuzz of the server functions and page URLs, fault drills
# (PostgreSQL killed under a batch, clients cut off mid-request) and the
# starvation drill (one org's worst reads against another's ingestion).
#
#   bash scripts/attack.sh           full run (minutes), writes docs/reliability.md
#   bash scripts/attack.sh --quick   bounded run (~3 minutes) for scripts/test.sh;
#                                    its report goes to a temporary file
#
# Exits non-zero on any 5xx, schema violation, panic or failed drill.
# Uses the binary from scripts/build.sh ($BIN), or AUDIT_BIN if set.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

mode=full
events=500000
if [[ "${1:-}" == "--quick" ]]; then
  mode=quick
  events=20000
fi
BIN="${AUDIT_BIN:-$BIN}"
[[ -x "$BIN" ]] || { echo "no server binary at $BIN; run scripts/build.sh" >&2; exit 1; }

# The tools, pinned, in a venv of their own outside the clone.
venv="$HOME/.cache/audit-attack-venv"
requirements="$ROOT/scripts/attack/requirements.txt"
if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
  step "installing schemathesis and hypothesis into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi
py="$venv/bin/python"

# Somewhere the unprivileged postgres user can reach when we run as root.
work="$(mktemp -d /var/tmp/audit-attack.XXXXXX)"
chmod 755 "$work"
server_pid=""
# The last run's logs and raw figures outlive it, for whoever reads a failure.
keep="${TMPDIR:-/tmp}/audit-attack-last"
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$keep" && mkdir -p "$keep"
  cp -r "$work"/*.log "$work"/*.json "$work/results" "$keep/" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

started=$SECONDS
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
step "starting the release server ($mode: $events demo events for acme, $((events / 10)) for globex)"
env -u DATABASE_URL "$BIN" serve --demo --demo-events "$events" --listen "127.0.0.1:$port" \
  --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1200); do
  curl -sf -o /dev/null "$base/" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.5
done
curl -sf -o /dev/null "$base/" || { echo "the server did not come up" >&2; tail -30 "$work/server.log" >&2; exit 1; }
load_s=$((SECONDS - started))

cli() { env -u DATABASE_URL RUST_LOG=warn "$BIN" "$@" --data-dir "$work/data"; }
new_key() { cli api-key create --org "$1" --name "$2" | grep -o 'atl_[0-9A-Za-z]*' | head -1; }
key_a="$(new_key acme 'Campaign: org A')"
key_b="$(new_key globex 'Campaign: org B')"
# Exporters of the starvation drill, each its own caller.
keys_a="$(for n in 1 2 3; do new_key acme "Campaign exporter $n"; done | paste -sd, -)"

export ATTACK_BASE="$base" ATTACK_MODE="$mode" ATTACK_KEY_A="$key_a" ATTACK_KEY_B="$key_b" \
  ATTACK_KEYS_A="$keys_a" ATTACK_DATA_DIR="$work/data" ATTACK_SERVER_LOG="$work/server.log" \
  ATTACK_RESULTS="$work/results" ATTACK_EVENTS="$events" ATTACK_LOAD_S="$load_s"
mkdir -p "$work/results"
failed=()
# Each part runs in the work directory, so the tools' caches
# (.hypothesis, .schemathesis) and bytecode stay out of the clone.
export PYTHONDONTWRITEBYTECODE=1
attack="$ROOT/scripts/attack"
part() {
  local name="$1"
  shift
  step "$name"
  local t=$SECONDS
  (cd "$work" && "$@") || failed+=("$name")
  echo "$((SECONDS - t))" >"$work/results/$name.seconds"
}

# 1. The API against its own OpenAPI document: every check, every phase.
# Org B's key, so org A keeps the dataset the starvation drill reads. The
# export's query parameters have patterns with lookaheads, which hypothesis
# can only meet by filtering: that operation gets a run of its own, and
# each run a hard time guard, since one unlucky draw can spin for minutes
# (then once more with another seed; a second stall fails the part).
if [[ $mode == quick ]]; then st_opts=(--max-examples 25 --max-time 25); st_guard=75
else st_opts=(--max-examples 200 --max-time 120); st_guard=240; fi
st_run() {
  local name="$1" seed
  shift
  for seed in 20260115 20260116; do
    rm -f "$work/st-$name.json"
    timeout -s KILL "$st_guard" "$venv/bin/schemathesis" run "$base/api/v1/openapi.json" \
      --header "Authorization: Bearer $key_b" --checks all \
      --phases examples,coverage,fuzzing,stateful "${st_opts[@]}" --seed "$seed" "$@" \
      --workers 2 --request-timeout 60 --report json --report-json-path "$work/st-$name.json" \
      --no-color >"$work/st-$name.log" 2>&1 || true
    tail -25 "$work/st-$name.log" >&2
    [[ -s "$work/st-$name.json" ]] && return 0
    echo "schemathesis ($name, seed $seed) still generating after ${st_guard} s; stopped" >&2
  done
}
schemathesis() {
  st_run api --exclude-path /api/v1/events/export
  st_run export --include-path /api/v1/events/export
  "$py" "$attack/schemathesis_summary.py" "$work/st-api.json" "$work/st-export.json"
}
part schemathesis schemathesis

# 2-4. The fuzz, the drills and the starvation drill.
part fuzz "$py" "$attack/fuzz.py"
part drills "$py" "$attack/drills.py"
part starvation "$py" "$attack/starvation.py"

# The log's last word: whatever answered, nothing may have panicked.
step "checking the server log"
if grep -n "panicked" "$work/server.log" >&2; then failed+=("panics in the server log"); fi

if [[ $mode == full ]]; then out="$ROOT/docs/reliability.md"; else out="$(mktemp /tmp/audit-reliability.XXXXXX.md)"; fi
ATTACK_TOTAL_S=$((SECONDS - started)) ATTACK_FAILED="$(IFS='|'; echo "${failed[*]:-}")" \
  "$py" "$attack/report.py" "$out" "bash scripts/attack.sh${1:+ $1}"
step "report: $out ($((SECONDS - started)) s)"
if ((${#failed[@]})); then
  echo "the campaign failed: ${failed[*]} (logs in $keep)" >&2
  echo "--- server log (last 40 lines)" >&2
  tail -40 "$work/server.log" >&2
  exit 1
fi
