#!/usr/bin/env bash
# The main job on bundled defaults, offline: simulate -> record -> replay -> verify.
# Creates/refreshes .venv first. Extra arguments go to scripts/demo.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
exec python scripts/demo.py "$@"
