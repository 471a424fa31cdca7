"""Parameter loader: every error names the file, the key and what is allowed; units; inheritance."""
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.errors import InputError
from sim.params import PARAMS_DIR, load_params
from sim.units import to_si

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path, body: str, name: str = "bad.toml", inherits: str | None = "lmr_default") -> Path:
    f = tmp_path / name
    head = f'[meta]\ninherits = "{inherits}"\n' if inherits else "[meta]\n"
    f.write_text(head + body)
    return f


def load_error(path: Path) -> InputError:
    with pytest.raises(InputError) as err:
        load_params(path)
    return err.value


def assert_names(err: InputError, file: Path, key: str, *allowed: str) -> None:
    """The one-line message names the file, the key and what is allowed."""
    msg = str(err)
    assert "\n" not in msg
    assert str(file) in msg and err.file == str(file)
    assert key in msg and err.key == key
    for text in allowed:
        assert text in msg, f"{text!r} not in {msg!r}"


# --------------------------------------------------------------------------- structure
def test_unknown_section(tmp_path):
    f = write(tmp_path, '[geometri]\nparticle_radius = { value = "8 um", source = "x" }\n')
    assert_names(load_error(f), f, "geometri", "unknown section", "geometry", "mechanics")


def test_unknown_key(tmp_path):
    f = write(tmp_path, '[geometry]\nparticle_radios = { value = "8 um", source = "x" }\n')
    assert_names(load_error(f), f, "geometry.particle_radios", "unknown key", "particle_radius", "void_radius")


def test_entry_without_source(tmp_path):
    f = write(tmp_path, '[geometry]\nparticle_radius = { value = "8 um" }\n')
    assert_names(load_error(f), f, "geometry.particle_radius", 'missing "source"', "assumed: <why>")
    f = write(tmp_path, '[geometry]\nparticle_radius = { value = "8 um", source = "  " }\n')
    assert_names(load_error(f), f, "geometry.particle_radius", 'missing "source"')


def test_entry_not_an_inline_table(tmp_path):
    f = write(tmp_path, '[geometry]\nparticle_radius = "8 um"\n')
    assert_names(load_error(f), f, "geometry.particle_radius", "inline table", "source")


def test_missing_required_entry(tmp_path):
    f = write(tmp_path, '[primary]\naspect_ratio = { value = "2", source = "x" }\n', inherits=None)
    assert_names(load_error(f), f, "primary.radius", "missing required entry", "nm")


def test_bad_toml_syntax(tmp_path):
    f = write(tmp_path, '[geometry]\nparticle_radius = { value = "8 um", source = "x"\n')
    err = load_error(f)
    assert str(f) in str(err) and "not valid TOML" in str(err) and "line" in str(err)


def test_inheritance_cycle(tmp_path):
    a = write(tmp_path, "", name="a.toml", inherits="b")
    write(tmp_path, "", name="b.toml", inherits="a")
    err = load_error(a)
    assert err.key == "meta.inherits" and "inheritance cycle" in str(err)
    assert str(a) in str(err) and str(tmp_path / "b.toml") in str(err)
    self_ref = write(tmp_path, "", name="self.toml", inherits="self")
    assert_names(load_error(self_ref), self_ref, "meta.inherits", "inheritance cycle")


def test_unknown_parent(tmp_path):
    f = write(tmp_path, "", inherits="no_such_set")
    assert_names(load_error(f), f, "meta.inherits", "no_such_set", "known sets", "lmr_default")


# --------------------------------------------------------------------------- quantities
@pytest.mark.parametrize("value, expected", [
    ("8", "missing unit"),                         # a bare number for a length
    ('"8"', "missing unit"),                  # a string without a unit: dimensionless, not a length
    ('"8 kg"', "incompatible unit"),
    ('"8 uum"', "cannot read"),
    ('"eight um"', "cannot read"),
    ("true", "expected a quantity"),
])
def test_bad_length(tmp_path, value, expected):
    f = write(tmp_path, f'[geometry]\nparticle_radius = {{ value = {value}, source = "x" }}\n')
    assert_names(load_error(f), f, "geometry.particle_radius", expected, "um")


@pytest.mark.parametrize("section, key, value, allowed", [
    ("transport", "diffusivity", '"0 m^2/s"', "> 0 m ** 2 / s"),
    ("transport", "diffusivity", '"-1e-14 cm^2/s"', "> 0 m ** 2 / s"),
    ("oxygen", "diffusivity", '"0 cm^2/s"', "> 0 m ** 2 / s"),
    ("mechanics", "youngs_modulus", '"0 GPa"', "> 0"),
    ("mechanics", "youngs_modulus", '"-150 GPa"', "> 0"),
    ("mechanics", "poisson_ratio", '"0.5"', "> -1 and < 0.5"),
    ("mechanics", "poisson_ratio", '"-1"', "> -1 and < 0.5"),
    ("mechanics", "poisson_ratio", "0.7", "> -1 and < 0.5"),
    ("transport", "x_initial", '"1.2"', ">= 0 and <= 1"),
    ("conditions", "temperature", '"-300 degC"', "> 0 and <= 2000 K"),
])
def test_out_of_range(tmp_path, section, key, value, allowed):
    f = write(tmp_path, f'[{section}]\n{key} = {{ value = {value}, source = "x" }}\n')
    assert_names(load_error(f), f, f"{section}.{key}", "non-physical", allowed)


def test_bad_choice(tmp_path):
    f = write(tmp_path, '[mechanics]\nstrain_model = { value = "large", source = "x" }\n')
    assert_names(load_error(f), f, "mechanics.strain_model", "small", "finite")


def test_capacity_window(tmp_path):
    f = write(tmp_path, '[transport]\nx_min = { value = "0.9", source = "x" }\nx_max = { value = "0.5", source = "x" }\n')
    assert_names(load_error(f), f, "transport.x_min", "must be below x_max")


# --------------------------------------------------------------------------- geometry
def test_void_not_smaller_than_particle(tmp_path):
    f = write(tmp_path, '[geometry]\nvoid_radius = { value = "8 um", source = "x" }\npores = { value = [], source = "x" }\n')
    assert_names(load_error(f), f, "geometry.void_radius", "must be smaller than the particle radius")


def pores_file(tmp_path, *pores: tuple[str, tuple[str, str, str]]) -> Path:
    items = ", ".join(f'{{ radius = "{r}", centre = ["{c[0]}", "{c[1]}", "{c[2]}"] }}' for r, c in pores)
    return write(tmp_path, f'[geometry]\npores = {{ value = [ {items} ], source = "x" }}\n')


def test_pores_overlapping_each_other(tmp_path):
    f = pores_file(tmp_path, ("0.3 um", ("2 um", "0 um", "0 um")), ("0.3 um", ("2.5 um", "0 um", "0 um")))
    assert_names(load_error(f), f, "geometry.pores[1]", "overlaps pore 0", "must not touch")


def test_pore_overlapping_void(tmp_path):
    f = pores_file(tmp_path, ("0.2 um", ("0 um", "0 um", "0.6 um")))   # void radius 0.5 um in lmr_default
    assert_names(load_error(f), f, "geometry.pores[0]", "overlaps the central void", "> void radius")


def test_pore_crossing_outer_surface(tmp_path):
    f = pores_file(tmp_path, ("0.5 um", ("0 um", "7.6 um", "0 um")))
    assert_names(load_error(f), f, "geometry.pores[0]", "crosses the outer surface", "< particle radius")


def test_malformed_pore(tmp_path):
    f = write(tmp_path, '[geometry]\npores = { value = [ { radius = "0.2 um", centre = ["0 um", "1 um"] } ], source = "x" }\n')
    assert_names(load_error(f), f, "geometry.pores[0].centre", "three lengths")
    f = write(tmp_path, '[geometry]\npores = { value = [ { radius = "0 um", centre = ["0 um", "0 um", "2 um"] } ], source = "x" }\n')
    assert_names(load_error(f), f, "geometry.pores[0].radius", "> 0")


# --------------------------------------------------------------------------- tables
def test_table_unequal_lengths(tmp_path):
    f = write(tmp_path, '[kinetics]\nocv = { x = [0.0, 0.5, 1.0], y = [4.5, 3.5], y_unit = "V", source = "x" }\n')
    assert_names(load_error(f), f, "kinetics.ocv", "malformed table", "equal length >= 2", "3 and 2")


def test_table_x_not_increasing(tmp_path):
    f = write(tmp_path, '[kinetics]\nocv = { x = [0.0, 0.6, 0.5], y = [4.5, 4.0, 3.5], y_unit = "V", source = "x" }\n')
    assert_names(load_error(f), f, "kinetics.ocv", "malformed table", "strictly increasing")


def test_table_non_numeric_cell(tmp_path):
    f = write(tmp_path, '[kinetics]\nocv = { x = [0.0, 0.5, 1.0], y = [4.5, "four", 3.5], y_unit = "V", source = "x" }\n')
    assert_names(load_error(f), f, "kinetics.ocv.y[1]", "cannot read", "V")


def test_log_table_needs_positive_y(tmp_path):
    f = write(tmp_path, '[kinetics]\nocv = { x = [0.0, 1.0], y = [4.5, 0.0], y_unit = "V", interpolation = "log", '
                        'source = "x" }\n')
    assert_names(load_error(f), f, "kinetics.ocv", "log interpolation needs y > 0")
    f = write(tmp_path, '[transport]\ndiffusivity = { x = [0.0, 1.0], y = ["1e-14 cm^2/s", "0 cm^2/s"], '
                        'interpolation = "log", source = "x" }\n')
    assert_names(load_error(f), f, "transport.diffusivity.y[1]", "> 0 m ** 2 / s")


def test_table_bad_interpolation(tmp_path):
    f = write(tmp_path, '[kinetics]\nocv = { x = [0.0, 1.0], y = [4.5, 3.5], y_unit = "V", interpolation = "cubic", '
                        'source = "x" }\n')
    assert_names(load_error(f), f, "kinetics.ocv", "cubic", "linear or log")


def test_log_table_interpolates_in_log(tmp_path):
    f = write(tmp_path, '[transport]\ndiffusivity = { x = [0.0, 1.0], y = [1e-14, 1e-12], y_unit = "cm^2/s", '
                        'interpolation = "log", source = "x" }\n')
    D = load_params(f).transport.diffusivity
    assert D(0.5) == pytest.approx(1e-17)     # geometric mean, in m^2/s
    assert D(2.0) == pytest.approx(1e-16)     # held beyond the table


# --------------------------------------------------------------------------- units, inheritance, shipped sets
@pytest.mark.parametrize("value, unit, si", [
    ("1e-17 cm^2/s", "m^2/s", 1e-21), ("25 degC", "K", 298.15), ("20 %", "", 0.2), ("8 um", "m", 8e-6),
    ("150 GPa", "Pa", 1.5e11), ("9.977 kJ/mol", "J/mol", 9977.0), (0.3, "", 0.3),
])
def test_unit_conversion(value, unit, si):
    assert to_si(value, unit) == pytest.approx(si, rel=1e-12)


def test_inheritance_and_override(tmp_path):
    write(tmp_path, '[geometry]\nparticle_radius = { value = "5 um", source = "base" }\n', name="base.toml")
    child = write(tmp_path, '[geometry]\nvoid_radius = { value = "0.4 um", source = "child" }\n', name="child.toml",
                  inherits="base")
    p = load_params(child)
    assert p.files == (child, tmp_path / "base.toml", PARAMS_DIR / "lmr_default.toml")
    assert p.geometry.particle_radius == pytest.approx(5e-6) and p.geometry.void_radius == pytest.approx(0.4e-6)
    assert p.sources["geometry.particle_radius"] == "base" and p.sources["geometry.void_radius"] == "child"
    assert p.mechanics.youngs_modulus == pytest.approx(150e9)      # from lmr_default
    q = p.override({"geometry.void_radius": "0.3 um", "mechanics.poisson_ratio": 0.25})
    assert q.geometry.void_radius == pytest.approx(0.3e-6) and q.mechanics.poisson_ratio == 0.25
    assert p.geometry.void_radius == pytest.approx(0.4e-6)          # the original is unchanged
    assert q.sources["geometry.void_radius"].startswith("override")
    with pytest.raises(InputError) as err:
        p.override({"geometry.void_radius": "6 um"})
    assert "geometry.void_radius" in str(err.value) and "smaller than the particle radius" in str(err.value)
    with pytest.raises(InputError) as err:
        p.override({"geometry.radius": "6 um"})
    assert err.value.file == "--set" and "particle_radius" in str(err.value)
    assert load_params(child, {"mesh.size_outer": "1 um"}).mesh.size_outer == pytest.approx(1e-6)


@pytest.mark.parametrize("path", sorted(PARAMS_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_set_loads(path):
    p = load_params(path.stem)
    assert p.files[0] == path and p.as_dict()["name"] == path.stem
    for sec in ("geometry", "mesh", "transport", "kinetics", "mechanics", "oxygen", "primary"):
        assert getattr(p, sec) is not None
    assert all(math.isfinite(v) for v in np.atleast_1d(p.transport.diffusivity.y))


# --------------------------------------------------------------------------- CLI
def test_cli_params_bad_file_exits_2(tmp_path):
    f = write(tmp_path, '[mechanics]\npoisson_ratio = { value = "0.6", source = "x" }\n')
    res = subprocess.run([sys.executable, "-m", "sim", "params", str(f)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert str(f) in lines[0] and "mechanics.poisson_ratio" in lines[0] and "< 0.5" in lines[0]
    ok = subprocess.run([sys.executable, "-m", "sim", "params", "liu2024"], capture_output=True, text=True,
                        env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert ok.returncode == 0 and "particle_radius" in ok.stdout
