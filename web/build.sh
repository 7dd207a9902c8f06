#!/usr/bin/env bash
# Builds Kafkascope's web page: a static folder, target/web/site/, with index.html, the wasm and
# its JavaScript glue (the scenarios and lessons are compiled into the wasm). Serve it with any
# static file server, e.g. `cd target/web/site && python3 -m http.server 8000`.
#
#   bash web/build.sh                 # build, then print the folder and the wasm's sizes
#   WASM_OPT=-O2 bash web/build.sh    # run wasm-opt at this level (fails without a usable one)
#   WASM_OPT=none bash web/build.sh   # never run wasm-opt
#
# Needs: rustup's wasm32-unknown-unknown target (web/prepare.sh adds it), wasm-bindgen-cli at
# the version web/Cargo.toml pins, and gzip (for the size report). binaryen's wasm-opt is
# optional: by default (WASM_OPT=auto) it runs at -Oz when a usable native one (version 116 or
# later) is on the PATH, and is skipped with a note otherwise; an explicit level also accepts
# npm's build (target/web/tools/npm), which is JavaScript and takes over 15 minutes here. Older ones mis-handle the reference-typed
# tables wasm-bindgen emits: Debian 12's binaryen 108 writes a module the browser rejects
# ("WebAssembly.Table.set(): Argument 1 is invalid for table"). Without it the page is still
# under the 10 MB (gzip) budget, since wasm-bindgen drops the names section.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
site="$root/target/web/site"
level="${WASM_OPT:-auto}"
bindgen_version=0.2.130
# Where `npm install --prefix target/web/tools/npm binaryen` puts a current wasm-opt.
npm_wasm_opt="$root/target/web/tools/npm/node_modules/.bin/wasm-opt"
install_wasm_opt="npm install --prefix target/web/tools/npm binaryen@132  (or binaryen >= 116 from your package manager)"

missing() {
  echo "web/build.sh: \`$1\` was not found; install it with:" >&2
  echo "    $2" >&2
  exit 1
}

bindgen="$root/target/web/tools/bin/wasm-bindgen"
if [ ! -x "$bindgen" ]; then
  bindgen="$(command -v wasm-bindgen || true)"
fi
install_bindgen="bash web/tools.sh"
[ -n "$bindgen" ] || missing wasm-bindgen "$install_bindgen"
if ! "$bindgen" --version | grep -q " $bindgen_version\b"; then
  echo "web/build.sh: $bindgen is $("$bindgen" --version), the page needs $bindgen_version" \
    "(the wasm-bindgen crate's version in web/Cargo.toml); install it with:" >&2
  echo "    $install_bindgen" >&2
  exit 1
fi
# A wasm-opt that handles wasm-bindgen's output (version 116 or later), if there is one.
usable_wasm_opt() {
  local c v
  for c in "$(command -v wasm-opt || true)" "$@"; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    v="$("$c" --version 2>/dev/null | sed -n 's/.*version \([0-9]*\).*/\1/p')"
    if [ -n "$v" ] && [ "$v" -ge 116 ]; then
      echo "$c"
      return
    fi
  done
}
case "$level" in
  none) ;;
  auto)
    wasm_opt="$(usable_wasm_opt)"
    if [ -n "$wasm_opt" ]; then
      level=-Oz
    else
      echo "web/build.sh: no usable wasm-opt (binaryen 116 or later); building without it." >&2
      echo "    to get one: $install_wasm_opt; then WASM_OPT=-Oz bash web/build.sh" >&2
      level=none
    fi
    ;;
  *)
    wasm_opt="$(usable_wasm_opt "$npm_wasm_opt")"
    [ -n "$wasm_opt" ] || missing "wasm-opt (binaryen 116 or later)" "$install_wasm_opt"
    ;;
esac
command -v gzip >/dev/null || missing gzip "apt-get install gzip"
command -v rustup >/dev/null || missing rustup "see https://rustup.rs"

bash "$root/web/prepare.sh"

started=$(date +%s)
# The whole web workspace (the page and web/check.sh's trace check) in one build: one feature
# resolution, so the simulation and its dependencies compile once for both.
(cd "$root/web" && cargo build --locked --release --workspace)
built=$(date +%s)

wasm="$root/target/web/cargo/wasm32-unknown-unknown/release/kafkascope_web.wasm"
staging="$root/target/web/site.new"
rm -rf "$staging"
mkdir -p "$staging"
# Function names are for debugging (13 MB of the 55); panics still print their message.
"$bindgen" --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir "$staging" "$wasm"
if [ "$level" != none ]; then
  # The features rustc enables by default for wasm32-unknown-unknown; wasm-opt keeps to them.
  "$wasm_opt" "$level" \
    --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
    -o "$staging/kafkascope_web_bg.opt.wasm" "$staging/kafkascope_web_bg.wasm"
  mv "$staging/kafkascope_web_bg.opt.wasm" "$staging/kafkascope_web_bg.wasm"
fi
cp "$root/web/app/index.html" "$staging/"
rm -rf "$site"
mv "$staging" "$site"
done_at=$(date +%s)

size() { wc -c <"$1" | tr -d ' '; }
gz() { gzip -9 -c "$1" | wc -c | tr -d ' '; }
out="$site/kafkascope_web_bg.wasm"
total=0
for f in "$site"/*; do total=$((total + $(gz "$f"))); done
echo "built $site (cargo $((built - started))s, bindgen and wasm-opt $level $((done_at - built))s)"
printf '  wasm: %s bytes raw, %s bytes gzip-compressed\n' "$(size "$out")" "$(gz "$out")"
printf '  page: %s bytes gzip-compressed in all (%s files)\n' "$total" "$(ls "$site" | wc -l)"
