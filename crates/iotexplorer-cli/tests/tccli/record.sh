#!/usr/bin/env bash
# Installs the pinned tccli into a virtual environment under the target directory and
# records (or with --check, compares) its behaviour for every case of cases.json; with
# --prepare, only installs it (.ci/run does that early, while other steps run).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
venv="${CARGO_TARGET_DIR:-$root/target}/tccli-venv"
tccli_version="3.1.189.1"
if ! command -v python3 >/dev/null; then
  echo "tccli oracle: skipped, python3 is not installed" >&2
  exit 0
fi
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import tccli, sys; sys.exit(tccli.__version__ != '$tccli_version')" 2>/dev/null; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    echo "tccli oracle: skipped, python3 cannot make a virtual environment" >&2
    exit 0
  fi
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "tccli==$tccli_version" >/dev/null 2>&1; then
    echo "tccli oracle: skipped, tccli $tccli_version could not be installed (no network?)" >&2
    exit 0
  fi
fi
if [ "${1:-}" = "--prepare" ]; then
  exit 0
fi
exec "$venv/bin/python" "$here/record.py" --tccli "$venv/bin/python" "$@"
