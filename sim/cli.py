"""Command line: ``sim <command> ...``. Each command lives beside its model and registers itself.

User errors (:class:`~sim.errors.InputError`) print one line and exit 2, solver failures
(:class:`~sim.errors.SolverError`) exit 3; neither prints a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from sim import __version__
from sim.errors import InputError, SimError, SolverError

# command name -> module with ``register(subparsers)``; modules keep heavy imports (dolfinx) inside functions
COMMANDS = {
    "params": "sim.params_cli",
    "mesh": "sim.mesh",
    "demo": "sim.demo",
    "run": "sim.lithium.run",
    "scenario": "sim.scenarios.cli",
    "validate": "sim.validate",
    "sweep": "sim.sweep.cli",
    "fit": "sim.oxygen.fit_cli",
    "oxygen": "sim.oxygen.cli",
    "bench": "sim.bench",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sim", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS.values():
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as err:
        print(f"sim {args.command}: error: {err}", file=sys.stderr)
        return 2
    except SolverError as err:
        print(f"sim {args.command}: solver failed: {err}", file=sys.stderr)
        return 3
    except SimError as err:
        print(f"sim {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sim {args.command}: interrupted", file=sys.stderr)
        return 130
