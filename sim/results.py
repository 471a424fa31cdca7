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

Fields: :meth:`Result.fields` returns ``{file stem: meshio.Mesh}`` with nodal ``point_data``, read from
the VTK time series ``fields/*.pvd`` (written by :class:`sim.vtk.FieldSeries`) and, when the ``adios2``
package is installed (the ``vtk`` extra), from the VTX files ``fields/*.bp`` that ``sim run`` writes
(``c``, ``displacement``, ``stress``).
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
        """``params.json``: the parameter set as run — each value in the unit people write (``"value"``,
        ``"unit"``) with its SI value beside it (``"value_si"``) — with the case and its overrides."""
        return self._json("params.json")

    @cached_property
    def timeseries(self):
        """``timeseries.csv`` as a pandas DataFrame; units in ``timeseries.attrs["units"]``."""
        f = self.path / "timeseries.csv"
        if not f.is_file():
            raise InputError("no timeseries.csv in this result folder", file=str(self.path))
        return read_table(f)

    # ---------------------------------------------------------------- fields
    def _series(self) -> dict[str, tuple[np.ndarray, object]]:
        """stem -> (saved times s, reader(k) -> meshio Mesh) for every field file this Python can read."""
        from sim.vtk import read_pvd

        folder = self.path / "fields"
        series = {}
        for pvd in sorted(folder.glob("*.pvd")):
            steps = read_pvd(pvd)
            series[pvd.stem] = (np.array([t for t, _ in steps]), lambda k, steps=steps: _read_vtu(steps[k][1]))
        bp = sorted(folder.glob("*.bp"))
        if bp and _adios2() is not None:
            for path in bp:
                if path.stem not in series:
                    series[path.stem] = (_vtx_times(path), lambda k, path=path: _read_vtx(path, k))
        return series

    @property
    def times(self) -> np.ndarray:
        """Saved field times (s), the union over the field files (empty if none can be read)."""
        series = self._series()
        return np.unique(np.concatenate([t for t, _ in series.values()])) if series else np.array([])

    def fields(self, t: float, *, pyvista: bool = False) -> dict:
        """Nodal fields at the saved time nearest ``t`` (s): ``{file stem: meshio.Mesh}``.

        Each mesh holds its file's fields as ``point_data`` (SI, names as written, e.g. ``c_mol_m3``,
        ``hoop_Pa``) and the time actually used in ``field_data["t_s"]``. Stems are those of
        ``fields/*.pvd`` and, when the ``adios2`` package is installed, ``fields/*.bp``
        (DG fields have their own, discontinuous, nodes). ``pyvista=True`` returns
        ``pyvista.UnstructuredGrid`` objects instead (needs pyvista).
        """
        series = self._series()
        if not series:
            bp = sorted(p.name for p in (self.path / "fields").glob("*.bp"))
            hint = (f"only VTX files ({', '.join(bp)}), which need the adios2 package (ParaView opens them)" if bp
                    else "no saved fields")
            raise InputError(f"fields/: {hint}", file=str(self.path))
        out = {}
        for stem, (times, read) in series.items():
            k = int(np.argmin(abs(times - t)))
            mesh = read(k)
            mesh.field_data = {"t_s": np.array([times[k]])}
            out[stem] = mesh
        if pyvista:
            import pyvista as pv

            return {stem: pv.from_meshio(m) for stem, m in out.items()}
        return out

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


def _read_vtu(path: Path):
    import meshio

    return meshio.read(path)


def _adios2():
    try:
        import adios2
    except ImportError:
        return None
    return adios2


#: (VTK cell type, nodes per cell) -> meshio cell type, for the Lagrange cells DOLFINx's VTX writer uses
_VTX_CELLS = {(68, 2): "line", (68, 3): "line3", (69, 3): "triangle", (69, 6): "triangle6", (71, 4): "tetra",
              (71, 10): "tetra10", (70, 4): "quad", (72, 8): "hexahedron"}
_VTX_MESH_VARS = {"geometry", "connectivity", "types", "NumberOfNodes", "NumberOfEntities", "step",
                  "vtkGhostType", "vtkOriginalPointIds"}


def _vtx_times(path: Path) -> np.ndarray:
    adios2 = _adios2()
    with adios2.FileReader(str(path)) as f:
        var = f.inquire_variable("step")
        return np.array([float(np.asarray(f.read(var, step_selection=[k, 1])).ravel()[0])
                         for k in range(f.num_steps())])


def _read_vtx(path: Path, step: int):
    """One step of a DOLFINx VTX (``.bp``) file as a meshio Mesh; blocks (MPI ranks) are concatenated."""
    import meshio

    adios2 = _adios2()
    with adios2.FileReader(str(path)) as f:
        names = [n for n in f.available_variables() if n not in _VTX_MESH_VARS]
        geom, conn, types = (f.inquire_variable(n) for n in ("geometry", "connectivity", "types"))
        n_blocks = len(f.all_blocks_info("geometry")[0])
        points, cells, data, offset = [], [], {n: [] for n in names}, 0
        kind = None
        for b in range(n_blocks):
            x = np.asarray(f.read(geom, block_id=b, step_selection=[0, 1]))   # mesh written once ("reuse")
            c = np.asarray(f.read(conn, block_id=b, step_selection=[0, 1]))
            code = int(np.asarray(f.read(types, step_selection=[0, 1])).ravel()[0])
            kind = _VTX_CELLS.get((code, c.shape[1] - 1))
            if kind is None:
                raise InputError(f"unsupported VTX cell (VTK type {code}, {c.shape[1] - 1} nodes)", file=str(path))
            points.append(x)
            cells.append(c[:, 1:] + offset)
            offset += len(x)
            for n in names:
                var = f.inquire_variable(n)
                data[n].append(np.asarray(f.read(var, block_id=b, step_selection=[step, 1])))
    values = {n: np.concatenate(v) for n, v in data.items()}
    values = {n: (v[:, 0] if v.ndim == 2 and v.shape[1] == 1 else v) for n, v in values.items()}
    return meshio.Mesh(np.concatenate(points), [(kind, np.concatenate(cells))], point_data=values)


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
