"""Diffusion-induced stress in a free particle (docs/physics.md M3; Liu 2024 Methods).

Small strain: σ = λ tr(ε_e) I + 2μ ε_e with ε_e = ε(u) − (1/3) ΔV/V0(x) I.
Finite strain (Liu 2024): F = F_e F_ic, F_ic = (1 + ΔV/V0)^(1/3) I, St Venant–Kirchhoff in F_e
(COMSOL's geometrically non-linear "linear elastic" material): S_e = λ tr(E_e) I + 2μ E_e,
E_e = (F_eᵀF_e − I)/2; first Piola P = J_ic F_e S_e F_ic⁻ᵀ = λ_ic² F_e S_e; output is the Cauchy
stress σ = F_e S_e F_eᵀ / det F_e on the reference configuration.

Kinematics are written as a 3×3 displacement gradient in a local basis: radial (r, θ, φ) with
diag(u', u/r, u/r); axisymmetric (r, z, φ) with the hoop entry u_r/r; 3D Cartesian.
Supports: radial u(0) = 0 for a solid sphere (nothing for a hollow one); axisymmetric u_r = 0 on the
axis and u_z pinned at the top of the axis; 3D 3-2-1 point supports at extreme vertices (no stress).
"""
from __future__ import annotations

import numpy as np

from sim.lithium.transport import geometry_weights, table_expr

# 3D solves stop on the energy norm of the displacement error, estimated by CG's natural norm
# sqrt(rᵀ B r) (B: GAMG ≈ A⁻¹), at _ENERGY_TOL times the energy norm of the stress scale E max|ΔV/V0| over
# the particle (Mechanics._energy_scale): an absolute accuracy of the stress, whatever the present stress
# level and however close the warm start (issue 14)
_ENERGY_TOL = 1e-10
# phase-field displacement SNES (3D): CG relative tolerance of its linear solves
_PHASE_FIELD_RTOL = 1e-8
# phase-field displacement Newton: the energy norm of its correction <= this × the energy scale of
# Mechanics._energy_scale, an RMS stress error <= 1e-6 σ* (PhaseField._u_converged)
_PHASE_FIELD_ENERGY_TOL = 1e-6
# finite strain: inexact Newton corrections with the Eisenstat–Walker forcing term <= _EW_MAX
_EW_GAMMA, _EW_MAX = 0.9, 0.1
# small strain (3D): earlier solutions kept for the projected initial guess (_Projection); 2 vectors each
# (x and A x)
_PROJECTION_BASIS = 8

STRESS_NAMES = ("hoop", "radial", "azimuthal", "von_mises", "max_principal", "hydrostatic")


def _sum(comm, value, op="sum"):
    """MPI reduction of a Python scalar (op: sum, max, min)."""
    from mpi4py import MPI
    return comm.allreduce(value, op={"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op])


class Mechanics:
    """Quasi-static elasticity driven by the Li concentration ``c`` (mol/m^3) of the transport solver.

    ``fracture``: a :class:`~sim.fracture.options.PhaseFieldOptions` adds the phase-field damage ``damage``
    (P1, "damage"): :meth:`solve` then runs the staggered u ↔ d iterations; call :meth:`commit` after an
    accepted time step and :meth:`restore` after a rejected one. ``centre`` (m; axisymmetric (0, z_c, 0)):
    the point about which the spherical stress components (radial, hoop, azimuthal) are taken.
    ``li_fraction``: UFL expression of the local Li fraction x that ΔV/V0(x) is read at (default c/c_max; a
    degraded particle whose local capacity is s c_max passes c/(s c_max)). ``volume_change_scale``: UFL
    expression (or Function) multiplying ΔV/V0 pointwise (default 1), e.g. 0 in a deactivated shell.
    """

    def __init__(self, params, pmesh, c, *, degree: int = 2, hydrostatic=None, fracture=None, centre=(0.0, 0.0, 0.0),
                 li_fraction=None, volume_change_scale=None):
        import ufl
        from dolfinx import fem

        self.pmesh, self.comm, self.kind = pmesh, pmesh.comm, pmesh.kind
        self.fracture, self.centre = fracture, np.asarray(centre, dtype=float)
        mech = params.mechanics
        E, nu = mech.youngs_modulus, mech.poisson_ratio
        lam, mu = E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))
        self.finite = mech.strain_model == "finite"
        msh = pmesh.mesh
        gdim = msh.geometry.dim
        self.V = fem.functionspace(msh, ("Lagrange", degree) if self.kind == "radial" else ("Lagrange", degree, (gdim,)))
        self.u = fem.Function(self.V, name="u")
        v = ufl.TestFunction(self.V)
        w = geometry_weights(pmesh).weight
        x = c / params.transport.c_max if li_fraction is None else li_fraction
        beta = table_expr(mech.volume_change, x)   # ΔV/V0(x)
        if volume_change_scale is not None:
            beta = volume_change_scale * beta
        Id = ufl.Identity(3)

        def sigma_small(u):
            eps = ufl.sym(self._grad3(u, on_axis=True))
            eps_e = eps - beta / 3 * Id
            return lam * ufl.tr(eps_e) * Id + 2 * mu * eps_e

        def finite_parts(u, on_axis=False):
            lam_ic = (1 + beta) ** (1.0 / 3.0)
            Fe = (Id + self._grad3(u, on_axis)) / lam_ic
            Ee = (Fe.T * Fe - Id) / 2
            S = lam * ufl.tr(Ee) * Id + 2 * mu * Ee
            return lam_ic, Fe, S

        q = {"quadrature_degree": 2 * degree}   # exact for the (r-weighted) stiffness of P2
        dx = ufl.Measure("dx", domain=msh, metadata=q)
        self.bcs = self._supports()
        self._swelling = w * beta * dx   # ∫ w β / ∫ w: the mean ΔV/V0 (compiled only if _free_swelling_guess runs)
        self._at_rest = True             # no solve yet (see solve: the finite-strain retry)
        self._volume = _sum(self.comm, fem.assemble_scalar(fem.form(w * dx)))
        self._energy_unit = self._energy_scale(E, lam, mu, mech.volume_change, self._volume)
        self._energy_atol = _ENERGY_TOL * self._energy_unit
        self.phase_field = self.damage = None
        if fracture is not None:
            stress = self._setup_phase_field(params, fracture, w, beta, lam, mu, 2 * degree)
        elif self.finite:
            lam_ic, Fe, S = finite_parts(self.u)
            residual = w * ufl.inner(lam_ic**2 * Fe * S, self._grad3(v)) * dx
            _, Fe, S = finite_parts(self.u, on_axis=True)
            stress = Fe * S * Fe.T / ufl.det(Fe)
            self._setup_finite(residual)
        else:
            # a(u, v) = L(v): elastic stiffness, load from the eigenstrain stress (3λ + 2μ) β/3 I
            du = ufl.TrialFunction(self.V)
            eps_du = ufl.sym(self._grad3(du))
            a = w * ufl.inner(lam * ufl.tr(eps_du) * Id + 2 * mu * eps_du, ufl.sym(self._grad3(v))) * dx
            L = w * (3 * lam + 2 * mu) * beta / 3 * ufl.tr(ufl.sym(self._grad3(v))) * dx
            stress = sigma_small(self.u)
            self._setup_small(a, L)
        # stress tensor into DG(k−1) (DG0 for P1), derived scalars in numpy
        self.T = fem.functionspace(msh, ("Discontinuous Lagrange", degree - 1, (3, 3)))
        self.sigma = fem.Function(self.T, name="stress")
        self._sigma_expr = fem.Expression(stress, self.T.element.interpolation_points)
        self.S, smap = self.T.sub(0).collapse()
        self._blocks = np.ravel(smap) // 9        # S dof -> tensor block of T
        self._fields = {n: fem.Function(self.S, name=n) for n in STRESS_NAMES}
        self._coords = self.S.tabulate_dof_coordinates() - self.centre[None, :]   # spherical components about centre
        self.hydrostatic = hydrostatic
        if hydrostatic is not None:
            self._hydro_expr = fem.Expression(ufl.tr(stress) / 3, hydrostatic.function_space.element.interpolation_points)
        self.iterations = 0

    @staticmethod
    def _energy_scale(E, lam, mu, volume_change, volume) -> float:
        """Energy norm sqrt(∫ ε:C:ε) of a displacement whose stress has the scale σ* = E max|ΔV/V0| over the
        particle volume: a stress error δσ costs |δu|_A ≥ δσ_rms sqrt(V/(3λ + 2μ)) (3λ + 2μ, the largest
        eigenvalue of C), so |δu|_A <= tol · σ* sqrt(V/(3λ + 2μ)) bounds the RMS stress error by tol · σ*.
        A particle that does not swell (ΔV/V0 = 0: u = 0 exactly) is measured against σ* = E."""
        swelling = float(np.abs(volume_change.y).max()) or 1.0
        return E * swelling * np.sqrt(volume / (3 * lam + 2 * mu))

    def _setup_phase_field(self, params, fracture, w, beta, lam, mu, qdeg):
        """Phase-field fracture (docs/physics.md M5): the displacement SNES minimises ∫ w [g(d) ψ⁺ + ψ⁻]
        and the damage problem of :class:`~sim.fracture.phase_field.PhaseField` alternate in :meth:`solve`.

        Small strain: ψ(ε − β/3 I). Finite strain: ψ is St Venant–Kirchhoff in the Green–Lagrange strain
        E_e of F_e per unit intermediate volume, times J_ic = 1 + β per reference volume; the split and the
        degradation act on ψ(E_e) (the elastic part only: the swelling F_ic is not degraded).
        Returns the (degraded) Cauchy stress for output."""
        import ufl

        from sim.errors import InputError
        from sim.fracture.phase_field import PhaseField
        from sim.lithium.transport import geometry_weights

        mech = params.mechanics
        for key, value in (("mechanics.fracture_energy", mech.fracture_energy),
                           ("mechanics.phase_field_length", mech.phase_field_length)):
            if value is None:
                raise InputError(f"phase-field fracture needs {key}; found none (give a value > 0)", key=key)
        Id = ufl.Identity(3)

        def small(u, on_axis=False):
            return ufl.sym(self._grad3(u, on_axis)) - beta / 3 * Id

        def green_lagrange(u, on_axis=False):
            Fe = (Id + self._grad3(u, on_axis)) / (1 + beta) ** (1.0 / 3.0)
            return (Fe.T * Fe - Id) / 2

        strain = green_lagrange if self.finite else small
        structure = {"radial": "diagonal", "axisym": "axisym", "3d": "full"}[self.kind]
        opts = self._linear_options()
        self.phase_field = pf = PhaseField(
            self.u, self.bcs, strain, lam, mu, weight=w, factor=geometry_weights(self.pmesh).factor,
            structure=structure, fracture=fracture, Gc=mech.fracture_energy, ell=mech.phase_field_length,
            scale=(1 + beta) if self.finite else 1.0, quadrature_degree=qdeg, u_options=opts,
            fatigue_threshold=mech.fatigue_threshold, energy_atol=_PHASE_FIELD_ENERGY_TOL * self._energy_unit)
        if self.kind == "3d":
            pf._u_problem.A.setNearNullSpace(self._near_nullspace())
        self.damage = pf.d
        if not self.finite:
            return pf.degraded_stress(small(self.u, on_axis=True))
        Fe = (Id + self._grad3(self.u, on_axis=True)) / (1 + beta) ** (1.0 / 3.0)
        return Fe * pf.degraded_stress(green_lagrange(self.u, on_axis=True)) * Fe.T / ufl.det(Fe)

    # ------------------------------------------------------------------ kinematics and supports
    def _grad3(self, u, on_axis: bool = False):
        """Displacement gradient as a 3×3 tensor in the local basis of ``kind``.

        The hoop entry u_r/r is singular on the axis (r = 0): forms integrate at interior quadrature
        points, output at nodes uses its limit ∂u_r/∂r (``on_axis=True``, not for test/trial functions).
        """
        import ufl

        r = ufl.SpatialCoordinate(self.pmesh.mesh)[0]

        def hoop(u_r, limit):
            return ufl.conditional(ufl.gt(r, 1e-12 * self._length()), u_r / r, limit) if on_axis else u_r / r

        if self.kind == "radial":
            du = u.dx(0)
            h = hoop(u, du)
            return ufl.as_matrix([[du, 0, 0], [0, h, 0], [0, 0, h]])
        if self.kind == "axisym":
            g = ufl.grad(u)
            return ufl.as_matrix([[g[0, 0], g[0, 1], 0], [g[1, 0], g[1, 1], 0], [0, 0, hoop(u[0], g[0, 0])]])
        return ufl.grad(u)

    def _length(self) -> float:
        if not hasattr(self, "_L"):
            x = self.pmesh.mesh.geometry.x
            local = float(np.abs(x).max()) if x.size else 0.0
            self._L = _sum(self.comm, local, "max")
        return self._L

    def _extreme_vertex(self, key) -> np.ndarray:
        """Mesh node minimising ``key(x)`` over all ranks (coordinates, all ranks agree)."""
        x = self.pmesh.mesh.geometry.x
        local = (float(key(x).min()), x[int(np.argmin(key(x)))]) if x.size else (np.inf, None)
        best = _sum(self.comm, local[0], "min")
        pts = self.comm.allgather(local[1] if local[0] == best else None)
        return next(p for p in pts if p is not None)

    def _point_dofs(self, point, components):
        from dolfinx import fem
        tol = 1e-9 * self._length()
        bcs = []
        for i in components:
            Vi, _ = self.V.sub(i).collapse()
            dofs = fem.locate_dofs_geometrical((self.V.sub(i), Vi),
                                               lambda x: np.linalg.norm(x.T - point, axis=1) < tol)
            bcs.append(fem.dirichletbc(fem.Function(Vi), dofs, self.V.sub(i)))
        return bcs

    def _supports(self):
        from dolfinx import fem
        fdim = self.pmesh.mesh.topology.dim - 1
        self._anchor = np.zeros(3)     # the fully supported point (radial: the centre)
        if self.kind == "radial":
            r0 = self._extreme_vertex(lambda x: x[:, 0])
            if r0[0] > 1e-9 * self._length():
                return []                 # hollow sphere: no rigid mode in radial symmetry
            dofs = fem.locate_dofs_geometrical(self.V, lambda x: np.abs(x[0]) < 1e-9 * self._length())
            return [fem.dirichletbc(0.0, dofs, self.V)]
        if self.kind == "axisym":
            V0, _ = self.V.sub(0).collapse()
            facets = self.pmesh.facet_tags.find(self.pmesh.boundaries["axis"])
            dofs = fem.locate_dofs_topological((self.V.sub(0), V0), fdim, facets)
            top = self._extreme_vertex(lambda x: np.abs(x[:, 0]) * 1e6 - x[:, 1])   # top of the axis
            self._anchor = np.array(top, dtype=float)
            return [fem.dirichletbc(fem.Function(V0), dofs, self.V.sub(0))] + self._point_dofs(top, [1])
        a = self._extreme_vertex(lambda x: x[:, 0])
        b = self._extreme_vertex(lambda x: -x[:, 0])
        c = self._extreme_vertex(lambda x: -x[:, 1])
        self._anchor = np.array(a, dtype=float)
        return self._point_dofs(a, [0, 1, 2]) + self._point_dofs(b, [1, 2]) + self._point_dofs(c, [2])

    def _near_nullspace(self):
        """Rigid-body modes (3 translations, 3 rotations) for GAMG in 3D."""
        from dolfinx import la
        from petsc4py import PETSc
        index_map, bs = self.V.dofmap.index_map, self.V.dofmap.index_map_bs
        n = index_map.size_local
        basis = [la.vector(index_map, bs=bs, dtype=PETSc.ScalarType) for _ in range(6)]
        b = [v.array.reshape(-1, 3)[:n] for v in basis]
        x = self.V.tabulate_dof_coordinates()[:n]
        for i in range(3):
            b[i][:, i] = 1.0
        b[3][:, 0], b[3][:, 1] = -x[:, 1], x[:, 0]
        b[4][:, 0], b[4][:, 2] = x[:, 2], -x[:, 0]
        b[5][:, 2], b[5][:, 1] = x[:, 1], -x[:, 2]
        la.orthonormalize(basis)
        return PETSc.NullSpace().create(vectors=[v.petsc_vec for v in basis], comm=self.comm)

    def _linear_options(self) -> dict:
        if self.kind == "3d":
            # CG (tolerances of the small/finite solves set per solve: _krylov_tolerance). The Chebyshev
            # smoothers' bound on the largest eigenvalue is 1.2 × the estimate (PETSc: 1.1): with 1.1 the V-cycle
            # of the P2 liu2024 mesh at 2.3e5 unknowns is not positive definite (CG: DIVERGED_INDEFINITE_PC).
            # The finite-strain tangent keeps the prolongators of its first set-up (pc_gamg_reuse_interpolation).
            return {"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": _PHASE_FIELD_RTOL, "ksp_atol": 0.0,
                    "ksp_max_it": 1000, "mg_levels_ksp_chebyshev_esteig": "0,0.1,0,1.2",
                    "pc_gamg_reuse_interpolation": True}
        # MUMPS in parallel; PETSc's own LU has less overhead on the small serial 1D/2D systems
        return {"ksp_type": "preonly", "pc_type": "lu",
                "pc_factor_mat_solver_type": "mumps" if self.comm.size > 1 else "petsc", "pc_factor_zeropivot": 0.0}

    # ------------------------------------------------------------------ solvers
    def _setup_small(self, a, L):
        """Constant stiffness: assemble and factorise once; per step only the load vector."""
        from dolfinx import fem

        self._a, self._L = fem.form(a), fem.form(L)
        self._setup_linear(self._a)
        self._assemble_operator()
        self._projection = _Projection(self._A, _PROJECTION_BASIS) if self.kind == "3d" else None

    def _setup_finite(self, residual):
        """Newton with a lagged tangent: strains are ~1 %, so the tangent of an earlier state contracts
        the error by ~|strain| per iteration; it is reassembled only when the contraction is poor."""
        import ufl
        from dolfinx import fem

        self._R = fem.form(residual)
        self._a = fem.form(ufl.derivative(residual, self.u))
        self._setup_linear(self._a)
        self._tangent_stale = True

    def _setup_linear(self, a_form):
        from dolfinx.fem.petsc import create_matrix, create_vector
        from petsc4py import PETSc

        self._A = create_matrix(a_form)
        if self.kind == "3d":
            self._A.setNearNullSpace(self._near_nullspace())
        self._rhs, self._du, self._z = create_vector(self.V), create_vector(self.V), create_vector(self.V)
        self.ksp = PETSc.KSP().create(self.comm)
        prefix = f"li_mech_{id(self)}_"
        self.ksp.setOptionsPrefix(prefix)
        opts = PETSc.Options()
        for k, val in self._linear_options().items():
            opts[prefix + k] = val
        self.ksp.setFromOptions()
        if self.kind == "3d":
            self.ksp.setNormType(PETSc.KSP.NormType.NATURAL)     # sqrt(rᵀ B r): the energy norm of the error
            self.ksp.setInitialGuessNonzero(True)

    def _assemble_operator(self):
        from dolfinx.fem.petsc import assemble_matrix

        self._A.zeroEntries()
        assemble_matrix(self._A, self._a, bcs=self.bcs)
        self._A.assemble()
        self.ksp.setOperators(self._A)

    def _assemble_rhs(self, form):
        from dolfinx.fem.petsc import apply_lifting, assemble_vector, set_bc
        from petsc4py import PETSc

        with self._rhs.localForm() as loc:
            loc.set(0.0)
        assemble_vector(self._rhs, form)
        apply_lifting(self._rhs, [self._a], bcs=[self.bcs])   # supports are homogeneous: no-op but exact
        self._rhs.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        set_bc(self._rhs, self.bcs)

    def _krylov_tolerance(self, rtol: float = 0.0, atol_fraction: float = 1.0) -> None:
        """Iterative (3D) solves stop at sqrt(rᵀ B r) <= max(rtol · sqrt(bᵀ B b), atol) (B: GAMG ≈ A⁻¹, so
        sqrt(rᵀ B r) ≈ |u − u_exact|_A) with atol the stress accuracy of ``_energy_scale``: a warm start close
        to the answer only has its remaining error reduced, and no solve is less accurate than atol."""
        if self.kind == "3d":
            self.ksp.setTolerances(rtol=rtol, atol=atol_fraction * self._energy_atol)

    def _energy_norm(self, r) -> float:
        """sqrt(rᵀ B r) with B the preconditioner of the present operator: the energy norm of A⁻¹ r."""
        self.ksp.setUp()
        self.ksp.getPC().apply(r, self._z)
        return float(np.sqrt(max(r.dot(self._z), 0.0)))

    def _linear_solve(self, x) -> str | None:
        from petsc4py import PETSc

        self.ksp.solve(self._rhs, x)
        self.iterations += max(1, self.ksp.getIterationNumber())
        if self.ksp.getConvergedReason() < 0:
            return _reason_name(PETSc.KSP.ConvergedReason, self.ksp.getConvergedReason())
        return None

    def _newton(self, max_it: int = 30) -> str | None:
        """Finite strain: u <- u − J⁻¹ R(u) until the energy norm of the Newton correction, sqrt(Rᵀ B R) with
        B the (lagged) tangent's preconditioner, is <= the stress accuracy atol (``_energy_scale``); 3D
        corrections are inexact, to the Eisenstat–Walker forcing term in that norm (homogeneous supports)."""
        from dolfinx.fem.petsc import assemble_vector, set_bc
        from petsc4py import PETSc

        u = self.u.x.petsc_vec
        energy_prev, eta = None, _EW_MAX
        for _ in range(max_it):
            if self._tangent_stale:
                self._assemble_operator()
                self._tangent_stale = False
            with self._rhs.localForm() as loc:
                loc.set(0.0)
            assemble_vector(self._rhs, self._R)
            self._rhs.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            set_bc(self._rhs, self.bcs)
            energy = self._energy_norm(self._rhs)
            if not np.isfinite(energy):
                return "DIVERGED_FNORM_NAN"
            if energy <= self._energy_atol:
                return None
            if energy_prev is not None:
                if energy > 0.5 * energy_prev:
                    self._tangent_stale = True      # poor contraction: refresh the tangent
                # Eisenstat–Walker choice 2 (γ = 0.9, α = 2) with their safeguard
                eta_new = _EW_GAMMA * (energy / energy_prev) ** 2
                eta = min(_EW_MAX, max(eta_new, _EW_GAMMA * eta**2) if _EW_GAMMA * eta**2 > 0.1 else eta_new)
            energy_prev = energy
            # zero initial guess: the last update is a poor guess for a smaller residual, and Krylov solvers
            # (3D CG) measure divergence against |R|, so a stale guess can fail at once with DIVERGED_DTOL.
            # (Starting from the projection onto earlier corrections saves a quarter of the CG iterations,
            # but the stopping test's sqrt(Rᵀ B R) then underestimates the error tenfold: 1.6e-7 σ* measured.)
            self._du.zeroEntries()
            # half the Newton tolerance: the last correction then leaves the residual below it
            self._krylov_tolerance(eta, 0.5)
            failed = self._linear_solve(self._du)
            if failed:
                return failed
            u.axpy(-1.0, self._du)
            self.u.x.scatter_forward()
        return "DIVERGED_MAX_IT"

    def _solve_small(self) -> str | None:
        """Constant stiffness: one solve for the present load; 3D from the projected initial guess."""
        self._assemble_rhs(self._L)
        u = self.u.x.petsc_vec
        guess = self._projection.guess(self._rhs, u) if self._projection is not None else None
        self._krylov_tolerance()
        reason = self._linear_solve(u)
        if reason is None and guess is not None:
            self._projection.add(u, guess)
        self.u.x.scatter_forward()
        return reason

    def _free_swelling_guess(self) -> None:
        """Finite strain from rest when Newton from u = 0 failed: u = ((1 + β̄)^(1/3) − 1)(X − X_a), the stress-free
        isotropic swelling by the mean ΔV/V0 about the fully supported point, with the other supports applied.
        At u = 0 a strongly swollen body is in hydrostatic compression, whose geometric stiffness makes the
        tangent indefinite for the near-rigid modes (3D CG stops with DIVERGED_INDEFINITE_MAT); at the free
        swelling it is SPD."""
        from dolfinx import fem

        mean = _sum(self.comm, fem.assemble_scalar(fem.form(self._swelling))) / self._volume
        stretch = (1.0 + mean) ** (1.0 / 3.0) - 1.0
        anchor, gdim = self._anchor, self.pmesh.mesh.geometry.dim
        if self.kind == "radial":
            self.u.interpolate(lambda X: stretch * X[0])
        else:
            self.u.interpolate(lambda X: stretch * (X[:gdim] - anchor[:gdim, None]))
        for bc in self.bcs:
            bc.set(self.u.x.array)
        self.u.x.scatter_forward()

    def solve(self) -> str | None:
        """Displacement (and damage, with ``fracture``) for the present c; None, or a failure reason."""
        if self.phase_field is not None:
            reason = self.phase_field.solve()
            self.iterations += self.phase_field.last_iterations
            if reason:
                return reason
        elif self.finite:
            reason = self._newton()
            if reason and self._at_rest:
                # from u = 0 a swollen body is in hydrostatic compression (see _free_swelling_guess): retry
                self._free_swelling_guess()
                self._tangent_stale = True
                reason = self._newton()
            if reason:
                self._tangent_stale = True
                return reason
        else:
            reason = self._solve_small()
            if reason:
                return reason
        self._at_rest = False
        self.refresh()
        return None

    def refresh(self) -> None:
        """Mark derived stresses stale after ``u`` changed."""
        self._fresh = False

    def commit(self) -> None:
        """After an accepted time step: damage history (H, d_n, fatigue ᾱ) and the committed u."""
        if self.phase_field is not None:
            self.phase_field.commit()

    def restore(self) -> None:
        """After a rejected time step: back to the last committed d and u."""
        if self.phase_field is not None:
            self.phase_field.restore()
            self.u.x.scatter_forward()
            self.refresh()

    def damage_max(self) -> float:
        """max d (0 without fracture)."""
        return self.phase_field.damage_max() if self.phase_field is not None else 0.0

    def crack_area(self) -> float:
        """∫ γ(d, ∇d) dV with the geometry weight and its 2π/4π (m²; 0 without fracture)."""
        return self.phase_field.crack_area() if self.phase_field is not None else 0.0

    def dissipated_energy(self) -> float:
        """∫ G_c f(ᾱ) γ(d, ∇d) dV (J; 0 without fracture)."""
        return self.phase_field.dissipated_energy() if self.phase_field is not None else 0.0

    def update_hydrostatic(self) -> None:
        """σ_h into its P1 function for stress-driven diffusion (once per accepted step)."""
        if self.hydrostatic is not None:
            self.hydrostatic.interpolate(self._hydro_expr)

    # ------------------------------------------------------------------ stress output
    def stress_fields(self) -> dict:
        """Scalar stress fields (Pa, DG): hoop σ_θθ, radial σ_ρρ (spherical about the particle centre,
        polar axis z), azimuthal σ_φφ, von Mises, max principal, hydrostatic."""
        if getattr(self, "_fresh", False):
            return self._fields
        self.sigma.interpolate(self._sigma_expr)
        sig = self.sigma.x.array.reshape(-1, 3, 3)[self._blocks]
        values = stress_invariants(sig, self._coords, self.kind)
        for name, f in self._fields.items():
            f.x.array[:] = values[name]
        self._fresh = True
        return self._fields


class _Projection:
    """Initial guesses for A x = b with one SPD A and a slowly changing b (Fischer 1998, Comput. Methods Appl.
    Mech. Engrg. 163:193): with p_i an A-orthonormal basis of earlier solutions, x0 = Σ (p_iᵀ b) p_i is the
    closest point of their span to A⁻¹ b in the energy norm, so CG starts from the part of the answer
    that earlier steps did not already give. At most ``size`` vectors; when full, restart from the last x."""

    def __init__(self, A, size: int):
        self.A, self.size = A, size
        self.p, self.Ap = [], []

    def guess(self, b, x):
        """Write x0 into ``x`` and return a copy of it; with an empty basis ``x`` (the warm start) is kept."""
        if self.p:
            x.zeroEntries()
            x.maxpy([p.dot(b) for p in self.p], self.p)
        return x.copy()

    def add(self, x, x0) -> None:
        """Extend the basis by the part of the solution ``x`` that the guess ``x0`` missed."""
        if len(self.p) >= self.size:
            for v in self.p + self.Ap:
                v.destroy()
            self.p, self.Ap = [], []
            x0.zeroEntries()
        v = x - x0
        x0.destroy()
        Av = v.duplicate()
        self.A.mult(v, Av)
        if self.p:       # re-orthogonalise: CG's increment is A-orthogonal to the span only to its tolerance
            coefficients = [p.dot(Av) for p in self.p]
            v.maxpy([-a for a in coefficients], self.p)
            Av.maxpy([-a for a in coefficients], self.Ap)
        norm = np.sqrt(max(v.dot(Av), 0.0))
        if norm == 0.0:
            v.destroy()
            Av.destroy()
            return
        v.scale(1.0 / norm)
        Av.scale(1.0 / norm)
        self.p.append(v)
        self.Ap.append(Av)


def stress_invariants(sig: np.ndarray, coords: np.ndarray, kind: str) -> dict[str, np.ndarray]:
    """Named scalars from stress tensors ``sig`` (N, 3, 3) in the local basis of ``kind`` at ``coords`` (N, 3)."""
    n = len(sig)
    e = np.zeros((3, n, 3))     # e_ρ, e_θ, e_φ in the local basis
    if kind == "radial":
        e[0, :, 0], e[1, :, 1], e[2, :, 2] = 1.0, 1.0, 1.0
    elif kind == "axisym":       # basis (r, z, φ)
        p = coords[:, :2]
        rho = np.linalg.norm(p, axis=1)
        on_centre = rho == 0
        e[0, :, :2] = np.where(on_centre[:, None], [1.0, 0.0], p / np.where(on_centre, 1.0, rho)[:, None])
        e[1, :, 0], e[1, :, 1] = e[0, :, 1], -e[0, :, 0]
        e[2, :, 2] = 1.0
    else:
        rho = np.linalg.norm(coords, axis=1)
        e[0] = np.where(rho[:, None] > 0, coords / np.where(rho > 0, rho, 1.0)[:, None], [1.0, 0.0, 0.0])
        axial = np.hypot(coords[:, 0], coords[:, 1])
        e[2, :, 0] = np.where(axial > 0, -coords[:, 1] / np.where(axial > 0, axial, 1.0), 0.0)
        e[2, :, 1] = np.where(axial > 0, coords[:, 0] / np.where(axial > 0, axial, 1.0), 1.0)
        e[1] = np.cross(e[2], e[0])
    proj = [np.einsum("ni,nij,nj->n", e[k], sig, e[k]) for k in range(3)]
    mean = np.trace(sig, axis1=1, axis2=2) / 3
    dev = sig - mean[:, None, None] * np.eye(3)
    return {"radial": proj[0], "hoop": proj[1], "azimuthal": proj[2],
            "von_mises": np.sqrt(1.5 * np.einsum("nij,nij->n", dev, dev)),
            "max_principal": np.linalg.eigvalsh(0.5 * (sig + sig.transpose(0, 2, 1)))[:, -1],
            "hydrostatic": mean}


def _reason_name(enum, code: int) -> str:
    names = {v: k for k, v in vars(enum).items() if isinstance(v, int)}
    return names.get(code, str(code))
