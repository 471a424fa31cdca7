"""Solver-only peer of a ``sim run`` case for ``sim bench`` (w): the same mesh, problem and protocol as
``sim run`` builds from the case file, with no outputs (no CSV, maps, probes, VTX, summary).

Prints one JSON line: wall times (s) of the mesh, the set-up (forms, initial state) and the time loop,
the number of accepted time steps and the final time, DOD and potential (to check equivalence).

    python solver_only.py validation/cases/liu2024_10C.toml
"""
from __future__ import annotations

import json
import sys
import time


def main(path: str) -> dict:
    t0 = time.perf_counter()
    import dolfinx_solver  # noqa: F401  (loads MPI before mpi4py)
    from mpi4py import MPI

    from sim.lithium.case import load_case
    from sim.lithium.problem import LithiumProblem
    from sim.lithium.run import _build_mesh

    spec = load_case(path)
    params = spec.load_params()
    t1 = time.perf_counter()
    pmesh = _build_mesh(spec, params, MPI.COMM_WORLD)
    t2 = time.perf_counter()
    s = spec.solver
    problem = LithiumProblem(params, pmesh, coupling=s.coupling, dt_initial=s.dt_initial, dt_max=s.dt_max,
                             mechanics=s.mechanics, degree_c=s.degree_c, degree_u=s.degree_u)
    problem.initialise()
    t3 = time.perf_counter()
    for step in spec.protocol:
        problem.run_step(step)
    t4 = time.perf_counter()
    out = {"time_imports_s": t1 - t0, "time_mesh_s": t2 - t1, "time_setup_s": t3 - t2, "time_loop_s": t4 - t3,
           "steps": problem.steps, "t_s": problem.t, "dod": problem.dod, "potential_V": problem.potential}
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main(sys.argv[1])
