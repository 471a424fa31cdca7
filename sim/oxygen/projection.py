"""Measurement model: what a transmission image of a lamella cut through a spherical particle shows.

The lamella is the slab |z − h| ≤ L/2 (beam along z, cut plane offset h from the particle
centre). A pixel at in-plane radius ρ sees the thickness-weighted average of y along the beam
over the material inside the slab (docs/physics.md, M1):

    P(ρ) = ∫ y(√(ρ² + z²)) dz / ∫ dz,   z ∈ slab ∩ {ρ² + z² ≤ R²}.

The instrument blur (Gaussian, FWHM) acts on the image, i.e. on the absorbing amount ∫ y dz
and on the thickness ∫ dz separately; the fraction read from the spectra is their ratio.
The image edge of the particle is the largest cross-section inside the slab,
ρ_edge = √(R² − max(0, |h| − L/2)²), and data are given against d = ρ_edge − ρ.

Everything is linear in y, so :meth:`LamellaProjection.matrix` returns one fixed matrix that
maps nodal values of a radial profile to the measured profile; fits reuse it.
"""
from __future__ import annotations

import numpy as np
from scipy.special import i0e

FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


class LamellaProjection:
    """Projection of radial profiles y(r) of a sphere of radius R (m) through a lamella of
    thickness L (m) at offset h (m), blurred by a Gaussian of ``blur_fwhm`` (m), sampled at
    in-plane distances ``distances`` (m) from the image edge of the particle."""

    def __init__(self, radius: float, thickness: float, distances, *, offset: float = 0.0,
                 blur_fwhm: float = 0.0, n_rho: int = 400, n_z: int = 48):
        self.radius, self.lamella_thickness, self.offset, self.blur_fwhm = radius, thickness, abs(offset), blur_fwhm
        z_near = max(0.0, self.offset - thickness / 2)
        if z_near >= radius:
            raise ValueError(f"lamella (offset {offset:g} m, thickness {thickness:g} m) misses the particle "
                             f"(radius {radius:g} m)")
        self.rho_edge = np.sqrt(radius**2 - z_near**2)
        self.distances = np.asarray(distances, dtype=float)
        sigma = blur_fwhm * FWHM_TO_SIGMA
        # fine in-plane grid; with blur it reaches 5σ beyond the edge, where there is no material
        self.rho = np.linspace(0.0, self.rho_edge + 5.0 * sigma, n_rho + int(n_rho * 5.0 * sigma / self.rho_edge))
        half = np.sqrt(np.maximum(radius**2 - self.rho**2, 0.0))
        lo = np.maximum(-half, self.offset - thickness / 2)
        hi = np.minimum(half, self.offset + thickness / 2)
        self.chord = np.maximum(hi - lo, 0.0)  # material thickness seen by each pixel (m)
        x, w = np.polynomial.legendre.leggauss(n_z)
        z = 0.5 * (lo + hi)[:, None] + 0.5 * self.chord[:, None] * x[None, :]
        self.r_quad = np.minimum(np.sqrt(self.rho[:, None] ** 2 + z**2), radius)
        self.w_quad = 0.5 * self.chord[:, None] * w[None, :]
        # data at the very edge read the outermost pixel with material (no 0/0 without blur)
        rho_data = np.minimum(np.abs(self.rho_edge - self.distances), self.rho_edge - 0.5 * (self.rho[1] - self.rho[0]))
        # blur evaluated at the data points: one operator on per-pixel amounts of the fine grid
        self.readout = _radial_blur(rho_data, self.rho, sigma) if sigma > 0 else _interp_matrix(self.rho, rho_data)
        self.thickness = self.readout @ self.chord  # blurred material thickness (m) at the data

    def apply(self, func) -> np.ndarray:
        """Measured profile of a vectorised y(r) (r in m), e.g. a closed form."""
        return self.readout @ np.sum(self.w_quad * func(self.r_quad), axis=1) / self.thickness

    def matrix(self, r_nodes) -> np.ndarray:
        """Matrix P (n_data × n_nodes): measured = P @ y_nodes for y linear between sorted ``r_nodes`` (m)."""
        nodes = np.asarray(r_nodes, dtype=float)
        r = np.clip(self.r_quad, nodes[0], nodes[-1])
        j = np.clip(np.searchsorted(nodes, r, side="right") - 1, 0, len(nodes) - 2)
        t = (r - nodes[j]) / (nodes[j + 1] - nodes[j])
        row = np.repeat(np.arange(r.shape[0]), r.shape[1]).reshape(r.shape) * len(nodes)
        size = r.shape[0] * len(nodes)
        amount = (np.bincount((row + j).ravel(), (self.w_quad * (1.0 - t)).ravel(), size)
                  + np.bincount((row + j + 1).ravel(), (self.w_quad * t).ravel(), size))
        return self.readout @ amount.reshape(r.shape[0], len(nodes)) / self.thickness[:, None]

    def shell_fraction(self, depth: float) -> np.ndarray:
        """Measured fraction of material within ``depth`` (m) of the sphere surface (core–shell model),
        from exact chord lengths so that it is smooth in the depth."""
        inner = max(self.radius - depth, 0.0)
        half_in = np.sqrt(np.maximum(inner**2 - self.rho**2, 0.0))
        lo = np.maximum(-half_in, self.offset - self.lamella_thickness / 2)
        hi = np.minimum(half_in, self.offset + self.lamella_thickness / 2)
        core = np.maximum(hi - lo, 0.0)
        return self.readout @ (self.chord - core) / self.thickness


def _interp_matrix(nodes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Dense matrix of linear-interpolation weights from ``nodes`` (sorted) to ``points`` (clamped)."""
    points = np.clip(points, nodes[0], nodes[-1])
    j = np.clip(np.searchsorted(nodes, points, side="right") - 1, 0, len(nodes) - 2)
    t = (points - nodes[j]) / (nodes[j + 1] - nodes[j])
    out = np.zeros((len(points), len(nodes)))
    rows = np.arange(len(points))
    out[rows, j] = 1.0 - t
    out[rows, j + 1] += t
    return out


def _radial_blur(rho_out: np.ndarray, rho: np.ndarray, sigma: float) -> np.ndarray:
    """2D Gaussian convolution of a radially symmetric image f on a uniform grid ``rho``, at ``rho_out``:
    (G*f)(ρ) = ∫ f(ρ') exp(−(ρ−ρ')²/2σ²) I0e(ρρ'/σ²) ρ' dρ' / σ²  (trapezoid rule in ρ')."""
    w = np.full(rho.size, rho[1] - rho[0])
    w[0] = w[-1] = 0.5 * w[0]
    diff = rho_out[:, None] - rho[None, :]
    kernel = np.exp(-0.5 * (diff / sigma) ** 2) * i0e(np.outer(rho_out, rho) / sigma**2) / sigma**2
    return kernel * (w * rho)[None, :]
