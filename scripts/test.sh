#!/usr/bin/env bash
# Create/refresh .venv, then run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
# Fail fast on lint and structure (see pyproject.toml [tool.ruff], scripts/check_structure.py).
ruff check --quiet addons scripts tests
python scripts/check_structure.py --quiet
exec python -m pytest "$@"
