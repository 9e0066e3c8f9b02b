# Sourced by scripts/test.sh and scripts/demo.sh: create or refresh .venv.
# Re-installs only when pyproject.toml changed since the last install, so a
# second run costs a hash and a stat.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FC_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
stamp="$VENV/.fc-cassette-installed"
want="$( (cat "$ROOT/pyproject.toml"; echo "${FC_EXTRA_REQUIREMENT:-}") | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
  echo "fc-cassette: creating virtualenv in $VENV" >&2
  "$PY" -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "fc-cassette: installing fc-cassette and its test extra into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[test]" \
    ${FC_EXTRA_REQUIREMENT:+"$FC_EXTRA_REQUIREMENT"} >&2
  echo "$want" > "$stamp"
fi
# The package's bytecode, as a user's install has it (pip writes it; an editable install
# on first import): where PYTHONDONTWRITEBYTECODE is set (this project's machines), every
# fc-cassette process would compile ~100 modules from source at each start (0.1-0.2 s of
# CPU). Only files changed since their .pyc are compiled again.
"$VENV/bin/python" -m compileall -q "$ROOT/addons/fc_cassette" >/dev/null
export PATH="$VENV/bin:$PATH"
