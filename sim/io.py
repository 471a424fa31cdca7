"""Atomic writes: a reader (or a later run) never sees a half-written file or results folder.

Files are written to a hidden temp file beside the target and renamed with ``os.replace`` (atomic on
POSIX). A results folder is written into a hidden sibling folder and renamed into place at the end
(:class:`StagedDir`). Hidden names are ``.NAME.tmp-XXXXXXXX`` (being written) and ``.NAME.old-XXXXXXXX``
(a replaced folder being deleted); :func:`remove_leftovers` clears those a killed process left behind.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
import uuid
from pathlib import Path

import numpy as np

from sim.errors import InputError


def hidden_sibling(path: str | Path, tag: str = "tmp") -> Path:
    """A fresh name ``.NAME.<tag>-XXXXXXXX`` beside ``path`` (not created); ``.`` and ``..`` name their folder."""
    path = Path(os.path.abspath(path))
    return path.with_name(f".{path.name}.{tag}-{uuid.uuid4().hex[:8]}")


def remove_leftovers(folder: Path) -> None:
    """Delete the hidden ``.NAME.tmp-*`` / ``.NAME.old-*`` files and folders a killed run left in ``folder``."""
    for p in [*folder.glob(".*.tmp-*"), *folder.glob(".*.old-*")]:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


# --------------------------------------------------------------------------- files
def write_atomic(path: str | Path, write) -> Path:
    """Call ``write(tmp)`` on a hidden temp path beside ``path``, then rename it to ``path``.

    The parent folder is created if needed; if ``write`` fails, the temp file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = hidden_sibling(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text))


def savefig_atomic(fig, path: str | Path, **kw) -> Path:
    """``fig.savefig(path, **kw)`` without a half-written image; the format follows ``path``'s suffix."""
    path = Path(path)
    kw.setdefault("format", path.suffix.lstrip(".") or "png")  # the temp name has no usable suffix
    return write_atomic(path, lambda tmp: fig.savefig(tmp, **kw))


def save_npz_atomic(path: str | Path, **arrays) -> Path:
    """``numpy.savez(path, **arrays)`` via a temp file (a file handle, so numpy adds no ``.npz``)."""
    import numpy as np

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    return write_atomic(path, write)


def read_toml(path: str | Path, what: str = "file") -> dict:
    """Parse a TOML file; every read or syntax problem is an InputError naming the file (:func:`sim.case.read_toml`)."""
    from sim.case import read_toml as _read_toml

    return _read_toml(path, what)


# --------------------------------------------------------------------------- folders
def check_out_dir(out: Path, overwrite: bool, *, merge: bool = False) -> None:
    """Refuse a bad ``--out`` before any work (:func:`sim.case.check_out`): a file, under a file, not
    writable, non-empty without ``overwrite``, or (with ``overwrite``) a folder this toolkit did not write."""
    from sim.case import check_out

    check_out(out, overwrite=overwrite, merge=merge)


def replace_dir(src: Path, dst: Path) -> Path:
    """Rename folder ``src`` to ``dst``. An existing ``dst`` is moved to a hidden sibling first and
    deleted only after the rename, so ``dst`` is always either the old or the new folder."""
    old = None
    if dst.exists():
        if not dst.is_dir():
            raise InputError(f"{dst} exists and is not a folder", key="--out")
        old = hidden_sibling(dst, "old")
        os.replace(dst, old)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return dst


def _missing_parents(path: Path) -> list[Path]:
    """The parent folders of ``path`` that do not exist yet, deepest first."""
    return [p for p in Path(path).absolute().parents if not p.exists()]


class StagedDir:
    """A results folder ``out`` written in a hidden sibling ``.OUT.tmp-XXXXXXXX`` (``.path``). Collective.

    ``out`` is checked first (:func:`check_out_dir`: an existing non-empty ``out`` is refused unless
    ``overwrite``, and then only replaced if this toolkit wrote it). Rank 0 removes staging folders a
    killed run of the same ``out`` left (:func:`sim.case.clean_orphans`), creates the folder with the
    results marker (:data:`sim.case.MARKER`) and its owner's pid, and every rank gets its path
    (``comm=None``: a single process). End with one of :meth:`publish`, :meth:`keep_as` or
    :meth:`discard`, or use it as a context manager that yields ``.path``, publishes on success and on
    an exception keeps the partial folder as ``failed`` if given (not for bad input, which leaves
    nothing), else discards it. ``merge=True``: publishing moves the staged files into ``out``
    instead of replacing it, so the other files in ``out`` stay.
    """

    def __init__(self, out: str | Path, *, comm=None, overwrite: bool = True, failed: str | Path | None = None,
                 merge: bool = False, command: str = ""):
        self.out, self.comm, self.merge, self._made = Path(out), comm, merge, []
        self.failed = None if failed is None else Path(failed)
        check_out_dir(self.out, overwrite, merge=merge)
        path = None
        if self._root:
            from sim.case import clean_orphans, mark_owner, write_marker

            self._made = _missing_parents(self.out)       # removed again if nothing is published
            self.out.parent.mkdir(parents=True, exist_ok=True)
            clean_orphans(self.out)
            path = hidden_sibling(self.out)
            path.mkdir()
            mark_owner(path)
            write_marker(path, command)
        self.path = Path(path if comm is None else comm.bcast(path, root=0))

    @property
    def _root(self) -> bool:
        return self.comm is None or self.comm.rank == 0

    def _barrier(self) -> None:
        if self.comm is not None:
            self.comm.barrier()

    def publish(self) -> Path:
        """Rename the staged folder to ``out`` (or move its entries into ``out``), once every rank is done."""
        self._barrier()
        if self._root:
            from sim.case import OWNER

            (self.path / OWNER).unlink(missing_ok=True)
            if self.merge:
                self.out.mkdir(parents=True, exist_ok=True)
                for f in self.path.iterdir():
                    os.replace(f, self.out / f.name)
                shutil.rmtree(self.path, ignore_errors=True)
            else:
                replace_dir(self.path, self.out)
        self._barrier()
        return self.out

    def keep_as(self, dest: Path) -> Path:
        """Rename the staged folder to ``dest`` (replacing an older one); rank 0 only, no barrier,
        so it is safe while handling an error that not every rank has."""
        if self._root:
            from sim.case import OWNER

            (self.path / OWNER).unlink(missing_ok=True)
            replace_dir(self.path, dest)
        return dest

    def discard(self) -> None:
        """Delete the staged folder and the parent folders this stage created (nothing is left behind)."""
        if self._root:
            shutil.rmtree(self.path, ignore_errors=True)
            for parent in self._made:
                try:
                    parent.rmdir()
                except OSError:
                    break            # not empty: something else was put there meanwhile

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.publish()
        elif self.failed is not None and not issubclass(exc_type, InputError):  # bad input leaves nothing
            self.keep_as(self.failed)
        else:
            self.discard()
        return False


# --------------------------------------------------------------------------- terminal output
@contextlib.contextmanager
def quiet_broken_pipe():
    """Printing into a closed pipe (``sim params liu2024 | head``) ends the command quietly with status 0.

    The output is flushed inside the block, so the error cannot surface later at interpreter exit;
    stdout is then pointed at /dev/null so Python's final flush stays silent.
    """
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(0) from None


def json_ready(obj, *, finite: bool = True):
    """``obj`` as plain JSON values: numpy scalars/arrays to Python, paths to strings, and non-finite floats
    (not valid JSON) to ``None`` — the one NaN policy of every JSON file the toolkit writes (pandas reads
    ``null`` back as NaN). ``finite=False`` keeps them (Python's json writes ``Infinity``/``NaN``) for
    internal state that must round-trip exactly, such as a run's checkpoint."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v, finite=finite) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v, finite=finite) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist(), finite=finite)
    if isinstance(obj, np.generic):
        obj = obj.item()
    if finite and isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: str | Path, data) -> Path:
    """The one JSON writer: ``data`` through :func:`json_ready`, indented, atomically (temp file + rename).
    Values JSON does not know are written as their ``str``. Call on one rank."""
    return write_text_atomic(path, json.dumps(json_ready(data), indent=2, allow_nan=False, default=str) + "\n")


# --------------------------------------------------------------------------- markdown tables
class MarkdownTable:
    """A table with a fixed header; ``render()`` gives GitHub markdown (numbers formatted by :func:`fmt_cell`,
    text as given). The one table writer of the reports (``sim bench``, ``sim validate``, sweeps)."""

    def __init__(self, columns: list[str]):
        self.columns = list(columns)
        self.rows: list[list[str]] = []

    def add(self, *cells) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"row has {len(cells)} cells, table has {len(self.columns)} columns")
        self.rows.append([fmt_cell(c) for c in cells])

    def lines(self) -> list[str]:
        return (["| " + " | ".join(self.columns) + " |", "|" + "|".join("---" for _ in self.columns) + "|"]
                + ["| " + " | ".join(r) + " |" for r in self.rows])

    def render(self) -> str:
        return "\n".join(self.lines())


def fmt_cell(value, digits: int = 3) -> str:
    """Numbers to ``digits`` significant figures, None to "—", anything else as str."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"
