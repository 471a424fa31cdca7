"""Synthetic porous particles: seeded random sequential addition (RSA) of spherical pores (``sim microstructure``).

Pore radii are drawn (fixed, or log-normal with a median and σ of ln r) until their volume reaches
``porosity`` × the particle volume 4/3 π R³ (the central void is not counted). Pores are then placed
largest first at uniformly random centres; a candidate is accepted when it keeps a surface gap of at
least ``gap`` × (the smaller radius) to every placed pore, the void and the outer surface, else redrawn
(``MAX_TRIES`` times per pore). The same seed gives the same pores. When a pore cannot be placed the
porosity cannot be packed with that gap: :class:`~sim.errors.InputError` naming ``--porosity``.

The particle is meshed in 3D with :func:`sim.mesh.particle_mesh_3d` (gmsh OpenCASCADE), tags
``outer``, ``void``, ``pore_<i>`` in placement order.
"""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from sim.errors import InputError

MAX_TRIES = 5000
MAX_PORES = 5000
_LOGNORMAL = re.compile(r"^\s*lognormal\(\s*([^,]+?)\s*,\s*([^)]+?)\s*\)\s*$")


def parse_pore_radius(text: str, key: str = "--pore-radius") -> tuple[float, float]:
    """``"0.2 um"`` → (0.2e-6, 0); ``"lognormal(0.2 um, 0.3)"`` → (median 0.2e-6 m, σ of ln r 0.3)."""
    from sim.units import to_si

    match = _LOGNORMAL.match(text)
    median, sigma = (match.group(1), float(match.group(2))) if match else (text, 0.0)
    value = to_si(median, "m", key=key)
    if not value > 0 or not 0 <= sigma < 2:
        raise InputError(f"need a radius > 0 and 0 <= sigma < 2, got {text!r}; allowed: \"0.2 um\" or "
                         "\"lognormal(0.2 um, 0.3)\"", key=key)
    return value, sigma


def place_pores(*, radius: float, porosity: float, median: float, sigma: float = 0.0, void: float = 0.0,
                gap: float = 0.5, seed: int) -> list[tuple[np.ndarray, float]]:
    """Non-overlapping pores [(centre (m), radius (m)), ...] in a particle of ``radius`` (m), RSA, seeded."""
    if not 0 < porosity < 0.5:
        raise InputError(f"porosity must be in (0, 0.5), got {porosity:g}", key="--porosity")
    if not 0 <= void < radius:
        raise InputError(f"void radius {void:g} m must be in [0, particle radius {radius:g} m)", key="--void")
    if not gap >= 0:
        raise InputError(f"gap must be >= 0, got {gap:g}", key="--gap")
    rng = np.random.default_rng(seed)
    target = porosity * radius ** 3                      # Σ r³ (the 4/3 π cancels)
    radii = []
    while sum(r ** 3 for r in radii) < target:
        if len(radii) == MAX_PORES:
            raise InputError(f"porosity {porosity:g} with pores of {median:g} m needs more than {MAX_PORES} pores; "
                             "use larger pores or a lower porosity", key="--porosity")
        radii.append(median * float(np.exp(sigma * rng.standard_normal())))
    radii.sort(reverse=True)
    centres, placed = np.zeros((0, 3)), np.zeros(0)
    for r in radii:
        room = radius - r * (1 + gap)
        if room <= void + r * (1 + gap):
            raise InputError(f"a pore of radius {r:g} m does not fit between the void and the outer surface",
                             key="--pore-radius")
        for _ in range(MAX_TRIES):
            c = rng.uniform(-room, room, 3)
            d = np.linalg.norm(c)
            if d > room or d < void + r * (1 + gap):
                continue
            clear = np.linalg.norm(centres - c, axis=1) - placed - r >= gap * np.minimum(placed, r)
            if clear.all():
                centres, placed = np.vstack([centres, c]), np.append(placed, r)
                break
        else:
            achieved = float(np.sum(placed ** 3) / radius ** 3)
            raise InputError(f"cannot pack porosity {porosity:g}: placed {len(placed)} of {len(radii)} pores "
                             f"(porosity {achieved:.4g}) before a pore of {r:g} m found no room in {MAX_TRIES} "
                             "tries; lower the porosity, the pore radius or --gap", key="--porosity")
    return [(c, float(r)) for c, r in zip(centres, placed)]


def microstructure_mesh(pores, *, radius: float, void: float, size_outer: float, size_inner: float, order: int = 1,
                        comm=None):
    """3D mesh (:class:`~sim.mesh.ParticleMesh`) of a particle with a central void and these pores."""
    from sim.mesh.builders import particle_mesh_3d

    geometry = SimpleNamespace(particle_radius=radius, void_radius=void,
                               pores=[SimpleNamespace(centre=tuple(c), radius=r) for c, r in pores])
    return particle_mesh_3d(geometry, SimpleNamespace(size_outer=size_outer, size_inner=size_inner), order=order,
                            comm=comm)


def _um(x: float) -> str:
    return f"{x * 1e6:.6g} um"


def params_fragment(pores, *, radius: float, void: float, inherits: str, source: str) -> str:
    """A parameter-set TOML (inheriting ``inherits``) with this particle's geometry."""
    lines = [f'# made by {source}', "[meta]", f'inherits = "{inherits}"', "", "[geometry]",
             f'particle_radius = {{ value = "{_um(radius)}", source = "{source}" }}',
             f'void_radius = {{ value = "{_um(void)}", source = "{source}" }}', "pores = { value = ["]
    lines += [f'  {{ radius = "{_um(r)}", centre = [{", ".join(chr(34) + _um(x) + chr(34) for x in c)}] }},'
              for c, r in pores]
    lines.append(f'], source = "{source}" }}')
    return "\n".join(lines) + "\n"


def write_microstructure(out: Path, *, porosity, pore_radius: str, void: str, radius: str, gap, seed: int,
                         params: str = "lmr_default", overrides=(), name: str = "geometry", say=None, comm=None):
    """``sim microstructure``: place pores, mesh, write ``<name>.{msh,xdmf,h5,json}``, ``microstructure.json``
    (pores in m, porosity asked and achieved), ``microstructure_params.toml`` (a parameter set inheriting
    ``params``) and ``case.toml`` (10C discharge to 20 % DOD on it, for ``sim run``). Returns the mesh."""
    from sim.io import write_json, write_text_atomic
    from sim.mesh.particle import _world
    from sim.params import load_params
    from sim.params_cli import parse_overrides
    from sim.units import to_si

    try:
        phi = float(porosity)
        gap_f = float(gap)
    except ValueError:
        raise InputError(f"need numbers, got porosity {porosity!r}, gap {gap!r}", key="--porosity") from None
    R, a = to_si(radius, "m", key="--radius"), to_si(void, "m", key="--void")
    median, sigma = parse_pore_radius(pore_radius)
    pset = load_params(params, parse_overrides(list(overrides)))
    pores = place_pores(radius=R, porosity=phi, median=median, sigma=sigma, void=a, gap=gap_f, seed=seed)
    comm = _world(comm)
    say = say or (print if comm.rank == 0 else (lambda *a, **k: None))
    r_min = min(r for _, r in pores)
    # pore surfaces: r_min/3 unless mesh.size_inner is set, never coarser than 0.6 r_min (a few elements round)
    given = any(o.split("=", 1)[0].strip() == "mesh.size_inner" for o in overrides)
    size_inner = min(pset.mesh.size_inner, 0.6 * r_min) if given else r_min / 3
    pm = microstructure_mesh(pores, radius=R, void=a, size_outer=pset.mesh.size_outer, size_inner=size_inner,
                             comm=comm)
    achieved = float(sum(r ** 3 for _, r in pores) / R ** 3)
    command = (f"sim microstructure --porosity {phi:g} --pore-radius '{pore_radius}' --void '{void}' "
               f"--radius '{radius}' --gap {gap_f:g} --seed {seed}")
    pm.info = {"microstructure": {"seed": seed, "porosity_target": phi, "porosity_achieved": achieved}}
    paths = pm.write(out, name)
    if comm.rank == 0:
        record = {"command": command, "seed": seed, "particle_radius_m": R, "void_radius_m": a,
                  "pore_radius": pore_radius, "median_pore_radius_m": median, "sigma_ln_r": sigma, "gap": gap_f,
                  "porosity_target": phi, "porosity_achieved": achieved, "pore_count": len(pores),
                  "pores": [{"radius_m": r, "centre_m": c.tolist()} for c, r in pores],
                  "mesh": {k: str(v) for k, v in paths.items()}, "element_size_inner_m": size_inner}
        write_json(out / "microstructure.json", record)
        write_text_atomic(out / "microstructure_params.toml",
                          params_fragment(pores, radius=R, void=a, inherits=params, source=command))
        write_text_atomic(out / "case.toml", _case(size_inner))
    say(f"{len(pores)} pores, porosity {achieved * 100:.3f} % (asked {phi * 100:.3g} %), seed {seed}; "
        f"{pm.num_cells} cells, {pm.num_vertices} vertices, min quality (minSICN) {pm.min_quality:.3f}")
    say(f"wrote {paths['msh']}, {out / 'microstructure.json'}, {out / 'microstructure_params.toml'}, "
        f"{out / 'case.toml'}")
    return pm


def _case(size_inner: float) -> str:
    return ("# sim run DIR/case.toml --out RESULTS: 10C discharge to 20 % DOD of this microstructure (3D)\n"
            'model = "lithium"\ntitle = "synthetic microstructure, 10C to 20 % DOD"\n'
            'params = "microstructure_params.toml"\ngeometry = "3d"\n\n[parameters]\n"transport.x_initial" = 0.34\n\n'
            f'[mesh]\nsize_inner = "{_um(size_inner)}"\norder = 1\n\n[[protocol]]\nstep = "discharge at 10C to 20 % DOD"\n')


def register(sub) -> None:
    """``sim microstructure`` (registered by :mod:`sim.cli`)."""
    from sim.mesh.cli import register_microstructure

    register_microstructure(sub)


def run(args) -> int:
    from sim.mesh.cli import run_microstructure

    return run_microstructure(args)
