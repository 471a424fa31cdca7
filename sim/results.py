"""Results in Python: open a ``sim run`` folder or a ``sim sweep`` folder instead of parsing JSON and CSV.

    >>> r = sim.open_result("results/liu2024_10C")
    >>> r.summary["maxima"]["hoop_Pa"]["value"]
    >>> r.timeseries.plot(x="t_s", y="hoop_max_Pa")
    >>> r.timeseries.attrs["units"]["hoop_max_Pa"]               # 'Pa'
    >>> r.plot_map(0.2, "hoop_Pa")
    >>> s = sim.open_sweep("out/bridge_stress"); s.table

Column names of ``timeseries`` are kept exactly as written in ``timeseries.csv`` (``t_s``,
``hoop_max_Pa``, ``li_fraction_surface``); the unit of each column, parsed from its suffix, is in
``timeseries.attrs["units"]`` (``""`` for dimensionless columns such as ``dod`` or ``soc``). A header
written as ``name [unit]`` is split into the column ``name`` and its unit.

Fields: :meth:`Result.fields` reads the VTK time series ``fields/*.pvd`` (written by
:class:`sim.vtk.FieldSeries`) with meshio. A folder that holds only VTX ``fields/*.bp`` needs ADIOS2
(ParaView opens those directly).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from sim.errors import InputError

#: column-name suffix -> unit, longest first (the CSV writers name SI columns this way)
SUFFIX_UNITS = {"_cm2_s": "cm^2/s", "_m2_s": "m^2/s", "_at_pct": "at.%", "_A_m2": "A/m^2", "_mol_m3": "mol/m^3",
                "_degC": "degC", "_GPa": "GPa", "_MPa": "MPa", "_Pa": "Pa", "_nm": "nm", "_um": "um", "_s": "s",
                "_h": "h", "_V": "V", "_A": "A", "_m": "m", "_K": "K", "_J": "J", "_W": "W", "_pct": "%"}
_BRACKET = re.compile(r"^(?P<name>.*?)\s*\[(?P<unit>[^\]]*)\]$")


def column_units(columns) -> tuple[list[str], dict[str, str]]:
    """Names and units of CSV columns: ``"t_s"`` -> (``"t_s"``, ``"s"``); ``"t [s]"`` -> (``"t"``, ``"s"``)."""
    names, units = [], {}
    for col in columns:
        m = _BRACKET.match(col)
        if m:
            name, unit = m["name"], m["unit"]
        else:
            name = col
            unit = next((u for suffix, u in SUFFIX_UNITS.items() if col.endswith(suffix) and len(col) > len(suffix)), "")
        names.append(name)
        units[name] = unit
    return names, units


def read_table(path: str | Path):
    """A result CSV as a pandas DataFrame with ``attrs["units"]`` (see :func:`column_units`)."""
    import pandas as pd

    df = pd.read_csv(path, comment="#")
    names, units = column_units(df.columns)
    df.columns = names
    df.attrs["units"] = units
    return df


@dataclass
class Result:
    """One result folder of ``sim run`` (or one case of a sweep). Files are read on first use."""

    path: Path

    def _json(self, name: str) -> dict:
        f = self.path / name
        if not f.is_file():
            raise InputError(f"no {name} in this result folder", file=str(self.path))
        return json.loads(f.read_text())

    @cached_property
    def summary(self) -> dict:
        """``summary.json``: status, final state, maxima/minima, probes, maps, files."""
        return self._json("summary.json")

    @cached_property
    def parameters(self) -> dict:
        """``params.json``: the parameter set in SI as run, with the case and its overrides."""
        return self._json("params.json")

    @cached_property
    def timeseries(self):
        """``timeseries.csv`` as a pandas DataFrame; units in ``timeseries.attrs["units"]``."""
        f = self.path / "timeseries.csv"
        if not f.is_file():
            raise InputError("no timeseries.csv in this result folder", file=str(self.path))
        return read_table(f)

    # ---------------------------------------------------------------- fields
    def _series(self) -> dict[str, list[tuple[float, Path]]]:
        from sim.vtk import read_pvd

        return {p.stem: read_pvd(p) for p in sorted((self.path / "fields").glob("*.pvd"))}

    @property
    def times(self) -> np.ndarray:
        """Output times (s) of the saved fields (empty if the run saved none as VTK)."""
        series = self._series()
        return np.array([t for t, _ in next(iter(series.values()))]) if series else np.array([])

    def fields(self, t: float, *, pyvista: bool = False):
        """Nodal fields at the saved time nearest ``t`` (s), merged into one meshio Mesh (``point_data``).

        With ``pyvista=True`` returns a ``pyvista.UnstructuredGrid`` (needs pyvista installed).
        The time actually used is ``mesh.field_data["t_s"]``.
        """
        import meshio

        series = self._series()
        if not series:
            bp = sorted(p.name for p in (self.path / "fields").glob("*.bp"))
            hint = (f"only VTX files ({', '.join(bp)}): open them in ParaView or with ADIOS2" if bp
                    else "no saved fields")
            raise InputError(f"fields/: {hint}; VTK fields (fields/*.pvd) are read here", file=str(self.path))
        merged = None
        for stem, steps in series.items():
            times = np.array([s for s, _ in steps])
            k = int(np.argmin(abs(times - t)))
            m = meshio.read(steps[k][1])
            if merged is None:
                merged = m
                merged.field_data = {"t_s": np.array([times[k]])}
            else:
                merged.point_data.update(m.point_data)
        if pyvista:
            import pyvista as pv

            return pv.from_meshio(merged)
        return merged

    # ---------------------------------------------------------------- maps and plots
    @property
    def maps(self) -> list[dict]:
        """The saved stress maps (``summary["maps"]``): target DOD, time, PNG and ``.npz`` file."""
        return list(self.summary.get("maps", []))

    def map(self, dod: float) -> dict[str, np.ndarray]:
        """Arrays of the saved map nearest ``dod`` (a fraction, 0.2 = 20 %): ``extent_m``, ``hoop_Pa``, ..."""
        if not self.maps:
            raise InputError("no maps saved (set output.maps_at_dod in the case)", file=str(self.path))
        best = min(self.maps, key=lambda m: abs(m["dod_target"] - dod))
        with np.load(self.path / best["data"], allow_pickle=False) as z:
            arrays = {k: (z[k].item() if z[k].ndim == 0 else z[k]) for k in z.files}
        return arrays | {"dod": best["dod"], "t_s": best["t_s"]}

    def plot_timeseries(self, y, x: str = "t_s", ax=None):
        """Plot column(s) ``y`` against ``x`` with units on the axes; return the matplotlib Axes."""
        import matplotlib.pyplot as plt

        df = self.timeseries
        ys = [y] if isinstance(y, str) else list(y)
        missing = [c for c in [x, *ys] if c not in df.columns]
        if missing:
            raise InputError(f"no column {missing[0]!r}; columns: {', '.join(df.columns)}", file=str(self.path))
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        units = df.attrs["units"]
        for c in ys:
            ax.plot(df[x], df[c], label=c)
        ax.set_xlabel(f"{x} ({units[x]})" if units.get(x) else x)
        yu = {units.get(c, "") for c in ys}
        ax.set_ylabel(f"({yu.pop()})" if len(yu) == 1 and "" not in yu else "")
        ax.legend()
        return ax

    def plot_map(self, dod: float, quantity: str = "hoop_Pa", ax=None):
        """Draw the saved map ``quantity`` nearest ``dod`` (stresses in MPa); return the matplotlib Axes.

        Axisymmetric runs save the (r, z) section as triangles (drawn for r >= 0); 1D and 3D runs save an
        image of the x–z mid-plane.
        """
        import matplotlib.pyplot as plt

        m = self.map(dod)
        if quantity not in m or np.ndim(m[quantity]) == 0:
            keys = [k for k, v in m.items() if np.ndim(v) >= 1 and not k.endswith("_m")]
            raise InputError(f"no map {quantity!r}; maps: {', '.join(keys)}", file=str(self.path))
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4.5))
        scale, unit = (1e-6, "MPa") if quantity.endswith("_Pa") else (1.0, "")
        v = np.asarray(m[quantity], float) * scale
        cmap = "RdBu_r" if "hoop" in quantity or "principal" in quantity else "viridis"
        if m["layout"] == "triangles":
            from matplotlib.tri import Triangulation

            pts = np.asarray(m["triangles_m"]).reshape(-1, 2) * 1e6
            art = ax.tripcolor(Triangulation(pts[:, 0], pts[:, 1], np.arange(len(pts)).reshape(-1, 3)),
                               facecolors=v, cmap=cmap, edgecolors="none")
            ax.set_xlabel("r (µm)")
        else:
            art = ax.imshow(np.ma.masked_invalid(v), origin="lower", extent=np.asarray(m["extent_m"]) * 1e6, cmap=cmap)
            ax.set_xlabel("x (µm)")
        ax.set_ylabel("z (µm)")
        ax.set_aspect("equal")
        label = quantity.removesuffix("_Pa")
        ax.figure.colorbar(art, ax=ax, label=f"{label} ({unit})" if unit else label)
        ax.set_title(f"{label} at {100 * m['dod']:.0f} % DOD")
        return ax


def open_result(path: str | Path) -> Result:
    """Open the result folder ``path`` of ``sim run`` (it must hold ``summary.json``)."""
    p = Path(path)
    if not (p / "summary.json").is_file():
        raise InputError("not a result folder (no summary.json)", file=str(p))
    return Result(p)


@dataclass
class Sweep:
    """A ``sim sweep`` folder: ``table`` (one row per case) and ``cases`` (each a :class:`Result`)."""

    path: Path

    @cached_property
    def spec(self) -> dict:
        """``sweep.json``: the sweep file, axes and every case's inputs and overrides."""
        return json.loads((self.path / "sweep.json").read_text())

    @cached_property
    def table(self):
        """``results.csv`` as a pandas DataFrame (axis columns carry their unit in the name)."""
        return read_table(self.path / "results.csv")

    @property
    def cases(self) -> dict[str, Result]:
        """``case_id`` -> :class:`Result` of every case that finished."""
        out = {}
        for c in self.spec["cases"]:
            folder = self.path / "cases" / c["case_id"]
            if (folder / "summary.json").is_file():
                out[c["case_id"]] = Result(folder)
        return out


def open_sweep(path: str | Path) -> Sweep:
    """Open the folder ``path`` of ``sim sweep`` (it must hold ``sweep.json`` and ``results.csv``)."""
    p = Path(path)
    for name in ("sweep.json", "results.csv"):
        if not (p / name).is_file():
            raise InputError(f"not a sweep folder (no {name})", file=str(p))
    return Sweep(p)
