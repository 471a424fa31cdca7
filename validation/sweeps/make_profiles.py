"""Make ``profiles/*.csv``: SYNTHETIC Mn3+ profiles for the batch-fit sweep (``batch_fit.toml``).

Six particles: D_O in {3e-18, 1e-17, 3e-17} cm^2/s x radius in {100, 140} nm, each with its own
seed, from the same closed-form generator as ``validation/csernica2021/make_example.py`` (Crank
eq. 6.18 + lamella projection + Gaussian noise). The true D_O is in each file's name and header.

    python validation/sweeps/make_profiles.py     # rewrites profiles/*.csv
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "csernica2021"))
from make_example import TRUE, synthetic_profile  # noqa: E402

from sim.oxygen.profiles import write_profile  # noqa: E402

D_O_CM2_S = (3e-18, 1e-17, 3e-17)
RADII_NM = (100.0, 140.0)


def main(out: Path = HERE / "profiles") -> list[Path]:
    out.mkdir(exist_ok=True)
    t, paths = TRUE, []
    for i, (d, radius) in enumerate((d, r) for d in D_O_CM2_S for r in RADII_NM):
        seed = 500 + i
        path = out / f"particle_{i + 1}_D{d:.0e}_R{radius:.0f}nm.csv"
        prof = synthetic_profile(d * 1e-4, radius * 1e-9, t["thickness_nm"] * 1e-9, t["cycles"], t["hours"],
                                 t["surface_mn3"], t["bulk_mn3"], t["sigma"], seed, blur_fwhm=t["blur_fwhm_nm"] * 1e-9,
                                 name=path.stem)
        write_profile(path, prof, comments=(
            "SYNTHETIC data, not measured: made by validation/sweeps/make_profiles.py",
            f"true values: D_O_cm2_s={d:g}, radius_nm={radius:g}, seed={seed}, otherwise as "
            "validation/csernica2021/make_example.py TRUE"))
        paths.append(path)
    return paths


if __name__ == "__main__":
    print("\n".join(str(p) for p in main()))
