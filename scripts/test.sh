#!/usr/bin/env bash
# Create/refresh .venv, then run the test suite. Extra arguments go to pytest.
# Inner loop: `scripts/test.sh --unit` = tests/unit on two workers (each test file on one:
# module fixtures are built once), `scripts/test.sh tests/unit` the same in one process,
# `scripts/test.sh --quick` = --unit with a tenth of each property test's examples
# (tests/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
# The suite starts hundreds of Python processes (pytest runs, proxies, CLI commands):
# let them cache bytecode and pytest's rewritten test modules in __pycache__ (gitignored)
# instead of compiling every module again in each (PYTHONDONTWRITEBYTECODE=1 on this
# project's machines: collecting tests/unit took 6.7 s without the cache, 3.0 s with it).
unset PYTHONDONTWRITEBYTECODE
if [ "${1:-}" = "--quick" ]; then shift; export FC_TEST_QUICK=1; set -- --unit "$@"; fi
if [ "${1:-}" = "--unit" ]; then shift; set -- tests/unit -n 2 --dist loadfile "$@"; fi
# Fail fast on lint, format, types and structure (see pyproject.toml [tool.ruff],
# [tool.mypy], scripts/check_structure.py).
ruff check --quiet addons scripts tests
ruff format --check --quiet addons scripts tests  # `ruff format addons scripts tests` fixes it
mypy --no-error-summary  # the package: [tool.mypy] in pyproject.toml
python scripts/check_structure.py --quiet
# The whole suite (no arguments, as .ci/run calls it) runs on two workers, each test file
# on one worker (--dist loadfile: only tests/e2e/test_docs_snippets.py listens on fixed
# ports, the ports its pages name) and ends with the 20 slowest tests. With arguments,
# pytest runs exactly what is asked.
if [ $# -eq 0 ]; then set -- -n 2 --dist loadfile --durations=20; fi
exec python -m pytest "$@"
