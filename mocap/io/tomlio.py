"""TOML reading with clear errors, and atomic TOML writing."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from mocap.errors import InputError
from mocap.io.atomic import write_text


def read_toml(path: str | Path, *, what: str = "TOML file", fix: str | None = None) -> dict[str, Any]:
    """Read a TOML file; a missing or malformed file raises ``InputError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found", path=path, fix=fix or "check the path and spelling")
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{what} is not valid TOML ({exc})",
            path=path,
            fix=fix or "fix the syntax at the line given, or regenerate the file",
        ) from exc


def to_toml_value(value: Any) -> Any:
    """Convert numpy arrays and scalars (recursively) to plain Python for ``tomli_w``."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): to_toml_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [to_toml_value(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def dumps_toml(data: dict[str, Any]) -> str:
    import tomli_w

    return tomli_w.dumps(to_toml_value(data))


def write_toml(path: str | Path, data: dict[str, Any]) -> Path:
    """Atomically write ``data`` as TOML (numpy values converted)."""
    return write_text(path, dumps_toml(data))
