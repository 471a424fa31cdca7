"""The installed package works outside the clone: data found through importlib.resources (issue 11, item 1).

Builds the wheel (``pip wheel --no-deps .``) and also installs the clone non-editably (``pip install .``),
each into a fresh virtual environment whose dependencies come from the running interpreter's
site-packages (a ``.pth`` line, added after the install so pip never sees the clone's own install) and
its prefix's shared libraries (the ``mpich`` wheel's ``libmpi`` is found relative to the prefix), then
runs the README's commands from a temporary folder outside the clone with no ``PYTHONPATH``.
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _setup_tables() -> tuple[dict, list]:
    """``DATA`` (package -> clone folder) and ``FILES`` (patterns) of setup.py, read without running it."""
    tree = ast.parse((REPO / "setup.py").read_text())
    found = {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name) and t.id in ("DATA", "FILES")}
    return found["DATA"], found["FILES"]


def test_every_folder_of_shipped_files_is_in_the_wheel():
    """Package data are not recursive: a subfolder of a mapped folder holding files of the shipped types
    (a sweep's parameter sets, profiles) reaches the wheel only if setup.py maps it too. Each kind of
    sim.resources is a mapped package."""
    from sim.resources import KINDS

    data, patterns = _setup_tables()
    mapped = {(REPO / folder).resolve() for folder in data.values()}
    missing = sorted(str(sub.relative_to(REPO)) for root in mapped for sub in root.rglob("*")
                     if sub.is_dir() and sub.resolve() not in mapped and not any(p.startswith((".", "__")) for p in
                                                                             sub.relative_to(REPO).parts)
                     and any(next(sub.glob(pattern), None) for pattern in patterns))
    assert not missing, f"folders of shipped files not in setup.py's DATA: {missing}"
    assert {f"sim._data.{kind}": folder for kind, (folder, _) in KINDS.items()}.items() <= data.items()


def _pip(*args, cwd=REPO):
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}   # pip must see only the target env
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def _fresh_env(where: Path, *install_args) -> Path:
    """A venv at ``where`` with ``sim`` installed by ``pip install --no-deps <install_args>``."""
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    _pip("--python", str(python), "install", "--no-deps", "--force-reinstall", *install_args)
    site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_sim_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    for lib in (Path(sys.prefix) / "lib").iterdir():   # shared libraries pip wheels put in the prefix (libmpi)
        if not lib.name.startswith("python") and not (where / "lib" / lib.name).exists():
            (where / "lib" / lib.name).symlink_to(lib)
    return where


def _source_copy(dest: Path) -> Path:
    """The clone's tracked files (all of them when it is not a git checkout), copied to ``dest``.

    Building from a copy keeps setuptools' ``build/`` and ``*.egg-info`` out of the clone, so the two
    installs below can run at once on different xdist workers without one deleting the other's build.
    """
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True)
    if tracked.returncode != 0:
        return Path(shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")))
    for name in filter(None, tracked.stdout.split("\0")):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    return dest


@pytest.fixture(scope="module", params=["wheel", "pip install ."])
def installed(request, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pkg")
    source = _source_copy(root / "src")
    if request.param == "wheel":
        _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(root / "dist"), str(source))
        wheels = list((root / "dist").glob("*.whl"))
        assert len(wheels) == 1, wheels
        return _fresh_env(root / "venv", str(wheels[0]))
    return _fresh_env(root / "venv", str(source))     # pip builds it in an isolated env (setuptools from the index)


def _sim(env: Path, *args, cwd: Path):
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(env / "bin" / "sim"), *args], cwd=cwd, env=clean, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"sim {' '.join(args)}: {done.stdout[-1500:]}{done.stderr[-1500:]}"
    return done.stdout


def test_installed_package_runs_outside_the_clone(installed, tmp_path):
    where = subprocess.run([str(installed / "bin" / "python"), "-c",
                            "import sim, sim.resources as r; print(sim.__file__); print(r.data_dir('params'));"
                            "print(r.example_profile()); print(','.join(r.listing('scenarios')));"
                            "import sim.bench as b; print(b.BENCH_DIR); print(b.PHASE_FIELD_CASE)"],
                           cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
                           capture_output=True, text=True, check=True).stdout.split("\n")
    package, params_dir, example, scenarios, bench, bench_case = where[:6]
    assert Path(package).is_relative_to(installed), package             # the installed copy, not the clone
    # sim bench's workers, peers and cases ship too
    assert Path(bench).is_relative_to(installed) and Path(bench_case).is_file()
    assert all((Path(bench) / f).is_file() for f in ("bench3d.py", "bench_pf3d.py", "solver_only.py",
                                                     "pybamm_peer.py", "sphere_discharge.toml"))
    assert Path(params_dir).is_relative_to(installed) and Path(example).is_file()
    assert "gitt_li2019" in scenarios.split(",")

    out = _sim(installed, "params", "liu2024", cwd=tmp_path)
    radius = next(line for line in out.splitlines() if line.strip().startswith("particle_radius"))
    assert " 8 μm " in radius, radius                                    # shown in the unit people write

    _sim(installed, "scenario", "gitt_li2019", "--quick", "--out", "gitt", cwd=tmp_path)
    summary = json.loads((tmp_path / "gitt" / "summary.json").read_text())
    assert summary["scenario"] == "gitt" and summary["quick"] is True

    _sim(installed, "fit", example, "--out", "fit", cwd=tmp_path)
    fits = json.loads((tmp_path / "fit" / "fit.json").read_text())
    d_o = fits["files"]["example_profile"]["models"]["diffusion"]["D_O_cm2_s"]
    assert 1e-18 < d_o < 1e-16, d_o                                     # the example was made with 1e-17 cm^2/s
