"""Write the 200³ speed-test volume of issue 10 (target: meshed in ≤ 60 s): a ball of 95 voxels radius with a
central void (25 voxels) and 12 closed pores (6-9 voxels), labels 1 solid / 0 background, 1 % flipped voxels
(noise the default one-pass denoise removes); deterministic. Not shipped (8 MB); timed with::

    python validation/images/make_large_volume.py /tmp/vol200.npy
    sim mesh --from-image /tmp/vol200.npy --voxel-size "50 nm" --out /tmp/vol200_mesh
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

N, RADIUS, VOID, SEED = 200, 95.0, 25.0, 200


def make_volume() -> np.ndarray:
    rng = np.random.default_rng(SEED)
    z, y, x = np.meshgrid(*(np.arange(N) - (N - 1) / 2 for _ in range(3)), indexing="ij")
    r = np.sqrt(x**2 + y**2 + z**2)
    solid = (r <= RADIUS) & (r >= VOID)
    placed = 0
    while placed < 12:                      # pores between the void and the surface, apart from each other
        c, rp = rng.uniform(-60, 60, 3), rng.uniform(6, 9)
        d = np.linalg.norm(c)
        if not VOID + rp + 4 < d < RADIUS - rp - 4:
            continue
        ball = (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 <= (rp + 3) ** 2
        if not solid[ball].all():           # keep a 3-voxel wall to the others
            continue
        solid &= ~((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 <= rp**2)
        placed += 1
    flips = rng.random(solid.shape) < 0.01
    return np.where(flips, ~solid, solid).astype(np.uint8)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "vol200.npy")
    np.save(out, make_volume())
    print(f"wrote {out} ({N}³ voxels)")
