#!/usr/bin/env bash
# Installs whatever the build (and with --test, the tests) need and is
# missing; quick when everything is present.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
want_tests=false
[[ "${1:-}" == "--test" ]] && want_tests=true

apt_updated=false
apt_install() {
  if ! $apt_updated; then
    step "apt-get update"
    apt-get update -qq
    apt_updated=true
  fi
  step "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
have() { command -v "$1" >/dev/null 2>&1; }

have cargo || { echo "Rust is required: https://rustup.rs (this project builds with Rust 1.95)" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The CLI must be exactly the wasm-bindgen version in Cargo.lock.
wbg_version="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)"
if [[ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg_version" ]]; then
  step "cargo install wasm-bindgen-cli $wbg_version (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$wbg_version" --force
fi

if ! have npm; then apt_install nodejs npm; fi
# wasm-opt shrinks the browser bundle by about a third; Debian's binaryen is
# too old, npm's is current.
if ! have wasm-opt; then
  step "npm install -g binaryen"
  npm install -g --silent binaryen
fi

# PostgreSQL server binaries for the embedded default.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! have initdb && [[ -z "${PG_BIN_DIR:-}" ]]; then
  apt_install postgresql
fi

# Estimated locations for IP addresses: the IPFire Location Database as
# Debian packages it for tor (country ranges, CC BY-SA 4.0). Only its two
# files are unpacked; the package would pull in the tor daemon.
if [[ ! -s "$AUDIT_GEOIP_DIR/geoip6" && ! -s /usr/share/tor/geoip6 ]]; then
  have apt-get || { echo "no apt-get: put tor's geoip and geoip6 files in \$AUDIT_GEOIP_DIR" >&2; exit 1; }
  if ! $apt_updated; then step "apt-get update"; apt-get update -qq; apt_updated=true; fi
  step "IP location table (Debian's tor-geoipdb) into $AUDIT_GEOIP_DIR"
  geo_tmp="$(mktemp -d)"
  id _apt >/dev/null 2>&1 && chown _apt "$geo_tmp"  # apt downloads as _apt
  (cd "$geo_tmp" && apt-get download -qq tor-geoipdb >/dev/null \
    && dpkg-deb --fsys-tarfile tor-geoipdb_*.deb | tar -x ./usr/share/tor/geoip ./usr/share/tor/geoip6)
  mkdir -p "$AUDIT_GEOIP_DIR"
  mv "$geo_tmp/usr/share/tor/geoip" "$geo_tmp/usr/share/tor/geoip6" "$AUDIT_GEOIP_DIR/"
  rm -rf "$geo_tmp"
fi

if $want_tests; then
  [[ -x /usr/bin/chromium ]] || apt_install chromium
  if [[ ! -d end2end/node_modules/playwright-core ]]; then
    step "npm ci (end2end)"
    (cd end2end && npm ci --silent --no-audit --no-fund)
  fi
fi
