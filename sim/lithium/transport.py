"""Li transport with Butler–Volmer kinetics on the outer surface (physics.md M2; Liu 2024 Methods).

Implicit in time (BE or BDF2, see below), Lagrange P(k) in space, weighted for the geometry (radial r², axisymmetric r,
3D 1; the missing 4π / 2π is in :attr:`GeometryWeights.factor`):

    ∫ w ∂c/∂t v + ∫ w s_D(X) D(x, T) (s_c c_max ∇x − c Ω/(RT) ∇σ_h) · ∇v − ∫_outer w j v = 0,
    x = c / (s_c(X) c_max)

with optional spatial multipliers (1 otherwise): s_D(X) > 0 on D (DG0, so a shell stays sharp at cell faces),
s_c(X) > 0 on the Li site density (a degraded particle whose deactivated material holds fewer active sites;
Lagrange like c, so s_c c_max ∇x = ∇c − c ∇s_c/s_c is defined and a uniform x is an exact discrete rest state:
the flux follows the Li fraction, i.e. the chemical potential, not c) and s_i(X) > 0 on i0 (DG0, on the surface).
x enters D(x), U(x_s) and i0(x_s); Ω = s_v dβ/dx / (s_c c_max) with s_v(X) the ΔV/V0 multiplier (DG0).

Sign convention: i is the *anodic* current density (A/m², > 0 removes Li, i.e. charge),
i = i0 [exp(α_a F η/RT) − exp(−α_c F η/RT)], η = φ_s − U(x_s) (φ_e = 0), and the Li flux into the
particle is j = −i/F. The particle current reported to users is ``current = −∫ i dA`` (> 0 on discharge).

The particle potential φ_s is one global unknown. Galvanostatic steps solve for (c, φ_s) together with
``factor ∫_outer w i ds = I_anodic`` by a bordered Newton method: the scalar row/column is eliminated by
its Schur complement, two solves with the same (c, c) block per iteration (1D/2D: one LU factorisation;
3D: GMRES + GAMG, the AMG hierarchy reused across iterations and steps);
the φ_s update is limited to 0.1 V per iteration, which keeps the exponentials finite where i0 -> 0
(i0 ∝ sqrt(x(1 − x)) at x_s -> 0, 1).

Time discretisation: dc/dt ≈ (a0 c + a1 c_n + a2 c_nm1)/Δt, backward Euler (1, −1, 0) or variable-step
BDF2 with step ratio ω = Δt/Δt_prev: ((1 + 2ω)/(1 + ω), −(1 + ω), ω²/(1 + ω)) (set by
:meth:`Transport.set_scheme`; the step control is in :mod:`sim.lithium.problem`). Both are exact for the
linear-in-time pseudo-steady galvanostatic state; BDF2 is second order in the transients.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.arrhenius import arrhenius as arrhenius_factor
from sim.units import FARADAY, GAS_CONSTANT

_MAX_DPHI = 0.1             # V, largest φ_s update per Newton iteration
_LAG_CONTRACTION = 0.2      # 3D: reassemble the Jacobian when a Newton update shrinks by less than this
_SURFACE_TOL, _BULK_TOL = 1e-6, 1e-3   # allowed excursion of x outside [0, 1] at the surface / inside


@dataclass(frozen=True)
class GeometryWeights:
    """Integration weight w(x) and the factor that turns ∫ w into a physical volume/area integral."""

    weight: object   # UFL expression
    factor: float    # 4π (radial), 2π (axisym), 1 (3D)


def geometry_weights(pmesh) -> GeometryWeights:
    """Weights for ``pmesh.kind``: radial r² (4π), axisym r (2π; coordinates (r, z)), 3D 1."""
    import ufl

    x = ufl.SpatialCoordinate(pmesh.mesh)
    if pmesh.kind == "radial":
        return GeometryWeights(x[0] ** 2, 4 * np.pi)
    if pmesh.kind == "axisym":
        return GeometryWeights(x[0], 2 * np.pi)
    if pmesh.kind == "3d":
        return GeometryWeights(1.0, 1.0)
    raise ValueError(f"unknown mesh kind {pmesh.kind!r}; expected radial, axisym or 3d")


def piecewise_linear(xs, ys, x):
    """UFL interpolant through (xs, ys), end values held, for tables of any length.

    A balanced binary search of ``ufl.conditional``s over the breakpoints, each leaf the linear segment
    y_k + s_k (x − x_k): the expression is O(log N) deep (a chain of N terms overflows Python's recursion
    limit in UFL at ~200 points), evaluates O(log N) branches per point, and its derivative is the exact
    piecewise-constant slope.
    """
    import ufl

    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    xc = ufl.min_value(ufl.max_value(x, float(xs[0])), float(xs[-1]))
    return _search(xs, lambda k: float(ys[k]) + float((ys[k + 1] - ys[k]) / (xs[k + 1] - xs[k])) * (xc - float(xs[k])),
                   xc, 0, len(xs) - 1)


def _search(xs, leaf, x, lo: int, hi: int):
    """``leaf(k)`` on the segment [xs[k], xs[k+1]) containing x, for segments lo..hi−1 (binary search)."""
    import ufl

    if hi - lo == 1:
        return leaf(lo)
    mid = (lo + hi) // 2
    return ufl.conditional(ufl.lt(x, float(xs[mid])), _search(xs, leaf, x, lo, mid), _search(xs, leaf, x, mid, hi))


def table_expr(table, x):
    """A :class:`~sim.params.Table` as a UFL expression of x (a float when the table is constant)."""
    import ufl

    if np.all(table.y == table.y[0]):
        return float(table.y[0])
    if table.interpolation == "log":
        return ufl.exp(piecewise_linear(table.x, np.log(table.y), x))
    return piecewise_linear(table.x, table.y, x)


def table_slope(table, x):
    """dy/dx of a linearly interpolated table as a UFL expression (0 outside the table; binary search)."""
    import ufl

    if table.interpolation != "linear":
        raise ValueError("slope is only defined here for linear tables")
    xs, ys = np.asarray(table.x, dtype=float), np.asarray(table.y, dtype=float)
    if np.all(ys == ys[0]):
        return 0.0
    slope = _search(xs, lambda k: float((ys[k + 1] - ys[k]) / (xs[k + 1] - xs[k])), x, 0, len(xs) - 1)
    return ufl.conditional(ufl.And(ufl.ge(x, float(xs[0])), ufl.lt(x, float(xs[-1]))), slope, 0.0)


def arrhenius(transport, temperature: float) -> float:
    """exp(−Ea/R (1/T − 1/T_ref)) of a ``[transport]`` section, T clamped to [temperature_min, temperature_max]
    (Liu 2024 Methods): :func:`sim.arrhenius.arrhenius` with the clamp."""
    return arrhenius_factor(transport.activation_energy, temperature, transport.reference_temperature,
                  clamp=(transport.temperature_min, transport.temperature_max))


def scale_function(space, scale, name: str):
    """A multiplier s(X) in a Function of ``space``, interpolated once from the callable s(X) on mesh coordinates
    X (3, N) in m (DG0: at cell midpoints, so a shell boundary stays sharp at cell faces; Lagrange: at the
    nodes); values must be finite and > 0 (``name`` is the option named in the error)."""
    from dolfinx import fem
    from mpi4py import MPI

    from sim.errors import InputError

    f = fem.Function(space, name=name)
    f.interpolate(lambda X: np.broadcast_to(np.asarray(scale(X), dtype=float), X.shape[1:]).copy())
    local_bad = bool(f.x.array.size) and not bool(np.all(np.isfinite(f.x.array) & (f.x.array > 0)))
    if space.mesh.comm.allreduce(local_bad, op=MPI.LOR):
        raise InputError(f"{name} must return finite values > 0 at every point", key=name)
    return f


def _dg0(msh):
    from dolfinx import fem
    return fem.functionspace(msh, ("Discontinuous Lagrange", 0))


class _Kernels:
    """DOLFINx/PETSc entry points of the Newton loop, imported once (an import statement inside a function
    that runs ~10 times per Newton iteration costs more than the 1D assembly it precedes)."""

    def __init__(self):
        from dolfinx import fem
        from dolfinx.fem.petsc import assemble_matrix, assemble_vector
        from mpi4py import MPI
        from petsc4py import PETSc

        self.assemble_scalar, self.assemble_matrix, self.assemble_vector = fem.assemble_scalar, assemble_matrix, assemble_vector
        self.MPI = MPI
        self.ADD, self.INSERT = PETSc.InsertMode.ADD, PETSc.InsertMode.INSERT
        self.REVERSE, self.FORWARD = PETSc.ScatterMode.REVERSE, PETSc.ScatterMode.FORWARD
        self.NORM_INF = PETSc.NormType.NORM_INFINITY


_KERNELS = None


def _kernels() -> _Kernels:
    global _KERNELS
    if _KERNELS is None:
        _KERNELS = _Kernels()
    return _KERNELS


class NewtonFailure(Exception):
    """A Newton solve that did not converge; ``reason`` mimics the PETSc SNES reason names."""

    def __init__(self, reason: str, iterations: int):
        super().__init__(reason)
        self.reason, self.iterations = reason, iterations


class Transport:
    """Forms and the bordered Newton solver for (c, φ_s) on one :class:`~sim.mesh.ParticleMesh`.

    Modes (:meth:`set_mode`): ``"current"`` (galvanostatic, unknown φ_s; rest is current 0 with the
    surface flux switched off), ``"potential"`` (φ_s given). Quantities in SI.
    """

    def __init__(self, params, pmesh, *, temperature: float, degree: int = 1, two_way: bool = False,
                 hydrostatic=None, diffusivity_scale=None, capacity_scale=None, exchange_current_scale=None,
                 volume_change_scale=None, rtol: float = 1e-10, max_it: int = 25):
        import ufl
        from dolfinx import fem
        from petsc4py import PETSc

        self.pmesh, self.comm = pmesh, pmesh.comm
        tr, kin = params.transport, params.kinetics
        self.c_max = tr.c_max
        self.rtol, self.max_it = rtol, max_it
        msh = pmesh.mesh
        self.V = fem.functionspace(msh, ("Lagrange", degree))
        self.c, self.c_n = fem.Function(self.V, name="c"), fem.Function(self.V, name="c_old")
        self.c_nm1 = fem.Function(self.V, name="c_older")    # BDF2 history point (see :meth:`set_scheme`)
        v = ufl.TestFunction(self.V)
        geo = geometry_weights(pmesh)
        w, self.factor = geo.weight, geo.factor
        self._transport = tr

        def const(value):
            return fem.Constant(msh, PETSc.ScalarType(value))

        self.dt, self.phi = const(1.0), const(0.0)
        # dc/dt ≈ (a0 c + a1 c_n + a2 c_nm1)/Δt: backward Euler (1, −1, 0) or variable-step BDF2
        self.a0, self.a1, self.a2 = const(1.0), const(-1.0), const(0.0)
        self.flux_on = const(1.0)         # 0 during rests: no surface flux
        self.i_target = const(0.0)        # A, anodic total current (galvanostatic)
        self.arrhenius = const(arrhenius(tr, temperature))
        self.f_over_rt = const(FARADAY / (GAS_CONSTANT * temperature))

        # the spatial multipliers (None: 1, and the forms are exactly those without them)
        self.scale = None if diffusivity_scale is None else scale_function(_dg0(msh), diffusivity_scale,
                                                                             "diffusivity_scale")
        self.site_scale = None if capacity_scale is None else scale_function(self.V, capacity_scale, "capacity_scale")
        self.i0_scale = None if exchange_current_scale is None else scale_function(
            _dg0(msh), exchange_current_scale, "exchange_current_scale")
        self.volume_change_scale = None if volume_change_scale is None else scale_function(
            _dg0(msh), volume_change_scale, "volume_change_scale")
        sites = tr.c_max if self.site_scale is None else tr.c_max * self.site_scale
        x = self.c / sites
        self.li_fraction = x                 # UFL: the local Li fraction (mechanics reads ΔV/V0 at it)
        D = table_expr(tr.diffusivity, x) * self.arrhenius
        if self.scale is not None:
            D = D * self.scale
        # Fick in the Li fraction: s_c c_max ∇x (= ∇c with uniform sites)
        flux_vec = ufl.grad(self.c) if self.site_scale is None else sites * ufl.grad(x)
        if two_way:
            # stress-driven diffusion, Ω = d(ΔV/V0)/dc; σ_h from the last accepted step (staggered)
            omega = table_slope(params.mechanics.volume_change, x) / sites
            if self.volume_change_scale is not None:
                omega = omega * self.volume_change_scale
            flux_vec = flux_vec - self.c * omega * self.f_over_rt / FARADAY * ufl.grad(hydrostatic)

        # Butler–Volmer on the outer surface; x_s clamped so U(x_s) and sqrt stay defined
        xs = ufl.min_value(ufl.max_value(x, 1e-9), 1.0 - 1e-9)
        i0 = kin.exchange_current_density
        if kin.i0_model == "sqrt":
            i0 = 2 * i0 * ufl.sqrt(xs * (1 - xs))
        if self.i0_scale is not None:
            i0 = i0 * self.i0_scale
        ocv = table_expr(kin.ocv, xs)
        eta = self.phi - ocv
        fa, fc = kin.alpha_a * self.f_over_rt, kin.alpha_c * self.f_over_rt
        i_bv = i0 * (ufl.exp(fa * eta) - ufl.exp(-fc * eta))
        di_deta = i0 * (fa * ufl.exp(fa * eta) + fc * ufl.exp(-fc * eta))

        # 1D/2D: exact for the r², r weights of P(k) products; 3D (w = 1): exact for the P(k) mass matrix, and
        # the assembly of the 3D Jacobian, the dominant cost there, needs 4 instead of 14 points per tet
        q = {"quadrature_degree": 2 * degree + (0 if pmesh.kind == "3d" else 2)}
        dx = ufl.Measure("dx", domain=msh, metadata=q)
        ds = ufl.Measure("ds", domain=msh, subdomain_data=pmesh.facet_tags, metadata=q)
        ds_out = ds(pmesh.boundaries["outer"])

        rate = (self.a0 * self.c + self.a1 * self.c_n + self.a2 * self.c_nm1) / self.dt
        F = (w * rate * v * dx + w * D * ufl.inner(flux_vec, ufl.grad(v)) * dx
             + self.flux_on * w * i_bv / FARADAY * v * ds_out)
        g = self.factor * w * i_bv * ds_out
        self._F = fem.form(F)
        self._J = fem.form(ufl.derivative(F, self.c))
        self._b = fem.form(self.flux_on * w * di_deta / FARADAY * v * ds_out)   # ∂F/∂φ
        self._a = fem.form(ufl.derivative(g, self.c, v))                      # ∂g/∂c
        self._g = fem.form(g)                                                 # anodic current, A
        self._d = fem.form(self.factor * w * di_deta * ds_out)                # ∂g/∂φ
        self._ocv = fem.form(self.factor * w * ocv * ds_out)                  # V m^2
        self._amount = fem.form(self.factor * w * self.c * dx)                # mol
        self.volume = self._scalar(fem.form(self.factor * w * dx))            # m^3 (of the FE mesh)
        # Li sites, mol: c_max ∫ s_c dV (= c_max V with uniform sites); x_mean = amount / sites
        self.sites = tr.c_max * (self.volume if self.site_scale is None
                                 else self._scalar(fem.form(self.factor * w * self.site_scale * dx)))
        self.area = self._scalar(fem.form(self.factor * w * ds_out))          # m^2

        from dolfinx.fem.petsc import create_matrix, create_vector
        self._A = create_matrix(self._J)
        self._Fv, self._bv, self._av = (create_vector(self.V) for _ in range(3))
        self._y1, self._y2 = create_vector(self.V), create_vector(self.V)
        self.iterative = msh.topology.dim == 3
        self.ksp = PETSc.KSP().create(self.comm)
        prefix = f"li_tr_{id(self)}_"
        self.ksp.setOptionsPrefix(prefix)
        opts = PETSc.Options()
        for key, val in self._linear_options(msh).items():
            opts[prefix + key] = val
        self.ksp.setFromOptions()
        self.ksp.setOperators(self._A)
        self._pc_fresh_its = None        # Krylov iterations right after the last preconditioner set-up
        self.linear_iterations = 0
        self.pc_setups = self.jacobian_assemblies = 0
        self._jacobian_stale = True
        self.mode = "current"
        fdim = msh.topology.dim - 1
        msh.topology.create_connectivity(fdim, msh.topology.dim)
        outer = fem.locate_dofs_topological(self.V, fdim, pmesh.facet_tags.find(pmesh.boundaries["outer"]))
        self._surface_dofs = outer[outer < self.V.dofmap.index_map.size_local]

    # ----------------------------------------------------------------------------- helpers
    def _scalar(self, form) -> float:
        value = _kernels().assemble_scalar(form)
        return value if self.comm.size == 1 else self.comm.allreduce(value, op=_kernels().MPI.SUM)

    def amount(self) -> float:
        """Li in the particle, mol."""
        return self._scalar(self._amount)

    def anodic_current(self) -> float:
        """factor ∫_outer w i ds at the current (c, φ_s), A (> 0 on charge)."""
        return self._scalar(self._g)

    def set_temperature(self, temperature: float) -> None:
        """Arrhenius factor of D and F/RT of the kinetics for ``temperature`` (K)."""
        self.arrhenius.value = arrhenius(self._transport, temperature)
        self.f_over_rt.value = FARADAY / (GAS_CONSTANT * temperature)

    def set_mode(self, mode: str, *, current: float = 0.0, potential: float | None = None, flux: bool = True):
        """``"current"`` with the anodic total ``current`` (A), or ``"potential"`` with φ_s = ``potential`` (V)."""
        self.mode = mode
        self.i_target.value = current
        self.flux_on.value = 1.0 if flux else 0.0
        if potential is not None:
            self.phi.value = potential

    def _linear_options(self, msh) -> dict:
        """3D: GMRES + GAMG (LU fill grows like N^(4/3) in 3D); 1D/2D: direct LU (PETSc's own in serial, it
        has the least overhead on small systems; MUMPS in parallel). The Jacobian is mass + diffusion (+ a
        small surface term), nearly symmetric and positive definite, which smoothed aggregation handles."""
        if self.iterative:
            return {"ksp_type": "gmres", "ksp_gmres_restart": 100, "pc_type": "gamg", "ksp_rtol": 1e-7,
                    "ksp_atol": 0.0, "ksp_max_it": 500, "ksp_norm_type": "unpreconditioned"}
        # pivot test off: entries scale like r² h/Δt ~ 1e-19, PETSc's absolute 1e-14 test misfires
        return {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_zeropivot": 0.0,
                "pc_factor_mat_solver_type": "mumps" if self.comm.size > 1 else "petsc"}

    def _set_operator(self) -> None:
        """Hand the new Jacobian to the KSP. Iterative: keep the GAMG hierarchy across Newton iterations and
        time steps (the Jacobian changes little) until the Krylov count doubles from its fresh value."""
        if self.iterative:
            its = self.ksp.getIterationNumber()
            stale = self._pc_fresh_its is None or its > 2 * self._pc_fresh_its + 5
            self.ksp.getPC().setReusePreconditioner(not stale)
            if stale:
                self._pc_fresh_its, self._pc_pending = None, True
                self.pc_setups += 1
        else:
            self.pc_setups += 1
        self.ksp.setOperators(self._A)

    def _solve_linear(self, rhs, out) -> bool:
        self.ksp.solve(rhs, out)
        its = self.ksp.getIterationNumber()
        self.linear_iterations += its
        if self.iterative and getattr(self, "_pc_pending", False):
            self._pc_fresh_its, self._pc_pending = max(its, 1), False
        if self.ksp.getConvergedReason() < 0 and self.iterative and self._pc_fresh_its is not None:
            self._pc_fresh_its = None                       # retry once with a fresh preconditioner
            self._set_operator()
            self.ksp.solve(rhs, out)
            self.linear_iterations += self.ksp.getIterationNumber()
            self._pc_fresh_its, self._pc_pending = max(self.ksp.getIterationNumber(), 1), False
        return self.ksp.getConvergedReason() >= 0

    def set_scheme(self, a0: float, a1: float, a2: float) -> None:
        """Time-derivative weights: dc/dt ≈ (a0 c + a1 c_n + a2 c_nm1)/Δt (a0 + a1 + a2 = 0)."""
        self.a0.value, self.a1.value, self.a2.value = a0, a1, a2

    def _assemble_vec(self, vec, form):
        k = _kernels()
        with vec.localForm() as loc:
            loc.set(0.0)
        k.assemble_vector(vec, form)
        vec.ghostUpdate(addv=k.ADD, mode=k.REVERSE)

    # ----------------------------------------------------------------------------- Newton
    def solve(self) -> int:
        """Newton for the current Δt from the present iterate; returns iterations or raises NewtonFailure.

        Converged when the update is below ``rtol`` relative to c_max (and 1e-12 V in φ_s).
        """
        k = _kernels()
        galvanostatic = self.mode == "current"
        previous = np.inf
        for it in range(1, self.max_it + 1):
            if it == 1 or not self.iterative or self._jacobian_stale:
                # 3D: the Jacobian of the first iteration serves the whole solve while Newton contracts well
                self._A.zeroEntries()
                k.assemble_matrix(self._A, self._J)
                self._A.assemble()
                self.jacobian_assemblies += 1
                self._jacobian_stale = False
            self._assemble_vec(self._Fv, self._F)
            self._set_operator()
            if not self._solve_linear(self._Fv, self._y1):
                raise NewtonFailure("DIVERGED_LINEAR_SOLVE", it)
            dphi = 0.0
            if galvanostatic:
                # Schur complement of the bordered system [[J, b], [aᵀ, d]] [δc, δφ] = −[F, g]
                self._assemble_vec(self._bv, self._b)
                self._assemble_vec(self._av, self._a)
                if not self._solve_linear(self._bv, self._y2):
                    raise NewtonFailure("DIVERGED_LINEAR_SOLVE", it)
                g = self._scalar(self._g) - float(self.i_target.value)
                d = self._scalar(self._d)
                denom = d - self._av.dot(self._y2)
                if not (np.isfinite(denom) and denom != 0.0):
                    raise NewtonFailure("DIVERGED_FNORM_NAN (singular kinetics: no current can flow)", it)
                # damped: the exponentials change by <= e^(α F/RT · 0.1 V) per iteration (i0 -> 0 at x_s -> 0, 1)
                dphi = max(-_MAX_DPHI, min(_MAX_DPHI, float((-g + self._av.dot(self._y1)) / denom)))
                self._y1.axpy(dphi, self._y2)          # y1 <- y1 + y2 δφ, δc = −y1 solves the c rows for this δφ
            self.c.x.petsc_vec.axpy(-1.0, self._y1)
            self.c.x.petsc_vec.ghostUpdate(addv=k.INSERT, mode=k.FORWARD)
            self.phi.value = float(self.phi.value) + dphi
            step = self._y1.norm(k.NORM_INF)
            if not (np.isfinite(step) and np.isfinite(dphi)):
                raise NewtonFailure("DIVERGED_FNORM_NAN", it)
            self._jacobian_stale = step > _LAG_CONTRACTION * previous
            previous = step
            if step <= self.rtol * self.c_max and abs(dphi) <= 1e-12:
                return it
        raise NewtonFailure("DIVERGED_MAX_IT", self.max_it)

    def domain_violation(self) -> str | None:
        """Why the present c is not admissible, or None (collective).

        The outer surface must keep 0 <= x <= 1 (to 1e-6): beyond it the kinetics have no meaning and the
        applied current cannot be carried. Inside, the consistent-mass Galerkin scheme overshoots by a
        small, decaying amount next to a steep surface gradient (e.g. a charge from x = 1), so 1e-3 is allowed.
        """
        from mpi4py import MPI

        n = self.V.dofmap.index_map.size_local
        x = self.c.x.array[:n] / self.c_max
        if self.site_scale is not None:
            x = x / self.site_scale.x.array[:n]
        xs = x[self._surface_dofs]
        flags = (1 * bool(xs.size and xs.max() > 1 + _SURFACE_TOL) + 2 * bool(xs.size and xs.min() < -_SURFACE_TOL)
                 + 4 * bool(x.size and (x.max() > 1 + _BULK_TOL or x.min() < -_BULK_TOL)))
        flags = self.comm.allreduce(flags, op=MPI.BOR)
        if flags & 1:
            return "SURFACE_SATURATED (surface Li fraction above 1, c > c_max)"
        if flags & 2:
            return "SURFACE_DEPLETED (surface Li fraction below 0)"
        if flags & 4:
            return "DIVERGED_FUNCTION_DOMAIN (Li fraction left [0, 1] inside the particle)"
        return None

    def equilibrium_potential(self) -> float:
        """φ_s with zero net current for the present c (scalar Newton from the area-mean U(x_s)), V."""
        phi = self._scalar(self._ocv) / self.area
        for _ in range(100):
            self.phi.value = phi
            g, d = self._scalar(self._g), self._scalar(self._d)
            step = g / d
            phi -= float(np.clip(step, -0.2, 0.2))
            if abs(step) < 1e-13:
                break
        self.phi.value = phi
        return phi
