"""Fixtures shared by the case-file tests: one radial lithium case text, one ``sim run`` through the CLI."""
from __future__ import annotations

import pytest

import sim.cli as cli


def radial_case(body: str = "", *, n_cells: int = 20) -> str:
    """The text of a 1D lmr_default lithium case starting charged (x = x_min), followed by ``body``
    (more TOML: [solver], [output], [[protocol]] ...)."""
    return ('model = "lithium"\nparams = "lmr_default"\ngeometry = "radial"\n'
            '[parameters]\n"transport.x_initial" = 0.34\n'
            f"[mesh]\nn_cells = {n_cells}\n" + body)


@pytest.fixture
def run_cli(monkeypatch):
    """``sim run`` through the real CLI error handling, with only this command registered."""
    monkeypatch.setattr(cli, "COMMANDS", {"run": "sim.lithium.run"})
    return lambda *argv: cli.main(["run", *map(str, argv)])


def run_mpi_script(folder, text: str, ranks: int, *args: str, timeout: float = 3600) -> dict:
    """Run the Python ``text`` as a script in ``folder`` on ``ranks`` MPI ranks (``mpiexec -n`` beside this
    interpreter) with the repository on the path; return the JSON of its ``RESULT {...}`` line (rank 0 prints it)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(folder) / "mpi_script.py"
    script.write_text(text)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, str(script), *args]
    if ranks > 1:
        cmd = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(ranks)] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=folder)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])
