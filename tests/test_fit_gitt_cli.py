"""``sim fit-gitt``: a synthetic GITT curve from a hidden D(x) is fitted from its CSV; bad input writes nothing."""
import json

import dolfinx_solver  # noqa: F401
import numpy as np
import pytest
from mpi4py import MPI

from sim.cli import main
from sim.mesh import radial_mesh
from sim.params import load_params
from sim.scenarios.gitt import GittProtocol
from sim.scenarios.gitt_fit import simulate, with_diffusivity

KNOTS, HIDDEN, SIGMA = [0.6, 0.95], [2e-15, 1e-14], 5e-4
SET = "particle.toml"


def _curve(tmp_path):
    """A 1 um particle set (i0 = 1 A/m^2) and its 3-pulse curve on a finer mesh and time step than the fit's."""
    (tmp_path / SET).write_text('[meta]\ninherits = "lmr_default"\n[geometry]\n'
                                'particle_radius = { value = "1 um", source = "test" }\n'
                                'void_radius = { value = "0 um", source = "test" }\n'
                                'pores = { value = [], source = "test" }\n'
                                '[transport]\nx_initial = { value = "0.95", source = "test" }\n')
    p = load_params(tmp_path / SET)
    protocol = GittProtocol(c_rate=1.0, pulse=300.0, rest=600.0, upper_voltage=4.8, max_pulses=3)
    t = np.arange(5.0, protocol.initial_rest + 3 * 900.0, 10.0)
    v = simulate(with_diffusivity(p, KNOTS, HIDDEN), protocol, t, radial_mesh(1e-6, n_cells=32, comm=MPI.COMM_SELF),
                 steps_per_pulse=50) + np.random.default_rng(1).normal(0.0, SIGMA, t.size)
    path = tmp_path / "curve.csv"
    np.savetxt(path, np.column_stack([t, v]), delimiter=",", header="t_s,voltage_V", comments="")
    return path


ARGS = ["--knots", "0.6,0.95", "--c-rate", "1", "--pulse", "5 min", "--rest", "600 s", "--pulses", "3",
        "--sigma", "0.5 mV", "--mesh-cells", "12", "--steps-per-pulse", "10",
        "--fix-i0", "--initial-d", "3e-15 m^2/s,6e-15 m^2/s"]


@pytest.mark.slow      # ~20 s of CPU (the fit itself is covered by tests/test_li_fit.py in the default suite)
def test_fit_gitt_cli_recovers_the_hidden_d(tmp_path, capsys):
    curve = _curve(tmp_path)
    out = tmp_path / "fit"
    assert main(["fit-gitt", str(curve), "--params", str(tmp_path / SET), "--out", str(out), *ARGS]) == 0
    result = json.loads((out / "fit_gitt.json").read_text())
    for d, (lo, hi) in zip(HIDDEN, result["D_ci95_m2_s"]):
        assert lo <= d <= hi and hi / lo < 2.0
    assert result["protocol"]["pulse_s"] == 300.0 and result["sigma_V"] == pytest.approx(5e-4)
    assert result["verdict"].startswith("fits") and "refine" not in result["verdict"]
    assert result["model_error_sigma"] < 0.5 and result["forward_model"]["rtol"] == pytest.approx(1e-5)
    printed = capsys.readouterr().out
    assert "verdict: fits" in printed and "forward model error" in printed


def test_verdict_asks_for_a_finer_forward_model_when_its_error_rivals_the_noise():
    from sim.scenarios.fit_gitt_cli import verdict
    from sim.scenarios.gitt_fit import LiFitResult

    def fit(model_error):
        return LiFitResult((0.6, 0.95), (2e-15, 1e-14), ((1.8e-15, 2.2e-15), (9e-15, 1.1e-14)), 1.0, None, 1.0,
                           5e-4, 10, "all", {"model_error_sigma": model_error})

    assert "refine --mesh-cells" in verdict(fit(2.2)) and "2.2 sigma" in verdict(fit(2.2))
    assert "refine" not in verdict(fit(0.1))


def test_fit_gitt_cli_bad_input_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,volts\n1,4.0\n2,4.1\n3,4.2\n")
    out = tmp_path / "fit"
    assert main(["fit-gitt", str(bad), "--params", "lmr_default", "--out", str(out), *ARGS]) == 2
    assert "t_s, voltage_V" in capsys.readouterr().err and not out.exists()
    assert main(["fit-gitt", str(bad), "--params", "lmr_default", "--out", str(out), *ARGS[:-3],
                 "--window", "pulses"]) == 2
    assert "--window" in capsys.readouterr().err and not out.exists()
    assert main(["fit-gitt", str(bad), "--params", "lmr_default", "--out", str(out), *ARGS, "--rtol", "0.5"]) == 2
    assert "--rtol" in capsys.readouterr().err and not out.exists()
