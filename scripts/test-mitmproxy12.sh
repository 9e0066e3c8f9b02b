#!/usr/bin/env bash
# The test suite against mitmproxy 12.x, which needs Python >= 3.12, in .venv-mitmproxy12.
# Not part of CI (CI runs scripts/test.sh on the machine's Python 3.11 and mitmproxy 11.x);
# run it when changing anything that touches mitmproxy's API. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
is_312() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }
PYTHON="${PYTHON:-python3.12}"
if ! is_312 "$PYTHON"; then  # e.g. a pyenv shim for a version that is not active
  for candidate in "$(pyenv root 2>/dev/null)"/versions/3.1[2-9]*/bin/python3; do
    if is_312 "$candidate"; then PYTHON="$candidate"; break; fi
  done
fi
if ! is_312 "$PYTHON"; then
  echo "test-mitmproxy12: no Python >= 3.12 found (set PYTHON=...)" >&2
  exit 2
fi
export PYTHON FC_VENV="$PWD/.venv-mitmproxy12" FC_EXTRA_REQUIREMENT="mitmproxy>=12,<13"
source scripts/_venv.sh
exec python -m pytest -p no:cacheprovider "$@"
