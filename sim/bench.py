"""``sim bench``: speed and agreement benchmarks, printed as a markdown report.

(a) ``spm``   1D radial solid sphere, galvanostatic discharge with stress, against PyBaMM's SPM with
              ``{"particle mechanics": "swelling only"}`` on the same parameters
              (``validation/bench/pybamm_peer.py``, run in an interpreter that has pybamm);
(b) ``liu``   Liu 2024 axisymmetric particle, 10C to 20 % DOD: mesh refinement until the bridge-point hoop
              stress is converged to 1 %, wall time at that resolution;
(c) ``3d``    3D voided particle at ~1e6 unknowns, small and finite strain: s per time step, set-up and peak
              memory on 1 and 2 MPI ranks (``validation/bench/bench3d.py`` under ``mpiexec``);
(p) ``fracture3d`` the same particle with the AT2 phase field at ~2e5 and ~1e6 unknowns: per step the staggered,
              Newton and Krylov iterations, d_max, time and peak memory (``validation/bench/bench_pf3d.py``);
(w) ``whole`` whole processes against whole processes (imports, JIT-cache look-ups and outputs included,
              every run a fresh process): ``sim run`` of the 1D sphere against PyBaMM's peer, the solver-only
              script against ``sim run`` for the Liu 10C case, ``sim fit`` and ``sim params``; ≥ 5 runs
              alternated between the codes, median and spread (min–max), wall and CPU time.

Speed is measured here, never by timed tests. (a)–(c) time in-process parts (after imports); (w) whole
processes. The machine's load average is printed with every table: the machine may be shared.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sim import resources
from sim.errors import InputError
from sim.io import MarkdownTable, fmt_cell, write_text_atomic

BENCH_DIR = resources.data_dir("bench")                   # workers and peers: validation/bench, or the wheel's copy
BENCHMARKS = {"a": "spm", "b": "liu", "c": "3d", "w": "whole", "f": "fracture", "i": "image",
              "p": "fracture3d"}   # --only letter -> name
ROOT = Path(__file__).resolve().parent.parent              # where `import sim` works: the clone or site-packages
RTOL_BRIDGE = 0.01                                         # (b): converged when within 1 % of the finest mesh
LIU_LEVELS = (2.0, 1.41, 1.0, 0.71, 0.5, 0.35)             # (b): element sizes x these factors
TARGET_UNKNOWNS_3D = (1e6,)


# --------------------------------------------------------------------------- report machinery
@dataclass
class Section:
    """One benchmark's part of the report: a title, tables and notes (markdown)."""

    key: str
    title: str
    tables: list[MarkdownTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        parts = [f"## ({self.key}) {self.title}"] + [t.render() for t in self.tables]
        parts += ["\n".join(f"- {n}" for n in self.notes)] if self.notes else []
        return "\n\n".join(parts)


def render_report(sections: list[Section], header: str = "") -> str:
    return "\n\n".join(([header] if header else []) + [s.render() for s in sections]) + "\n"


def parse_only(text: str) -> list[str]:
    """``"a,c"`` -> ``["a", "c"]`` (names ``spm``, ``liu``, ``3d`` are accepted too), in a-b-c order."""
    names = {v: k for k, v in BENCHMARKS.items()}
    picked = set()
    for item in (s.strip().lower() for s in text.split(",")):
        if not item:
            continue
        key = names.get(item, item)
        if key not in BENCHMARKS:
            allowed = ", ".join(f"{k} ({v})" for k, v in BENCHMARKS.items())
            raise InputError(f"unknown benchmark {item!r}; allowed: {allowed}", key="--only")
        picked.add(key)
    if not picked:
        raise InputError("no benchmark selected; give e.g. --only a,b", key="--only")
    return sorted(picked)


def machine_header() -> str:
    import platform

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (f"# sim bench\n\n{time.strftime('%Y-%m-%d %H:%M')}: {os.cpu_count()} cores, load average {load} "
            f"(1, 5, 15 min) at the end, Python {platform.python_version()}. (a)–(c): wall-clock seconds after "
            "imports; (w): whole processes.")


# --------------------------------------------------------------------------- shared helpers
def _dofs(function) -> int:
    imap = function.function_space.dofmap.index_map
    return imap.size_global * function.function_space.dofmap.index_map_bs


def _surface_points(pmesh):
    """The outer surface point (R, 0, 0) and the centre: LithiumProblem.evaluate is given two points
    because DOLFINx's Function.eval returns a flat array for a single point."""
    import numpy as np

    R = float(pmesh.comm.allreduce(pmesh.mesh.geometry.x[:, 0].max(), op=_mpi_max()))
    return np.array([[R, 0.0, 0.0], [0.0, 0.0, 0.0]])


def _mpi_max():
    from mpi4py import MPI

    return MPI.MAX


# --------------------------------------------------------------------------- (a) SPM vs PyBaMM
@dataclass(frozen=True)
class SphereCase:
    """Benchmark (a): the lmr_default set on a solid sphere, discharged galvanostatically from x_min.

    All SI. ``omega`` (m^3/mol) is the slope of ΔV/V0 per concentration over the window and ``c_ref``
    (mol/m^3) where ΔV/V0 = 0, so ΔV/V0 = Ω (c − c_ref) as in PyBaMM (Ai 2020) and physics.md M3.
    """

    params: object
    c_rate: float
    dod: float
    n_cells: int
    coupling: str = "one-way"

    @classmethod
    def build(cls, *, c_rate: float = 1.0, dod: float = 0.98, n_cells: int = 40,
              coupling: str = "one-way") -> "SphereCase":
        from sim.params import load_params

        base = load_params("lmr_default")
        pset = base.override({"geometry.void_radius": "0 um", "geometry.pores": [],
                              "transport.x_initial": base.transport.x_min})
        return cls(pset, c_rate, dod, n_cells, coupling)

    @property
    def diffusivity(self) -> float:
        from sim.lithium.transport import arrhenius

        tr = self.params.transport
        return float(tr.diffusivity(tr.x_min)) * arrhenius(tr, self.params.conditions.temperature)

    @property
    def omega(self) -> float:
        tr, vc = self.params.transport, self.params.mechanics.volume_change
        return float(vc(tr.x_max) - vc(tr.x_min)) / ((tr.x_max - tr.x_min) * tr.c_max)

    @property
    def c_ref(self) -> float:
        tr = self.params.transport
        return tr.x_min * tr.c_max - float(self.params.mechanics.volume_change(tr.x_min)) / self.omega

    @property
    def flux(self) -> float:
        """Inward molar flux (mol m^-2 s^-1) that discharges the window in 1/c_rate hours: R c_max Δx / (3 t)."""
        tr = self.params.transport
        return self.c_rate * self.params.geometry.particle_radius * tr.c_max * (tr.x_max - tr.x_min) / (3 * 3600.0)

    def checks(self) -> list[str]:
        """Where the peer model cannot match ours exactly (PyBaMM needs constant D and linear ΔV/V0)."""
        import numpy as np

        tr, vc = self.params.transport, self.params.mechanics.volume_change
        xs = np.linspace(tr.x_min, tr.x_max, 21)
        notes = []
        if np.ptp(tr.diffusivity(xs)) > 1e-12 * tr.diffusivity(xs).max():
            notes.append("D(x) is not constant over the window; PyBaMM gets D(x_min)")
        linear = vc(tr.x_min) + (xs - tr.x_min) * self.omega * tr.c_max
        if np.abs(vc(xs) - linear).max() > 1e-9:
            notes.append("ΔV/V0(x) is not linear over the window; PyBaMM gets its secant slope")
        return notes

    def peer_input(self, t_out) -> dict:
        """The case for validation/bench/pybamm_peer.py. Two-way coupling: sim's flux −D(∇c − c Ω/(RT) ∇σ_h)
        is PyBaMM's stress-induced diffusion D (1 + θ (c − c_0)) only with c_0 = 0; c_0 does not change the
        stresses (a uniform eigenstrain of a free particle), so it is set to 0 there."""
        p = self.params
        c_ref = 0.0 if self.coupling == "two-way" else self.c_ref
        return {"radius_m": p.geometry.particle_radius, "diffusivity_m2_s": self.diffusivity,
                "c_max_mol_m3": p.transport.c_max, "x_initial": p.transport.x_initial, "c_ref_mol_m3": c_ref,
                "youngs_modulus_Pa": p.mechanics.youngs_modulus, "poisson_ratio": p.mechanics.poisson_ratio,
                "omega_m3_mol": self.omega, "i0_A_m2": p.kinetics.exchange_current_density,
                "ocv_x": p.kinetics.ocv.x.tolist(), "ocv_y": p.kinetics.ocv.y.tolist(),
                "flux_mol_m2_s": self.flux, "temperature_K": p.conditions.temperature,
                "t_out_s": list(t_out), "n_r": self.n_cells,
                "stress_induced_diffusion": self.coupling == "two-way"}

    def exact_surface(self, t):
        """Crank galvanostatic sphere (physics.md M3): surface Li fraction and surface hoop stress (Pa)."""
        import numpy as np
        from sim.lithium.closed_form import galvanostatic_sphere_stresses

        p = self.params
        R = p.geometry.particle_radius
        x_s, hoop = [], []
        for ti in t:
            if ti <= 0:
                x_s.append(p.transport.x_initial), hoop.append(0.0)
                continue
            s = galvanostatic_sphere_stresses(np.array([R]), ti, radius=R, diffusivity=self.diffusivity,
                                              flux=self.flux, omega=self.omega,
                                              youngs_modulus=p.mechanics.youngs_modulus,
                                              poisson_ratio=p.mechanics.poisson_ratio)
            x_s.append(p.transport.x_initial + s["c"][0] / p.transport.c_max)
            hoop.append(s["hoop"][0])
        return np.array(x_s), np.array(hoop)


def run_sphere(case: SphereCase, *, record: bool = True, comm=None) -> dict:
    """Our solver on ``case``; setup and solve times, and with ``record`` the surface Li fraction,
    surface hoop stress (Pa) and potential (V) at every accepted step (recording costs time, so the
    timed runs do not record)."""
    import numpy as np
    import dolfinx_solver  # noqa: F401  (loads MPI before mpi4py)
    from mpi4py import MPI

    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Stop
    from sim.mesh import radial_mesh

    comm = comm or MPI.COMM_WORLD
    t0 = time.perf_counter()
    pmesh = radial_mesh(case.params.geometry.particle_radius, n_cells=case.n_cells, comm=comm)
    problem = LithiumProblem(case.params, pmesh, coupling=case.coupling)
    problem.initialise()
    surface = _surface_points(pmesh)
    rows = []

    def on_step(pb):
        rows.append((pb.t, pb.evaluate("x", surface)[0], pb.evaluate("hoop", surface)[0], pb.potential))

    if record:
        on_step(problem)
    t1 = time.perf_counter()
    status = problem.run_step(Galvanostatic(case.c_rate, "discharge", Stop(dod=case.dod)),
                              on_step=on_step if record else None)
    t2 = time.perf_counter()
    out = {"status": status, "steps": problem.steps, "time_setup_s": t1 - t0, "time_solve_s": t2 - t1}
    if record:
        keys = ("t_s", "x_surface", "hoop_surface_Pa", "potential_V")
        out.update({k: np.array(col, dtype=float) for k, col in zip(keys, zip(*rows))})
    return out


def run_peer(case: SphereCase, t_out, python: str, n_r: int | None = None) -> dict:
    """PyBaMM on the same case in ``python`` (a subprocess, so pybamm is never imported here)."""
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.json"
        path.write_text(json.dumps(case.peer_input(t_out) | ({"n_r": n_r} if n_r else {})))
        proc = subprocess.run([python, str(BENCH_DIR / "pybamm_peer.py"), str(path)], capture_output=True,
                              text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"PyBaMM peer failed: {proc.stderr.strip().splitlines()[-1:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {k: np.array(v) if isinstance(v, list) else v for k, v in out.items()}


def pybamm_available(python: str) -> bool:
    return subprocess.run([python, "-c", "import pybamm"], capture_output=True).returncode == 0


def _max_rel(a, b, scale=None) -> float:
    """max |a − b| / max |b| (or / ``scale``): relative to the signal's range, not pointwise."""
    import numpy as np

    return float(np.max(np.abs(a - b)) / (scale if scale is not None else np.max(np.abs(b))))


def bench_spm(python: str, *, c_rate: float = 1.0, dod: float = 0.98, n_cells: int = 40,
              peer_refine: int = 4) -> Section:
    """Benchmark (a), one-way coupling against the closed form and PyBaMM without stress-induced diffusion
    (PyBaMM also with ``peer_refine`` x more finite volumes), two-way coupling against PyBaMM with it."""
    import dataclasses

    import numpy as np

    case = SphereCase.build(c_rate=c_rate, dod=dod, n_cells=n_cells)
    two_way = dataclasses.replace(case, coupling="two-way")
    p = case.params
    sec = Section("a", f"1D solid sphere, {c_rate:g}C discharge to {dod:.0%} DOD with stress: sim vs PyBaMM SPM")
    sec.notes.append(f"lmr_default on a solid sphere: R = {p.geometry.particle_radius * 1e6:g} µm, "
                     f"D = {case.diffusivity:.3g} m²/s, c_max = {p.transport.c_max:.0f} mol/m³, x {p.transport.x_min:g}"
                     f" → {p.transport.x_max:g}, E = {p.mechanics.youngs_modulus / 1e9:g} GPa, "
                     f"ν = {p.mechanics.poisson_ratio:g}, Ω = {case.omega:.4g} m³/mol (slope of ΔV/V0), "
                     f"i0 = {p.kinetics.exchange_current_density:g} A/m² (constant), same OCV table; sim: {n_cells} "
                     f"cells (P1 c, P2 u), error-controlled BDF2 (rtol 1e-5, atol 1e-6); PyBaMM: SPM with particle mechanics "
                     "\"swelling only\", IDAKLU (rtol 1e-8).")
    sec.notes += case.checks()
    first = run_sphere(case, record=False)      # first in this process: forms JIT-compiled or loaded
    ours = {c.coupling: run_sphere(c, record=True) for c in (case, two_way)}   # surface values at every step
    warm, warm2 = run_sphere(case, record=False), run_sphere(two_way, record=False)   # again: no JIT
    x_ex, hoop_ex = case.exact_surface(ours["one-way"]["t_s"])
    hoop_scale = float(np.abs(hoop_ex).max())
    timing = MarkdownTable(["code", "setup + solve (s)", "solve only (s)", "time steps", "setup is"])
    timing.add("sim one-way, first run", first["time_setup_s"] + first["time_solve_s"], first["time_solve_s"],
               first["steps"], "mesh + forms (JIT) + initial state")
    for name, run in (("sim one-way", warm), ("sim two-way", warm2)):
        timing.add(f"{name}, second run", run["time_setup_s"] + run["time_solve_s"], run["time_solve_s"],
                   run["steps"], "mesh + forms (cached) + initial state")
    accuracy = MarkdownTable(["code", "x_s vs closed form", "hoop vs closed form", "hoop vs closed form at end",
                              "x_s vs sim", "hoop vs sim", "potential vs sim (mV)"])
    # two-way rows: sim's stress-driven flux −D(∇c − c Ω/(RT) ∇σ_h) vs PyBaMM's stress-induced diffusion

    def acc_row(name, run, *, exact: bool, reference=None):
        """Differences to the closed form (one-way runs) and to the sim run ``reference``."""
        cells = [None] * 6
        if exact:
            cells[:3] = [_max_rel(run["x_surface"], x_ex), _max_rel(run["hoop_surface_Pa"], hoop_ex, hoop_scale),
                         abs(run["hoop_surface_Pa"][-1] / hoop_ex[-1] - 1)]
        if reference is not None:
            cells[3:] = [_max_rel(run["x_surface"], reference["x_surface"]),
                         _max_rel(run["hoop_surface_Pa"], reference["hoop_surface_Pa"], hoop_scale),
                         1e3 * float(np.abs(run["potential_V"][1:] - reference["potential_V"][1:]).max())]
        accuracy.add(name, *cells)

    acc_row(f"sim one-way ({n_cells} cells)", ours["one-way"], exact=True)
    if pybamm_available(python):
        runs = [(case, n_cells), (case, peer_refine * n_cells), (two_way, n_cells)]
        for c, n_r in runs:
            sid = "with" if c.coupling == "two-way" else "no"
            peer = run_peer(c, ours[c.coupling]["t_s"], python, n_r=n_r)
            timing.add(f"PyBaMM {peer['pybamm_version']} SPM, {sid} stress-induced diffusion, r_p = {n_r}",
                       peer["time_setup_and_solve_s"], peer["time_solve_s"], "adaptive",
                       "model build + discretisation + solver set-up")
            acc_row(f"PyBaMM, {sid} stress-induced diffusion (r_p = {n_r}) vs sim {c.coupling}", peer,
                    exact=c is case, reference=ours[c.coupling])
            if c is case and n_r == n_cells:
                ratios = ((warm["time_setup_s"] + warm["time_solve_s"]) / peer["time_setup_and_solve_s"],
                          warm["time_solve_s"] / peer["time_solve_s"])
        sec.notes.append(f"wall-time ratio sim one-way (second run) / PyBaMM (r_p = {n_cells}): setup + solve "
                         f"{ratios[0]:.3g}, solve only {ratios[1]:.3g} (target ≤ 1).")
    else:
        sec.notes.append(f"PyBaMM part skipped: pybamm is not importable by {python} "
                         "(see validation/bench/README.md, then pass --pybamm-python).")
    sec.notes.append(f"closed form (one-way only): Crank galvanostatic sphere (physics.md M3), surface hoop = "
                     f"K (c̄ − c_s), quasi-steady {hoop_ex[-1] / 1e6:.4g} MPa. Accuracy columns: max over all sim "
                     f"steps ({ours['one-way']['steps']}) of the absolute difference, relative to x_s for x_s and to "
                     "max abs σ_exact for the hoop stress; potential from the first step on (t = 0 is open circuit "
                     "in sim, under current in PyBaMM).")
    sec.tables += [timing, accuracy]
    return sec


# --------------------------------------------------------------------------- (b) Liu 2024 axisymmetric
def run_liu(factor: float, *, c_rate: float = 10.0, dod: float = 0.2, order: int = 2, comm=None) -> dict:
    """Liu 2024 (r, z) particle with the set's element sizes x ``factor``, discharged from x_min at
    ``c_rate`` to ``dod``: bridge-point hoop stress (Pa), counts and wall times (s)."""
    import numpy as np
    import dolfinx_solver  # noqa: F401  (loads MPI before mpi4py)
    from mpi4py import MPI

    from sim.lithium.problem import LithiumProblem
    from sim.lithium.protocol import Galvanostatic, Stop
    from sim.mesh import axisymmetric_mesh
    from sim.params import load_params

    comm = comm or MPI.COMM_WORLD
    base = load_params("liu2024")
    pset = base.override({"transport.x_initial": base.transport.x_min,
                          "mesh.size_outer": f"{base.mesh.size_outer * factor} m",
                          "mesh.size_inner": f"{base.mesh.size_inner * factor} m"})
    t0 = time.perf_counter()
    pmesh = axisymmetric_mesh(pset.geometry, pset.mesh, order=order, comm=comm)
    t1 = time.perf_counter()
    problem = LithiumProblem(pset, pmesh)
    problem.initialise()
    t2 = time.perf_counter()
    problem.run_step(Galvanostatic(c_rate, "discharge", Stop(dod=dod)))
    t3 = time.perf_counter()
    bridge = problem.bridge_point()
    # two points: Function.eval returns a flat array for a single point (see _surface_points)
    hoop = float(problem.evaluate("hoop", np.array([bridge, [0.0, 0.0, 0.0]]))[0])
    return {"factor": factor, "size_outer_m": pset.mesh.size_outer, "size_inner_m": pset.mesh.size_inner,
            "cells": pmesh.num_cells, "unknowns": _dofs(problem.c) + _dofs(problem.u), "steps": problem.steps,
            "hoop_bridge_Pa": hoop, "bridge_m": bridge.tolist(), "time_mesh_s": t1 - t0,
            "time_setup_s": t2 - t1, "time_solve_s": t3 - t2}


def converged_level(values: list[float], rtol: float = RTOL_BRIDGE) -> int:
    """Index of the coarsest level from which every level is within ``rtol`` of the last (finest) one."""
    ref = values[-1]
    idx = len(values) - 1
    for i in range(len(values) - 1, -1, -1):
        if abs(values[i] / ref - 1) > rtol:
            break
        idx = i
    return idx


def bench_liu(levels=LIU_LEVELS) -> Section:
    sec = Section("b", "Liu 2024 axisymmetric particle, 10C discharge from x_min to 20 % DOD")
    run_liu(levels[0])                                      # JIT-compile the forms once, untimed
    runs = [run_liu(f) for f in sorted(levels, reverse=True)]
    best = converged_level([r["hoop_bridge_Pa"] for r in runs])
    ref = runs[-1]["hoop_bridge_Pa"]
    table = MarkdownTable(["size factor", "size_outer (µm)", "size_inner (µm)", "cells", "unknowns (c + u)",
                           "time steps", "bridge hoop (Pa)", "diff. to finest", "mesh (s)", "setup (s)",
                           "solve (s)", "total (s)"])
    for i, r in enumerate(runs):
        total = r["time_mesh_s"] + r["time_setup_s"] + r["time_solve_s"]
        table.add(("**" + fmt_cell(r["factor"]) + "**") if i == best else r["factor"], r["size_outer_m"] * 1e6,
                  r["size_inner_m"] * 1e6, r["cells"], r["unknowns"], r["steps"], r["hoop_bridge_Pa"],
                  f"{abs(r['hoop_bridge_Pa'] / ref - 1):.2%}", r["time_mesh_s"], r["time_setup_s"],
                  r["time_solve_s"], total)
    chosen = runs[best]
    values = [r["hoop_bridge_Pa"] for r in runs]
    spread = (max(values) - min(values)) / abs(ref)
    total = chosen["time_mesh_s"] + chosen["time_setup_s"] + chosen["time_solve_s"]
    sec.tables.append(table)
    sec.notes += [
        f"converged to {RTOL_BRIDGE:.0%} (this and every finer level within {RTOL_BRIDGE:.0%} of the finest): size "
        f"factor {chosen['factor']:g} x the liu2024 [mesh] sizes, {chosen['cells']} cells, {chosen['unknowns']} "
        f"unknowns; wall time {total:.3g} s (mesh {chosen['time_mesh_s']:.3g} + setup {chosen['time_setup_s']:.3g} "
        f"+ solve {chosen['time_solve_s']:.3g}; target < 10 s).",
        f"bridge point (m, on the axis between void and pore): {chosen['bridge_m']}; Liu 2024 reports 3.17e8 Pa. "
        f"Spread of the bridge hoop stress over all levels: {spread:.2%} of the finest (not monotone: the stress is "
        "piecewise polynomial, discontinuous between cells, evaluated at one point on the axis).",
        "liu2024 parameter set (finite strain), curved order-2 mesh, P1 c / P2 u, one-way coupling, error-controlled "
        "BDF2 (solver defaults); the forms were JIT-compiled by an untimed run first.",
    ]
    return sec


# --------------------------------------------------------------------------- (c) 3D voided particle
def _mpiexec() -> str:
    local = Path(sys.executable).with_name("mpiexec")
    found = str(local) if local.exists() else shutil.which("mpiexec")
    if not found:
        raise InputError("mpiexec not found next to the Python interpreter or on PATH (benchmark c)")
    return found


def run_3d_worker(ranks: int, *args: str, timeout: float = 1800.0, script: str = "bench3d.py") -> dict:
    """``mpiexec -n ranks python validation/bench/<script> args``; its last JSON line, or {"error": ...,
    "lines": every JSON line it printed before it failed or was stopped}."""
    cmd = [_mpiexec(), "-n", str(ranks), sys.executable, str(BENCH_DIR / script), *args]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                                      os.environ.get("PYTHONPATH")])))
    # own process group, so that a time-out stops mpiexec and its ranks together
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        error = None if proc.returncode == 0 else (stderr.strip().splitlines() or ["no output"])[-1]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, _ = proc.communicate()        # what it printed before the time-out
        error = f"stopped after {timeout:.0f} s without finishing"
    lines = [json.loads(ln) for ln in stdout.splitlines() if ln.startswith("{") and ln.endswith("}")]
    if error or not lines:
        return {"error": error or "no output", "ranks": ranks, "lines": lines}
    return lines[-1]


def bench_3d(targets=TARGET_UNKNOWNS_3D, ranks=(1, 2), steps: int = 3, dt: float = 0.5,
             max_seconds: float = 900.0, strains=("small", "finite")) -> Section:
    sec = Section("c", "3D voided particle (Liu 2024 geometry), 10C discharge: time per step and peak memory")
    table = MarkdownTable(["target", "unknowns (c P1 + u P2)", "cells", "strain", "ranks", "mesh (s)", "setup (s)",
                           "first step (s)", "later steps (s/step)", "elasticity CG its/step",
                           "peak memory max/rank (GB)", "peak memory total (GB)", "load before"])
    later_of = {}
    for target in targets:
        for strain in strains:
            for n in ranks:
                load = os.getloadavg()[0]
                # one configuration per worker; it meshes until the unknowns are within 10 % of the target
                args = ["--unknowns", f"{target:g}", "--within", "0.1", "--steps", str(steps), "--dt", str(dt),
                        "--strain-model", strain, "--fixed-dt"]
                out = run_3d_worker(n, *args, timeout=max_seconds)
                if "error" in out:
                    table.add(f"{target:.0e}", None, None, strain, n, None, None, None, None, None, None, None, load)
                    sec.notes.append(f"{target:.0e} unknowns, {strain} strain, on {n} rank(s) failed: {out['error']}")
                    continue
                later = out["step_times_s"][1:]
                its = out["mechanics_krylov_per_step"][1:]
                per_step = sum(later) / len(later) if later else None
                later_of[(target, strain, n)] = per_step
                table.add(f"{target:.0e}", out["unknowns"], out["cells"], strain, n, out["time_mesh_s"],
                          out["time_setup_s"], out["step_times_s"][0], per_step, sum(its) / len(its) if its else None,
                          out["peak_rss_max_bytes"] / 1e9, out["peak_rss_sum_bytes"] / 1e9, load)
    sec.tables.append(table)
    ratios = MarkdownTable(["target", "strain", "speed-up 1 → 2 ranks (later steps)", "finite / small per step"])
    for target in targets:
        for strain in strains:
            one, two = later_of.get((target, strain, 1)), later_of.get((target, strain, 2))
            small, finite = later_of.get((target, "small", max(ranks))), later_of.get((target, "finite", max(ranks)))
            ratios.add(f"{target:.0e}", strain, one / two if one and two else None,
                       finite / small if strain == "finite" and small and finite else None)
    sec.tables.append(ratios)
    sec.notes += [
        f"fixed Δt = {dt:g} s, {steps + 1} steps; 'first step' includes building the preconditioners; c: P1, bordered "
        "Newton, GMRES + GAMG (φ_s by a Schur complement); u: P2, CG + GAMG (rigid-body near-nullspace) stopped at "
        "1e-10 of the energy of the stress scale E max|ΔV/V0|, small strain from the projection onto the last 8 "
        "solutions, finite strain inexact Newton (Eisenstat–Walker).",
        "mesh: liu2024 [mesh] sizes × the factor for which each worker's mesh has the target unknowns ± 10 % "
        "(bench3d.py --unknowns; 'mesh (s)' includes any re-meshing); peak memory = getrusage maxrss per rank (max, "
        "and sum over ranks); 'load before' = 1-min load average when the run started (the machine is shared).",
        "targets (issue 14): small strain on 2 ranks ≤ 5 s per step, set-up ≤ 20 s, ≤ 1.5 GB/rank; finite / small "
        "≤ 1.5; speed-up 1 → 2 ranks ≥ 1.8.",
    ]
    return sec


# --------------------------------------------------------------------------- (p) phase field at scale
TARGET_UNKNOWNS_PF = (2e5, 1e6)       # (p): the coarser point shows whether the Krylov counts stay bounded


def pf_run_record(out: dict) -> tuple[dict | None, list[dict], str | None]:
    """(set-up record, step records, error) of one bench_pf3d.py run as :func:`run_3d_worker` returns it: the
    whole run, or what a failed or stopped run printed before it ended."""
    if "error" not in out:
        done = out["done"]
        return done, done["steps"], None
    setup = next((ln["setup"] for ln in out["lines"] if "setup" in ln), None)
    return setup, [ln["step"] for ln in out["lines"] if "step" in ln], out["error"]


def _ratio(num, den):
    return num / den if den else None


def bench_pf3d(targets=TARGET_UNKNOWNS_PF, ranks=(1, 2), steps: int = 1, dt: float = 4.0,
               max_seconds: float = 900.0) -> Section:
    """Benchmark (p): AT2 phase field on the 3D Liu particle (``validation/bench/bench_pf3d.py``) at each target
    number of unknowns; every rank count at the smaller targets, the largest rank count only at the largest."""
    sec = Section("p", "Phase-field fracture at scale: 3D voided particle (Liu 2024 geometry), AT2, 10C discharge")
    table = MarkdownTable(["target", "unknowns c + u + d", "cells", "ranks", "mesh + setup (s)", "step", "Δt (s)",
                           "wall (s)", "staggered its", "u Newton its", "u CG its / Newton", "d CG its / solve",
                           "u solves (s)", "d solves (s)", "d_max", "crack area (µm²)", "peak GB max/rank (total)",
                           "load before"])
    summary = MarkdownTable(["target", "ranks", "steps done", "u CG its / Newton", "d CG its / solve",
                             "s / staggered it", "s / step", "peak GB/rank"])
    per_iteration, model = {}, None
    for target in targets:
        for n in (ranks if target != max(targets) else (max(ranks),)):
            load = os.getloadavg()[0]
            args = ["--unknowns", f"{target:g}", "--within", "0.1", "--steps", str(steps), "--dt", str(dt)]
            setup, records, error = pf_run_record(run_3d_worker(n, *args, timeout=max_seconds,
                                                                script="bench_pf3d.py"))
            if error:
                sec.notes.append(f"{target:.0e} unknowns on {n} rank(s): {error} ({len(records)} step(s) done; "
                                 "their rows are in the table)")
            if setup is None:
                table.add(f"{target:.0e}", None, None, n, *[None] * 13, load)
                continue
            model = setup
            dofs = f"{setup['dofs_c']} + {setup['dofs_u']} + {setup['dofs_d']} = {setup['unknowns']}"
            for i, r in enumerate(records, start=1):
                table.add(f"{target:.0e}", dofs, setup["cells"], n, setup["time_mesh_s"] + setup["time_setup_s"], i,
                          r["dt_s"], r["wall_s"], r["staggered"], r["newton_u"], _ratio(r["cg_u"], r["newton_u"]),
                          _ratio(r["cg_d"], r["newton_d"]), r["time_u_s"], r["time_d_s"], r["damage_max"],
                          r["crack_area_m2"] * 1e12,
                          f"{r['peak_rss_max_bytes'] / 1e9:.3g} ({r['peak_rss_sum_bytes'] / 1e9:.3g})", load)
            if not records:
                table.add(f"{target:.0e}", dofs, setup["cells"], n, setup["time_mesh_s"] + setup["time_setup_s"],
                          *[None] * 12, load)
                continue
            total = {k: sum(r[k] for r in records) for k in ("cg_u", "newton_u", "cg_d", "newton_d", "wall_s",
                                                                "staggered")}
            per_iteration[(target, n)] = total["wall_s"] / total["staggered"]
            summary.add(f"{target:.0e}", n, len(records), _ratio(total["cg_u"], total["newton_u"]),
                        _ratio(total["cg_d"], total["newton_d"]), per_iteration[(target, n)],
                        total["wall_s"] / len(records), records[-1]["peak_rss_max_bytes"] / 1e9)
    sec.tables += [table, summary]
    one, two = per_iteration.get((min(targets), 1)), per_iteration.get((min(targets), 2))
    if one and two and 1 in ranks and 2 in ranks:
        sec.notes.append(f"speed-up 1 → 2 ranks at {min(targets):.0e} (s per staggered iteration): {one / two:.3g}.")
    physics = ("no run reached its set-up" if model is None else
               f"{model['strain_model']} strain, {model['variant']} with the {model['split']} split, ℓ = "
               f"{fmt_cell(model['phase_field_length_m'] * 1e6)} µm, G_c = {fmt_cell(model['fracture_energy_J_m2'])} "
               "J/m² (assumed, the worker's default: the cracking scenario's crack-path value, far below the set's, so "
               "that the damage grows within the timed steps)")
    sec.notes += [
        f"liu2024 set, {physics}; from x_min at 10C, Δt = {dt:g} s fixed (time-error control relaxed), "
        f"{steps + 1} steps; mesh: liu2024 [mesh] sizes × the factor that gives the target c + u + d within 10 % "
        "(bench_pf3d.py --unknowns); 1e6 on the largest rank count only.",
        "solvers (sim/fracture/phase_field.py with Mechanics._linear_options()): u: SNES Newton (rtol 1e-9, or the "
        "energy norm of its correction ≤ 1e-6 of the stress scale) with CG + GAMG (rigid-body near-nullspace, Chebyshev bound 1.2 × the estimate, interpolation reused) to rtol 1e-8; "
        "d (AT2, linear): CG + GAMG to rtol 1e-11; staggered u ↔ d with Aitken relaxation to max |Δd| ≤ 1e-4. "
        "'u CG its / Newton' and 'd CG its / solve' are the Krylov counts whose boundedness under refinement "
        "is the test of the iterative solvers (issue 9).",
        "'mesh + setup' includes meshing, form compilation or cache look-up and the initial solve; 'wall' is the "
        "whole time step (Li transport + staggered solve); 'u solves'/'d solves' the part of it in the displacement "
        "SNES and the damage KSP; crack area = ∫ γ(d, ∇d) dV; peak memory = getrusage maxrss so far; a run that is "
        f"stopped after {max_seconds:.0f} s reports the steps it finished.",
    ]
    return sec


# --------------------------------------------------------------------------- (w) whole processes
def time_process(cmd: list[str], *, cwd=None, env=None, timeout: float = 1800.0) -> tuple[float, float, str]:
    """(wall s, CPU s of the child and its children, stdout) of one fresh process; RuntimeError on failure."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd[:4]))} ... failed: {(proc.stderr.strip().splitlines() or [''])[-1]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def alternate(commands: dict, runs: int, prepare=None) -> dict:
    """Run every command ``runs`` times, alternating between them (rotating which goes first each round);
    ``prepare(name, i)`` runs before each (e.g. removes an output folder). Returns name -> list of
    (wall, cpu, stdout)."""
    names = list(commands)
    out = {n: [] for n in names}
    for i in range(runs):
        for name in names[i % len(names):] + names[:i % len(names)]:
            if prepare is not None:
                prepare(name, i)
            out[name].append(time_process(commands[name], cwd=ROOT, env=_env()))
    return out


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def median_spread(values) -> tuple[float, float, float]:
    """(median, min, max)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    return float(np.median(v)), float(v.min()), float(v.max())


def _ms(values) -> str:
    m, lo, hi = median_spread(values)
    return f"{m:.3g} ({lo:.3g}–{hi:.3g})"


def bench_whole(python: str, runs: int = 5) -> Section:
    """Benchmark (w): whole processes, alternated, median (min–max) of ``runs``."""
    import numpy as np

    sec = Section("w", f"Whole processes, first run against first run: median (min–max) of {runs} alternated runs")
    sim = [sys.executable, "-m", "sim"]
    tmp = Path(tempfile.mkdtemp(prefix="sim-bench-"))
    table = MarkdownTable(["what", "code / command", "wall (s)", "CPU (s)", "time loop (s)", "load before"])
    ratios = MarkdownTable(["ratio (medians of the alternated runs)", "wall", "CPU", "target"])

    def fresh(name, i):
        shutil.rmtree(tmp / name, ignore_errors=True)

    def loop_times(results, key):
        return [json.loads(r[2].strip().splitlines()[-1])[key] for r in results]

    try:
        # 1D sphere: sim run with the outputs of the shipped case vs PyBaMM's peer on the same discharge
        case = SphereCase.build(c_rate=1.0, dod=0.98, n_cells=40)
        sphere_case = BENCH_DIR / "sphere_discharge.toml"
        cmds = {"sim_run": sim + ["run", str(sphere_case), "--out", str(tmp / "sim_run"), "--quiet"],
                "sim_solver": [sys.executable, str(BENCH_DIR / "solver_only.py"), str(sphere_case)]}
        have_peer = pybamm_available(python)
        if have_peer:
            t_end = 0.98 * 3600.0
            peer_case = tmp / "peer_case.json"
            peer_case.write_text(json.dumps(case.peer_input(list(np.linspace(0.0, t_end, 50)))))
            cmds["pybamm"] = [python, str(BENCH_DIR / "pybamm_peer.py"), str(peer_case)]
        load = os.getloadavg()[0]
        res = alternate(cmds, runs, prepare=fresh)
        table.add("1D sphere, 1C to 98 % DOD, outputs as shipped", "`sim run validation/bench/sphere_discharge.toml`",
                  _ms([r[0] for r in res["sim_run"]]), _ms([r[1] for r in res["sim_run"]]), None, load)
        table.add("1D sphere, same, no outputs", "`validation/bench/solver_only.py`",
                  _ms([r[0] for r in res["sim_solver"]]), _ms([r[1] for r in res["sim_solver"]]),
                  _ms(loop_times(res["sim_solver"], "time_loop_s")), load)
        if have_peer:
            peer_out = [json.loads(r[2].strip().splitlines()[-1]) for r in res["pybamm"]]
            table.add("1D sphere, same, PyBaMM SPM + swelling only", f"`pybamm_peer.py` (PyBaMM {peer_out[0]['pybamm_version']})",
                      _ms([r[0] for r in res["pybamm"]]), _ms([r[1] for r in res["pybamm"]]),
                      _ms([o["time_solve_s"] for o in peer_out]), load)
            med = {k: (median_spread([r[0] for r in v])[0], median_spread([r[1] for r in v])[0]) for k, v in res.items()}
            ratios.add("1D sphere `sim run` (outputs as shipped) / PyBaMM, whole process",
                       med["sim_run"][0] / med["pybamm"][0], med["sim_run"][1] / med["pybamm"][1], "≤ 1.0")
            loop = median_spread(loop_times(res["sim_solver"], "time_loop_s"))[0]
            ratios.add("1D time loop: sim / PyBaMM solve", loop / median_spread([o["time_solve_s"] for o in peer_out])[0],
                       None, "≤ 3")
        else:
            sec.notes.append(f"PyBaMM rows skipped: pybamm is not importable by {python} (see validation/bench/README.md).")

        # Liu 10C: sim run as shipped vs the solver alone
        liu = resources.data_dir("cases") / "liu2024_10C.toml"
        load = os.getloadavg()[0]
        res = alternate({"liu_run": sim + ["run", str(liu), "--out", str(tmp / "liu_run"), "--quiet"],
                         "liu_solver": [sys.executable, str(BENCH_DIR / "solver_only.py"), str(liu)]}, runs,
                        prepare=fresh)
        table.add("Liu 2024 10C to 20 % DOD, as shipped", "`sim run validation/cases/liu2024_10C.toml`",
                  _ms([r[0] for r in res["liu_run"]]), _ms([r[1] for r in res["liu_run"]]), None, load)
        table.add("Liu 2024 10C, no outputs", "`validation/bench/solver_only.py`", _ms([r[0] for r in res["liu_solver"]]),
                  _ms([r[1] for r in res["liu_solver"]]), _ms(loop_times(res["liu_solver"], "time_loop_s")), load)
        med = {k: (median_spread([r[0] for r in v])[0], median_spread([r[1] for r in v])[0]) for k, v in res.items()}
        ratios.add("Liu 10C `sim run` as shipped / solver only, whole process", med["liu_run"][0] / med["liu_solver"][0],
                   med["liu_run"][1] / med["liu_solver"][1], "≤ 1.3")

        # start-up bound commands
        profile = resources.example_profile()
        load = os.getloadavg()[0]
        res = alternate({"fit": sim + ["fit", str(profile), "--out", str(tmp / "fit")],
                         "params": sim + ["params", "liu2024"]}, runs, prepare=fresh)
        table.add("`sim fit` one profile", "`sim fit validation/csernica2021/example_profile.csv`",
                  _ms([r[0] for r in res["fit"]]), _ms([r[1] for r in res["fit"]]), None, load)
        table.add("`sim params liu2024`", "`sim params liu2024`", _ms([r[0] for r in res["params"]]),
                  _ms([r[1] for r in res["params"]]), None, load)
        ratios.add("`sim fit` one profile, whole process (s, not a ratio)", median_spread([r[0] for r in res["fit"]])[0],
                   median_spread([r[1] for r in res["fit"]])[0], "≤ 1.2 s CPU")
    except RuntimeError as err:
        sec.notes.append(f"stopped: {err}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sec.tables += [table, ratios]
    sec.notes += [
        "every run is a new process (imports, JIT-cache look-ups of compiled forms, mesh, outputs included); the "
        "codes alternate and the first of each round rotates; the forms were compiled before (a warm cache, as "
        "for any second use of the toolkit); CPU = user + system time of the process and its children, less "
        "sensitive than wall time to other load on a shared machine.",
        "the PyBaMM peer writes no files (it prints its time series); `sim run` writes the CSV, summary, "
        "VTX fields and two PNG maps of the shipped case; the solver-only script writes nothing.",
        "'time loop' is measured inside the process: sim's run_step loop, PyBaMM's solve.",
    ]
    return sec


def _hollow_volume(path: Path, n: int = 200) -> None:
    """An n³ segmented hollow sphere with two closed pores (label 1 solid), the size of a nano-CT crop."""
    import numpy as np

    c = (np.arange(n) - (n - 1) / 2) / (n / 2)                    # [-1, 1] across the volume
    z, y, x = np.meshgrid(c, c, c, indexing="ij", sparse=True)
    r = np.sqrt(x**2 + y**2 + z**2)
    solid = (r <= 0.95) & (r >= 0.3)
    for cx, rad in ((0.6, 0.12), (-0.55, 0.1)):
        solid &= (x - cx) ** 2 + y**2 + z**2 > rad**2
    np.save(path, solid.astype(np.uint8))


def _whole_row(table, what, command, results, load, target=None) -> float:
    """Add a median (min–max) wall/CPU row; returns the wall median."""
    table.add(what, command, _ms([r[0] for r in results]), _ms([r[1] for r in results]), load, target)
    return median_spread([r[0] for r in results])[0]


def bench_image(runs: int = 5) -> Section:
    """Benchmark (i): a segmented 200³ volume to tetrahedra, and the shipped example volume → mesh → 10C
    discharge (``validation/cases/imaged_10C.toml``) on 1 and 2 ranks; whole processes, alternated."""
    sec = Section("i", f"Imaged particles, whole processes: median (min–max) of {runs} alternated runs")
    sim = [sys.executable, "-m", "sim"]
    tmp = Path(tempfile.mkdtemp(prefix="sim-bench-i-"))
    table = MarkdownTable(["what", "command", "wall (s)", "CPU (s)", "load before", "target"])
    case = resources.data_dir("cases") / "imaged_10C.toml"
    try:
        _hollow_volume(tmp / "hollow200.npy")
        load = os.getloadavg()[0]
        res = alternate({"mesh200": sim + ["mesh", "--from-image", str(tmp / "hollow200.npy"), "--voxel-size", "50 nm",
                                           "--size", "0.5 um", "--out", str(tmp / "m200")]}, runs,
                        prepare=lambda name, i: shutil.rmtree(tmp / "m200", ignore_errors=True))
        _whole_row(table, "segmented 200³ volume → tetrahedra", "`sim mesh --from-image hollow200.npy "
                   "--voxel-size \"50 nm\" --size \"0.5 um\"`", res["mesh200"], load, "≤ 60 s")
        example = resources.data_dir("meshes") / "example_particle.npy"
        mesh_cmd = sim + ["mesh", "--from-image", str(example), "--out", str(tmp / "mex")]
        msh = tmp / "mex" / "geometry.msh"
        time_process(mesh_cmd, cwd=ROOT, env=_env())                 # the runs below need the mesh once
        mesh_again = sim + ["mesh", "--from-image", str(example), "--out", str(tmp / "mex2")]

        def run_on(ranks):
            cmd = sim + ["run", str(case), "--mesh", str(msh), "--out", str(tmp / f"r{ranks}"), "--quiet", "--overwrite"]
            return cmd if ranks == 1 else [_mpiexec(), "-n", str(ranks)] + cmd

        load = os.getloadavg()[0]
        res = alternate({"mesh": mesh_again, "run1": run_on(1), "run2": run_on(2)}, runs,
                        prepare=lambda name, i: shutil.rmtree(tmp / "mex2", ignore_errors=True))
        t_mesh = _whole_row(table, "example volume (56×48×48 voxels) → mesh", "`sim mesh --from-image "
                            "meshes/example_particle.npy`", res["mesh"], load)
        _whole_row(table, "→ 10C discharge to 5 % DOD, 1 rank", "`sim run validation/cases/imaged_10C.toml --mesh ...`",
                   res["run1"], load)
        t_run2 = _whole_row(table, "→ 10C discharge to 5 % DOD, 2 ranks", "`mpiexec -n 2 sim run ... --mesh ...`",
                            res["run2"], load)
        sec.notes.append(f"image → mesh → 10C run on 2 ranks: {t_mesh + t_run2:.3g} s wall "
                         f"(medians: mesh {t_mesh:.3g} s + run {t_run2:.3g} s).")
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        sec.notes.append(f"stopped: {err}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sec.tables.append(table)
    sec.notes.append("every run is a new process (imports, mesh reading, outputs included) with a warm form cache; "
                     "the 10C run writes the shipped case's outputs (CSV, summary, VTX, map, hot spots).")
    return sec


PHASE_FIELD_CASE = resources.data_dir("cases") / "liu2024_10C_phase_field.toml"


def bench_fracture(runs: int = 5) -> Section:
    """Benchmark (f): the Liu 10C phase-field run to 20 % DOD (``PHASE_FIELD_CASE``), whole process, on 1 and
    2 ranks of the 2-core machine; target ≤ 60 s."""
    sec = Section("f", f"Phase-field fracture, whole processes: median (min–max) of {runs} alternated runs")
    sim = [sys.executable, "-m", "sim"]
    tmp = Path(tempfile.mkdtemp(prefix="sim-bench-f-"))
    table = MarkdownTable(["what", "command", "wall (s)", "CPU (s)", "load before", "target"])
    rel = f"validation/cases/{PHASE_FIELD_CASE.name}"
    try:
        def run_on(ranks):
            cmd = sim + ["run", str(PHASE_FIELD_CASE), "--out", str(tmp / f"r{ranks}"), "--quiet", "--overwrite"]
            return cmd if ranks == 1 else [_mpiexec(), "-n", str(ranks)] + cmd

        load = os.getloadavg()[0]
        res = alternate({"run1": run_on(1), "run2": run_on(2)}, runs)
        _whole_row(table, "Liu 2024 10C to 20 % DOD, phase field, 1 rank", f"`sim run {rel}`", res["run1"], load, "≤ 60 s")
        _whole_row(table, "same, 2 ranks", f"`mpiexec -n 2 sim run {rel}`", res["run2"], load, "≤ 60 s")
        summary = json.loads((tmp / "r1" / "summary.json").read_text())
        onset = (summary.get("fracture") or {}).get("onset")
        sec.notes.append(f"the run's `fracture.onset`: {json.dumps(onset)}; damage_max at the end "
                         f"{(summary.get('fracture') or {}).get('damage_max')}.")
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as err:
        sec.notes.append(f"stopped: {err}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sec.tables.append(table)
    sec.notes.append("whole processes with a warm form cache, the case's outputs included.")
    return sec


# --------------------------------------------------------------------------- command
def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks: sphere vs PyBaMM, Liu 2024 mesh convergence, 3D scaling")
    p.add_argument("--only", default="a,b,c,w,f,i",
                   help="comma-separated benchmarks: a (spm), b (liu), c (3d), w (whole processes), "
                        "f (phase-field fracture), i (imaged particles), p (phase-field fracture at scale, 3D)")
    p.add_argument("--runs", type=int, default=5, help="alternated runs per command in (w) (default 5, at least 5)")
    p.add_argument("--out", default=None, help="also write the markdown report to this file")
    p.add_argument("--pybamm-python", default=sys.executable,
                   help="Python interpreter that has pybamm, for (a) (default: this one)")
    p.add_argument("--ranks", default="1,2", help="MPI ranks for (c) and (p), comma-separated (default 1,2)")
    p.add_argument("--max-seconds-3d", type=float, default=900.0,
                   help="stop a 3D run (c, p) after this many seconds and report it (default 900)")
    p.set_defaults(func=run)


def parse_ranks(text: str) -> list[int]:
    try:
        ranks = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        ranks = []
    if not ranks or min(ranks) < 1:
        raise InputError(f"expected positive integers like 1,2, got {text!r}", key="--ranks")
    return ranks


def run(args) -> int:
    keys = parse_only(args.only)
    ranks = parse_ranks(args.ranks)
    if not args.max_seconds_3d > 0:
        raise InputError(f"must be > 0 s, got {args.max_seconds_3d:g}", key="--max-seconds-3d")
    out = Path(args.out) if args.out else None
    if out is not None and out.is_dir():
        raise InputError("is a directory; give a file name such as results.md", key="--out")
    if args.runs < 5:
        raise InputError(f"need at least 5 runs for a median and spread, got {args.runs}", key="--runs")
    runners = {"a": lambda: bench_spm(args.pybamm_python), "b": bench_liu,
               "c": lambda: bench_3d(ranks=ranks, max_seconds=args.max_seconds_3d),
               "w": lambda: bench_whole(args.pybamm_python, runs=args.runs),
               "f": lambda: bench_fracture(runs=args.runs), "i": lambda: bench_image(runs=args.runs),
               "p": lambda: bench_pf3d(ranks=ranks, max_seconds=args.max_seconds_3d)}
    sections = []
    for key in keys:
        t0 = time.perf_counter()
        print(f"running benchmark ({key}) {BENCHMARKS[key]} ...", file=sys.stderr, flush=True)
        sections.append(runners[key]())
        print(f"  ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    text = render_report(sections, machine_header())
    print(text, end="")
    if out is not None:
        write_text_atomic(out, text)
    return 0
