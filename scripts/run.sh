#!/usr/bin/env bash
# Builds everything (installing missing tools) and starts the timeline on the
# embedded PostgreSQL with demo data (`serve --demo`). `--no-demo` first
# starts it for real instead: no demo data or accounts, and a one-time setup
# link for the first owner. Other arguments go to `serve`.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
demo=(--demo)
if [[ "${1:-}" == "--no-demo" ]]; then
  demo=()
  shift
fi
bash scripts/setup.sh
bash scripts/build.sh
step "starting (Ctrl-C stops the server and its PostgreSQL)"
exec "$BIN" serve "${demo[@]}" "$@"
