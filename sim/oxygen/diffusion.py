"""FEM solver for O-vacancy diffusion in a primary particle (docs/physics.md M1, Csernica 2021).

    ∂y/∂t = ∇·(D_O ∇y)   in the particle,   y(0) = y_b,
    y = y_s  on the surface (fixed value)   or   D_O ∇y·n = k (y_s − y)  (surface exchange).

The solver works with φ = (y − y_s)/(y_b − y_s) (φ(0) = 1, φ = 0 or D∇φ·n = −kφ on the
surface), so every boundary condition is homogeneous and the right-hand sides are plain
matrix products. Weak form with the geometric weight w (1D radial: w = r², 2D axisymmetric
(r, z): w = r, 3D: w = 1), both matrices scaled by 1/∫w dx so that entries are O(1) in any unit:

    M = ∫ φ v w dx,   K = ∫ D ∇φ·∇v w dx + ∫ k φ v w ds.

A formation layer (:class:`sim.oxygen.formation.FormationLayer`, Csernica 2021's first-cycle
surface release) sets φ(0) = (y_f − y_s)/(y_b − y_s) within δ of the surface instead of 1.

Time stepping: TR-BDF2 with γ = 2 − √2 (second order, L-stable), whose two stages share the
matrix M + (γ/2) Δt K; one factorisation per distinct Δt is kept and reused (the step plan
uses few distinct steps).
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

GAMMA = 2.0 - math.sqrt(2.0)
_ALPHA = GAMMA / 2.0                               # = (1 − γ)/(2 − γ) for this γ
_A1 = 1.0 / (GAMMA * (2.0 - GAMMA))                # BDF2 stage: u_{n+1} = a1 u* − a0 u_n + α Δt f(u_{n+1})
_A0 = (1.0 - GAMMA) ** 2 / (GAMMA * (2.0 - GAMMA))
WEIGHTS = {"radial": 2, "axisym": 1, "3d": 0}      # power of x[0] in the volume weight


def step_plan(output_times, steps_per_level: int = 8, levels: int = 12) -> list[tuple[float, int | None]]:
    """Time steps that hit every output time with Δt ≤ t/m (m = ``steps_per_level``).

    The first interval [0, t₁] is split into ``levels`` halving windows with m steps each (the
    solution starts discontinuous at the surface); interval k ≥ 2 gets ⌈m (t_k − t_{k−1}) / t_{k−1}⌉
    equal steps. Returns [(Δt, index of the output reached or None), ...].
    """
    times = np.asarray(output_times, dtype=float)
    if times.size == 0 or times[0] <= 0 or np.any(np.diff(times) <= 0):
        raise ValueError("output times must be positive and increasing")
    plan: list[tuple[float, int | None]] = []
    edges = [times[0] * 2.0**-j for j in range(levels, -1, -1)]
    start = 0.0
    for e in edges:
        plan += [((e - start) / steps_per_level, None)] * steps_per_level
        start = e
    plan[-1] = (plan[-1][0], 0)
    for k in range(1, times.size):
        n = max(1, math.ceil(steps_per_level * (times[k] - times[k - 1]) / times[k - 1] - 1e-9))
        plan += [((times[k] - times[k - 1]) / n, None)] * (n - 1) + [((times[k] - times[k - 1]) / n, k)]
    return plan


class VacancyDiffusion:
    """O-vacancy fraction y in a particle mesh (:class:`sim.mesh.ParticleMesh`, coordinates in m).

    ``diffusivity`` D_O (m²/s, during the time the solver is advanced), ``surface_value`` y_s,
    ``bulk_value`` y_b (initial), ``surface_exchange_rate`` k (m/s; ``inf``: fixed surface value),
    Lagrange ``degree``. The surface is the boundary named ``boundary`` ("outer"), or several (a tuple
    of names, e.g. the outer surface and the pores of a secondary particle).
    ``linear_solver``: "lu" (MUMPS, factorised once per distinct Δt), "cg" (CG + GAMG; the
    matrix M + αK is SPD and mass-dominated, so CG needs few iterations and no factorisation
    memory) or "auto" (LU in 1D, CG in 2D/3D). ``formation``: a
    :class:`~sim.oxygen.formation.FormationLayer` (or None): the initial state after formation.
    """

    def __init__(self, domain, diffusivity: float, surface_value: float, bulk_value: float = 0.0, *,
                 surface_exchange_rate: float = math.inf, degree: int = 1, boundary: str | tuple = "outer",
                 linear_solver: str = "auto", cache_size: int = 24, formation=None):
        import dolfinx_solver  # noqa: F401  (loads MPI first)
        import ufl
        from dolfinx import fem
        from dolfinx.fem.petsc import assemble_matrix

        if domain.kind not in WEIGHTS:
            raise ValueError(f"mesh kind {domain.kind!r} not supported; allowed: {', '.join(WEIGHTS)}")
        names = (boundary,) if isinstance(boundary, str) else tuple(boundary)
        for name in names:
            if name not in domain.boundaries:
                raise ValueError(f"mesh has no boundary {name!r} (has: {', '.join(domain.boundaries)})")
        if linear_solver not in ("auto", "lu", "cg"):
            raise ValueError(f"linear_solver {linear_solver!r} not allowed; choose auto, lu or cg")
        self.linear_solver = ("lu" if domain.kind == "radial" else "cg") if linear_solver == "auto" else linear_solver
        self.domain, self.comm = domain, domain.mesh.comm
        self.D, self.y_s, self.y_b, self.k = float(diffusivity), float(surface_value), float(bulk_value), \
            float(surface_exchange_rate)
        msh = domain.mesh
        self.V = fem.functionspace(msh, ("Lagrange", degree))
        x = ufl.SpatialCoordinate(msh)
        w = x[0] ** WEIGHTS[domain.kind] if WEIGHTS[domain.kind] else fem.Constant(msh, 1.0)
        dx = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": 2 * degree + WEIGHTS[domain.kind]})
        volume = self.comm.allreduce(fem.assemble_scalar(fem.form(w * dx)))
        self.volume_weight = volume                    # ∫ w dx (m³, m³/(2π) or m³/(4π) by kind)
        scale = fem.Constant(msh, 1.0 / volume)
        u, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        m_form = scale * u * v * w * dx
        k_form = scale * self.D * ufl.inner(ufl.grad(u), ufl.grad(v)) * w * dx
        tag = tuple(domain.boundaries[name] for name in names)
        self.surface_facets = np.unique(np.concatenate([domain.facet_tags.find(t) for t in tag]))
        fdim = msh.topology.dim - 1
        if math.isfinite(self.k):
            ds = ufl.Measure("ds", domain=msh, subdomain_data=domain.facet_tags, subdomain_id=tag,
                             metadata={"quadrature_degree": 2 * degree + WEIGHTS[domain.kind]})
            k_form = k_form + scale * self.k * u * v * w * ds
            self.bcs = []
        else:
            dofs = fem.locate_dofs_topological(self.V, fdim, self.surface_facets)
            self.bcs = [fem.dirichletbc(0.0, dofs, self.V)]
        self._alpha_dt = fem.Constant(msh, 0.0)
        self._a_form = fem.form(m_form + self._alpha_dt * k_form)
        self.M = assemble_matrix(fem.form(m_form))
        self.M.assemble()
        self.K = assemble_matrix(fem.form(k_form))
        self.K.assemble()
        self.phi = fem.Function(self.V, name="phi")
        self.phi.x.array[:] = 1.0
        self.formation = formation
        if formation is not None:
            self._set_formation_state(formation, w)
        for bc in self.bcs:
            bc.set(self.phi.x.array)
        self._star = fem.Function(self.V)
        self._mean_form = fem.form(scale * self.phi * w * dx)
        self._b = self.M.createVecLeft()
        self._tmp = self.M.createVecLeft()
        self._solvers: OrderedDict = OrderedDict()
        self._cache_size = cache_size
        self._assemble_matrix = assemble_matrix
        self.time = 0.0
        self.factorisations = 0

    def _set_formation_state(self, formation, w) -> None:
        """φ(0) of the formation layer by lumped L2 projection: φᵢ = ∫ φ₀ vᵢ w / ∫ vᵢ w with φ₀ the step at
        depth δ, integrated with a high quadrature so that the layer content is right to a small fraction
        of one cell (nodal interpolation would misplace it by half a cell) and φ stays within its bounds."""
        import ufl
        from dolfinx import fem, la

        depth = fem.Function(self.V)
        depth.x.array[:] = self.surface_depth()   # smooth, so its P1 interpolant places the step well
        shell = formation.shell_phi(self.y_s, self.y_b)
        phi0 = ufl.conditional(ufl.lt(depth, formation.thickness), shell, 1.0)
        q = 40 if self.domain.kind == "radial" else 8
        dx = ufl.Measure("dx", domain=self.domain.mesh, metadata={"quadrature_degree": q})
        v = ufl.TestFunction(self.V)
        num, den = (fem.assemble_vector(fem.form(f * v * w * dx)) for f in (phi0, 1.0))
        for vec in (num, den):
            vec.scatter_reverse(la.InsertMode.add)
            vec.scatter_forward()
        self.phi.x.array[:] = num.array / den.array

    def surface_depth(self) -> np.ndarray:
        """Distance (m) of every local dof to the nearest dof on the surface (all ranks)."""
        from dolfinx import fem
        from scipy.spatial import cKDTree

        fdim = self.domain.mesh.topology.dim - 1
        xyz = self.V.tabulate_dof_coordinates()
        on_surface = fem.locate_dofs_topological(self.V, fdim, self.surface_facets)
        owned = on_surface[on_surface < self.V.dofmap.index_map.size_local]
        surface = np.concatenate(self.comm.allgather(xyz[owned]))
        return cKDTree(surface).query(xyz)[0]

    # ------------------------------------------------------------------ linear algebra
    def _solver(self, alpha_dt: float):
        from petsc4py import PETSc

        key = float(f"{alpha_dt:.10e}")
        if key in self._solvers:
            self._solvers.move_to_end(key)
            return self._solvers[key]
        self._alpha_dt.value = alpha_dt
        A = self._assemble_matrix(self._a_form, bcs=self.bcs)
        A.assemble()
        ksp = PETSc.KSP().create(self.comm)
        ksp.setOperators(A)
        pc = ksp.getPC()
        if self.linear_solver == "lu":
            ksp.setType("preonly")
            pc.setType("lu")
            pc.setFactorSolverType("mumps")
        else:
            ksp.setType("cg")
            pc.setType("gamg")
            ksp.setTolerances(rtol=1e-12, atol=1e-30, max_it=500)
        ksp.setUp()
        self.factorisations += 1
        self._solvers[key] = (ksp, A)
        if len(self._solvers) > self._cache_size:
            old_ksp, old_A = self._solvers.popitem(last=False)[1]
            old_ksp.destroy(), old_A.destroy()
        return self._solvers[key]

    def _solve(self, ksp, target) -> None:
        from dolfinx.fem.petsc import set_bc

        from sim.errors import SolverError

        set_bc(self._b, self.bcs)
        ksp.solve(self._b, target.x.petsc_vec)
        reason = ksp.getConvergedReason()
        if reason < 0:
            raise SolverError("O-vacancy diffusion step failed", time=self.time, reason=f"KSP reason {reason}")
        target.x.scatter_forward()

    def advance(self, dt: float) -> None:
        """One TR-BDF2 step of length ``dt`` (s)."""
        alpha = _ALPHA * dt
        ksp, _ = self._solver(alpha)
        phi_n = self.phi.x.petsc_vec
        # trapezoidal stage to t + γΔt: (M + αK) φ* = (M − αK) φ_n
        self.M.mult(phi_n, self._b)
        self.K.mult(phi_n, self._tmp)
        self._b.axpy(-alpha, self._tmp)
        self._solve(ksp, self._star)
        # BDF2 stage to t + Δt: (M + αK) φ_{n+1} = M (a1 φ* − a0 φ_n)
        self._tmp.array[:] = _A1 * self._star.x.petsc_vec.array - _A0 * phi_n.array
        self.M.mult(self._tmp, self._b)
        self._solve(ksp, self.phi)
        self.time += dt

    def run(self, output_times, on_output=None, *, steps_per_level: int = 8, levels: int = 12) -> None:
        """Advance to each of ``output_times`` (s, increasing, from the current time 0) and call
        ``on_output(index, self)`` there."""
        for dt, index in step_plan(output_times, steps_per_level, levels):
            self.advance(dt)
            if index is not None and on_output is not None:
                on_output(index, self)

    # ------------------------------------------------------------------ results
    def mean_fraction(self) -> float:
        """Volume-averaged u = 1 − φ (0 at start, 1 when the particle reached the surface value)."""
        from dolfinx import fem

        return 1.0 - self.comm.allreduce(fem.assemble_scalar(self._mean_form))

    def mean(self) -> float:
        """Volume-averaged vacancy fraction ȳ."""
        return self.y_b + (self.y_s - self.y_b) * self.mean_fraction()

    def vacancy_field(self):
        """y = y_s + (y_b − y_s) φ as a new Function."""
        from dolfinx import fem

        y = fem.Function(self.V, name="o_vacancy_fraction")
        y.x.array[:] = self.y_s + (self.y_b - self.y_s) * self.phi.x.array
        return y

    def radial_samples(self, n: int = 200):
        """(r (m), y) along the x axis from the centre to the surface, the same on every rank.

        1D radial meshes return every dof; 2D/3D meshes are evaluated at ``n`` points (points a
        faceted surface leaves outside the mesh are dropped).
        """
        if self.domain.kind == "radial":
            r = self.V.tabulate_dof_coordinates()[:, 0]
            owned = self.V.dofmap.index_map.size_local
            data = self.comm.allgather((r[:owned], self.phi.x.array[:owned]))
            r = np.concatenate([d[0] for d in data])
            phi = np.concatenate([d[1] for d in data])
        else:
            r, phi = self._line_values(n)
        order = np.argsort(r)
        return r[order], self.y_s + (self.y_b - self.y_s) * phi[order]

    def _line_values(self, n: int):
        from dolfinx import geometry

        msh = self.domain.mesh
        coords = msh.geometry.x
        radius = np.max(coords[:, 0]) if coords.size else 0.0
        radius = self.comm.allreduce(radius, op=_max_op())
        pts = np.zeros((n, 3))
        pts[:, 0] = np.linspace(0.0, radius * (1 - 1e-9), n)
        tree = geometry.bb_tree(msh, msh.topology.dim)
        cells = geometry.compute_colliding_cells(msh, geometry.compute_collisions_points(tree, pts), pts)
        found, cell_ids = [], []
        for i in range(n):
            links = cells.links(i)
            if len(links):
                found.append(i)
                cell_ids.append(links[0])
        vals = self.phi.eval(pts[found], np.array(cell_ids, dtype=np.int32)).ravel() if found else np.empty(0)
        merged: dict[int, float] = {}
        for idx, val in self.comm.allgather((found, vals.tolist())):
            for i, v in zip(idx, val):
                merged.setdefault(i, v)  # a point on a shared facet is found by two ranks
        keys = sorted(merged)
        return pts[keys, 0], np.array([merged[i] for i in keys])


def _max_op():
    from mpi4py import MPI

    return MPI.MAX
