#!/usr/bin/env bash
# Regenerates server/.sqlx, the saved descriptions of the statements written
# with `sqlx::query!`: run it after changing such a statement or a migration,
# and commit the result. Builds read only the saved data (server/build.rs sets
# SQLX_OFFLINE), so no build needs a database; the store test
# `saved_statements_match_the_schema` fails while the data is stale.
#
# A throwaway PostgreSQL gets the migrations applied with psql, then the
# server is built online with SQLX_OFFLINE_DIR set, which makes the macros
# save what they saw.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

pg_bin="${PG_BIN_DIR:-$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")}"
work="$(mktemp -d /var/tmp/audit-timeline-sqlx.XXXXXX)"
chmod 755 "$work"
stop_pg() { :; }
cleanup() { stop_pg; rm -rf "$work"; }
trap cleanup EXIT

step "starting a throwaway PostgreSQL"
# Its own initdb and pg_ctl, not the product's binary: that binary may not
# build until this script has run.
as_pg=()
if [[ "$(id -u)" == 0 ]]; then
  as_pg=(runuser -u postgres --)
  chown postgres: "$work"
fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -w -l "$work/pg.log" \
  -o "-p $port -k $work -c listen_addresses=127.0.0.1" start >/dev/null
stop_pg() { "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true; }
url="postgres://postgres@127.0.0.1:$port/sqlx_prepare"
"$pg_bin/psql" -q -v ON_ERROR_STOP=1 "postgres://postgres@127.0.0.1:$port/postgres" -c "CREATE DATABASE sqlx_prepare"

step "applying the migrations"
for migration in server/migrations/*.sql; do
  "$pg_bin/psql" -q -1 -v ON_ERROR_STOP=1 "$url" -f "$migration" >/dev/null
done

step "saving the statements' descriptions in server/.sqlx"
rm -rf server/.sqlx && mkdir server/.sqlx
touch server/src/lib.rs
# The server crate alone: the statements are all there.
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$ROOT/server/.sqlx" DATABASE_URL="$url" \
  cargo build --release --locked -p server --lib
ls server/.sqlx | wc -l | xargs printf '%s statements saved\n' >&2
