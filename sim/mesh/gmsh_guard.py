"""gmsh's volume step of an imaged particle in a child process with a time limit (``sim mesh --from-image``).

On noisy marching-cubes surfaces gmsh can stall for a very long time in re-parametrisation or
tetrahedralisation, or crash the whole process (a double ``free`` on a volume with 5 % flipped voxels
and no denoising). So:

1. :func:`check_surfaces` refuses, before gmsh sees them, surfaces that are not closed 2-manifolds
   (an edge not shared by exactly two triangles: noise that diagonal voxel contacts leave);
2. :func:`tetrahedralise_guarded` runs :func:`sim.mesh.image._tetrahedralise` in a separate Python
   process (``python -m sim.mesh.gmsh_guard WORKDIR``: surfaces in, ``.msh`` and boundary tags out) and
   kills it after ``timeout`` seconds; a timeout or a crash is an :class:`~sim.errors.InputError` naming
   the volume and what to change (``--smooth``, ``--denoise``, ``--size``, ``--mesh-timeout``). The
   parent merges the finished ``.msh`` into its own gmsh model.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from sim.errors import InputError

MESH_TIMEOUT_S = 600.0     # default limit of the child; the 200³ volume meshes in ~6 s
_REMEDY = ("smooth the surfaces more (--smooth 20), denoise the segmentation (--denoise 2) or mesh coarser "
           "(a larger --size)")


def bad_edges(faces: np.ndarray) -> int:
    """Edges of a triangulation not shared by exactly two triangles (0 for a closed 2-manifold)."""
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, count = np.unique(edges, axis=0, return_counts=True)
    return int(np.count_nonzero(count != 2))


def check_surfaces(surf: dict, source: str | None) -> None:
    """InputError naming the volume and the surface if a surface is not a closed 2-manifold."""
    for name, (_, faces) in surf.items():
        n = bad_edges(faces)
        if n:
            raise InputError(f"the {name!r} surface is not closed: {n} edges are not shared by exactly two "
                             "triangles (segmentation noise), on which gmsh can crash or stall; denoise the "
                             "segmentation (--denoise 1 or 2; smoothing does not change the topology)",
                             file=source, key="--denoise")


def _describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def tetrahedralise_guarded(gmsh, surf: dict, h: float, h_fine: float, *, timeout: float = MESH_TIMEOUT_S,
                           source: str | None = None) -> tuple[dict[str, int], dict]:
    """:func:`sim.mesh.image._tetrahedralise` of ``surf`` (name → (vertices, triangles)) in a child process
    killed after ``timeout`` s; its mesh is merged into ``gmsh``'s current model. Returns (name → tag, the
    child's size statistics ``surface_size_ratio`` and ``mesh_attempts``)."""
    if not timeout > 0:
        raise InputError(f"the meshing time limit must be > 0 s, got {timeout:g} s", key="--mesh-timeout")
    check_surfaces(surf, source)
    what = source or "the volume"
    package_root = str(Path(__file__).resolve().parents[2])   # the folder holding sim/ (clone or site-packages)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory(prefix="sim-gmsh-") as tmp:
        work = Path(tmp)
        names = list(surf)
        np.savez(work / "surfaces.npz", **{f"v{i}": surf[n][0] for i, n in enumerate(names)},
                 **{f"f{i}": surf[n][1] for i, n in enumerate(names)})
        (work / "task.json").write_text(json.dumps({"names": names, "h": h, "h_fine": h_fine}))
        try:
            done = subprocess.run([sys.executable, "-m", "sim.mesh.gmsh_guard", str(work)], env=env,
                                  capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:   # subprocess.run has killed the child
            raise InputError(f"gmsh did not finish the volume mesh of {what} within {timeout:g} s (noisy surfaces "
                             f"can stall it); {_REMEDY}, or allow more time (--mesh-timeout)",
                             file=source, key="--smooth") from None
        result = json.loads((work / "result.json").read_text()) if (work / "result.json").is_file() else None
        if result is not None and "error" in result:
            raise InputError(result["error"], file=source, key=result["key"])
        if done.returncode != 0 or result is None:
            tail = " ".join((done.stderr or "").split()[-30:])
            raise InputError(f"gmsh {_describe(done.returncode)} while meshing {what} ({tail or 'no message'}); "
                             f"{_REMEDY}", file=source, key="--smooth")
        gmsh.merge(str(work / "mesh.msh"))
    return {name: int(tag) for name, tag in result["boundaries"].items()}, result["size"]


def _child(work: Path) -> None:
    """The child: mesh the surfaces of ``work`` in its own gmsh session, write mesh.msh and result.json."""
    import gmsh

    from sim.mesh.image import _tetrahedralise

    task = json.loads((work / "task.json").read_text())
    arrays = np.load(work / "surfaces.npz")
    surf = {n: (arrays[f"v{i}"], arrays[f"f{i}"]) for i, n in enumerate(task["names"])}
    gmsh.initialize(interruptible=False)
    try:
        for option, value in (("General.Terminal", 0), ("General.NumThreads", 1), ("Mesh.Algorithm3D", 10),
                              ("Mesh.Binary", 1)):       # the options of sim.mesh.particle._mesh_from_gmsh
            gmsh.option.setNumber(option, value)
        gmsh.model.add("image")
        try:
            boundaries, size = _tetrahedralise(gmsh, surf, task["h"], task["h_fine"])
        except InputError as exc:
            (work / "result.json").write_text(json.dumps({"error": exc.detail, "key": exc.key}))
            return
        gmsh.write(str(work / "mesh.msh"))
        (work / "result.json").write_text(json.dumps({"boundaries": boundaries, "size": size}))
    finally:
        gmsh.finalize()


if __name__ == "__main__":
    _child(Path(sys.argv[1]))
