"""Make the parameter sets of ``microstructure_hoop.toml``: seeds × porosity random pore packings (deterministic).

Each set ``microstructures/phi<porosity>_seed<seed>.toml`` inherits ``lmr_default`` and holds the pores that
``sim microstructure --porosity P --pore-radius PORE_RADIUS --void VOID --seed S`` places
(:func:`sim.mesh.microstructure.place_pores`; no mesh is built here: each sweep case meshes its own).
The sweep's ``params`` axis takes these files, so its table carries the file name (porosity, seed).

    python validation/sweeps/make_microstructures.py      # rewrites validation/sweeps/microstructures/
"""
from __future__ import annotations

from pathlib import Path

from sim.mesh.microstructure import params_fragment, parse_pore_radius, place_pores
from sim.units import to_si

OUT = Path(__file__).resolve().parent / "microstructures"
POROSITIES = (0.005, 0.01)
SEEDS = (1, 2, 3, 4)
PORE_RADIUS, VOID, RADIUS, GAP = "lognormal(0.5 um, 0.25)", "0.5 um", "8 um", 0.5


def packings() -> dict[str, str]:
    """File name -> parameter-set text of every packing."""
    median, sigma = parse_pore_radius(PORE_RADIUS)
    R, a = to_si(RADIUS, "m"), to_si(VOID, "m")
    out = {}
    for phi in POROSITIES:
        for seed in SEEDS:
            pores = place_pores(radius=R, porosity=phi, median=median, sigma=sigma, void=a, gap=GAP, seed=seed)
            source = (f"sim microstructure --porosity {phi:g} --pore-radius '{PORE_RADIUS}' --void '{VOID}' "
                      f"--radius '{RADIUS}' --gap {GAP:g} --seed {seed}")
            out[f"phi{phi:g}_seed{seed}.toml"] = params_fragment(pores, radius=R, void=a, inherits="lmr_default",
                                                                 source=source)
    return out


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, text in packings().items():
        (OUT / name).write_text(text)
        print(f"{name}: {text.count('{ radius =')} pores")


if __name__ == "__main__":
    main()
