#!/usr/bin/env bash
# One command from a fresh clone: find Python >= 3.12, make .venv, install sim, then run a job.
#   ./bootstrap.sh demo   -> builds everything and runs the demo (results in demo-output/)
#   ./bootstrap.sh test   -> runs the test suite (SIM_SLOW=1 adds the slow verification tests)
set -euo pipefail
cd "$(dirname "$0")"
job="${1:-demo}"; shift || true

works() { "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }

find_python() {  # python3.12/3.13/3.14 on PATH (pyenv shims may be there but not work), else under pyenv
  local v p root
  for v in 3.12 3.13 3.14; do
    p=$(command -v "python$v" 2>/dev/null) && works "$p" && { echo "$p"; return; }
  done
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  for v in 3.12 3.13 3.14; do
    for p in $(ls -d "$root"/versions/$v.*/bin/python$v 2>/dev/null | sort -V -r); do
      works "$p" && { echo "$p"; return; }
    done
  done
  return 0
}

if [ ! -x .venv/bin/python ]; then
  py=$(find_python)
  if [ -z "$py" ]; then
    echo "bootstrap: no Python >= 3.12 found (looked for python3.12/3.13/3.14 on PATH and under pyenv); install CPython 3.12, e.g. 'pyenv install 3.12'" >&2
    exit 1
  fi
  echo "bootstrap: creating .venv with $py"
  "$py" -m venv .venv
fi
stamp=$(cat pyproject.toml setup.py | sha256sum | cut -c1-16)
if [ "$(cat .venv/.sim-installed 2>/dev/null)" != "$stamp" ]; then
  echo "bootstrap: installing sim and its dependencies from PyPI into .venv (about a minute)"
  log=.venv/install.log
  { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
    .venv/bin/python -m pip install --disable-pip-version-check -e ".[test,docs,vtk]"; } >"$log" 2>&1 ||
    { tail -n 30 "$log" >&2; echo "bootstrap: pip install failed (full log: $log)" >&2; exit 1; }
  .venv/bin/python -c "import dolfinx_solver, dolfinx, gmsh, sim" || { echo "bootstrap: install failed" >&2; exit 1; }
  echo "$stamp" > .venv/.sim-installed
fi
export PATH="$PWD/.venv/bin:$PATH"

case "$job" in
  demo) exec sim demo --out demo-output "$@" ;;
  test)
    if [ "${SIM_SLOW:-0}" = 1 ]; then marks=(); else marks=(-m "not slow"); fi
    exec python -m pytest -n 2 "${marks[@]}" "$@" ;;
  *) echo "usage: ./bootstrap.sh demo|test" >&2; exit 2 ;;
esac
