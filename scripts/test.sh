#!/usr/bin/env bash
# Create/refresh .venv, then run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
exec python -m pytest "$@"
