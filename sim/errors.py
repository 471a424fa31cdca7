"""Typed errors. User errors print one clear line and exit non-zero; solver errors carry time and reason."""
from __future__ import annotations


class SimError(Exception):
    """Base class for every error the toolkit raises on purpose."""


class InputError(SimError):
    """Bad user input: names the file, the key and what is allowed.

    The CLI prints ``str(err)`` (no traceback) and exits with status 2.
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None):
        self.file, self.key, self.detail = file, key, message
        where = ": ".join(str(p) for p in (file, key) if p)
        super().__init__(f"{where}: {message}" if where else message)


class SolverError(SimError):
    """A solve that failed after retries; carries the model time and PETSc's reason.

    Whatever the run had written before the failure is kept; the CLI exits with status 3.
    """

    def __init__(self, message: str, *, time: float | None = None, reason: str | None = None):
        self.time, self.reason = time, reason
        parts = [message]
        if time is not None:
            parts.append(f"at t = {time:.6g} s")
        if reason:
            parts.append(f"(reason: {reason})")
        super().__init__(" ".join(parts))
