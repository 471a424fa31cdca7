"""Measured profiles: the profile CSV format and 2D oxidation-state maps -> profiles.

Profile CSV (units in the names; ``#`` lines before the table are ``key: value`` headers)::

    # particle_radius_nm: 120
    # lamella_thickness_nm: 80
    # cycles: 125
    # hours_delithiated_per_cycle: 1.2
    # quantity: mn3_fraction
    # lamella_offset_nm: 0          (optional, default 0)
    # blur_fwhm_nm: 10              (optional, default from the parameter set)
    distance_nm,mn3_fraction,sigma
    2.5,0.61,0.03
    ...

``distance_nm`` is the in-plane distance from the particle edge in the image (strictly increasing,
each distance once: average repeated measurements before fitting), the value a fraction in [0, 1]
(within 3 sigma of noise),
``sigma`` its standard error (> 0 and <= 1). Header bounds: radius <= 10 µm, lamella thickness <=
10 µm, 1 <= cycles <= 1e6, hours per cycle <= 1e4, offset < radius + thickness / 2. Maps: a 2D array of the quantity (``.npy`` or TIFF), a
particle mask of the same shape and the pixel size give the profile by binning pixels on
their distance from the mask edge (Euclidean distance transform) with weighted standard errors.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sim.case import read_text
from sim.errors import InputError
from sim.io import write_text_atomic

QUANTITIES = {
    "mn3_fraction": "Mn3+ fraction of Mn",
    "o_vacancy_fraction": "O-vacancy fraction of the O sublattice",
}
REQUIRED_HEADER = ("particle_radius_nm", "lamella_thickness_nm", "cycles", "hours_delithiated_per_cycle", "quantity")
OPTIONAL_HEADER = ("lamella_offset_nm", "blur_fwhm_nm")
MIN_POINTS = 5
MAX_LENGTH_NM = 1e4          # particle radius, lamella thickness, blur: a primary particle is < 10 µm
MAX_CYCLES = 1e6
MAX_HOURS = 1e4
NOISE_SIGMAS = 3.0           # a measured fraction may stray outside [0, 1] by this many standard errors


@dataclass(frozen=True)
class Profile:
    """A measured profile, SI inside: distances and lengths in m, time in s."""

    distance: np.ndarray            # m, in-plane distance from the particle edge
    value: np.ndarray               # the quantity (dimensionless fraction)
    sigma: np.ndarray               # standard error of value
    quantity: str
    particle_radius: float          # m
    lamella_thickness: float        # m
    cycles: float
    hours_delithiated_per_cycle: float
    lamella_offset: float = 0.0     # m
    blur_fwhm: float | None = None  # m; None: take the parameter set's
    name: str = "profile"
    header: dict = field(default_factory=dict)

    @property
    def delithiated_time(self) -> float:
        """Total time spent delithiated (s) = cycles × hours per cycle × 3600."""
        return self.cycles * self.hours_delithiated_per_cycle * 3600.0


def _number(text: str, file: str, key: str, *, positive=False, nonneg=False, le=None, ge=None) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise InputError(f"not a number: {text!r}", file=file, key=key) from None
    lo = "> 0" if positive else (">= 0" if nonneg else (f">= {ge:g}" if ge is not None else ""))
    allowed = "a finite number" + (f" {lo}" if lo else "") + (f" and <= {le:g}" if le is not None else "")
    if not math.isfinite(v) or (positive and v <= 0) or (nonneg and v < 0) or (ge is not None and v < ge) \
            or (le is not None and v > le):
        raise InputError(f"got {text!r}; allowed: {allowed}", file=file, key=key)
    return v


def check_profile(profile: Profile, file: str) -> Profile:
    """Checks every profile passes, read from a CSV or binned from a map: a fraction in [0, 1] per point
    (within 3 sigma: measured values scatter), 0 < sigma <= 1, distances inside the particle, strictly increasing and unique, enough points."""
    d, v, s = profile.distance, profile.value, profile.sigma
    where = (lambda i: profile.header.get("_lines", {}).get(i, f"point {i + 1}"))  # noqa: E731
    for i in range(len(d)):
        if not 0.0 < s[i] <= 1.0:
            raise InputError(f"sigma {s[i]:g}; allowed: a standard error > 0 and <= 1 (a fraction)",
                             file=file, key=f"{where(i)}, column sigma")
        if not -NOISE_SIGMAS * s[i] <= v[i] <= 1.0 + NOISE_SIGMAS * s[i]:
            raise InputError(f"{profile.quantity} {v[i]:g} (sigma {s[i]:g}) is not a fraction; allowed: 0 <= value "
                             f"<= 1 within {NOISE_SIGMAS:g} sigma of noise", file=file,
                             key=f"{where(i)}, column {profile.quantity}")
        if not 0.0 <= d[i] <= profile.particle_radius:
            raise InputError(f"distance {d[i] * 1e9:g} nm outside the particle; allowed: 0 <= distance_nm <= "
                             f"particle_radius_nm ({profile.particle_radius * 1e9:g})", file=file,
                             key=f"{where(i)}, column distance_nm")
        if i and d[i] <= d[i - 1]:
            what = "repeats" if d[i] == d[i - 1] else "is smaller than"
            raise InputError(f"distance {d[i] * 1e9:g} nm {what} the one before ({d[i - 1] * 1e9:g} nm); allowed: "
                             f"strictly increasing distances, each once (average repeated measurements first)",
                             file=file, key=f"{where(i)}, column distance_nm")
    if len(d) < MIN_POINTS:
        raise InputError(f"only {len(d)} data rows; a fit needs at least {MIN_POINTS}", file=file)
    return profile


def read_profile(path: str | Path) -> Profile:
    """Read and check a profile CSV; every problem raises InputError naming the file, line or key."""
    path = Path(path)
    file = str(path)
    lines = read_text(path, "profile").splitlines()
    header, table_start = {}, None
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            key, sep, value = s.lstrip("#").partition(":")
            if sep:
                header[key.strip()] = value.strip()
            continue
        table_start = i
        break
    for key in REQUIRED_HEADER:
        if key not in header:
            raise InputError(f"missing header line '# {key}: <value>'; required header keys: "
                             f"{', '.join(REQUIRED_HEADER)}", file=file, key=key)
    quantity = header["quantity"]
    if quantity not in QUANTITIES:
        raise InputError(f"unknown quantity {quantity!r}; allowed: {', '.join(QUANTITIES)}", file=file, key="quantity")
    radius = _number(header["particle_radius_nm"], file, "particle_radius_nm", positive=True, le=MAX_LENGTH_NM) * 1e-9
    thickness = _number(header["lamella_thickness_nm"], file, "lamella_thickness_nm", positive=True,
                        le=MAX_LENGTH_NM) * 1e-9
    cycles = _number(header["cycles"], file, "cycles", ge=1, le=MAX_CYCLES)
    hours = _number(header["hours_delithiated_per_cycle"], file, "hours_delithiated_per_cycle", positive=True,
                    le=MAX_HOURS)
    offset = _number(header.get("lamella_offset_nm", "0"), file, "lamella_offset_nm", nonneg=True) * 1e-9
    blur = (_number(header["blur_fwhm_nm"], file, "blur_fwhm_nm", nonneg=True, le=MAX_LENGTH_NM) * 1e-9
            if "blur_fwhm_nm" in header else None)
    if offset - thickness / 2 >= radius:
        raise InputError(f"lamella offset {offset * 1e9:g} nm misses the particle (radius {radius * 1e9:g} nm, "
                         f"thickness {thickness * 1e9:g} nm); allowed: offset < radius + thickness/2",
                         file=file, key="lamella_offset_nm")
    if table_start is None:
        raise InputError(f"no table: expected a line 'distance_nm,{quantity},sigma' and data rows", file=file)
    try:
        rows = list(csv.reader(lines[table_start:]))
    except csv.Error as exc:
        raise InputError(f"not a readable CSV table ({exc})", file=file) from None
    columns = [c.strip() for c in rows[0]]
    for col in ("distance_nm", quantity, "sigma"):
        if col not in columns:
            raise InputError(f"missing column {col!r}; the table needs columns distance_nm, {quantity}, sigma "
                             f"(found: {', '.join(columns)})", file=file, key=f"line {table_start + 1}")
    idx = [columns.index(c) for c in ("distance_nm", quantity, "sigma")]
    data, line_of = [], {}
    for lineno, row in enumerate(rows[1:], start=table_start + 2):
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if len(row) < len(columns):
            raise InputError(f"expected {len(columns)} cells, got {len(row)}", file=file, key=f"line {lineno}")
        d, v, s = (_number(row[i].strip(), file, f"line {lineno}, column {c}")
                   for i, c in zip(idx, ("distance_nm", quantity, "sigma")))
        line_of[len(data)] = f"line {lineno}"
        data.append((d * 1e-9, v, s))
    arr = np.array(data).reshape(-1, 3)
    prof = Profile(arr[:, 0], arr[:, 1], arr[:, 2], quantity, radius, thickness, cycles, hours, offset, blur,
                   name=path.stem, header={**header, "_lines": line_of})
    check_profile(prof, file)
    return replace(prof, header=header)


def write_profile(path: str | Path, profile: Profile, comments: tuple[str, ...] = ()) -> None:
    """Write a profile CSV atomically (temp file + rename)."""
    path = Path(path)
    head = [f"# {c}" for c in comments] + [
        f"# particle_radius_nm: {profile.particle_radius * 1e9:.6g}",
        f"# lamella_thickness_nm: {profile.lamella_thickness * 1e9:.6g}",
        f"# cycles: {profile.cycles:.6g}",
        f"# hours_delithiated_per_cycle: {profile.hours_delithiated_per_cycle:.6g}",
        f"# quantity: {profile.quantity}",
        f"# lamella_offset_nm: {profile.lamella_offset * 1e9:.6g}",
    ]
    if profile.blur_fwhm is not None:
        head.append(f"# blur_fwhm_nm: {profile.blur_fwhm * 1e9:.6g}")
    body = [f"distance_nm,{profile.quantity},sigma"] + [
        f"{d * 1e9:.6g},{v:.8g},{s:.6g}" for d, v, s in zip(profile.distance, profile.value, profile.sigma)]
    write_text_atomic(path, "\n".join(head + body) + "\n")


# --------------------------------------------------------------------------- 2D maps
def read_map(path: str | Path, what: str = "map") -> np.ndarray:
    """A 2D array from ``.npy`` or ``.tif``/``.tiff``."""
    path = Path(path)
    try:
        if path.suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif path.suffix in (".tif", ".tiff"):
            import tifffile

            arr = tifffile.imread(path)
        else:
            raise InputError(f"unsupported {what} file type {path.suffix!r}; allowed: .npy, .tif, .tiff", file=str(path))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {what} ({exc})", file=str(path)) from None
    arr = np.squeeze(arr)
    if arr.ndim != 2:
        raise InputError(f"{what} must be a 2D image, got shape {arr.shape}", file=str(path))
    return arr


def profile_from_map(values: np.ndarray, mask: np.ndarray, pixel_size: float, *, weights: np.ndarray | None = None,
                     bin_width: float | None = None, min_pixels: int = 3, file: str = "map"):
    """Bin map pixels inside ``mask`` by distance from the mask edge.

    Distance of a pixel centre from the edge = (EDT − 0.5) · pixel_size, EDT being the Euclidean
    distance (pixels) to the nearest pixel outside the mask. Per bin: weighted mean
    x̄ = Σwx/Σw and weighted standard error SE² = n/(n−1) · Σw²(x − x̄)² / (Σw)² (``weights``
    default 1, e.g. pixel thickness). Bins with fewer than ``min_pixels`` pixels or zero spread
    are dropped. Returns (distance m, mean, standard error, equivalent radius m = √(area/π)).
    """
    from scipy.ndimage import distance_transform_edt

    mask = np.asarray(mask).astype(bool)
    values = np.asarray(values, dtype=float)
    if values.shape != mask.shape:
        raise InputError(f"map shape {values.shape} differs from mask shape {mask.shape}", file=file)
    if not mask.any():
        raise InputError("empty particle mask: no pixel is inside the particle", file=file, key="mask")
    if not (pixel_size > 0 and math.isfinite(pixel_size)):
        raise InputError(f"pixel size must be > 0 m, got {pixel_size:g}", file=file, key="pixel_size")
    inside = mask & np.isfinite(values)
    if weights is not None and (np.asarray(weights).shape != mask.shape or np.any(np.asarray(weights)[inside] < 0)):
        raise InputError("weights must have the map's shape and be >= 0", file=file, key="weights")
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=float)
    dist = (distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1] - 0.5) * pixel_size
    width = bin_width or pixel_size
    k = np.floor(dist[inside] / width).astype(int)
    x, ww = values[inside], w[inside]
    out = []
    for b in np.unique(k):
        sel = k == b
        n, sw = sel.sum(), ww[sel].sum()
        if n < min_pixels or sw <= 0:
            continue
        mean = np.sum(ww[sel] * x[sel]) / sw
        se = np.sqrt(n / (n - 1) * np.sum(ww[sel] ** 2 * (x[sel] - mean) ** 2)) / sw
        if se > 0:
            out.append((np.mean(dist[inside][sel]), mean, se))
    if len(out) < MIN_POINTS:
        raise InputError(f"only {len(out)} distance bins with >= {min_pixels} pixels; need {MIN_POINTS} "
                         f"(particle too small for the pixel size?)", file=file, key="mask")
    arr = np.array(out)
    return arr[:, 0], arr[:, 1], arr[:, 2], float(np.sqrt(mask.sum() / np.pi) * pixel_size)
