"""Make the shipped example volume ``meshes/example_particle.npy`` (+ ``.json`` header): deterministic.

A tomography-like segmented secondary particle, 56 × 48 × 48 voxels (z, y, x), voxels 0.25 µm × 0.25 µm
in-plane and 0.35 µm between slices (anisotropic, as FIB-SEM / nano-CT stacks are):

- a slightly oblate particle (semi-axes 5.0, 5.3, 4.6 µm) with a rough surface (low-order harmonics);
- a central void of radius 1.4 µm (the ``void``);
- three closed pores (0.9, 0.8, 0.7 µm) → ``pore_0``, ``pore_1``, ``pore_2``;
- one open pore: a 0.8 µm pore cut by the outer surface (part of ``outer``);
- segmentation noise: isolated flipped voxels in the solid (filled as noise) and specks outside
  (dropped: not connected to the particle).

Labels: 1 solid, 0 background. Run from the repository root::

    python validation/images/make_example_volume.py        # rewrites meshes/example_particle.{npy,json}
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[2] / "meshes" / "example_particle"
SHAPE = (56, 48, 48)                       # z, y, x
VOXEL = (0.25e-6, 0.25e-6, 0.35e-6)        # x, y, z (m)
SEED = 20241


def make_volume() -> np.ndarray:
    rng = np.random.default_rng(SEED)
    nz, ny, nx = SHAPE
    z, y, x = np.meshgrid(*(np.arange(n) - (n - 1) / 2 for n in SHAPE), indexing="ij")
    X, Y, Z = x * VOXEL[0] * 1e6, y * VOXEL[1] * 1e6, z * VOXEL[2] * 1e6      # µm about the image centre
    rho = np.sqrt((X / 5.0) ** 2 + (Y / 5.3) ** 2 + (Z / 4.6) ** 2)
    theta, phi = np.arccos(np.clip(Z / np.maximum(np.sqrt(X**2 + Y**2 + Z**2), 1e-9), -1, 1)), np.arctan2(Y, X)
    rough = 0.03 * np.cos(3 * phi) * np.sin(theta) ** 3 + 0.025 * np.cos(2 * theta)
    solid = rho <= 1 + rough

    def ball(c, r):
        return (X - c[0]) ** 2 + (Y - c[1]) ** 2 + (Z - c[2]) ** 2 <= r ** 2

    solid &= ~ball((0.2, -0.1, 0.1), 1.4)                                   # central void
    for c, r in (((2.6, 1.2, 0.6), 0.9), ((-2.4, 1.6, -1.4), 0.8), ((0.4, -2.9, 1.8), 0.7)):
        solid &= ~ball(c, r)                                                # closed pores
    solid &= ~ball((-4.3, -2.2, 0.5), 0.8)                                  # open pore at the surface
    flips = rng.random(SHAPE) < 0.002                                       # single-voxel noise
    vol = np.where(flips, ~solid, solid).astype(np.uint8)
    return vol


def main() -> None:
    vol = make_volume()
    OUT.parent.mkdir(exist_ok=True)
    np.save(OUT.with_suffix(".npy"), vol)
    header = {"shape": list(SHAPE), "dtype": "uint8", "axes": "zyx", "solid_label": 1,
              "voxel_size": [f"{VOXEL[0] * 1e6:g} um", f"{VOXEL[1] * 1e6:g} um", f"{VOXEL[2] * 1e6:g} um"],
              "made_by": "validation/images/make_example_volume.py (synthetic, deterministic)"}
    OUT.with_suffix(".json").write_text(json.dumps(header, indent=2) + "\n")
    print(f"wrote {OUT.with_suffix('.npy')} {vol.shape} ({int(vol.sum())} solid voxels) and {OUT.with_suffix('.json')}")


if __name__ == "__main__":
    main()
