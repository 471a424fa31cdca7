"""Command line: ``sim <command> ...``. Each command lives beside its model and registers itself.

Only the chosen command's module is imported (``sim params`` never loads dolfinx or matplotlib);
``sim --help`` lists every command from :data:`HELP` without importing any. User errors
(:class:`~sim.errors.InputError`) print one line and exit 2, solver failures
(:class:`~sim.errors.SolverError`) exit 3; neither prints a traceback. A closed pipe on stdout
(``sim params liu2024 | head``) ends quietly with status 141, as a shell's SIGPIPE does.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from sim import __version__
from sim.errors import InputError, SimError, SolverError

# command name -> module with ``register(subparsers)``; modules keep heavy imports (dolfinx) inside functions
COMMANDS = {
    "params": "sim.params_cli",
    "mesh": "sim.mesh",
    "microstructure": "sim.mesh.microstructure",
    "demo": "sim.demo",
    "run": "sim.lithium.run",
    "scenario": "sim.scenarios.cli",
    "validate": "sim.validate",
    "sweep": "sim.sweep.cli",
    "fit": "sim.oxygen.fit_cli",
    "fit-gitt": "sim.scenarios.fit_gitt_cli",
    "oxygen": "sim.oxygen.cli",
    "bench": "sim.bench",
}
# one-line help of each command for ``sim --help`` (the same text its module registers)
HELP = {
    "params": "check a parameter set and print it with units and sources",
    "mesh": "build a particle mesh (gmsh) and write .msh + .xdmf",
    "microstructure": "place random non-overlapping pores in a particle and mesh it (3D)",
    "demo": "build the reference meshes, fit the example O profile, run the Liu 2024 particle and an imaged one",
    "run": "run a Li transport + stress case file; write a results folder",
    "scenario": "run a paper scenario (GITT, thermal relaxation, aged vs fresh, secondary->primary coupling, "
                "cracking, fatigue) from a case file",
    "validate": "run the validation cases and write a Markdown report with figures",
    "sweep": "run a parameter sweep of a case in parallel (Dask), resumable, into one table",
    "fit": "fit O-vacancy diffusion and core-shell models to Mn3+ / O-vacancy profiles",
    "fit-gitt": "fit Li diffusivity D(x) (and i0) to a GITT or relaxation voltage curve",
    "oxygen": "simulate O-vacancy diffusion and O loss in a primary particle over cycling",
    "bench": "benchmarks: sphere vs PyBaMM, Liu 2024 mesh convergence, 3D scaling",
}
_SIGPIPE_STATUS = 141


def _chosen(argv: list[str]) -> str | None:
    """The command named on the command line (the first word not starting with "-"), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The ``sim`` parser. With ``argv``, only the command it names is imported and registered in full;
    the others are listed by name and help. Without, every command is registered."""
    parser = argparse.ArgumentParser(prog="sim", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = None if argv is None else _chosen(argv)
    for name, module in COMMANDS.items():
        if argv is None or name == chosen:
            importlib.import_module(module).register(sub)
        else:
            sub.add_parser(name, help=HELP.get(name, ""), add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()            # a closed pipe shows here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        # the reader went away (| head): say nothing, and keep Python's exit flush from complaining
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _SIGPIPE_STATUS
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
