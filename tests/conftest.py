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
