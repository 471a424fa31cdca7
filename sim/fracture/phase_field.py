"""Phase-field fracture (docs/physics.md M5): energy splits, the damage problem and the staggered solve.

Regularised energy (Bourdin–Francfort–Marigo; Ambrosio–Tortorelli):

    Π(u, d) = ∫ w [g(d) ψ⁺(ε) + ψ⁻(ε)] dV + ∫ w G_c f(ᾱ) γ(d, ∇d) dV,
    g(d) = (1 − d)² + k,   γ = (w(d)/ℓ + ℓ |∇d|²) / c_w,

AT2: w(d) = d², c_w = 2, irreversibility by the history field H = max_t ψ⁺ (Miehe 2010);
AT1: w(d) = d, c_w = 8/3, the bound d_n ≤ d ≤ 1 by PETSc's SNES VI (``vinewtonrsls``).
Splits: ``none`` (ψ⁺ = ψ), ``spectral`` (Miehe 2010: ψ⁺ = λ/2 ⟨tr ε⟩₊² + μ Σ⟨ε_i⟩₊²) and
``volumetric-deviatoric`` (Amor 2009: ψ⁺ = K/2 ⟨tr ε⟩₊² + μ |dev ε|²). Fatigue: Carrara et al. 2020,
f(ᾱ) = 1 for ᾱ ≤ α_T, (2 α_T / (ᾱ + α_T))² above, ᾱ = Σ_steps ⟨Δα⟩₊ with α = g(d) ψ⁺.

The strain is a 3×3 UFL tensor in the local basis of the geometry (w and the factor 4π, 2π, 1 from
:func:`sim.lithium.transport.geometry_weights`), so one code serves 1D radial, axisymmetric and 3D
meshes (and a 1D bar for the verification tests). ψ is per unit reference volume; for finite strain
the caller passes the Green–Lagrange elastic strain and the volume factor J_ic (``scale``).

All methods are collective under MPI. SI units: G_c in J/m², ℓ in m, energies in J (per 2π/4π folded in).
"""
from __future__ import annotations

import numpy as np

C_W = {"AT1": 8.0 / 3.0, "AT2": 2.0}
OMEGA_MIN, OMEGA_MAX = 0.1, 20.0   # Aitken relaxation bounds of the staggered iterations (ratios -9 ... 0.95)
_SMOOTH = 1e-14     # squared strain scale that keeps √ and acos of the closed-form eigenvalues differentiable


def degradation(d, k: float):
    """g(d) = (1 − d)² + k."""
    return (1 - d) ** 2 + k


def positive(x):
    """Macaulay bracket ⟨x⟩₊ = (x + |x|)/2 (UFL or numpy)."""
    return (x + abs(x)) / 2


def principal_strains(eps, structure: str):
    """Principal values of the symmetric 3×3 UFL tensor ``eps``.

    ``structure``: "diagonal" (1D radial, bar: diag entries), "axisym" (a 2×2 (r, z) block and the hoop
    entry: closed form of the block), "full" (3D: trigonometric closed form, Smith 1961). Repeated
    eigenvalues are handled by a tiny regularisation of the square root and of acos' argument.
    """
    import ufl

    if structure == "diagonal":
        return [eps[0, 0], eps[1, 1], eps[2, 2]]
    if structure == "axisym":
        mean, half = (eps[0, 0] + eps[1, 1]) / 2, (eps[0, 0] - eps[1, 1]) / 2
        rad = ufl.sqrt(half**2 + eps[0, 1] ** 2 + _SMOOTH)
        return [mean + rad, mean - rad, eps[2, 2]]
    if structure == "full":
        q = ufl.tr(eps) / 3
        B = eps - q * ufl.Identity(3)
        p = ufl.sqrt(ufl.inner(B, B) / 6 + _SMOOTH)
        r = ufl.det(B / p) / 2
        r = ufl.max_value(ufl.min_value(r, 1 - 1e-12), -1 + 1e-12)
        phi = ufl.acos(r) / 3
        l1, l3 = q + 2 * p * ufl.cos(phi), q + 2 * p * ufl.cos(phi + 2 * np.pi / 3)
        return [l1, 3 * q - l1 - l3, l3]
    raise ValueError(f"unknown strain structure {structure!r}")


def energy_split(eps, lam: float, mu: float, split: str, structure: str):
    """(ψ⁺, ψ⁻) in J/m³ of the isotropic strain energy λ/2 (tr ε)² + μ ε:ε, split as ``split``."""
    import ufl

    tr = ufl.tr(eps)
    psi = lam / 2 * tr**2 + mu * ufl.inner(eps, eps)
    if split == "none":
        return psi, 0 * tr
    if split == "volumetric-deviatoric":
        K = lam + 2 * mu / 3
        dev = eps - tr / 3 * ufl.Identity(3)
        plus = K / 2 * positive(tr) ** 2 + mu * ufl.inner(dev, dev)
        return plus, K / 2 * (tr - positive(tr)) ** 2
    if split == "spectral":
        plus = lam / 2 * positive(tr) ** 2 + mu * sum(positive(e) ** 2 for e in principal_strains(eps, structure))
        return plus, psi - plus
    raise ValueError(f"unknown split {split!r}")


def fatigue_factor(alpha_bar, alpha_t: float):
    """Carrara et al. 2020 asymptotic degradation of G_c: 1 below α_T, (2α_T/(ᾱ + α_T))² above (ᾱ: a UFL
    expression, or a number / numpy array)."""
    if isinstance(alpha_bar, (int, float, np.ndarray)):
        a = np.asarray(alpha_bar, dtype=float)
        return np.where(a <= alpha_t, 1.0, (2 * alpha_t / (a + alpha_t)) ** 2)
    import ufl

    return ufl.conditional(ufl.le(alpha_bar, alpha_t), 1.0, (2 * alpha_t / (alpha_bar + alpha_t)) ** 2)


class PhaseField:
    """Displacement u and damage d of one body with a staggered (alternate-minimisation) solve.

    ``u``: the displacement Function; ``bcs``: its Dirichlet conditions; ``strain(u)``: the 3×3 elastic
    strain measure (small: ε − β/3 I; finite: Green–Lagrange of F_e); ``scale``: volume factor of the
    energy (1, or J_ic for finite strain); ``weight``/``factor``: geometry weight and its 2π/4π;
    ``structure``: see :func:`principal_strains`; ``fracture``: :class:`~sim.fracture.options.PhaseFieldOptions`;
    ``Gc`` (J/m²), ``ell`` (m); ``fatigue_threshold`` α_T (J/m³; default G_c/(12 ℓ)) when
    ``fracture.fatigue``. ``u_options``: PETSc options of the displacement SNES's linear solver.
    ``initial_crack``: optional marker of coordinates x (3, N) where d = 1 is held (a pre-existing crack).
    ``energy_atol``: absolute tolerance (J^½ per 2π/4π folded out, like the residual) of the displacement
    Newton's energy-norm test (:meth:`_u_converged`); None: the relative tests only.
    """

    def __init__(self, u, bcs, strain, lam: float, mu: float, *, weight, factor: float, structure: str, fracture,
                 Gc: float, ell: float, scale=1.0, quadrature_degree: int = 2, u_options: dict | None = None,
                 fatigue_threshold: float | None = None, initial_crack=None, energy_atol: float | None = None):
        import basix.ufl
        import ufl
        from dolfinx import fem
        from dolfinx.fem.petsc import NonlinearProblem
        from mpi4py import MPI

        if not (Gc > 0 and ell > 0):
            raise ValueError(f"need G_c > 0 and ℓ > 0 (got {Gc!r} J/m^2, {ell!r} m)")
        msh = u.function_space.mesh
        self.comm, self.opts, self.u, self.factor = msh.comm, fracture, u, factor
        self.Gc, self.ell, self.cw = Gc, ell, C_W[fracture.variant]
        self.alpha_t = (Gc / (12 * ell) if fatigue_threshold is None else fatigue_threshold) if fracture.fatigue else None
        D = fem.functionspace(msh, ("Lagrange", 1))
        self.d = fem.Function(D, name="damage")
        self.d_n = fem.Function(D)       # last committed damage (AT1 lower bound)
        self._d_prev = fem.Function(D)   # previous staggered iterate
        qe = basix.ufl.quadrature_element(msh.basix_cell(), value_shape=(), degree=quadrature_degree)
        Q = fem.functionspace(msh, qe)
        self.H = fem.Function(Q)          # history max ψ⁺ (AT2)
        self.alpha_bar, self.alpha_n = fem.Function(Q), fem.Function(Q)   # fatigue (Carrara 2020)
        self.dx = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": quadrature_degree})
        dx, w = self.dx, weight

        eps = strain(u)
        self.psi_plus, psi_minus = (scale * e for e in energy_split(eps, lam, mu, fracture.split, structure))
        g = degradation(self.d, fracture.residual_stiffness)
        self._split = (lam, mu, structure)
        self.elastic_energy_density = g * self.psi_plus + psi_minus
        v = ufl.TestFunction(u.function_space)
        F_u = ufl.derivative(w * self.elastic_energy_density * dx, u, v)
        opts = {"snes_type": "newtonls", "snes_linesearch_type": "none", "snes_rtol": 1e-9, "snes_atol": 1e-30,
                "snes_stol": 1e-10, "snes_max_it": 50, **(u_options or {"ksp_type": "preonly", "pc_type": "lu"})}
        self._u_problem = NonlinearProblem(F_u, u, bcs=list(bcs), petsc_options=opts,
                                           petsc_options_prefix=f"pf_u_{id(self)}_")
        self.energy_atol = energy_atol
        self._decrement = self._u_problem.b.duplicate()      # B R of the Newton decrement
        self._u_problem.solver.setConvergenceTest(self._u_converged)

        # damage: ∂Π/∂d = ∫ w [g'(d) ψ⁺ + G_c f (w'(d)/ℓ v + 2ℓ ∇d·∇v)/c_w] = 0 (linear in d)
        self.fatigue = fatigue_factor(self.alpha_bar, self.alpha_t) if fracture.fatigue else 1.0
        gc = Gc * self.fatigue
        drive = ufl.max_value(self.H, self.psi_plus) if fracture.variant == "AT2" else self.psi_plus
        dd, q = ufl.TrialFunction(D), ufl.TestFunction(D)
        grad_term = 2 * gc * ell / self.cw * ufl.inner(ufl.grad(dd), ufl.grad(q))
        self.gamma = (self._w(self.d) / ell + ell * ufl.inner(ufl.grad(self.d), ufl.grad(self.d))) / self.cw
        self._alpha_expr = fem.Expression(g * self.psi_plus, Q.element.interpolation_points)
        self._drive_expr = fem.Expression(drive, Q.element.interpolation_points)
        self._dbcs = []
        if initial_crack is not None:     # d = 1 held on the nodes where initial_crack(x) (3, N) is true
            self._dbcs = [fem.dirichletbc(1.0, fem.locate_dofs_geometrical(D, initial_crack), D)]
        if fracture.variant == "AT2":
            a = w * ((2 * drive + 2 * gc / (self.cw * ell)) * dd * q) * dx + w * grad_term * dx
            L = w * 2 * drive * q * dx
            self._d_linear = (fem.form(a), fem.form(L))
            self._setup_damage_ksp()
        else:
            F_d = w * (-2 * (1 - self.d) * drive * q + gc / (self.cw * ell) * q) * dx \
                + w * ufl.replace(grad_term, {dd: self.d}) * dx
            # residual entries scale with G_c/ℓ times the weighted volume ∫ w dV: the absolute floor must too
            wvol = self.comm.allreduce(fem.assemble_scalar(fem.form(w * dx + 0 * self.d * dx)), op=MPI.SUM)
            dopts = {"snes_type": "vinewtonrsls", "snes_rtol": 1e-10, "snes_atol": 1e-14 * Gc / ell * wvol,
                     "snes_stol": 1e-12, "snes_max_it": 50, "ksp_type": "cg", "ksp_rtol": 1e-10,
                     "pc_type": "gamg" if msh.topology.dim > 1 else "jacobi"}
            self._d_problem = NonlinearProblem(F_d, self.d, bcs=self._dbcs, petsc_options=dopts,
                                               petsc_options_prefix=f"pf_d_{id(self)}_")
            self._upper = fem.Function(D)
            self._upper.x.array[:] = 1.0
        self._energy_forms = {"crack": fem.form(w * self.gamma * dx), "dissipated": fem.form(w * gc * self.gamma * dx),
                              "elastic": fem.form(w * self.elastic_energy_density * dx)}
        self.iterations = 0          # staggered iterations, cumulative
        self.last_iterations = 0

    def degraded_stress(self, strain):
        """∂/∂E [g(d) ψ⁺(E) + ψ⁻(E)] at the 3×3 UFL strain ``strain`` (Pa; second Piola for Green–Lagrange E)."""
        import ufl

        lam, mu, structure = self._split
        E = ufl.variable(strain)
        plus, minus = energy_split(E, lam, mu, self.opts.split, structure)
        return ufl.diff(degradation(self.d, self.opts.residual_stiffness) * plus + minus, E)

    def _w(self, d):
        return d if self.opts.variant == "AT1" else d**2

    def _setup_damage_ksp(self):
        from dolfinx.fem.petsc import create_matrix, create_vector
        from petsc4py import PETSc

        self._Ad = create_matrix(self._d_linear[0])
        self._bd = create_vector(self.d.function_space)
        self._kspd = PETSc.KSP().create(self.comm)
        self._kspd.setType("cg")
        self._kspd.getPC().setType("gamg" if self.d.function_space.mesh.topology.dim > 1 else "jacobi")
        self._kspd.setTolerances(rtol=1e-11, atol=0.0, max_it=2000)
        self._kspd.setInitialGuessNonzero(True)

    # ------------------------------------------------------------------ solves
    def _u_converged(self, snes, it: int, norms) -> int:
        """Convergence test of the displacement Newton: PETSc's relative tests (|R| <= rtol |R_0|, step <= stol |u|)
        or the energy norm of the next Newton correction sqrt(Rᵀ B R) <= ``energy_atol`` (B: the preconditioner of
        the last tangent, LU in 1D/2D: B = K⁻¹; sqrt(Rᵀ K⁻¹ R) is the Newton decrement, Π − Π_min ≈ RᵀK⁻¹R/2).

        Why an absolute test (measured on the Liu 2024 crack path, production mesh, first failure at t = 7.07 s
        when the bridge breaks): (i) the staggered loop warm-starts each Newton solve from the last iterate, whose
        residual is already small (|R_0| = 1.5e-7), and rtol = 1e-9 then asks for |R| <= 1.5e-16, below the
        round-off of the residual itself (a 1-ulp perturbation of u changes R by 1.4e-15): rtol can never stop,
        only stol can, which needs Newton to converge to machine precision in u; (ii) in fully broken cells the
        spectral split's tangent jumps by 1/k = 1e6 when a principal strain changes sign (tensile stiffness k μ,
        compressive μ), so Newton cycles between active sets (66–312 quadrature points flip per iteration, 90 %
        of them at d > 0.9; det F >= 0.985, the linear solves converge) and |R| stalls at 1e-9 ... 5e-8 until
        snes_max_it. The energy norm measures the error in what the displacement solve is for, the stress:
        |δu|_K <= τ σ* sqrt(V/(3λ + 2μ)) bounds the RMS stress error by τ σ* (``Mechanics._energy_scale``; τ = 1e-6
        there: iterates of that decrement had max |σ₁ − σ₁,ref| <= 0.01 MPa of the 10.6 MPa peak). With it the
        production crack path reaches 20 % DOD (270 s, 586 staggered iterations; before: t = 8.5 s after 11 min).
        The cycling itself remains: 2 solves of that run fail and the time step is cut. (A retry with the
        critical-point line search after a failure was measured too: the step in which the crack runs took > 4 min
        instead of 88 s, so it is not used.)"""
        from petsc4py import PETSc

        reason = PETSc.SNES.ConvergedReason
        rtol, _, stol, max_it = snes.getTolerances()
        xnorm, ynorm, fnorm = norms
        if not np.isfinite(fnorm):
            return reason.DIVERGED_FUNCTION_NANORINF
        if it == 0:
            self._fnorm0 = fnorm
            return reason.CONVERGED_FNORM_ABS if fnorm == 0 else reason.ITERATING
        if fnorm <= rtol * self._fnorm0:
            return reason.CONVERGED_FNORM_RELATIVE
        if ynorm <= stol * xnorm:
            return reason.CONVERGED_SNORM_RELATIVE
        if self.energy_atol is not None and self._newton_decrement(snes) <= self.energy_atol:
            return reason.CONVERGED_FNORM_ABS
        return reason.DIVERGED_MAX_IT if it >= max_it else reason.ITERATING

    def _newton_decrement(self, snes) -> float:
        """sqrt(Rᵀ B R) at the present iterate, B the preconditioner of the last tangent (collective)."""
        residual = snes.getFunction()[0]
        snes.getKSP().getPC().apply(residual, self._decrement)
        return float(np.sqrt(max(residual.dot(self._decrement), 0.0)))

    def solve_displacement(self) -> str | None:
        snes = self._u_problem.solver
        self._u_problem.solve()
        self.u.x.scatter_forward()
        return None if snes.getConvergedReason() > 0 else f"displacement SNES {snes.getConvergedReason()}"

    def solve_damage(self) -> str | None:
        """One damage solve for the present u (AT2: one SPD linear system; AT1: bound-constrained SNES)."""
        from dolfinx.fem.petsc import apply_lifting, assemble_matrix, assemble_vector, set_bc
        from petsc4py import PETSc

        if self.opts.variant == "AT2":
            a, L = self._d_linear
            self._Ad.zeroEntries()
            assemble_matrix(self._Ad, a, bcs=self._dbcs)
            self._Ad.assemble()
            with self._bd.localForm() as loc:
                loc.set(0.0)
            assemble_vector(self._bd, L)
            apply_lifting(self._bd, [a], bcs=[self._dbcs])
            self._bd.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            set_bc(self._bd, self._dbcs)
            self._kspd.setOperators(self._Ad)
            self._kspd.solve(self._bd, self.d.x.petsc_vec)
            self.d.x.scatter_forward()
            reason = self._kspd.getConvergedReason()
            return None if reason > 0 else f"damage KSP {reason}"
        snes = self._d_problem.solver
        snes.setVariableBounds(self.d_n.x.petsc_vec, self._upper.x.petsc_vec)
        self._d_problem.solve()
        self.d.x.scatter_forward()
        return None if snes.getConvergedReason() > 0 else f"damage SNES VI {snes.getConvergedReason()}"

    def solve(self) -> str | None:
        """Alternate minimisation u ↔ d until the fixed-point residual max|G(d_k) − d_k| <= tolerance, where
        G is one displacement solve, one damage solve and the projection below; None or a failure reason.

        Near a crack that runs, G contracts slowly (measured ratio ~0.9 per iteration in the Liu 2024 bridges),
        so plain alternate minimisation needs hundreds of iterations. ``acceleration = "aitken"`` relaxes the
        damage iterates d_(k+1) = d_k + ω_k (G(d_k) − d_k) with Aitken's dynamic factor (Irons & Tuck 1969;
        Küttler & Wall 2008) ω_k = −ω_(k−1) r_(k−1)·(r_k − r_(k−1)) / |r_k − r_(k−1)|², r_k = G(d_k) − d_k,
        limited to [OMEGA_MIN, OMEGA_MAX]: ω = 1/(1 − ρ) for a mode of ratio ρ, so a slowly contracting mode
        (0 < ρ < 1) is over-relaxed towards its limit and an oscillating one (ρ < 0) damped; a growing one
        (ρ > 1, ω < 0: a homogeneous state localising) takes the plain step ω = 1. Every iterate is
        projected onto the admissible set [lower, 1] (AT1: the committed d; AT2: 0), which the P1 damage
        solve may leave by overshooting d = 1 (no discrete maximum principle)."""
        lower = self.d_n.x.array if self.opts.variant == "AT1" else 0.0
        omega, r_prev = 1.0, None
        for k in range(1, self.opts.max_iterations + 1):
            self._d_prev.x.array[:] = self.d.x.array
            reason = self.solve_displacement() or self.solve_damage()
            self.iterations += 1
            if reason:
                self.last_iterations = k
                return reason
            self._project(lower)                  # G includes the projection: its fixed point is admissible
            r = self.d.x.array - self._d_prev.x.array
            change = self._max_abs(r)
            if change <= self.opts.tolerance:     # u is from d_(k−1): off by O(tolerance), like the iterate
                self.last_iterations = k
                return None
            if self.opts.acceleration == "aitken" and r_prev is not None:
                dr = r - r_prev
                denom = self._dot(dr, dr)
                if denom > 0:        # ω <= 0: a growing mode (e.g. the homogeneous state localising): plain step
                    raw = -omega * self._dot(r_prev, dr) / denom
                    omega = float(np.clip(raw, OMEGA_MIN, OMEGA_MAX)) if raw > 0 else 1.0
            self.d.x.array[:] = self._d_prev.x.array + omega * r
            self._project(lower)
            r_prev = r
        self.last_iterations = self.opts.max_iterations
        return (f"staggered u-d iteration did not converge to {self.opts.tolerance:g} in "
                f"{self.opts.max_iterations} iterations (last change {change:.3g}, relaxation {omega:.3g})")

    def _project(self, lower) -> None:
        np.clip(self.d.x.array, lower, 1.0, out=self.d.x.array)

    def _dot(self, a, b) -> float:
        from mpi4py import MPI
        n = self.d.function_space.dofmap.index_map.size_local
        return self.comm.allreduce(float(np.dot(a[:n], b[:n])), op=MPI.SUM)

    # ------------------------------------------------------------------ time-step bookkeeping
    def commit(self) -> None:
        """Accept the present state: d_n <- d; H <- max(H, ψ⁺); fatigue ᾱ += ⟨α − α_n⟩₊ (α = g(d) ψ⁺)."""
        from dolfinx import fem

        self.d.x.array[:] = np.clip(self.d.x.array, 0.0, 1.0)
        self.d_n.x.array[:] = self.d.x.array
        drive = fem.Function(self.H.function_space)
        drive.interpolate(self._drive_expr)
        self.H.x.array[:] = np.maximum(self.H.x.array, drive.x.array)
        if self.alpha_t is not None:
            alpha = fem.Function(self.H.function_space)
            alpha.interpolate(self._alpha_expr)
            self.alpha_bar.x.array[:] += positive(alpha.x.array - self.alpha_n.x.array)
            self.alpha_n.x.array[:] = alpha.x.array
        self._committed_u = self.u.x.array.copy()

    def restore(self) -> None:
        """Back to the last committed d (and u, when one was committed)."""
        self.d.x.array[:] = self.d_n.x.array
        if getattr(self, "_committed_u", None) is not None:
            self.u.x.array[:] = self._committed_u

    # ------------------------------------------------------------------ outputs (collective)
    def _max_abs(self, a) -> float:
        from mpi4py import MPI
        n = self.d.function_space.dofmap.index_map.size_local
        return self.comm.allreduce(float(np.abs(a[:n]).max()) if n else 0.0, op=MPI.MAX)

    def damage_max(self) -> float:
        """max d over the body."""
        return self._max_abs(self.d.x.array)

    def alpha_bar_max(self) -> float:
        """max ᾱ over the body (J/m³); the smallest fatigue factor is f(max ᾱ), f decreasing."""
        return self._max_abs(self.alpha_bar.x.array)

    def _integral(self, name: str) -> float:
        from dolfinx import fem
        from mpi4py import MPI
        return self.factor * self.comm.allreduce(fem.assemble_scalar(self._energy_forms[name]), op=MPI.SUM)

    def crack_area(self) -> float:
        """Regularised crack surface ∫ γ(d, ∇d) dV (m²; per unit depth of a 1D bar: dimensionless)."""
        return self._integral("crack")

    def dissipated_energy(self) -> float:
        """∫ G_c f(ᾱ) γ(d, ∇d) dV (J)."""
        return self._integral("dissipated")

    def elastic_energy(self) -> float:
        """∫ [g(d) ψ⁺ + ψ⁻] dV (J)."""
        return self._integral("elastic")
