# Shared settings for the scripts; sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
# One build cache outside the clone: a fresh clone (CI) reuses compiled
# dependencies instead of rebuilding them; the sources are still the clone's.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/audit-timeline/target}"
SITE_ROOT="$CARGO_TARGET_DIR/site"
# The IP location table (see scripts/setup.sh); the server reads this.
export AUDIT_GEOIP_DIR="${AUDIT_GEOIP_DIR:-$HOME/.cache/audit-timeline/geoip}"
BIN="$CARGO_TARGET_DIR/release/audit-timeline"
BENCH_BIN="$CARGO_TARGET_DIR/release/audit-timeline-bench"
step() { printf '\n==> %s\n' "$*" >&2; }
