#!/usr/bin/env bash
# Release build of the server binary and the browser bundle into
# $CARGO_TARGET_DIR/site: what cargo-leptos does, with plain cargo, the
# wasm-bindgen CLI and wasm-opt, so no extra 20-minute tool install is needed.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

# The server and the benchmark in one invocation, so the crates they share
# are built once, with one set of features.
step "cargo build (server, benchmark)"
cargo build --release --locked -p audit-timeline -p bench --bins --features audit-timeline/ssr

step "cargo build (browser bundle)"
cargo build --profile wasm-release --locked --lib --target wasm32-unknown-unknown --features hydrate

pkg="$SITE_ROOT/pkg"
rm -rf "$pkg" && mkdir -p "$pkg"
wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name audit-timeline \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/audit_timeline.wasm"
if command -v wasm-opt >/dev/null; then
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    -o "$pkg/audit-timeline_bg.wasm" "$pkg/audit-timeline_bg.wasm"
fi
# One stylesheet from the numbered parts, in order.
cat style/*.css > "$pkg/audit-timeline.css"
cp -r public/. "$SITE_ROOT/"
# Served precompressed (tower-http ServeDir picks the .gz when accepted).
gzip -9 -k -f "$pkg"/*.wasm "$pkg"/*.js "$pkg"/*.css
step "built $BIN and $SITE_ROOT"
ls -l "$pkg" >&2
