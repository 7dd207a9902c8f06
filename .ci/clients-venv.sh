#!/usr/bin/env bash
# Installs the real Kafka clients that tests/real_clients/ drives against `kafkascope serve`:
# a Python virtual environment at target/clients-venv with pinned kafka-python and
# confluent-kafka, and Debian's kcat (when we are root and have apt-get). The same venv holds
# selenium, with which tests/web drives headless chromium against the web page.
#
# Idempotent: a second run with the same pins only checks. Fails loudly when something cannot
# be installed; the tests must not quietly skip in CI.
#
# Prints the venv's python on its last line of stdout, so callers can do
#   KAFKASCOPE_PYTHON=$(.ci/clients-venv.sh | tail -n1)
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${KAFKASCOPE_CLIENTS_VENV:-$PWD/target/clients-venv}"
python="${PYTHON:-python3}"
# confluent-kafka comes as a manylinux wheel (librdkafka inside); never build it from source.
pins="kafka-python==3.0.0 confluent-kafka==2.12.0 selenium==4.50.0"

say() { echo "clients-venv: $*" >&2; }

if ! command -v "$python" >/dev/null 2>&1; then
  say "error: no $python on PATH: cannot create the clients' virtual environment"
  exit 1
fi

stamp="$venv/.kafkascope-pins"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$pins" ] \
  && "$venv/bin/python" -c 'import kafka, confluent_kafka, selenium' 2>/dev/null; then
  say "up to date: $venv ($pins)"
else
  say "creating $venv with $pins"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --only-binary confluent-kafka $pins >&2
  "$venv/bin/python" - <<'PY' >&2
import kafka, confluent_kafka, selenium
assert kafka.__version__ == "3.0.0", kafka.__version__
print("clients-venv: kafka-python", kafka.__version__, "confluent-kafka", confluent_kafka.__version__,
      "librdkafka", confluent_kafka.libversion()[0] if isinstance(confluent_kafka.libversion(), tuple) else confluent_kafka.libversion())
PY
  echo "$pins" >"$stamp"
fi

if ! command -v kcat >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing kcat"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kcat >/dev/null
    command -v kcat >/dev/null 2>&1 || { say "error: kcat did not install"; exit 1; }
  else
    say "warning: no kcat, and not root with apt-get to install it; its test will skip (or fail under CI=true)"
  fi
fi

echo "$venv/bin/python"
