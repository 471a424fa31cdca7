"""Fit D_O to measured profiles: vacancy diffusion vs two-phase core–shell (Csernica 2021, Fig. 2e,g).

Both models are linear in their two levels once the nonlinear parameter is fixed:

    diffusion:  m = y_b + (y_s − y_b)·P u(τ),   τ = D_O t_eff / R²     (u from :mod:`.table`)
    core–shell: m = y_core + (y_shell − y_core)·P χ(δ)                 (χ = 1 in the shell r > R − δ)

with P the lamella projection (:mod:`.projection`). Weighted least squares therefore profiles
the levels out exactly (variable projection) and searches only log10 τ (or δ), and the optional
lamella offset h, on a grid followed by a bounded refinement. The 95 % interval on D_O is the
profile-likelihood interval χ²(D) − χ²_min ≤ 3.84·max(1, χ²_red) (the factor inflates the
interval when the scatter exceeds the stated σ). AIC = χ² + 2k, BIC = χ² + k ln n (Gaussian
errors with known σ; constants dropped). With a fitted offset, the profile χ² over the offset grid
states whether the profile pins the offset (:func:`offset_statement`). t_eff = cycles × hours delithiated × 3600 s × the
Arrhenius factor of the cycling temperature; D_O is reported at the reference temperature.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from sim.oxygen.profiles import Profile
from sim.arrhenius import arrhenius
from sim.oxygen.projection import LamellaProjection
from sim.oxygen.table import radial_table

CHI2_95 = 3.841458820694124  # 95 % quantile of χ² with one degree of freedom
MODELS = ("diffusion", "core_shell")
N_OFFSETS = 17               # grid of lamella offsets when the offset is fitted


@dataclass
class ModelFit:
    """Best fit of one model to one profile (SI: D in m²/s, lengths in m)."""

    model: str
    D_O: float
    ci95: tuple[float, float]
    ci95_closed: tuple[bool, bool]   # False: the interval reaches the edge of the searched range
    surface: float                   # y_s (diffusion) or shell value (core–shell), in the profile's quantity
    bulk: float                      # y_b or core value
    offset: float
    chi2: float
    n: int
    k: int
    front_depth: float | None = None  # core–shell δ (m)
    tau: float | None = None          # diffusion τ = D t / R²
    offset_ci95: tuple[float, float] | None = None   # m, when the offset is fitted (grid resolution)
    offset_identifiable: bool | None = None          # False: every searched offset fits within the 95 % level
    D_over_offset_ci95: tuple[float, float] | None = None  # m²/s: best D_O across the offsets inside offset_ci95
    curve: tuple[np.ndarray, np.ndarray] = field(default=(np.empty(0), np.empty(0)), repr=False)

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / max(self.n - self.k, 1)

    @property
    def aic(self) -> float:
        return self.chi2 + 2 * self.k

    @property
    def bic(self) -> float:
        return self.chi2 + self.k * math.log(self.n)

    def as_json(self, quantity: str, per_vacancy: float) -> dict:
        """JSON record with units in the keys; levels also as O-vacancy fractions."""
        to_y = 1.0 if quantity == "o_vacancy_fraction" else 1.0 / per_vacancy
        out = {"D_O_cm2_s": self.D_O * 1e4, "ci95_cm2_s": [self.ci95[0] * 1e4, self.ci95[1] * 1e4],
               "ci95_closed": list(self.ci95_closed),
               f"surface_{quantity}": self.surface, f"bulk_{quantity}": self.bulk,
               "surface_o_vacancy_fraction": self.surface * to_y, "bulk_o_vacancy_fraction": self.bulk * to_y,
               "lamella_offset_nm": self.offset * 1e9, "chi2": self.chi2, "reduced_chi2": self.reduced_chi2,
               "aic": self.aic, "bic": self.bic, "n_points": self.n, "n_params": self.k}
        if self.tau is not None:
            out["tau"] = self.tau
        if self.front_depth is not None:
            out["front_depth_nm"] = self.front_depth * 1e9
            out["D_O_definition"] = "parabolic-front equivalent: front depth = sqrt(2 D_O t_eff)"
        if self.offset_ci95 is not None:
            lo, hi = self.offset_ci95
            out["lamella_offset_ci95_nm"] = [lo * 1e9, hi * 1e9]
            out["lamella_offset_identifiable"] = self.offset_identifiable
            out["D_O_over_offset_ci95_cm2_s"] = [self.D_over_offset_ci95[0] * 1e4, self.D_over_offset_ci95[1] * 1e4]
            out["lamella_offset_note"] = offset_statement(self)
        return out


def offset_statement(fit: "ModelFit") -> str:
    """One sentence on how well the profile pins the fitted lamella offset (profile likelihood over the grid)."""
    lo, hi = (v * 1e9 for v in fit.offset_ci95)
    d_lo, d_hi = (v * 1e4 for v in fit.D_over_offset_ci95)
    if not fit.offset_identifiable:
        return (f"not identifiable: every searched offset ({lo:.0f}-{hi:.0f} nm) fits within the 95 % level; "
                f"D_O ranges {d_lo:.2g}-{d_hi:.2g} cm^2/s over them, so give the offset if it is known")
    return (f"identifiable: 95 % {lo:.0f}-{hi:.0f} nm (grid of {N_OFFSETS} offsets); D_O ranges "
            f"{d_lo:.2g}-{d_hi:.2g} cm^2/s over it")


class _Problem:
    """One profile: data, weights, the projection operators on an offset grid, and the two models."""

    def __init__(self, profile: Profile, blur_fwhm: float, t_eff: float, fit_offset: bool):
        self.p, self.t_eff = profile, t_eff
        self.table = radial_table()
        self.r_nodes = self.table.xi * profile.particle_radius
        R, L = profile.particle_radius, profile.lamella_thickness
        self.offsets = np.linspace(0.0, 0.9 * R, N_OFFSETS) if fit_offset else np.array([profile.lamella_offset])
        self.projections = [LamellaProjection(R, L, profile.distance, offset=h, blur_fwhm=blur_fwhm)
                            for h in self.offsets]
        self.matrices = [pr.matrix(self.r_nodes) for pr in self.projections]
        self.blur = blur_fwhm
        self.w = 1.0 / profile.sigma

    def shape(self, model: str, x: float, h: float) -> np.ndarray:
        """Projected shape function in [0, 1]: x = log10 τ (diffusion) or δ/R (core–shell); linear in h
        between the operators of the offset grid."""
        if len(self.offsets) == 1:
            j, t = 0, 0.0
        else:
            s = np.clip((h - self.offsets[0]) / (self.offsets[1] - self.offsets[0]), 0, len(self.offsets) - 1 - 1e-12)
            j, t = int(s), s - int(s)
        if model == "diffusion":
            u = self.table(10.0**x)
            one = lambda i: self.matrices[i] @ u  # noqa: E731
        else:
            one = lambda i: self.projections[i].shell_fraction(x * self.p.particle_radius)  # noqa: E731
        return one(j) if t == 0.0 else (1 - t) * one(j) + t * one(j + 1)

    def chi2(self, model: str, x: float, h: float) -> tuple[float, np.ndarray]:
        """χ² with the two levels profiled out (weighted straight-line fit of the data on the shape f);
        returns (χ², [surface level, bulk level])."""
        f, v, W = self.shape(model, x, h), self.p.value, self.w**2
        sw, sf, sv, sff, sfv = W.sum(), W @ f, W @ v, W @ (f * f), W @ (f * v)
        det = sw * sff - sf * sf
        slope = (sw * sfv - sf * sv) / det if det > 1e-12 * sw * sff else 0.0  # flat shape: levels not separable
        bulk = (sv - slope * sf) / sw
        return float(W @ (v - bulk - slope * f) ** 2), np.array([bulk + slope, bulk])


def _bounds(model: str, problem: _Problem) -> tuple[float, float, np.ndarray]:
    if model == "diffusion":
        lo, hi = math.log10(problem.table.tau[0]), math.log10(problem.table.tau[-1])
        return lo, hi, np.linspace(lo, hi, 241)
    return 1e-3, 1.0, np.linspace(1e-3, 1.0, 241)


def _fit_model(problem: _Problem, model: str) -> ModelFit:
    lo, hi, grid = _bounds(model, problem)
    hs = problem.offsets
    table = np.array([[problem.chi2(model, x, h)[0] for h in hs] for x in grid])
    i, j = np.unravel_index(np.argmin(table), table.shape)
    step = grid[1] - grid[0]

    def profile_chi2(x: float) -> tuple[float, float]:
        """χ² minimised over the offset (if fitted) at fixed x; returns (χ², h)."""
        if len(hs) == 1:
            return problem.chi2(model, x, hs[0])[0], hs[0]
        k = int(np.argmin([problem.chi2(model, x, h)[0] for h in hs]))
        res = minimize_scalar(lambda h: problem.chi2(model, x, h)[0], method="bounded",
                              bounds=(hs[max(k - 1, 0)], hs[min(k + 1, len(hs) - 1)]), options={"xatol": 1e-3 * hs[1]})
        return (res.fun, res.x) if res.fun < problem.chi2(model, x, hs[k])[0] else (problem.chi2(model, x, hs[k])[0], hs[k])

    if len(hs) == 1:
        res = minimize_scalar(lambda x: problem.chi2(model, x, hs[0])[0], method="bounded",
                              bounds=(max(lo, grid[i] - step), min(hi, grid[i] + step)), options={"xatol": 1e-6})
        x_best, h_best = res.x, hs[0]
    else:
        scale = np.array([step, hs[1] - hs[0]])
        obj = lambda z: problem.chi2(model, float(np.clip(z[0] * scale[0], lo, hi)),  # noqa: E731
                                     float(np.clip(z[1] * scale[1], hs[0], hs[-1])))[0]
        res = minimize(obj, [grid[i] / scale[0], hs[j] / scale[1]], method="Nelder-Mead",
                       options={"xatol": 1e-4, "fatol": 1e-8})
        x_best = float(np.clip(res.x[0] * scale[0], lo, hi))
        h_best = float(np.clip(res.x[1] * scale[1], hs[0], hs[-1]))
        if table[i, j] < res.fun:  # keep the grid point if the simplex wandered off
            x_best, h_best = grid[i], hs[j]
    chi2_best, beta = problem.chi2(model, x_best, h_best)
    n, k = len(problem.p.value), 3 + (len(hs) > 1)
    level = chi2_best + CHI2_95 * max(1.0, chi2_best / max(n - k, 1))
    ci, closed = _interval(profile_chi2, x_best, level, lo, hi, step)
    fit = _make_fit(problem, model, x_best, h_best, ci, closed, chi2_best, beta, n, k)
    if len(hs) > 1:
        _offset_identifiability(fit, problem, model, table, grid, hs, level)
    return fit


def _offset_identifiability(fit: ModelFit, problem, model, table, grid, hs, level) -> None:
    """Profile χ² over the offset grid (min over the nonlinear parameter on its grid): the offsets within
    ``level`` give the 95 % range, and the best D_O at each of them shows how much the offset matters."""
    best_x = grid[np.argmin(table, axis=0)]
    inside = np.minimum(table.min(axis=0), fit.chi2) <= level
    inside[np.argmin(np.abs(hs - fit.offset))] = True         # the best fit's own offset is inside
    R, t = problem.p.particle_radius, problem.t_eff
    to_D = (lambda s: 10.0**s * R**2 / t) if model == "diffusion" else (lambda s: (s * R) ** 2 / (2.0 * t))  # noqa: E731
    Ds = [to_D(x) for x in best_x[inside]] + [fit.D_O]
    fit.offset_ci95 = (float(min(hs[inside].min(), fit.offset)), float(max(hs[inside].max(), fit.offset)))
    fit.offset_identifiable = not bool(inside.all())
    fit.D_over_offset_ci95 = (float(min(Ds)), float(max(Ds)))


def _interval(profile_chi2, x_best, level, lo, hi, step):
    """Where the profile χ² crosses ``level`` on each side of the minimum (bisection)."""
    ends, closed = [], []
    for direction, edge in ((-1, lo), (1, hi)):
        inner, x = x_best, x_best
        while True:
            x = min(max(x + direction * step, lo), hi)
            if profile_chi2(x)[0] >= level:
                a, b = inner, x
                for _ in range(40):
                    mid = 0.5 * (a + b)
                    a, b = (mid, b) if profile_chi2(mid)[0] < level else (a, mid)
                ends.append(0.5 * (a + b))
                closed.append(True)
                break
            inner = x
            if x == edge:
                ends.append(edge)
                closed.append(False)
                break
    return (ends[0], ends[1]), (closed[0], closed[1])


def _make_fit(problem, model, x, h, ci, closed, chi2, beta, n, k) -> ModelFit:
    R, t = problem.p.particle_radius, problem.t_eff
    d = np.linspace(0.0, max(problem.p.distance.max(), 1e-12), 200)
    pr = LamellaProjection(R, problem.p.lamella_thickness, d, offset=h, blur_fwhm=problem.blur)
    if model == "diffusion":
        to_D = lambda s: 10.0**s * R**2 / t  # noqa: E731
        f = pr.matrix(problem.r_nodes) @ problem.table(10.0**x)
        return ModelFit(model, to_D(x), (to_D(ci[0]), to_D(ci[1])), closed, beta[0], beta[1], h, chi2, n, k,
                        tau=10.0**x, curve=(d, beta[1] + (beta[0] - beta[1]) * f))
    to_D = lambda s: (s * R) ** 2 / (2.0 * t)  # noqa: E731
    f = pr.shell_fraction(x * R)
    return ModelFit(model, to_D(x), (to_D(ci[0]), to_D(ci[1])), closed, beta[0], beta[1], h, chi2, n, k,
                    front_depth=x * R, curve=(d, beta[1] + (beta[0] - beta[1]) * f))


def fit_profile(profile: Profile, params, *, fit_offset: bool = False) -> dict[str, ModelFit]:
    """Fit both models to one profile with a loaded parameter set (blur, Arrhenius, T)."""
    ox = params.oxygen
    temperature = params.conditions.temperature if params.conditions is not None else ox.reference_temperature
    t_eff = profile.delithiated_time * arrhenius(ox.activation_energy, temperature, ox.reference_temperature)
    blur = profile.blur_fwhm if profile.blur_fwhm is not None else ox.blur_fwhm
    problem = _Problem(profile, blur, t_eff, fit_offset)
    return {m: _fit_model(problem, m) for m in MODELS}
