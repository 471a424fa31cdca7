"""Lamella projection, profile I/O, D_O fitting and the `sim fit` / `sim oxygen` commands."""
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sim import cli
from sim.errors import InputError
from sim.oxygen.fit import fit_profile
from sim.oxygen.profiles import profile_from_map, read_profile
from sim.oxygen.projection import LamellaProjection, _radial_blur
from sim.oxygen.protocol import mn3_per_vacancy
from sim.params import load_params

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "validation" / "csernica2021"))
from make_example import synthetic_profile  # noqa: E402

EXAMPLE = REPO / "validation" / "csernica2021" / "example_profile.csv"
PARAMS = load_params("csernica2021")


def _main(argv):
    """`sim` main() with only this model's commands registered (others may be work in progress)."""
    saved = dict(cli.COMMANDS)
    cli.COMMANDS.clear()
    cli.COMMANDS.update({"fit": "sim.oxygen.fit_cli", "oxygen": "sim.oxygen.cli"})
    try:
        return cli.main(argv)
    finally:
        cli.COMMANDS.clear()
        cli.COMMANDS.update(saved)


def test_stoichiometry_check():
    assert 0.033 * mn3_per_vacancy(PARAMS.oxygen) == pytest.approx(0.249, abs=0.002)  # 3.3 at.% O <-> Mn3+ 0.25


def test_projection_closed_forms():
    R, L = 120e-9, 80e-9
    d = np.linspace(0, 110e-9, 23)
    blurred = LamellaProjection(R, L, d, offset=20e-9, blur_fwhm=10e-9)
    assert np.abs(blurred.apply(np.ones_like) - 1).max() < 1e-12          # a ratio: constants pass unchanged
    thin = LamellaProjection(R, L, d)
    rho = R - d
    inside = rho < np.sqrt(R**2 - L**2 / 4)                              # full chord: mean z^2 = L^2/12
    assert np.abs(thin.apply(lambda r: r**2)[inside] - (rho**2 + L**2 / 12)[inside]).max() < 1e-5 * R**2
    nodes = np.linspace(0, R, 801)
    f = lambda r: (r / R) ** 4  # noqa: E731
    assert np.abs(blurred.matrix(nodes) @ f(nodes) - blurred.apply(f)).max() < 1e-5
    # 2D Gaussian blur of a Gaussian of width s: Gaussian of width sqrt(s^2 + sigma^2)
    g, s, sig = np.linspace(0, 200, 2001), 20.0, 8.0
    out = _radial_blur(g, g, sig) @ np.exp(-g**2 / (2 * s**2))
    assert np.abs(out - s**2 / (s**2 + sig**2) * np.exp(-g**2 / (2 * (s**2 + sig**2)))).max() < 1e-4


def test_fit_recovers_D_with_coverage():
    true = 1e-21  # m^2/s = 1e-17 cm^2/s
    inside, errors = 0, []
    t0 = time.perf_counter()
    for seed in range(12):
        prof = synthetic_profile(true, 120e-9, 80e-9, 125, 1.42, 0.6, 0.05, 0.025, seed)
        fit = fit_profile(prof, PARAMS)["diffusion"]
        inside += fit.ci95[0] <= true <= fit.ci95[1]
        errors.append(abs(np.log10(fit.D_O / true)))
    print(f"12 fits in {time.perf_counter() - t0:.1f} s; true D inside the 95 % CI {inside}/12; "
          f"median |log10 error| {np.median(errors):.3f}")
    assert inside >= 10
    assert np.median(errors) < 0.1


def test_fit_with_offset_recovers_offset_and_D():
    prof = synthetic_profile(3e-21, 130e-9, 80e-9, 60, 1.42, 0.5, 0.02, 0.015, 7, offset=50e-9)
    fit = fit_profile(prof, PARAMS, fit_offset=True)["diffusion"]
    assert fit.ci95[0] <= 3e-21 <= fit.ci95[1]
    assert abs(fit.offset - 50e-9) < 20e-9


def test_core_shell_loses_on_diffusion_data_and_wins_on_its_own():
    fits = fit_profile(read_profile(EXAMPLE), PARAMS)
    assert fits["core_shell"].aic - fits["diffusion"].aic > 10
    # the comparison can fail: projected core-shell data are fitted better by the core-shell model
    prof = read_profile(EXAMPLE)
    shell = LamellaProjection(prof.particle_radius, prof.lamella_thickness, prof.distance,
                              blur_fwhm=10e-9).shell_fraction(35e-9)
    noisy = 0.05 + 0.55 * shell + np.random.default_rng(3).normal(0, 0.025, shell.size)
    prof2 = type(prof)(prof.distance, noisy, prof.sigma, prof.quantity, prof.particle_radius, prof.lamella_thickness,
                       prof.cycles, prof.hours_delithiated_per_cycle, 0.0, 10e-9)
    fits2 = fit_profile(prof2, PARAMS)
    assert fits2["diffusion"].aic - fits2["core_shell"].aic > 10
    assert fits2["core_shell"].front_depth == pytest.approx(35e-9, abs=4e-9)


GOOD = EXAMPLE.read_text()


@pytest.mark.parametrize("edit, key", [
    (lambda s: s.replace("# cycles: 125\n", ""), "cycles"),
    (lambda s: s.replace("distance_nm,mn3_fraction,sigma", "distance_nm,mn3,sigma"), "line 10"),
    (lambda s: s.replace("2.5,0.56789534,0.025", "2.5,abc,0.025"), "line 11, column mn3_fraction"),
    (lambda s: s.replace("2.5,0.56789534,0.025", "2.5,0.56789534,0"), "line 11, column sigma"),
    (lambda s: s.replace("2.5,0.56789534,0.025", "250,0.56789534,0.025"), "line 11, column distance_nm"),
    (lambda s: s.replace("# quantity: mn3_fraction", "# quantity: mn4"), "quantity"),
    (lambda s: s.replace("# particle_radius_nm: 120", "# particle_radius_nm: -5"), "particle_radius_nm"),
])
def test_bad_profile_files(tmp_path, edit, key, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(edit(GOOD))
    with pytest.raises(InputError) as err:
        read_profile(bad)
    assert err.value.key == key and err.value.file == str(bad)
    assert _main(["fit", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "bad.csv" in capsys.readouterr().err
    assert not (tmp_path / "out" / "fit.json").exists()


def _disk_map(n=101, pixel=2.5e-9, radius=120e-9, seed=0):
    c = (n - 1) / 2
    y, x = np.mgrid[0:n, 0:n]
    rho = np.hypot(x - c, y - c) * pixel
    mask = rho <= radius
    clean = 0.05 + 0.5 * np.exp(-(radius - rho) / 30e-9)
    return clean + np.random.default_rng(seed).normal(0, 0.02, clean.shape), mask, clean


def test_map_binning_recovers_profile():
    values, mask, clean = _disk_map()
    d, mean, se, r_eq = profile_from_map(values, mask, 2.5e-9)
    assert r_eq == pytest.approx(120e-9, rel=0.02)
    expected = 0.05 + 0.5 * np.exp(-d / 30e-9)
    slope = 0.5 / 30e-9 * np.exp(-d / 30e-9)
    # distances from a pixelated edge are good to about half a pixel; the rest is noise (4 standard errors over ~50 bins)
    assert np.all(np.abs(mean - expected) < 4 * se + 0.5 * 2.5e-9 * slope) and np.all(se > 0)
    assert d[0] < 2.5e-9 and np.all(np.diff(d) > 0)


def test_bad_maps(tmp_path):
    values, mask, _ = _disk_map()
    with pytest.raises(InputError, match="empty particle mask"):
        profile_from_map(values, np.zeros_like(mask), 2.5e-9)
    with pytest.raises(InputError, match="shape"):
        profile_from_map(values[:-1], mask, 2.5e-9)
    np.save(tmp_path / "map.npy", values)
    np.save(tmp_path / "empty.npy", np.zeros_like(mask))
    argv = ["fit", str(tmp_path / "map.npy"), "--out", str(tmp_path / "o"), "--mask", str(tmp_path / "empty.npy"),
            "--pixel-size", "2.5 nm", "--cycles", "125", "--hours", "1.42"]
    assert _main(argv) == 2
    assert _main(argv[:4]) == 2  # a map without --mask, --pixel-size, ...: InputError, exit 2


def test_sim_fit_end_to_end(tmp_path, capsys):
    values, mask, _ = _disk_map()
    np.save(tmp_path / "map.npy", values)
    np.save(tmp_path / "mask.npy", mask)
    t0 = time.perf_counter()
    code = _main(["fit", str(EXAMPLE), str(tmp_path / "map.npy"), "--out", str(tmp_path / "fit"),
                  "--mask", str(tmp_path / "mask.npy"), "--pixel-size", "2.5 nm", "--cycles", "125", "--hours", "1.42"])
    elapsed = time.perf_counter() - t0
    out = capsys.readouterr().out
    print(out, f"\n`sim fit` of 2 profiles: {elapsed:.1f} s")
    assert code == 0 and "diffusion" in out and "core_shell" in out
    result = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert set(result["files"]) == {"example_profile", "map"}
    for entry in result["files"].values():
        for model in ("diffusion", "core_shell"):
            m = entry["models"][model]
            for key in ("D_O_cm2_s", "ci95_cm2_s", "reduced_chi2", "aic", "bic", "surface_o_vacancy_fraction",
                        "bulk_o_vacancy_fraction"):
                assert key in m
            assert m["ci95_cm2_s"][0] <= m["D_O_cm2_s"] <= m["ci95_cm2_s"][1]
        assert Path(entry["png"]).stat().st_size > 10_000
    assert (tmp_path / "fit" / "map_profile.csv").exists()
    assert result["files"]["example_profile"]["preferred_model"] == "diffusion"


def test_sim_oxygen_case_end_to_end(tmp_path):
    from sim.oxygen.closed_form import sphere_fixed_surface_mean

    case = REPO / "validation" / "csernica2021" / "case.toml"
    code = _main(["oxygen", str(case), "--out", str(tmp_path / "run"), "--set", "protocol.cycles=20",
                  "--set", "oxygen.surface_vacancy_fraction=0.05", "--set", "oxygen.formation_layer_thickness=0 nm"])
    assert code == 0
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    hist = np.loadtxt(tmp_path / "run" / "o_loss.csv", delimiter=",", skiprows=1)
    assert hist.shape == (20, 4) and np.all(np.diff(hist[:, 2]) > 0)
    tau = s["D_O_cm2_s"] * 1e-4 * 20 * 1.42 * 3600 / (120e-9) ** 2
    assert s["o_loss_at_pct_final"] == pytest.approx(5.0 * sphere_fixed_surface_mean(tau)[0], rel=5e-3)
    for name in ("radial_profile.csv", "lamella_profile.csv", "profile.png", "params.json"):
        assert (tmp_path / "run" / name).exists()
    assert _main(["oxygen", str(case), "--out", str(tmp_path / "bad"), "--set", "protocol.cycles=0"]) == 2
    assert _main(["oxygen", str(case), "--out", str(tmp_path / "bad"), "--set", "protocol.colour=1"]) == 2


def test_sim_oxygen_applies_the_formation_layer_of_the_shipped_set(tmp_path):
    """csernica2021 carries the formation layer fitted to 3.3 at.% after cycle 1: `sim oxygen` must use it."""
    case = REPO / "validation" / "csernica2021" / "case.toml"
    assert _main(["oxygen", str(case), "--out", str(tmp_path / "run"), "--set", "protocol.cycles=1"]) == 0
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert s["formation_layer_thickness_nm"] > 0
    assert s["o_loss_at_pct_cycle_1"] == pytest.approx(3.3, rel=0.03)
    assert 0 < s["penetration_depth_10pct_nm"] < 60          # surface-confined after one cycle
