"""User-facing errors: every error names the file involved and says how to fix the problem."""

from __future__ import annotations

from pathlib import Path


class MocapError(Exception):
    """An error the user can act on.

    Args:
        problem: what is wrong, in one sentence.
        path: the file or folder involved, if any.
        fix: what the user should do about it.
    """

    exit_code = 2

    def __init__(self, problem: str, *, path: str | Path | None = None, fix: str | None = None):
        self.problem = problem
        self.path = Path(path) if path is not None else None
        self.fix = fix
        super().__init__(str(self))

    def __reduce__(self):  # keyword-only arguments: pickle (worker processes) needs help to rebuild it
        return _rebuild, (type(self), self.problem, self.path, self.fix)

    def __str__(self) -> str:
        head = f"{self.path}: {self.problem}" if self.path is not None else self.problem
        return f"{head}\n  fix: {self.fix}" if self.fix else head


class InputError(MocapError):
    """A missing, unreadable or malformed input file."""


class QualityGateError(MocapError):
    """A stage finished but its result failed the configured quality thresholds."""

    exit_code = 3


def _rebuild(cls: type, problem: str, path, fix):
    return cls(problem, path=path, fix=fix)
