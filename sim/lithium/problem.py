"""Li transport + Butler–Volmer + diffusion-induced stress in one particle, driven by protocol steps.

:class:`LithiumProblem` couples :class:`~sim.lithium.transport.Transport` (c, φ_s) and
:class:`~sim.lithium.mechanics.Mechanics` (u) on a :class:`~sim.mesh.ParticleMesh` and advances
:mod:`~sim.lithium.protocol` steps with adaptive backward-Euler time steps that land exactly on the
step's stop condition. SI units throughout; currents > 0 on discharge (Li insertion).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from sim.errors import InputError, SolverError
from sim.lithium.mechanics import STRESS_NAMES
from sim.lithium.protocol import Galvanostatic, Potentiostatic, Rest
from sim.lithium.transport import NewtonFailure
from sim.units import FARADAY

_TOL = {"dod": 1e-9, "soc": 1e-9, "voltage": 1e-6}   # landing tolerances (fraction, fraction, V)
_MAX_HALVINGS = 10
_GROW, _FEW_ITS = 1.5, 4
_DT_MIN_REL = 1e-9     # default dt floor, relative to the step's time scale (see _dt_floor)


class LithiumProblem:
    """One particle under a cycling protocol (physics.md M2 + M3).

    ``coupling``: "one-way" (stress follows c) or "two-way" (adds stress-driven diffusion
    −D(∇c − c Ω/(RT) ∇σ_h), σ_h from the last accepted step). ``temperature`` in K (default
    ``params.conditions.temperature``; change it between steps with :meth:`set_temperature`);
    ``dt_initial``/``dt_max`` in s (``dt_max`` None: no cap). ``diffusivity_scale``: optional multiplier
    s(X) > 0 on D, D = s(X) D(x, T), a callable on mesh coordinates X (3, N) in m (radial (r, 0, 0),
    axisym (r, z, 0), 3D (x, y, z)) sampled once per cell (DG0), e.g. a deactivated shell (Wang 2021).
    ``dt_min`` in s: a step whose Δt is cut below it by failures raises :class:`SolverError` (None:
    1e-9 of the step's time scale, 3600 s / C-rate or the step's duration, at most dt_initial/1024).
    Call :meth:`initialise` once, then :meth:`run_step` for each protocol step.
    """

    def __init__(self, params, pmesh, *, coupling: str = "one-way", temperature: float | None = None,
                 degree_c: int = 1, degree_u: int = 2, dt_initial: float = 1e-3, dt_max: float | None = None,
                 mechanics: bool = True, diffusivity_scale: Callable[[np.ndarray], np.ndarray] | None = None,
                 dt_min: float | None = None):
        if coupling not in ("one-way", "two-way"):
            raise InputError(f"coupling {coupling!r} not allowed; choose one-way or two-way", key="coupling")
        if coupling == "two-way" and not mechanics:
            raise InputError("two-way coupling needs the mechanics model", key="coupling")
        if not dt_initial > 0 or (dt_max is not None and not dt_max >= dt_initial):
            raise InputError(f"need 0 < dt_initial <= dt_max (got {dt_initial:g} s, {dt_max} s)", key="dt_initial")
        if dt_min is not None and not 0 < dt_min <= dt_initial:
            raise InputError(f"need 0 < dt_min <= dt_initial (got {dt_min:g} s, {dt_initial:g} s)", key="dt_min")
        if diffusivity_scale is not None and not callable(diffusivity_scale):
            raise InputError("diffusivity_scale must be a callable s(X) of mesh coordinates X (3, N) in m",
                             key="diffusivity_scale")
        params.require("transport", "kinetics", *(["mechanics"] if mechanics else []),
                       *(["conditions"] if temperature is None else []))
        if pmesh.kind == "axisym" and "axis" not in pmesh.boundaries:
            raise InputError("axisymmetric mesh has no 'axis' boundary tag", key="mesh")
        self.params, self.pmesh, self.comm = params, pmesh, pmesh.comm
        self.coupling, self.with_mechanics = coupling, mechanics
        self.temperature = params.conditions.temperature if temperature is None else float(temperature)
        self.degree_c, self.degree_u = degree_c, degree_u
        self.dt_initial, self.dt_max, self.dt_min = dt_initial, (np.inf if dt_max is None else dt_max), dt_min
        self.diffusivity_scale = diffusivity_scale
        self.transport = self.mechanics = None
        self._floor = 0.0

    # ------------------------------------------------------------------ set-up
    def initialise(self) -> None:
        """Forms and solvers; uniform c = x_initial c_max, zero stress, φ_s at open circuit."""
        from dolfinx import fem

        from sim.lithium.mechanics import Mechanics
        from sim.lithium.transport import Transport

        tr = self.params.transport
        hydro = None
        if self.coupling == "two-way":
            hydro = fem.Function(fem.functionspace(self.pmesh.mesh, ("Lagrange", 1)), name="hydrostatic")
        self.transport = Transport(self.params, self.pmesh, temperature=self.temperature, degree=self.degree_c,
                                   two_way=self.coupling == "two-way", hydrostatic=hydro,
                                   diffusivity_scale=self.diffusivity_scale)
        self.c = self.transport.c
        self.c.x.array[:] = tr.x_initial * tr.c_max
        self.transport.c_n.x.array[:] = self.c.x.array
        if self.with_mechanics:
            self.mechanics = Mechanics(self.params, self.pmesh, self.c, degree=self.degree_u, hydrostatic=hydro)
        self.u = self.mechanics.u if self.mechanics else None
        self.volume = self.transport.volume
        self.capacity = FARADAY * tr.c_max * (tr.x_max - tr.x_min) * self.volume   # C
        self.t, self.steps, self.iterations = 0.0, 0, 0
        self.dt = self.dt_initial
        self.current = 0.0
        self._amount0, self._inserted = self.transport.amount(), 0.0
        self.potential = self.transport.equilibrium_potential()
        self._update_state()
        if self.mechanics:
            reason = self.mechanics.solve()
            if reason:
                raise SolverError("initial mechanics solve failed", time=0.0, reason=reason)
            self.mechanics.update_hydrostatic()
        self._save_accepted()

    def set_temperature(self, temperature: float) -> None:
        """Particle temperature (K) from now on: Arrhenius factor of D and F/RT of the kinetics (Liu 2024)."""
        if not (np.isfinite(temperature) and temperature > 0):
            raise InputError(f"temperature must be > 0 K, got {temperature!r}", key="temperature")
        self.temperature = float(temperature)
        if self.transport is not None:
            self.transport.set_temperature(self.temperature)

    def _save_accepted(self) -> None:
        self._phi_accepted = float(self.transport.phi.value)
        self._u_accepted = self.mechanics.u.x.array.copy() if self.mechanics else None

    def _update_state(self) -> None:
        tr = self.params.transport
        self.x_mean = self.transport.amount() / (tr.c_max * self.volume)
        self.dod = (self.x_mean - tr.x_min) / (tr.x_max - tr.x_min)
        self.soc = 1.0 - self.dod

    @property
    def mass_balance_error(self) -> float:
        """(Li now − Li at start − Li passed through the surface) / (c_max V): ~1e-13 when exact."""
        return (self.transport.amount() - self._amount0 - self._inserted) / (self.params.transport.c_max * self.volume)

    # ------------------------------------------------------------------ protocol
    def _configure(self, step) -> float:
        """Set the transport mode for ``step``; returns the applied current (A, > 0 on discharge)."""
        if isinstance(step, Galvanostatic):
            if step.direction not in ("charge", "discharge") or not step.c_rate > 0:
                raise InputError(f"galvanostatic step needs c_rate > 0 and direction charge|discharge "
                                 f"(got {step.c_rate}, {step.direction!r})", key="step")
            current = step.c_rate / 3600.0 * self.capacity * (1 if step.direction == "discharge" else -1)
            self.transport.set_mode("current", current=-current)
            return current
        if isinstance(step, Potentiostatic):
            self.transport.set_mode("potential", potential=step.voltage)
            return 0.0
        if isinstance(step, Rest):
            self.transport.set_mode("current", current=0.0, flux=False)
            return 0.0
        raise InputError(f"unknown protocol step {type(step).__name__}", key="step")

    def _events(self, stop) -> dict[str, float]:
        return {k: v for k, v in (("dod", stop.dod), ("soc", stop.soc), ("voltage", stop.voltage)) if v is not None}

    def _event_values(self, events) -> dict[str, float]:
        now = {"dod": self.dod, "soc": self.soc, "voltage": self.potential}
        return {k: now[k] - target for k, target in events.items()}

    def run_step(self, step, on_step: Callable[["LithiumProblem"], None] | None = None) -> str:
        """Advance one protocol step until its Stop is met (landing on it); returns "dod"|"soc"|"voltage"|"time"."""
        if self.transport is None:
            raise RuntimeError("call initialise() before run_step()")
        applied = self._configure(step)
        stop = step.until
        events = self._events(stop)
        t_end = self.t + stop.time if stop.time is not None else np.inf
        rate = applied / (FARADAY * self.params.transport.c_max * self.volume) / (
            self.params.transport.x_max - self.params.transport.x_min)   # d(dod)/dt, exact for galvanostatic
        self._check_reachable(step, events, rate)
        self._floor = self._dt_floor(step)
        self._step = step
        if self.transport.mode == "current" and self.transport.flux_on.value == 0.0:
            self.potential = self.transport.equilibrium_potential()
        start = self._event_values(events)
        for name, e in start.items():
            if abs(e) <= _TOL[name]:
                return name
        if t_end <= self.t:
            return "time"
        self.dt = self.dt_initial      # every step starts with a discontinuity in the drive
        while True:
            dt = min(self.dt, self.dt_max, t_end - self.t)
            if isinstance(step, Galvanostatic):
                for name in ("dod", "soc"):
                    if name in events:
                        dt_hit = start[name] / (-rate if name == "dod" else rate)
                        if 0 < dt_hit < dt:
                            dt = dt_hit
            before = self._event_values(events)
            dt_used, its = self._advance(dt)
            after = self._candidate_events(events)
            crossed = {k: after[k] for k in events if abs(after[k]) <= _TOL[k] or np.sign(after[k]) != np.sign(before[k])}
            if crossed and not any(abs(v) <= _TOL[k] for k, v in crossed.items()):
                # earliest crossing by linear interpolation, then regula falsi on dt
                first = min(crossed, key=lambda k: before[k] / (before[k] - after[k]))
                dt_used, its = self._land(first, events[first], dt_used, before[first], after[first], its)
            self._accept(dt_used, its, applied)
            if on_step is not None:
                on_step(self)
            now = self._event_values(events)
            for name in events:
                if abs(now[name]) <= _TOL[name] or np.sign(now[name]) != np.sign(start[name]):
                    return name
            if self.t >= t_end - 1e-12 * max(1.0, abs(t_end)):
                self.t = t_end if np.isfinite(t_end) else self.t
                return "time"

    def _dt_floor(self, step) -> float:
        """Smallest Δt the failure halvings may reach: ``dt_min``, or 1e-9 of the step's time scale
        (3600/C-rate, the stop time), capped at dt_initial/1024 so a hard start keeps its 10 halvings."""
        if self.dt_min is not None:
            return self.dt_min
        scales = [step.until.time] if step.until.time is not None else []
        if isinstance(step, Galvanostatic):
            scales.append(3600.0 / step.c_rate)
        return min(_DT_MIN_REL * min(scales, default=3600.0), self.dt_initial / 2 ** _MAX_HALVINGS)

    def _check_reachable(self, step, events, rate) -> None:
        if not isinstance(step, Galvanostatic):
            return
        for name, sign in (("dod", 1.0), ("soc", -1.0)):
            if name in events:
                target, now = events[name], (self.dod if name == "dod" else self.soc)
                if (target - now) * sign * rate < -_TOL[name]:
                    raise InputError(f"{step.direction} at {step.c_rate:g}C cannot reach {name} = {target:g} "
                                     f"from {name} = {now:g}", key=f"until.{name}")

    # ------------------------------------------------------------------ time step machinery
    def _solve_candidate(self, dt: float) -> int:
        """Transport (+ mechanics) from the last accepted state over ``dt``; raises NewtonFailure."""
        tp = self.transport
        tp.c.x.array[:] = tp.c_n.x.array
        if tp.mode == "current":
            tp.phi.value = self._phi_accepted      # initial guess; a potentiostatic step keeps its φ_s
        tp.dt.value = dt
        its = tp.solve()
        violation = tp.domain_violation()
        if violation:
            raise NewtonFailure(violation, its)
        if self.mechanics:
            reason = self.mechanics.solve()
            if reason:
                self.mechanics.u.x.array[:] = self._u_accepted
                self.mechanics.refresh()
                raise NewtonFailure(f"mechanics {reason}", its)
        return its

    def _advance(self, dt: float) -> tuple[float, int]:
        """Solve with ``dt``, halving on failure (up to 10 times, and not below the dt floor of the step);
        returns (dt used, Newton iterations). Failing steps that creep towards an event the model cannot
        pass (e.g. a saturated surface) shrink Δt geometrically, so the floor turns them into an error."""
        reason = ""
        for _ in range(_MAX_HALVINGS + 1):
            try:
                return dt, self._solve_candidate(dt)
            except NewtonFailure as fail:
                reason = fail.reason
                self.iterations += fail.iterations
                if dt >= self._floor > dt * 0.5:
                    self._restore()
                    raise SolverError(f"time step collapsed below dt_min = {self._floor:.3g} s", time=self.t,
                                      reason=self._explain(reason)) from None
                dt *= 0.5
                self.dt = dt
        self._restore()
        raise SolverError(f"Li solver did not converge after {_MAX_HALVINGS} halvings of dt (last dt {2 * dt:.3g} s)",
                          time=self.t, reason=self._explain(reason))

    def _explain(self, reason: str) -> str:
        """The failure reason with its physical cause and what to do, where the cause is known."""
        step, cutoff = getattr(self, "_step", None), None
        if step is not None and step.until.voltage is not None:
            cutoff = step.until.voltage
        code = reason.split(" ")[0]
        if code == "SURFACE_SATURATED":
            note = ("the surface Li fraction reached 1 (c = c_max): the applied current cannot be sustained by "
                    "diffusion into the particle; stop earlier (voltage cut-off or DOD)")
        elif code == "SURFACE_DEPLETED":
            note = ("the surface Li fraction reached 0: the applied current cannot be sustained by diffusion to "
                    "the surface; stop earlier (voltage cut-off or SOC)")
        else:
            return reason
        if cutoff is not None:
            note += (f"; the voltage cut-off {cutoff:g} V was not reached (φ_s = {self.potential:.4g} V): with a "
                     f"finite OCV table end and i0_model = 'constant' φ_s stays finite at saturation, "
                     f"i0_model = 'sqrt' or a closer cut-off stops the step in time")
        return f"{code}: {note}"

    def _restore(self) -> None:
        self.transport.c.x.array[:] = self.transport.c_n.x.array
        if self.transport.mode == "current":
            self.transport.phi.value = self._phi_accepted
        if self.mechanics:
            self.mechanics.u.x.array[:] = self._u_accepted
            self.mechanics.refresh()

    def _candidate_events(self, events) -> dict[str, float]:
        tr = self.params.transport
        x_mean = self.transport.amount() / (tr.c_max * self.volume)
        dod = (x_mean - tr.x_min) / (tr.x_max - tr.x_min)
        now = {"dod": dod, "soc": 1 - dod, "voltage": float(self.transport.phi.value)}
        return {k: now[k] - target for k, target in events.items()}

    def _land(self, name, target, dt_hi, e_lo, e_hi, its) -> tuple[float, int]:
        """Regula falsi (Illinois) on dt for the event ``name`` crossing zero within (0, dt_hi]."""
        lo, hi, side = 0.0, dt_hi, 0
        dt = dt_hi
        for _ in range(40):
            dt = hi - e_hi * (hi - lo) / (e_hi - e_lo)
            _, its = self._advance(dt)
            e = self._candidate_events({name: target})[name]
            if abs(e) <= _TOL[name] or hi - lo <= 1e-12 * max(hi, 1e-30):
                return dt, its
            if np.sign(e) == np.sign(e_hi):
                hi, e_hi = dt, e
                if side == 1:
                    e_lo /= 2
                side = 1
            else:
                lo, e_lo = dt, e
                if side == -1:
                    e_hi /= 2
                side = -1
        return dt, its

    def _accept(self, dt: float, its: int, applied: float) -> None:
        tp = self.transport
        grew_from = self.dt
        self.t += dt
        self.steps += 1
        self.iterations += its
        self.potential = float(tp.phi.value)
        self.current = applied if tp.mode == "current" else -tp.anodic_current()
        if tp.flux_on.value != 0.0:
            self._inserted += self.current * dt / FARADAY
        tp.c_n.x.array[:] = tp.c.x.array
        self._update_state()
        if self.mechanics:
            self.mechanics.update_hydrostatic()
        self._save_accepted()
        if its <= _FEW_ITS and dt >= grew_from * (1 - 1e-12):
            self.dt = min(grew_from * _GROW, self.dt_max)

    # ------------------------------------------------------------------ output
    def stress_fields(self) -> dict:
        """"hoop", "radial", "azimuthal", "von_mises", "max_principal", "hydrostatic" (Pa, DG(degree_u − 1)).

        Spherical components about the particle centre with the polar axis z: radial σ_ρρ, hoop σ_θθ
        (θ ⟂ ρ in the meridional (r, z) plane), azimuthal σ_φφ; Cauchy stress for finite strain.
        Empty without mechanics.
        """
        return self.mechanics.stress_fields() if self.mechanics else {}

    def evaluate(self, name: str, points: np.ndarray) -> np.ndarray:
        """Values of "c" (mol/m^3), "x" (c/c_max) or a stress name (Pa) at physical points (N, 3) in m.

        Collective; every rank gets all N values. Points are mapped to the mesh coordinates
        (radial r = |p|; axisym (√(x²+y²), z)); a point just outside the faceted mesh takes the value
        at the nearest node of the nearest cell.
        """
        points = np.atleast_2d(np.asarray(points, dtype=float))
        if name in ("c", "x"):
            f = self.transport.c
        elif name in STRESS_NAMES:
            if not self.mechanics:
                raise InputError(f"{name!r} needs the mechanics model (mechanics=True)", key="evaluate")
            f = self.stress_fields()[name]
        else:
            raise InputError(f"unknown field {name!r}; choose c, x or {', '.join(STRESS_NAMES)}", key="evaluate")
        values = _point_values(f, self._mesh_points(points), self)
        return values / self.params.transport.c_max if name == "x" else values

    def _mesh_points(self, points: np.ndarray) -> np.ndarray:
        out = np.zeros((len(points), 3))
        if self.pmesh.kind == "radial":
            out[:, 0] = np.linalg.norm(points, axis=1)
        elif self.pmesh.kind == "axisym":
            out[:, 0], out[:, 1] = np.hypot(points[:, 0], points[:, 1]), points[:, 2]
        else:
            out[:] = points
        return out

    def bridge_point(self) -> np.ndarray | None:
        """Midpoint (m) between the central void surface and the nearest meshed pore surface, or None."""
        geo = self.params.geometry
        if geo is None or geo.void_radius <= 0:
            return None
        pores = [p for i, p in enumerate(geo.pores) if f"pore_{i}" in self.pmesh.boundaries]
        if not pores:
            return None
        a = geo.void_radius
        nearest = min(pores, key=lambda p: np.linalg.norm(p.centre) - p.radius - a)
        d = np.linalg.norm(nearest.centre)
        return (a + d - nearest.radius) / 2 * np.asarray(nearest.centre) / d


def _point_values(f, points: np.ndarray, owner) -> np.ndarray:
    """Evaluate a scalar Function at mesh-coordinate points on all ranks (collective).

    A point inside the mesh takes the mean over all (owned) cells containing it, summed over ranks, so a
    discontinuous (DG) field on a cell boundary gives the same value for any partition. A point outside
    the faceted/curved mesh takes the value of the nearest cell at its node nearest to the point, nudged
    inside (the pull-back of a curved cell fails outside it); the rank with the nearest cell supplies it.
    """
    from dolfinx import geometry

    msh = f.function_space.mesh
    comm, tdim = msh.comm, msh.topology.dim
    if getattr(owner, "_trees", None) is None:
        cells = np.arange(msh.topology.index_map(tdim).size_local, dtype=np.int32)
        owner._trees = (geometry.bb_tree(msh, tdim, entities=cells), geometry.create_midpoint_tree(msh, tdim, cells),
                        comm.allreduce(float(np.abs(msh.geometry.x).max()), op=_mpi_max()))
    tree, midpoints, length = owner._trees
    n = len(points)
    total, count = np.zeros(n), np.zeros(n)
    dist, nearest_value = np.full(n, np.inf), np.zeros(n)
    if msh.topology.index_map(tdim).size_local and n:
        colliding = geometry.compute_colliding_cells(msh, geometry.compute_collisions_points(tree, points), points)
        closest = geometry.compute_closest_entity(tree, midpoints, msh, points)
        for i in range(n):
            cands = np.unique(np.append(colliding.links(i), closest[i])).astype(np.int32)
            d = np.sqrt(geometry.squared_distance(msh, tdim, cands, np.repeat(points[i][None], len(cands), axis=0)))
            inside = cands[d <= 1e-12 * length]
            if len(inside):
                vals = np.reshape(f.eval(np.repeat(points[i][None], len(inside), axis=0), inside), (len(inside), -1))
                total[i], count[i] = vals[:, 0].sum(), len(inside)
            else:
                cell = cands[np.argmin(d)]
                nodes = msh.geometry.x[msh.geometry.dofmaps[0][cell]]
                node = nodes[np.argmin(np.linalg.norm(nodes - points[i], axis=1))]
                at = node + 1e-6 * (nodes.mean(axis=0) - node)
                dist[i], nearest_value[i] = d.min(), np.reshape(f.eval(at[None], np.array([cell], dtype=np.int32)), -1)[0]
    total, count = comm.allreduce(total, op=_mpi_sum()), comm.allreduce(count, op=_mpi_sum())
    all_dist, all_values = np.array(comm.allgather(dist)), np.array(comm.allgather(nearest_value))
    fallback = all_values[np.argmin(all_dist, axis=0), np.arange(n)]
    return np.where(count > 0, total / np.maximum(count, 1), fallback)


def _mpi_sum():
    from mpi4py import MPI
    return MPI.SUM


def _mpi_max():
    from mpi4py import MPI
    return MPI.MAX
