"""Benchmark (p) worker: phase-field fracture on the 3D voided particle (Liu 2024 geometry) under ``mpiexec -n N``.

The mesh is bench3d's (the liu2024 element sizes × ``--scale``, or the factor that gives ``--unknowns``
N = c P1 + u P2 + d P1 within ``--within``); the particle is discharged at 10C from x_min with the AT2 (or
AT1) phase field, spectral split, ℓ of the set (0.1 µm), small strain unless ``--strain-model finite``,
every step ``--dt`` (the time-error control relaxed, as bench3d ``--fixed-dt``: a step's cost, not its
accuracy). ``--fracture-energy`` (default 5e-4 J/m², assumed: ~1/3000 of the set's 1.52 J/m², the
cracking scenario's crack-path value) is low enough that the damage grows during the timed steps.

Rank 0 prints JSON lines (SI, times in s) as it goes: ``{"setup": ...}`` (unknowns of c, u and d and
their total, mesh and set-up times), ``{"step": ...}`` after every accepted step (its wall time, Δt,
staggered u ↔ d iterations, displacement Newton iterations and their CG iterations, damage solves
(``newton_d``: AT2 one linear solve per staggered iteration, AT1 the SNES VI's Newton iterations) and their
CG iterations, the wall time in the displacement and in the damage solves, d_max, the crack area ∫ γ dV,
peak resident memory so far (max and sum over ranks)), and ``{"done": ...}``: the set-up record with the
list of steps and the peak memory. ``--lag-jacobian 2`` reuses the displacement tangent and its GAMG for
a second Newton iteration (a candidate solver setting: it is not the code's default); for a PETSc profile
add ``PETSC_OPTIONS="-log_view :log.txt"``.

    mpiexec -n 2 python validation/bench/bench_pf3d.py --unknowns 1e6 --steps 1 --dt 4   # ~8 min a step, 2 cores
    python validation/bench/bench_pf3d.py --scale 6 --steps 2 --dt 2     # a coarse mesh (4e4 unknowns)
"""
from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bench3d", Path(__file__).with_name("bench3d.py"))
bench3d = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench3d)

DEFAULT_FRACTURE_ENERGY = 5e-4      # J/m², assumed: d_max 0.03 → 0.23 over 3 steps of 2 s at 10C (see main)
COUNTERS = ("newton_u", "cg_u", "newton_d", "cg_d", "time_u_s", "time_d_s")


class SolverCounters:
    """Counts the Newton and Krylov iterations and wall time of each displacement and damage solve of a
    :class:`~sim.fracture.phase_field.PhaseField`, by wrapping its two solve methods on the instance."""

    def __init__(self, pf):
        self.pf, self.totals = pf, dict.fromkeys(COUNTERS, 0)
        solve_u, solve_d = pf.solve_displacement, pf.solve_damage

        def displacement():
            t0 = time.perf_counter()
            reason = solve_u()
            snes = pf._u_problem.solver
            self._add(time_u_s=time.perf_counter() - t0, newton_u=snes.getIterationNumber(),
                      cg_u=snes.getLinearSolveIterations())
            return reason

        def damage():
            t0 = time.perf_counter()
            reason = solve_d()
            if pf.opts.variant == "AT2":
                its = {"newton_d": 1, "cg_d": pf._kspd.getIterationNumber()}
            else:
                snes = pf._d_problem.solver
                its = {"newton_d": snes.getIterationNumber(), "cg_d": snes.getLinearSolveIterations()}
            self._add(time_d_s=time.perf_counter() - t0, **its)
            return reason

        pf.solve_displacement, pf.solve_damage = displacement, damage

    def _add(self, **values):
        for key, value in values.items():
            self.totals[key] += value

    def snapshot(self) -> dict:
        return dict(self.totals, staggered=self.pf.iterations)


def main(argv=None) -> dict:
    """Benchmark (p). The default G_c, measured (small strain, spectral split, AT2, Δt = 2 s at 10C): with the
    set's 1.52 J/m² d_max is 1e-4 after 4 steps (scale 6; AT2: d ≈ 2ℓH/G_c while d ≪ 1); with 5e-4 J/m² it is
    0.029, 0.092, 0.23 after steps 1–3 at scale 2 (2.4e5 unknowns): of order 0.1–1, and growing."""
    import dolfinx_solver  # noqa: F401  (loads MPI before mpi4py)
    from mpi4py import MPI

    from sim.fracture.options import PhaseFieldOptions
    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Stop
    from sim.mesh import particle_mesh_3d
    from sim.params import load_params

    ap = bench3d.size_arguments(__doc__, "c + u + d", dt=2.0)
    ap.add_argument("--variant", choices=("AT2", "AT1"), default="AT2", help="phase-field variant (default AT2)")
    ap.add_argument("--split", choices=("spectral", "volumetric-deviatoric", "none"), default="spectral",
                    help="energy split (default spectral)")
    ap.add_argument("--fracture-energy", type=float, default=DEFAULT_FRACTURE_ENERGY,
                    help=f"G_c in J/m^2 (default {DEFAULT_FRACTURE_ENERGY:g}, assumed: damage grows in the steps)")
    ap.add_argument("--strain-model", choices=("small", "finite"), default="small",
                    help="mechanics.strain_model (default small)")
    ap.add_argument("--lag-jacobian", type=int, default=1,
                    help="rebuild the displacement tangent and its GAMG every N-th Newton iteration of a solve "
                         "(PETSc SNESSetLagJacobian/Preconditioner; default 1: every iteration)")
    args = ap.parse_args(argv)

    comm = MPI.COMM_WORLD
    base = load_params("liu2024").override({"mechanics.fracture_energy": f"{args.fracture_energy} J/m^2"},
                                           "bench_pf3d --fracture-energy")
    degree_u = 2
    t0 = time.perf_counter()
    if args.unknowns is not None:
        pset, pmesh, scale, _, built = bench3d.mesh_for_unknowns(base, args.unknowns, args.within, degree_u, 1,
                                                                 args.strain_model, comm, p1_fields=2)
    else:
        scale, built = args.scale, 1
        pset = bench3d.scaled_params(base, scale, args.strain_model)
        pmesh = particle_mesh_3d(pset.geometry, pset.mesh, order=1, comm=comm)
    t1 = time.perf_counter()
    fracture = PhaseFieldOptions(variant=args.variant, split=args.split)
    problem = LithiumProblem(pset, pmesh, degree_u=degree_u, dt_initial=args.dt, dt_max=args.dt, mechanics=True,
                             rtol=0.9, atol=0.9, fracture=fracture)
    problem.initialise()
    t2 = time.perf_counter()
    mech = problem.mechanics
    n_p1 = bench3d.dofs(problem.c)
    out = {"ranks": comm.size, "scale": scale, "meshes_built": built, "cells": pmesh.num_cells,
           "degree_u": degree_u, "strain_model": pset.mechanics.strain_model, "variant": args.variant,
           "split": args.split, "fracture_energy_J_m2": args.fracture_energy,
           "phase_field_length_m": pset.mechanics.phase_field_length,
           "size_inner_m": pset.mesh.size_inner, "size_outer_m": pset.mesh.size_outer,
           "dofs_c": n_p1, "dofs_u": bench3d.dofs(problem.u), "dofs_d": bench3d.dofs(mech.damage),
           "time_mesh_s": t1 - t0, "time_setup_s": t2 - t1}
    out["unknowns"] = out["dofs_c"] + out["dofs_u"] + out["dofs_d"]
    report(comm, {"setup": out})
    if args.lag_jacobian != 1:
        from petsc4py import PETSc

        snes = mech.phase_field._u_problem.solver
        options, prefix = PETSc.Options(), snes.getOptionsPrefix()
        for key in ("snes_lag_jacobian", "snes_lag_preconditioner"):
            options[prefix + key] = args.lag_jacobian
        snes.setFromOptions()
    counters = SolverCounters(mech.phase_field)
    last = {"stamp": time.perf_counter(), "t": problem.t, **counters.snapshot()}
    out["steps"] = []

    def on_step(pb):
        now = {"stamp": time.perf_counter(), "t": pb.t, **counters.snapshot()}
        step = {"wall_s": now["stamp"] - last["stamp"], "dt_s": now["t"] - last["t"],
                **{key: now[key] - last[key] for key in ("staggered",) + COUNTERS},
                "damage_max": pb.mechanics.damage_max(), "crack_area_m2": pb.mechanics.crack_area()}
        step["peak_rss_max_bytes"], step["peak_rss_sum_bytes"] = bench3d.peak_memory_bytes(comm)
        last.update(now, stamp=time.perf_counter())     # the measurements above are not the next step's
        out["steps"].append(step)
        report(comm, {"step": step})

    problem.run_step(Galvanostatic(10.0, "discharge", Stop(time=(args.steps + 1) * args.dt)), on_step=on_step)
    out["peak_rss_max_bytes"], out["peak_rss_sum_bytes"] = bench3d.peak_memory_bytes(comm)
    report(comm, {"done": out})
    return out


def report(comm, record: dict) -> None:
    """One JSON line from rank 0, flushed: the set-up, every step as it ends, and the whole run at the end
    (so that a run stopped by a time-out still tells what it did)."""
    if comm.rank == 0:
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
