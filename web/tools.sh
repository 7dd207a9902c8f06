#!/usr/bin/env bash
# Installs what the web build and its checks use, and prints nothing else than problems:
#   - Rust's wasm32-unknown-unknown target (rustup);
#   - wasm-bindgen-cli at the version of the wasm-bindgen crate in web/Cargo.lock, in
#     target/web/tools (a mismatch between the two is an error at run time);
#   - with `--browser`: Debian's chromium and chromium-driver, for tests/web's browser test
#     (which drives them with selenium from the clients venv, .ci/clients-venv.sh).
# Not binaryen: Debian 12's wasm-opt (108) writes a module browsers reject, and web/build.sh
# runs one only when it is version 116 or later (see there).
# Idempotent. CI calls it from .ci/run; as root on Debian it installs the packages itself.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown >&2
fi

version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/web/Cargo.lock")"
bindgen="$root/target/web/tools/bin/wasm-bindgen"
if ! { [ -x "$bindgen" ] && "$bindgen" --version | grep -q " $version\$"; }; then
  # Not --locked: the crate's own lock names a webpki-roots release the registry lacks.
  cargo install -q wasm-bindgen-cli --version "$version" --root "$root/target/web/tools" --force >&2
fi

if [ "${1:-}" = --browser ]; then
  pkgs="chromium chromium-driver"
  if ! dpkg -s $pkgs >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq >/dev/null 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
    else
      echo "web/tools.sh: install Debian's $pkgs (apt-get install $pkgs, as root)" >&2
      exit 1
    fi
  fi
fi
