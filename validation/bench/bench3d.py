"""Benchmark (c) worker: one 3D voided particle (Liu 2024 geometry) under ``mpiexec -n N``.

The liu2024 set's element sizes are multiplied by ``--scale`` (larger = coarser); the particle is
discharged at 10C from x_min with time steps of at most ``--dt`` for ``--steps`` steps after the first
(``--fixed-dt``: every step ``--dt``, the error control relaxed, to time a step). Rank 0 prints one
JSON line (SI units, times in s): unknowns (c P1 + u P2), mesh/setup times, the wall time of every
step, and peak resident memory (getrusage maxrss) as the max and the sum over ranks.

    mpiexec -n 2 python validation/bench/bench3d.py --scale 2 --steps 3
    python validation/bench/bench3d.py --scale 4 --count-only      # mesh and unknowns, no solve
"""
from __future__ import annotations

import argparse
import json
import resource
import time


def peak_memory_bytes(comm) -> tuple[int, int]:
    """(max over ranks, sum over ranks) of the peak resident set size; Linux reports kB."""
    from mpi4py import MPI

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return comm.allreduce(rss, op=MPI.MAX), comm.allreduce(rss, op=MPI.SUM)


def dofs(function) -> int:
    dm = function.function_space.dofmap
    return dm.index_map.size_global * dm.index_map_bs


def main(argv=None) -> dict:
    import dolfinx_solver  # noqa: F401  (loads MPI before mpi4py)
    from mpi4py import MPI

    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Stop
    from sim.mesh import particle_mesh_3d
    from sim.params import load_params

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, required=True, help="element sizes x this factor (liu2024 [mesh])")
    ap.add_argument("--steps", type=int, default=3, help="time steps after the first (default 3)")
    ap.add_argument("--dt", type=float, default=0.5, help="time step in s (default 0.5)")
    ap.add_argument("--degree-u", type=int, default=2, help="Lagrange degree of the displacement (default 2)")
    ap.add_argument("--order", type=int, default=1, help="geometry order of the mesh (default 1)")
    ap.add_argument("--strain-model", choices=("small", "finite"), default=None,
                    help="override mechanics.strain_model (default: the set's, finite)")
    ap.add_argument("--count-only", action="store_true", help="build the mesh and spaces, do not solve")
    ap.add_argument("--fixed-dt", action="store_true",
                    help="loose error tolerances so that every step is --dt (per-step cost, not accuracy)")
    args = ap.parse_args(argv)

    comm = MPI.COMM_WORLD
    base = load_params("liu2024")
    pset = base.override({"transport.x_initial": base.transport.x_min,
                          "mesh.size_outer": f"{base.mesh.size_outer * args.scale} m",
                          "mesh.size_inner": f"{base.mesh.size_inner * args.scale} m"}
                         | ({"mechanics.strain_model": args.strain_model} if args.strain_model else {}))
    t0 = time.perf_counter()
    pmesh = particle_mesh_3d(pset.geometry, pset.mesh, order=args.order, comm=comm)
    t1 = time.perf_counter()
    tolerances = {"rtol": 0.9, "atol": 0.9} if args.fixed_dt else {}
    problem = LithiumProblem(pset, pmesh, degree_u=args.degree_u, dt_initial=args.dt, dt_max=args.dt,
                             mechanics=True, **tolerances)
    out = {"ranks": comm.size, "scale": args.scale, "cells": pmesh.num_cells, "degree_u": args.degree_u,
           "strain_model": pset.mechanics.strain_model, "time_mesh_s": t1 - t0}
    if args.count_only:
        from dolfinx import fem

        n_c = fem.functionspace(pmesh.mesh, ("Lagrange", 1)).dofmap.index_map.size_global
        V_u = fem.functionspace(pmesh.mesh, ("Lagrange", args.degree_u, (3,)))
        out["unknowns"] = n_c + V_u.dofmap.index_map.size_global * 3
    else:
        problem.initialise()
        t2 = time.perf_counter()
        stamps = [time.perf_counter()]
        problem.run_step(Galvanostatic(10.0, "discharge", Stop(time=(args.steps + 1) * args.dt)),
                         on_step=lambda pb: stamps.append(time.perf_counter()))
        step_times = [b - a for a, b in zip(stamps[:-1], stamps[1:])]
        out.update({"unknowns": dofs(problem.c) + dofs(problem.u), "dofs_c": dofs(problem.c),
                    "dofs_u": dofs(problem.u), "time_setup_s": t2 - t1, "step_times_s": step_times,
                    "steps": problem.steps, "newton_iterations": problem.iterations, "dt_s": args.dt})
    out["peak_rss_max_bytes"], out["peak_rss_sum_bytes"] = peak_memory_bytes(comm)
    if comm.rank == 0:
        print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main()
