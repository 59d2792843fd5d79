#!/usr/bin/env bash
# Builds everything (installing missing tools) and starts the timeline on the
# embedded PostgreSQL with demo data. Extra arguments go to `serve`.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash scripts/setup.sh
bash scripts/build.sh
step "starting (Ctrl-C stops the server and its PostgreSQL)"
exec "$BIN" serve "$@"
