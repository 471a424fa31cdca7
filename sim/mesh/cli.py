"""``sim mesh`` (parameter sets, reference meshes, segmented images, users' meshes) and ``sim microstructure``."""
from __future__ import annotations

import re
from pathlib import Path

from sim.errors import InputError
from sim.mesh.builders import KINDS
from sim.mesh.gmsh_guard import MESH_TIMEOUT_S
from sim.mesh.image import MIN_CAVITY_VOXELS
from sim.mesh.particle import _world

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_name(name: str, key: str = "--name") -> str:
    """A file stem inside the output folder: letters, digits, ``._-``; no path, no ``..``."""
    if not _NAME.fullmatch(name or "") or ".." in name:
        raise InputError(f"{name!r} is not a plain file name; allowed: letters, digits, '.', '_', '-' "
                         "(no folders, no '..', not absolute)", key=key)
    return name


def register(sub) -> None:
    from sim.params_cli import add_set_option

    p = sub.add_parser("mesh", help="build a particle mesh (gmsh) and write .msh + .xdmf",
                       description="Build a particle mesh from a parameter set, all reference meshes "
                                   "(--reference), a segmented 3D image (--from-image) or a user's mesh/CAD file "
                                   "(--from-file), and write DIR/<name>.msh, .xdmf(+.h5), .json.")
    p.add_argument("params", nargs="?", help="parameter set name in params/ (e.g. liu2024) or a .toml path")
    p.add_argument("--kind", choices=KINDS, help="radial (solid sphere, 1D), hollow (1D shell), axisym (2D r-z), "
                                                  "3d, primary (primary particle; see --dim)")
    p.add_argument("--dim", type=int, choices=(1, 2, 3), default=3, help="dimension of a primary-particle mesh")
    add_set_option(p, 'override a parameter, e.g. --set mesh.size_outer="0.2 um"')
    p.add_argument("--order", type=int, choices=(1, 2), default=1, help="geometry order (2: curved)")
    p.add_argument("--name", help="file name stem (default <params>_<kind>, or geometry for images and files)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--reference", action="store_true", help="build all meshes of meshes/reference.toml")
    img = p.add_argument_group("segmented images (--from-image)")
    img.add_argument("--from-image", metavar="VOLUME",
                     help="multi-page TIFF, folder of TIFF slices, .npy, or .raw with a .json header")
    img.add_argument("--voxel-size", help='"25 nm" or "25 nm,25 nm,40 nm" (x, y, z); default: the JSON header')
    img.add_argument("--solid-label", type=int, help="voxel value of the solid (default 1)")
    img.add_argument("--threshold", type=float, help="solid = value >= T (instead of a label)")
    img.add_argument("--smooth", type=int, default=10, help="Taubin smoothing iterations of the surfaces (default 10)")
    img.add_argument("--denoise", type=int, default=1, help="passes of the face-neighbour majority filter (default 1)")
    img.add_argument("--size", help='element size, e.g. "0.2 um" (default: particle radius / 10; half on cavities)')
    img.add_argument("--mesh-timeout", default=f"{MESH_TIMEOUT_S:g} s",
                     help=f'time limit of gmsh\'s volume step (default "{MESH_TIMEOUT_S:g} s"); noisy surfaces can stall it')
    usr = p.add_argument_group("users' meshes (--from-file)")
    usr.add_argument("--from-file", metavar="FILE", help="gmsh .msh with physical groups outer/void/pore_<i>(/axis), "
                                                         "or .step/.stp/.stl geometry (tetrahedralised, see --size)")
    usr.add_argument("--unit", default="m", help="length unit of the file's coordinates (default m)")
    p.set_defaults(func=run)


def run(args) -> int:
    from sim.case import check_cost, check_out, particle_cost
    from sim.params import load_params
    from sim.params_cli import parse_overrides

    sources = [n for n, v in (("PARAMS", args.params), ("--reference", args.reference),
                              ("--from-image", args.from_image), ("--from-file", args.from_file)) if v]
    if len(sources) != 1:
        raise InputError("give one of PARAMS with --kind, --reference, --from-image VOLUME or --from-file FILE"
                         + (f" (got {', '.join(sources)})" if sources else ""), key=sources[-1] if sources else "PARAMS")
    if args.name is not None:
        check_name(args.name)
    check_out(args.out, merge=True)     # a file, under a file, not writable: refused before any work
    if args.from_image:
        return _run_image(args)
    if args.from_file:
        return _run_file(args)
    if args.params and not args.kind:
        raise InputError("give --kind with PARAMS", key="--kind")
    if args.reference and args.kind:
        raise InputError("--reference builds the recipe in meshes/reference.toml; give no --kind", key="--reference")
    # parameters are checked before MPI and DOLFINx are loaded: bad input fails fast
    pset = None if args.reference else load_params(args.params, parse_overrides(args.overrides))
    if pset is not None and args.kind in ("radial", "hollow", "axisym", "3d"):
        check_cost(particle_cost(pset.geometry, pset.mesh, args.kind, degree=args.order),
                   file=str(pset.files[0]), key="mesh.size_inner", what=f"this {args.kind} mesh")
    comm = _world(None)
    say = _say(comm)
    if args.reference:
        from sim.mesh.reference import build_reference_meshes

        for r in build_reference_meshes(args.out, comm):
            say(f"{r['name']:38s} {r['kind']:8s} {r['cells']:7d} cells {r['vertices']:7d} vertices  "
                f"min quality {_q(r['min_quality_minSICN'])}  {r['seconds']:.2f} s  -> {r['paths']['png']}")
        return 0
    from sim.mesh.builders import mesh_from_params

    name = args.name or f"{pset.name}_{args.kind}" + (f"{args.dim}d" if args.kind == "primary" else "")
    pm = mesh_from_params(pset, args.kind, dim=args.dim, order=args.order, comm=comm)
    _report(pm, pm.write(args.out, name), name, say)
    return 0


def _say(comm):
    return print if comm.rank == 0 else (lambda *a, **k: None)


def _report(pm, paths, name, say) -> None:
    say(f"{name}: {pm.kind} mesh, order {pm.order}: {pm.num_cells} cells, {pm.num_vertices} vertices, "
        f"min quality (minSICN) {_q(pm.min_quality)}")
    say("boundaries: " + ", ".join(f"{n}={t}" for n, t in sorted(pm.boundaries.items(), key=lambda kv: kv[1])))
    say("wrote " + ", ".join(str(paths[k]) for k in ("msh", "xdmf", "mesh_xdmf", "vtu", "json")))


def _run_image(args) -> int:
    from sim.mesh.image import load_volume, mesh_from_image, parse_voxel_size
    from sim.units import to_si

    if args.params or args.kind:
        raise InputError("--from-image takes no PARAMS or --kind", key="--from-image")
    # everything is read and checked before MPI and DOLFINx are loaded
    volume, header_voxel = load_volume(args.from_image)
    if args.voxel_size is not None:
        voxel = parse_voxel_size(args.voxel_size)
    elif header_voxel is not None:
        voxel = header_voxel
    else:
        raise InputError("no voxel size: give --voxel-size (e.g. \"25 nm\") or voxel_size in the JSON header",
                         file=args.from_image, key="--voxel-size")
    size = None if args.size is None else to_si(args.size, "m", key="--size")
    if size is not None and not size > 0:
        raise InputError(f"element size must be > 0, got {args.size!r}", key="--size")
    if args.smooth < 0:
        raise InputError(f"smoothing iterations must be >= 0, got {args.smooth}", key="--smooth")
    timeout = to_si(args.mesh_timeout, "s", key="--mesh-timeout")
    if not timeout > 0:
        raise InputError(f"the time limit must be > 0 s, got {args.mesh_timeout!r}", key="--mesh-timeout")
    comm = _world(None)
    say = _say(comm)
    name = args.name or "geometry"
    pm = mesh_from_image(volume, voxel, solid_label=args.solid_label, threshold=args.threshold, smooth=args.smooth,
                         size=size, denoise_passes=args.denoise, source=str(args.from_image), timeout=timeout,
                         comm=comm)
    paths = pm.write(args.out, name)
    info, volume_m3 = pm.info, pm.volume()
    um3 = 1e18
    say(f"volume: mesh {volume_m3 * um3:.5g} um^3, voxel count {info['voxel_volume_m3'] * um3:.5g} um^3 "
        f"({(volume_m3 / info['voxel_volume_m3'] - 1) * 100:+.2f} %); porosity (closed cavities) "
        f"{info['porosity'] * 100:.2f} %; cavities: {len(info['cavities'])} closed "
        f"({', '.join(c['name'] for c in info['cavities']) or 'none'}), {info['filled_small_cavities']} "
        f"smaller than {MIN_CAVITY_VOXELS} voxels filled")
    shift = ", ".join(f"{s * 1e6:.4g}" for s in info["centroid_shift_m"])
    say(f"centroid moved to the origin: shift ({shift}) um; element size {info['element_size_m'] * 1e6:.3g} um "
        f"({info['element_size_cavities_m'] * 1e6:.3g} um on cavities)")
    _report(pm, paths, name, say)
    return 0


def _run_file(args) -> int:
    from sim.mesh.reader import read_mesh
    from sim.units import to_si

    if args.params or args.kind:
        raise InputError("--from-file takes no PARAMS or --kind", key="--from-file")
    size = None if args.size is None else to_si(args.size, "m", key="--size")
    scale = to_si(f"1 {args.unit}", "m", key="--unit")
    comm = _world(None)
    name = args.name or "geometry"
    pm = read_mesh(args.from_file, comm, size=size, unit_scale=scale)
    _report(pm, pm.write(args.out, name), name, _say(comm))
    return 0


def _q(quality) -> str:
    return "n/a (1D)" if quality is None else f"{quality:.3f}"


# --------------------------------------------------------------------------- sim microstructure
def register_microstructure(sub) -> None:
    from sim.mesh.microstructure_sweep import SWEEP

    p = sub.add_parser("microstructure", help="place random non-overlapping pores in a particle and mesh it (3D)",
                       description="Random sequential addition of spherical pores (reproducible for a seed) in a "
                                   "particle, meshed in 3D; writes DIR/<name>.{msh,xdmf,h5,json}, DIR/microstructure.json, "
                                   "DIR/microstructure_params.toml and DIR/case.toml. With --sweep: run the shipped "
                                   "seeds x porosity sweep and write the distribution of the maximum hoop stress.")
    p.add_argument("--porosity", help="pore volume / particle volume (void excluded), e.g. 0.03")
    p.add_argument("--pore-radius", help='"0.2 um" (all equal) or "lognormal(0.2 um, 0.3)" (median, sigma of ln r)')
    p.add_argument("--void", default="0 um", help='central void radius (default "0 um": none)')
    p.add_argument("--radius", default="8 um", help='particle radius (default "8 um")')
    p.add_argument("--gap", default="0.5", help="smallest surface gap between pores, void and outer surface, as a "
                                                "fraction of the smaller pore radius (default 0.5)")
    p.add_argument("--seed", type=int, help="random seed (same seed: same pores)")
    p.add_argument("--params", default="lmr_default", help="parameter set for the mesh sizes and the fragment")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help='override a parameter, e.g. --set mesh.size_outer="1 um"')
    p.add_argument("--name", default="geometry", help="file name stem of the mesh files (default geometry)")
    p.add_argument("--sweep", nargs="?", const=SWEEP, metavar="SWEEP",
                   help=f"run a seeds x porosity sweep (default the shipped {SWEEP}; or a sweep .toml) into --out "
                        "(resumable) and write distribution.{csv,md,png}")
    p.add_argument("--workers", type=int, default=None, help="with --sweep: local worker processes (default: cores)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=run_microstructure)


def run_microstructure(args) -> int:
    from sim.mesh.microstructure import write_microstructure

    single = {"--porosity": args.porosity, "--pore-radius": args.pore_radius, "--seed": args.seed}
    if args.sweep is not None:
        given = [k for k, v in single.items() if v is not None]
        if given:
            raise InputError(f"--sweep takes its packings from the sweep's parameter sets; drop {', '.join(given)}",
                             key="--sweep")
        from sim.mesh.microstructure_sweep import run

        return run(args.out, sweep=args.sweep, workers=args.workers)
    missing = [k for k, v in single.items() if v is None]
    if missing:
        raise InputError(f"missing {', '.join(missing)} (or give --sweep)", key=missing[0])
    check_name(args.name)
    write_microstructure(Path(args.out), porosity=args.porosity, pore_radius=args.pore_radius, void=args.void,
                         radius=args.radius, gap=args.gap, seed=args.seed, params=args.params,
                         overrides=args.overrides, name=args.name)
    return 0
