"""Segmented 3D volume → particle → cavities → smooth surfaces → tetrahedra (``sim mesh --from-image``).

Pipeline (each step a function, so tests can check it alone):

1. :func:`load_volume`: multi-page TIFF, a folder of TIFF slices, ``.npy`` or raw bytes + a JSON header
   ``{"shape": [nz, ny, nx], "dtype": "uint8", "voxel_size": ["25 nm", "25 nm", "40 nm"]}`` (next to
   the data as ``<stem>.json``; ``.npy`` and TIFF may have one too, for the voxel size). Volumes are
   indexed ``[z, y, x]`` (slice, row, column) as image stacks are; voxel sizes are given as x, y, z.
2. :func:`segment`: solid = ``volume == solid_label`` (default 1) or ``volume >= threshold``; then
   :func:`denoise` (a face-neighbour majority filter, one pass by default) removes single-voxel noise.
3. :func:`classify`: keep the largest face-connected (6-connected) solid component; the complement is
   split into 26-connected components (the dual connectivity, so two cavities never touch a common
   voxel corner and their surfaces cannot meet). The component touching the image border, with every
   open pore connected to it, is the outside; the closed cavities, largest first, are ``void`` and
   ``pore_0``, ``pore_1``, ...; closed cavities of fewer than ``min_cavity_voxels`` voxels (noise) are
   filled with solid.
4. :func:`surfaces`: marching cubes (scikit-image, Lewiner) at level 1/2 of each binary mask (outer
   envelope = solid ∪ closed cavities; each cavity), with the voxel spacing, then Taubin λ|μ smoothing
   (shrink-free, Taubin 1995). Decimation: the outer surface is sampled every ``step`` voxels
   (marching-cubes step size) when the element size allows it.
5. :func:`mesh_from_image`: gmsh ``classifySurfaces`` + ``createGeometry`` re-parametrise the triangulated
   surfaces; they are re-meshed at the element size (``size`` in the bulk and on the outer surface,
   ``size/2`` on cavity surfaces, within a ball around each cavity graded over 3 (size − size/2))
   and filled with tetrahedra. This gmsh step runs in a child process with a time limit, after a check
   that every surface is a closed 2-manifold (:mod:`sim.mesh.gmsh_guard`): noisy surfaces give an
   error naming the volume and what to change, never a hang or a crash.

Coordinates are SI (m), translated so that the centroid of the solid voxels is at the origin (hoop and
radial stresses are taken about the origin); the translation is reported as ``centroid_shift_m``.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.mesh.gmsh_guard import MESH_TIMEOUT_S, tetrahedralise_guarded
from sim.mesh.particle import DOMAIN_TAG, ParticleMesh, _mesh_from_gmsh, _tag, _world

MIN_CAVITY_VOXELS = 8      # smaller closed cavities are segmentation noise: filled with solid
TAUBIN = (0.5, -0.53)      # λ, μ of Taubin smoothing (μ < −λ: no shrinkage)
SIZE_ATTEMPTS = 4          # gmsh attempts at honouring the element size (see _tetrahedralise)
MAX_SIZE_RATIO = 1.5       # surface triangles over the count the size asks for, above which an attempt is redone
FEATURE_ANGLE = 180.0     # degrees; gmsh splits re-parametrised surfaces at sharper creases (none: particles are smooth)
TIFF = (".tif", ".tiff")


# --------------------------------------------------------------------------- reading
def parse_voxel_size(text, *, key: str = "--voxel-size") -> tuple[float, float, float]:
    """``"25 nm"`` (isotropic) or ``"25 nm,25 nm,40 nm"`` (x, y, z) → three lengths in m."""
    from sim.units import to_si

    parts = [p.strip() for p in text.split(",")] if isinstance(text, str) else list(text)
    if len(parts) not in (1, 3):
        raise InputError(f"need one length or three (x, y, z) separated by commas, got {text!r}", key=key)
    sizes = tuple(to_si(p, "m", key=key) for p in parts) * (3 if len(parts) == 1 else 1)
    if not all(np.isfinite(s) and s > 0 for s in sizes):
        raise InputError(f"voxel sizes must be > 0, got {text!r}", key=key)
    return sizes


def _header(path: Path) -> dict | None:
    side = path.with_suffix(".json") if path.is_file() else path / "header.json"
    if not side.is_file():
        return None
    try:
        head = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the JSON header ({exc})", file=str(side)) from None
    if not isinstance(head, dict):
        raise InputError("the header must be a JSON object with shape, dtype, voxel_size", file=str(side))
    head["_file"] = str(side)
    return head


def load_volume(path: str | Path) -> tuple[np.ndarray, tuple[float, float, float] | None]:
    """Read a segmented volume: returns (array indexed [z, y, x], voxel size (x, y, z) in m or None).

    The voxel size comes from the optional JSON header (``voxel_size``: one length or three).
    Bad files raise :class:`InputError` naming the file.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", file=str(path))
    head = _header(path)
    try:
        if path.is_dir():
            import tifffile

            slices = sorted(p for p in path.iterdir() if p.suffix.lower() in TIFF)
            if not slices:
                raise InputError("folder has no .tif/.tiff slices", file=str(path))
            planes = [tifffile.imread(p) for p in slices]
            if len({p.shape for p in planes}) != 1:
                raise InputError(f"slices differ in shape ({sorted({p.shape for p in planes})})", file=str(path))
            vol = np.stack(planes)
        elif path.suffix.lower() in TIFF:
            import tifffile

            vol = tifffile.imread(path)
        elif path.suffix.lower() == ".npy":
            vol = np.load(path, allow_pickle=False)
        elif path.suffix.lower() == ".raw":
            vol = _read_raw(path, head)
        else:
            raise InputError(f"unknown volume format {path.suffix!r}; allowed: .tif/.tiff (multi-page), a folder "
                             "of .tif slices, .npy, .raw + .json header", file=str(path))
    except InputError:
        raise
    except Exception as exc:  # tifffile/numpy errors on corrupt files
        raise InputError(f"cannot read the volume ({type(exc).__name__}: {exc})", file=str(path)) from None
    vol = np.squeeze(vol)
    if vol.ndim != 3 or min(vol.shape) < 3:
        raise InputError(f"need a 3D volume at least 3 voxels each way, got shape {vol.shape}", file=str(path))
    if not (np.issubdtype(vol.dtype, np.integer) or np.issubdtype(vol.dtype, np.floating) or vol.dtype == bool):
        raise InputError(f"voxel type {vol.dtype} is not numeric", file=str(path))
    voxel = None
    if head is not None and "voxel_size" in head:
        vs = head["voxel_size"]
        voxel = parse_voxel_size(",".join(vs) if isinstance(vs, list) else vs, key="voxel_size")
    return vol, voxel


def _read_raw(path: Path, head: dict | None) -> np.ndarray:
    if head is None:
        raise InputError(f"a .raw volume needs a JSON header {path.with_suffix('.json').name} with shape "
                         "[nz, ny, nx], dtype and voxel_size", file=str(path))
    try:
        shape = tuple(int(n) for n in head["shape"])
        dtype = np.dtype(head.get("dtype", "uint8"))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"header needs shape [nz, ny, nx] and a numpy dtype ({exc})", file=head["_file"],
                         key="shape") from None
    data = path.read_bytes()
    if len(data) != int(np.prod(shape)) * dtype.itemsize:
        raise InputError(f"file has {len(data)} bytes, the header's shape {list(shape)} and dtype {dtype} need "
                         f"{int(np.prod(shape)) * dtype.itemsize}", file=str(path))
    return np.frombuffer(data, dtype=dtype).reshape(shape)


# --------------------------------------------------------------------------- segmentation
def segment(volume: np.ndarray, *, solid_label: int | None = None, threshold: float | None = None,
            file: str | None = None) -> np.ndarray:
    """Boolean solid mask: ``volume == solid_label`` (default 1) or ``volume >= threshold``."""
    if solid_label is not None and threshold is not None:
        raise InputError("give --solid-label or --threshold, not both", key="--threshold")
    solid = volume >= threshold if threshold is not None else volume == (1 if solid_label is None else solid_label)
    if not solid.any():
        what = f"threshold {threshold}" if threshold is not None else f"label {1 if solid_label is None else solid_label}"
        found = np.unique(volume)
        raise InputError(f"no solid voxels with {what}; the volume holds values "
                         f"{', '.join(map(str, found[:10]))}{' ...' if len(found) > 10 else ''}", file=file,
                         key="--threshold" if threshold is not None else "--solid-label")
    return solid


def denoise(solid: np.ndarray, passes: int = 1) -> np.ndarray:
    """Face-neighbour majority filter: a voxel with >= 4 of its 6 face neighbours solid becomes solid,
    with <= 2 becomes background, with 3 stays. Removes single-voxel spikes, pits and one-voxel tunnels
    (which make marching-cubes surfaces gmsh cannot re-parametrise) and leaves smooth boundaries alone."""
    from scipy import ndimage as ndi

    kernel = ndi.generate_binary_structure(3, 1).astype(np.int8)
    kernel[1, 1, 1] = 0
    for _ in range(passes):
        count = ndi.convolve(solid.astype(np.int8), kernel, mode="constant")
        solid = np.where(count >= 4, True, np.where(count <= 2, False, solid))
    return solid


@dataclass
class Segmentation:
    """Labelled voxels (indexed [x, y, z]): ``solid`` mask of the kept particle, ``outside`` mask,
    ``cavities`` int array (0: none, k ≥ 1: the k-th closed cavity, largest first), ``names`` of the
    cavities (``void``, ``pore_0``, ...), ``filled`` (small cavities filled), ``dropped_solid`` voxels
    of smaller solid fragments."""

    solid: np.ndarray
    outside: np.ndarray
    cavities: np.ndarray
    names: list[str]
    filled: int
    dropped_solid: int

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.cavities.ravel(), minlength=len(self.names) + 1)[1:]


def classify(solid: np.ndarray, *, min_cavity_voxels: int = MIN_CAVITY_VOXELS) -> Segmentation:
    """Largest 6-connected solid; outside (border-connected complement, 26-connected) and closed cavities."""
    from scipy import ndimage as ndi

    labels, n = ndi.label(solid)
    if n == 0:
        raise InputError("the volume has no solid voxels", key="--solid-label")
    sizes = np.bincount(labels.ravel())[1:]
    keep = labels == 1 + int(np.argmax(sizes))
    dropped = int(sizes.sum() - sizes.max())
    # pad with one layer of background so that "touches the border" is "connected to the pad"
    comp, m = ndi.label(np.pad(~keep, 1, constant_values=True), structure=np.ones((3, 3, 3), bool))
    comp = comp[1:-1, 1:-1, 1:-1]
    outside = comp == 1    # the pad is the first component ndi.label meets (at [0, 0, 0])
    counts = np.bincount(comp.ravel(), minlength=m + 1)
    closed = [k for k in range(2, m + 1) if counts[k] >= min_cavity_voxels]
    small = [k for k in range(2, m + 1) if 0 < counts[k] < min_cavity_voxels]
    if small:
        keep = keep | np.isin(comp, small)
    closed.sort(key=lambda k: (-counts[k], k))
    lookup = np.zeros(m + 1, dtype=np.int32)
    lookup[closed] = np.arange(1, len(closed) + 1)
    cavities = lookup[comp]
    names = ["void"] + [f"pore_{i}" for i in range(len(closed) - 1)] if closed else []
    return Segmentation(keep, outside, cavities, names, len(small), dropped)


# --------------------------------------------------------------------------- surfaces
def taubin(verts: np.ndarray, faces: np.ndarray, iterations: int) -> np.ndarray:
    """Taubin λ|μ smoothing of a triangulated surface (umbrella operator, uniform weights)."""
    from scipy import sparse

    if iterations <= 0:
        return verts
    n = len(verts)
    i = faces[:, [0, 1, 2, 1, 2, 0]].ravel()
    j = faces[:, [1, 2, 0, 0, 1, 2]].ravel()
    adj = sparse.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)).tocsr()
    adj.data[:] = 1.0                                   # each edge once, however many faces share it
    walk = sparse.diags(1.0 / np.maximum(adj.sum(axis=1).A1, 1)) @ adj
    v = verts.copy()
    for _ in range(iterations):
        for f in TAUBIN:
            v += f * (walk @ v - v)
    return v


def marching_surface(mask: np.ndarray, spacing, *, step: int = 1, smooth: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Closed surface of a binary mask (indexed [x, y, z]) at level 1/2; vertices in the units of
    ``spacing`` with voxel (0, 0, 0) centred at the origin."""
    from skimage import measure

    pad = np.pad(mask, 1).astype(np.float32)
    verts, faces, _, _ = measure.marching_cubes(pad, 0.5, spacing=tuple(spacing), step_size=step,
                                                allow_degenerate=False)
    verts -= np.asarray(spacing)       # undo the padding
    verts, faces = largest_component(verts, faces)
    return taubin(verts, faces, smooth), faces


def largest_component(verts: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The largest connected piece of a triangulation. Marching cubes treats diagonal (edge or corner)
    contacts as separations, so a voxel joined to the outside only diagonally comes out as a speck of
    its own closed surface; the specks (a voxel each) are dropped."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(verts)
    graph = coo_matrix((np.ones(2 * len(faces)), (faces[:, [0, 1]].ravel(), faces[:, [1, 2]].ravel())), shape=(n, n))
    count, label = connected_components(graph, directed=False)
    if count == 1:
        return verts, faces
    keep = label == np.argmax(np.bincount(label[faces[:, 0]], minlength=count))
    index = np.cumsum(keep) - 1
    return verts[keep], index[faces[keep[faces[:, 0]]]]


def enclosed_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    """|∑ v0 · (v1 × v2)| / 6 over the triangles of a closed surface."""
    v = verts[faces]
    return abs(float(np.einsum("ij,ij->", v[:, 0], np.cross(v[:, 1], v[:, 2])))) / 6


def surfaces(seg: Segmentation, spacing, *, smooth: int, step: int = 1) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name → (vertices, triangles): the outer envelope (solid ∪ closed cavities) and each cavity."""
    out = {"outer": marching_surface(~seg.outside, spacing, step=step, smooth=smooth)}
    for k, name in enumerate(seg.names, start=1):
        out[name] = marching_surface(seg.cavities == k, spacing, smooth=smooth)
    return out


# --------------------------------------------------------------------------- volume mesh
def mesh_from_image(volume: np.ndarray, voxel_size, *, solid_label: int | None = None, threshold: float | None = None,
                    smooth: int = 10, size: float | None = None, denoise_passes: int = 1,
                    min_cavity_voxels: int = MIN_CAVITY_VOXELS, source: str | None = None,
                    timeout: float = MESH_TIMEOUT_S, comm=None) -> ParticleMesh:
    """Tetrahedral mesh (kind "3d", m, centroid at the origin) of the largest particle in ``volume``.

    ``volume`` is indexed [z, y, x]; ``voxel_size`` (x, y, z) in m (one number: isotropic);
    ``size`` the element size in m (default: a tenth of the particle's equivalent radius, at least two
    voxels); ``smooth`` Taubin iterations; ``denoise_passes`` of the majority filter :func:`denoise`;
    ``timeout`` (s) the limit of the gmsh step (:func:`~sim.mesh.gmsh_guard.tetrahedralise_guarded`).
    Boundaries: ``outer`` (with open pores), ``void`` (largest
    closed cavity), ``pore_<i>``. :attr:`ParticleMesh.info` holds the image statistics (voxel-count
    volume, porosity, cavities, centroid shift, timings). Collective; the image work runs on rank 0.
    """
    comm = _world(comm)
    spacing = np.broadcast_to(np.asarray(voxel_size, dtype=float), (3,)).copy()
    if not np.all(spacing > 0):
        raise InputError(f"voxel sizes must be > 0 m, got {voxel_size}", key="--voxel-size")
    if size is not None and not size > 0:
        raise InputError(f"element size must be > 0 m, got {size}", key="--size")
    if smooth < 0:
        raise InputError(f"smoothing iterations must be >= 0, got {smooth}", key="--smooth")
    if denoise_passes < 0:
        raise InputError(f"denoising passes must be >= 0, got {denoise_passes}", key="--denoise")

    def build(gmsh):
        timings = {}
        t0 = time.perf_counter()
        solid = segment(np.asarray(volume), solid_label=solid_label, threshold=threshold, file=source)
        solid = denoise(solid.transpose(2, 1, 0), denoise_passes)                   # → [x, y, z]
        seg = classify(solid, min_cavity_voxels=min_cavity_voxels)
        timings["segment_s"] = time.perf_counter() - t0
        unit = float(spacing.min())     # gmsh works in voxels (its tolerances are absolute)
        sp = spacing / unit
        voxel_volume = float(np.prod(spacing))
        n_solid = int(seg.solid.sum())
        r_eq = (3 * (n_solid + int(seg.counts.sum())) * voxel_volume / (4 * np.pi)) ** (1 / 3)
        h = (size if size is not None else max(r_eq / 10, 2 * spacing.max())) / unit
        h_fine = h / 2
        if seg.names:           # resolve the smallest cavity with a few elements across
            r_min = (3 * seg.counts.min() * voxel_volume / (4 * np.pi)) ** (1 / 3) / unit
            h_fine = max(min(h_fine, r_min / 1.5), 0.5)
        step = int(np.clip(h // (2 * sp.max()), 1, 3))
        centroid = np.argwhere(seg.solid).mean(axis=0) * sp
        t0 = time.perf_counter()
        surf = surfaces(seg, sp, smooth=smooth, step=step)
        timings["surfaces_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        centred = {n: (v - centroid, f) for n, (v, f) in surf.items()}
        boundaries, size_check = tetrahedralise_guarded(gmsh, centred, h, h_fine, timeout=timeout, source=source)
        timings["tetrahedra_s"] = time.perf_counter() - t0
        cav = [{"name": n, "voxels": int(c), "volume_m3": float(c) * voxel_volume,
                "equivalent_radius_m": float((3 * c * voxel_volume / (4 * np.pi)) ** (1 / 3)),
                "centre_m": ((np.argwhere(seg.cavities == k).mean(axis=0) * sp - centroid) * unit).tolist()}
               for k, (n, c) in enumerate(zip(seg.names, seg.counts), start=1)]
        closed = float(seg.counts.sum()) * voxel_volume
        info = {"source": source, "voxel_size_m": spacing.tolist(), "shape_xyz": list(seg.solid.shape),
                "voxel_volume_m3": n_solid * voxel_volume, "closed_cavity_volume_m3": closed,
                "porosity": closed / (closed + n_solid * voxel_volume), "cavities": cav,
                "filled_small_cavities": seg.filled, "dropped_solid_voxels": seg.dropped_solid,
                "centroid_shift_m": (-centroid * unit).tolist(), "element_size_m": h * unit,
                "element_size_cavities_m": h_fine * unit, "smooth_iterations": smooth, "denoise_passes": denoise_passes,
                "marching_cubes_step": step, **size_check, "timings": timings}
        return boundaries, unit, info

    return _mesh_from_gmsh(build, gdim=3, kind="3d", comm=comm, name="image")


def _tetrahedralise(gmsh, surf: dict, h: float, h_fine: float) -> tuple[dict[str, int], dict]:
    """Re-parametrise the named closed triangulations, re-mesh them and fill the solid with tetrahedra in gmsh's
    current model (in the child process of :func:`~sim.mesh.gmsh_guard.tetrahedralise_guarded`, and for STL
    files). Returns (name → boundary tag, {"surface_size_ratio", "mesh_attempts"}).

    gmsh 4.15 sometimes meshes the re-parametrised surfaces far finer than asked: in about one of three fresh
    processes the same surfaces came out with 2–60 times the triangles (and up to 60 times the tetrahedra),
    whatever the size field, 2D algorithm or random factor, while a second attempt in the same process was
    right. So each attempt's surface triangles are counted against the target size
    (:func:`surface_size_ratio`) before any tetrahedra are made, and an attempt above ``MAX_SIZE_RATIO`` is redone
    from the surfaces, at most ``SIZE_ATTEMPTS`` times in all; the last attempt stands, its ratio recorded.
    """
    model = gmsh.model.getCurrent()
    for attempt in range(1, SIZE_ATTEMPTS + 1):
        if attempt > 1:
            gmsh.model.remove()
            gmsh.model.add(model)
        boundaries, balls = _tetrahedralise_once(gmsh, surf, h, h_fine)
        if surface_size_ratio(gmsh, h, balls) > MAX_SIZE_RATIO and attempt < SIZE_ATTEMPTS:
            continue          # before the tetrahedra, which cost the most
        # from scratch: one generate(3) gives another (equally good) mesh than generate(3) after generate(2)
        gmsh.model.mesh.clear()
        gmsh.model.mesh.generate(3)
        ratio = surface_size_ratio(gmsh, h, balls)
        if ratio <= MAX_SIZE_RATIO:
            break
    return boundaries, {"surface_size_ratio": ratio, "mesh_attempts": attempt}


def target_size(points: np.ndarray, h: float, balls) -> np.ndarray:
    """The element size asked of gmsh at ``points`` (N, 3): ``h``, or less in the cavities' balls, each
    (centre, radius, thickness, size inside, size outside) with gmsh's Ball field rule (the inside size up
    to the radius, then linear to the outside size over the thickness), the smallest of them."""
    size = np.full(len(points), float(h))
    for centre, radius, thickness, inside, outside in balls:
        d = np.linalg.norm(points - np.asarray(centre), axis=1)
        ramp = inside + np.clip((d - radius) / thickness, 0.0, 1.0) * (outside - inside)
        size = np.minimum(size, np.where(d < radius, inside, ramp))
    return size


def surface_size_ratio(gmsh, h: float, balls) -> float:
    """Surface triangles of gmsh's current mesh over the count the target size asks for,
    Σ_i A_i / (√3/4 s(c_i)²) (A_i, c_i: area and centroid of triangle i): 1.0–1.2 when gmsh honours it."""
    m = gmsh.model
    tags, xyz, _ = m.mesh.getNodes()
    where = np.empty(int(tags.max()) + 1, dtype=np.int64)
    where[tags.astype(np.int64)] = np.arange(len(tags))
    xyz = xyz.reshape(-1, 3)
    triangles, asked = 0, 0.0
    for _, surface in m.getEntities(2):
        _, nodes = m.mesh.getElementsByType(2, surface)
        corners = xyz[where[nodes.astype(np.int64)]].reshape(-1, 3, 3)
        area = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
        asked += float(np.sum(area / (np.sqrt(3) / 4 * target_size(corners.mean(axis=1), h, balls) ** 2)))
        triangles += len(area)
    return triangles / asked


def _tetrahedralise_once(gmsh, surf: dict, h: float, h_fine: float) -> tuple[dict[str, int], list[tuple]]:
    """One attempt of :func:`_tetrahedralise` in gmsh's current model, up to the surface mesh:
    (name → tag, size balls)."""
    from scipy.spatial import cKDTree

    m = gmsh.model
    names = list(surf)
    offset = 1
    for name in names:
        v, f = surf[name]
        s = m.addDiscreteEntity(2)
        m.mesh.addNodes(2, s, np.arange(offset, offset + len(v)), v.ravel())
        m.mesh.addElementsByType(s, 2, [], (f + offset).ravel())
        offset += len(v)
    m.mesh.classifySurfaces(np.radians(FEATURE_ANGLE), True, True, np.pi)
    try:
        m.mesh.createGeometry()
    except Exception as exc:   # gmsh: "Wrong topology of boundary mesh for parametrization"
        raise InputError(f"gmsh could not re-parametrise the marching-cubes surfaces ({exc}); "
                         "smooth them more (allowed: an integer >= 1, typically 10-20)", key="--smooth") from None
    # which named surface does each new patch come from: nearest marching-cubes vertex
    owner = np.concatenate([np.full(len(surf[n][0]), i) for i, n in enumerate(names)])
    tree = cKDTree(np.concatenate([surf[n][0] for n in names]))
    groups: dict[str, list[int]] = {n: [] for n in names}
    for _, s in m.getEntities(2):
        _, xyz, _ = m.mesh.getNodes(2, s, includeBoundary=True)
        _, nearest = tree.query(xyz.reshape(-1, 3))
        groups[names[int(np.bincount(owner[nearest]).argmax())]].append(s)
    m.mesh.clear()
    loops = [m.geo.addSurfaceLoop(groups[n]) for n in names]
    vol = m.geo.addVolume(loops)
    m.geo.synchronize()
    boundaries = {n: m.addPhysicalGroup(2, groups[n], _tag(n), name=n) for n in sorted(names, key=_tag)}
    m.addPhysicalGroup(3, [vol], DOMAIN_TAG, name="particle")
    for opt in ("MeshSizeExtendFromBoundary", "MeshSizeFromPoints", "MeshSizeFromCurvature"):
        gmsh.option.setNumber(f"Mesh.{opt}", 0)
    gmsh.option.setNumber("Mesh.MeshSizeMax", h)
    cavities = [n for n in names if n != "outer"]
    balls = []
    if cavities and h_fine < h:
        # h_fine inside a ball around each cavity, growing to h over a shell of thickness 3 (h - h_fine)
        # (A Distance field to the re-parametrised surfaces gave h_fine everywhere for coarse h.)
        fld = m.mesh.field
        fields = []
        for n in cavities:
            v = surf[n][0]
            centre = v.mean(axis=0)
            extent = float(np.linalg.norm(v - centre, axis=1).max())
            balls.append((centre, extent + 2 * h_fine, 3 * (h - h_fine), h_fine, h))   # as target_size reads it
            radius, thickness, inside, outside = balls[-1][1:]
            ball = fld.add("Ball")
            for k, value in zip(("XCenter", "YCenter", "ZCenter"), centre):
                fld.setNumber(ball, k, float(value))
            for k, value in (("Radius", radius), ("Thickness", thickness), ("VIn", inside), ("VOut", outside)):
                fld.setNumber(ball, k, value)
            fields.append(ball)
        smallest = fld.add("Min")
        fld.setNumbers(smallest, "FieldsList", fields)
        fld.setAsBackgroundMesh(smallest)
    m.mesh.generate(2)
    return boundaries, balls
