"""``sim.io``: atomic files and staged results folders leave either the old or the complete new result."""
from __future__ import annotations

import numpy as np
import pytest

from sim.case import MARKER, write_marker
from sim.errors import InputError
from sim.io import (StagedDir, hidden_sibling, read_toml, remove_leftovers, save_npz_atomic, savefig_atomic,
                    write_atomic, write_text_atomic)


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_atomic_files_and_a_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "sub" / "a.json"
    write_text_atomic(target, "old")                     # creates the parent
    with pytest.raises(ZeroDivisionError):
        write_atomic(target, lambda tmp: (tmp.write_text("half"), 1 / 0))
    assert target.read_text() == "old" and names(target.parent) == ["a.json"]   # no temp file left

    save_npz_atomic(tmp_path / "t.npz", u=np.arange(3))
    with np.load(tmp_path / "t.npz") as f:
        assert f["u"].tolist() == [0, 1, 2]

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, _ = plt.subplots()
    savefig_atomic(fig, tmp_path / "f.png", dpi=20)
    plt.close(fig)
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert names(tmp_path) == ["f.png", "sub", "t.npz"]


def test_staged_dir_refuses_publishes_keeps_failed_and_discards(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "old.txt").write_text("1")
    with pytest.raises(InputError, match="not empty.*--overwrite"):
        StagedDir(out, overwrite=False)
    assert names(tmp_path) == ["res"]                    # refused before anything was created

    with pytest.raises(InputError, match="not a results folder this toolkit wrote"):
        StagedDir(out, overwrite=True)                   # --overwrite never deletes a folder we did not write
    assert names(out) == ["old.txt"]
    write_marker(out)

    stage = StagedDir(out, overwrite=True)
    (stage.path / "new.txt").write_text("2")
    assert names(out) == [MARKER, "old.txt"]             # the old folder stays until publish
    stage.publish()
    assert names(out) == [MARKER, "new.txt"] and names(tmp_path) == ["res"]

    with pytest.raises(RuntimeError):
        with StagedDir(out, failed=tmp_path / "res.partial") as tmp:
            (tmp / "part.txt").write_text("x")
            raise RuntimeError("solver failed")
    assert names(tmp_path) == ["res", "res.partial"] and names(tmp_path / "res.partial") == [MARKER, "part.txt"]
    assert names(out) == [MARKER, "new.txt"]
    with pytest.raises(InputError):                      # bad input found late leaves no .partial either
        with StagedDir(tmp_path / "late", failed=tmp_path / "late.partial") as tmp:
            raise InputError("bad", key="k")
    assert names(tmp_path) == ["res", "res.partial"]

    with pytest.raises(KeyError):
        with StagedDir(tmp_path / "other") as tmp:
            raise KeyError
    assert names(tmp_path) == ["res", "res.partial"]     # discarded, nothing at "other"

    with StagedDir(out, merge=True) as tmp:
        (tmp / "more.txt").write_text("3")
    assert names(out) == [MARKER, "more.txt", "new.txt"]  # merged: the other files stay

    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="not a folder"):
        StagedDir(tmp_path / "file")


def test_staged_dir_merges_into_the_working_directory(tmp_path, monkeypatch):
    """``sim mesh --out .``: "." (and "..") stage beside the folder they name, not at an empty name."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert hidden_sibling(".").parent == tmp_path and hidden_sibling(".").name.startswith(".work.tmp-")
    with StagedDir(".", merge=True) as tmp:
        (tmp / "mesh.msh").write_text("m")
    assert names(work) == [MARKER, "mesh.msh"] and names(tmp_path) == ["work"]


def test_leftovers_and_toml_errors(tmp_path):
    hidden_sibling(tmp_path / "case").mkdir()
    hidden_sibling(tmp_path / "case", "old").mkdir()
    hidden_sibling(tmp_path / "x.csv").write_text("")
    (tmp_path / ".keep").write_text("")
    remove_leftovers(tmp_path)
    assert names(tmp_path) == [".keep"]

    with pytest.raises(InputError, match=r"nope\.toml: case file not found"):
        read_toml(tmp_path / "nope.toml", "case file")
    (tmp_path / "bad.toml").write_text("x = ")
    with pytest.raises(InputError, match=r"bad\.toml: not valid TOML"):
        read_toml(tmp_path / "bad.toml")
    (tmp_path / "ok.toml").write_text("x = 1")
    assert read_toml(tmp_path / "ok.toml") == {"x": 1}
