"""Reference meshes: every entry of ``meshes/reference.toml`` built, written and drawn (``sim mesh --reference``)."""
from __future__ import annotations

import time
import tomllib
from pathlib import Path

from sim import resources
from sim.errors import InputError
from sim.mesh.builders import mesh_from_params
from sim.mesh.particle import _tag, _world

REFERENCE_RECIPE = resources.mesh_recipe("reference")


def _reference_recipe(path: Path = REFERENCE_RECIPE) -> list[dict]:
    try:
        entries = tomllib.loads(path.read_text()).get("mesh", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read the reference recipe ({exc})", file=str(path)) from None
    for i, e in enumerate(entries):
        missing = {"name", "kind", "params"} - set(e)
        if missing:
            raise InputError(f"missing {', '.join(sorted(missing))}", file=str(path), key=f"mesh[{i}]")
    return entries


def build_reference_meshes(out_dir: str | Path, comm=None, recipe: str | Path = REFERENCE_RECIPE) -> list[dict]:
    """Build every mesh of ``meshes/reference.toml`` into ``out_dir`` with a PNG picture each.

    Returns one dict per mesh: name, kind, paths (msh, xdmf, json, png), cells, vertices,
    min_quality_minSICN, seconds (build time). Collective.
    """
    from sim.params import load_params

    comm = _world(comm)
    out_dir = Path(out_dir)
    # load and validate everything first: a bad recipe writes nothing
    jobs = [(e, load_params(e["params"], e.get("overrides"))) for e in _reference_recipe(Path(recipe))]
    results = []
    for entry, pset in jobs:
        t0 = time.perf_counter()
        pm = mesh_from_params(pset, entry["kind"], dim=entry.get("dim", 3), order=entry.get("order", 1), comm=comm)
        seconds = comm.allreduce(time.perf_counter() - t0, op=_max_op())
        paths = pm.write(out_dir, entry["name"])
        paths["png"] = pm.plot(out_dir / f"{entry['name']}.png", title=entry["name"])
        results.append({"name": entry["name"], "kind": entry["kind"], "params": entry["params"],
                        "paths": {k: str(v) for k, v in paths.items()}, "cells": pm.num_cells,
                        "vertices": pm.num_vertices, "min_quality_minSICN": pm.min_quality,
                        "boundaries": sorted(pm.boundaries, key=_tag), "seconds": seconds})
    return results


def _max_op():
    from mpi4py import MPI

    return MPI.MAX


