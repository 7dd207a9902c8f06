#!/usr/bin/env bash
# Builds the simulation for wasm32 (the web build's madsim, see madsim-wasm32.patch) and runs
# shipped scenarios in it under node, printing `NAME SEED HASH EVENTS` per run, the fields
# `kafkascope run NAME --json` prints natively. tests/web compares the two.
#   bash web/check.sh [NAME[@SEED]]...     (no names: every shipped scenario)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/web/prepare.sh"
bash "$root/web/tools.sh"
out="$root/target/web/trace-check"
# The whole web workspace, as web/build.sh builds it: built once, it serves both.
(cd "$root/web" && cargo build -q --locked --release --workspace)
"$root/target/web/tools/bin/wasm-bindgen" --target nodejs --no-typescript --out-dir "$out" \
  "$root/target/web/cargo/wasm32-unknown-unknown/release/kafkascope_trace_check.wasm"
node "$root/web/trace-check/run.mjs" --pkg "$out" "$@"
