"""Make ``example_profile.csv``: a SYNTHETIC Mn3+ profile for the fit demo and tests.

Independent of the FEM table used by the fit: Crank's series (eq. 6.18) for the sphere,
projected through the lamella with the closed-form function evaluated at quadrature points
(``LamellaProjection.apply``), plus Gaussian noise with a fixed seed.

    python validation/csernica2021/make_example.py   # rewrites example_profile.csv
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.oxygen.closed_form import sphere_fixed_surface
from sim.oxygen.profiles import Profile, write_profile
from sim.oxygen.projection import LamellaProjection

HERE = Path(__file__).resolve().parent
TRUE = {"D_O_cm2_s": 1e-17, "radius_nm": 120.0, "thickness_nm": 80.0, "offset_nm": 0.0, "blur_fwhm_nm": 10.0,
        "cycles": 125, "hours": 1.4, "surface_mn3": 0.60, "bulk_mn3": 0.05, "sigma": 0.025, "seed": 2021}


def synthetic_profile(D_O: float, radius: float, thickness: float, cycles: float, hours: float, surface: float,
                      bulk: float, sigma: float, seed: int, *, offset: float = 0.0, blur_fwhm: float = 10e-9,
                      spacing: float = 5e-9, name: str = "synthetic") -> Profile:
    """Noisy projected diffusion profile (SI in, Mn3+ fraction out) from the closed form."""
    d = np.arange(0.5 * spacing, 0.98 * radius, spacing)
    tau = D_O * cycles * hours * 3600.0 / radius**2
    proj = LamellaProjection(radius, thickness, d, offset=offset, blur_fwhm=blur_fwhm)
    clean = bulk + (surface - bulk) * proj.apply(lambda r: sphere_fixed_surface(r / radius, tau))
    sig = np.full(d.size, sigma)
    noisy = clean + np.random.default_rng(seed).normal(0.0, sig)
    return Profile(d, noisy, sig, "mn3_fraction", radius, thickness, cycles, hours, offset, blur_fwhm, name=name)


def main(path: Path = HERE / "example_profile.csv") -> Path:
    t = TRUE
    prof = synthetic_profile(t["D_O_cm2_s"] * 1e-4, t["radius_nm"] * 1e-9, t["thickness_nm"] * 1e-9, t["cycles"],
                             t["hours"], t["surface_mn3"], t["bulk_mn3"], t["sigma"], t["seed"],
                             offset=t["offset_nm"] * 1e-9, blur_fwhm=t["blur_fwhm_nm"] * 1e-9)
    write_profile(path, prof, comments=(
        "SYNTHETIC data, not measured: made by validation/csernica2021/make_example.py",
        "Crank eq. 6.18 sphere + lamella projection + Gaussian noise (seed 2021); true values: "
        + ", ".join(f"{k}={v}" for k, v in t.items())))
    return path


if __name__ == "__main__":
    print(main())
