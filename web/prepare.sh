#!/usr/bin/env bash
# Makes what the web workspace needs before cargo can read it: the wasm32 target, and madsim
# patched for it (madsim-wasm32.patch, applied to the crate cargo downloaded for the desktop
# build, at target/web/madsim-VERSION). Idempotent; quiet when there is nothing to do.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version=0.2.34
dest="$root/target/web/madsim-$version"
patch_file="$root/web/madsim-wasm32.patch"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown >&2
fi

stamp="$dest/.kafkascope-patch"
if [ -f "$stamp" ] && cmp -s "$stamp" "$patch_file"; then
  exit 0
fi
# The published crate, as the desktop build's Cargo.lock pins it.
(cd "$root" && cargo fetch --locked >/dev/null 2>&1) || (cd "$root" && cargo fetch --locked)
src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/madsim-$version 2>/dev/null | head -n 1)"
if [ -z "$src" ]; then
  echo "web/prepare.sh: madsim $version is not in cargo's registry cache after \`cargo fetch\`" >&2
  exit 1
fi
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
cp -r "$src" "$dest"
rm -f "$dest/.cargo-checksum.json" "$dest/.cargo-ok"
patch -s -p1 -d "$dest" <"$patch_file"
cp "$patch_file" "$stamp"
