"""Typed configs from TOML: nested frozen dataclasses built from plain dicts, with clear errors."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

from mocap.errors import InputError


def from_dict(klass: type, data: dict[str, Any], *, source: str | Path | None = None, where: str = ""):
    """Build the frozen dataclass ``klass`` from ``data``; nested dataclass fields take tables.

    Unknown keys and wrong types raise ``InputError`` naming the file, the table and the valid keys.
    """
    fields = {f.name: f for f in dataclasses.fields(klass)}
    hints = typing.get_type_hints(klass)
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise InputError(f"unknown setting [{where}] {key!r}" if where else f"unknown setting {key!r}",
                             path=source, fix=f"valid settings are: {', '.join(sorted(fields))}")
        sub = hints.get(key)
        if dataclasses.is_dataclass(sub) and isinstance(value, dict):
            value = from_dict(sub, value, source=source, where=f"{where}.{key}" if where else key)
        kwargs[key] = value
    try:
        return klass(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InputError(f"invalid [{where}] settings: {exc}", path=source,
                         fix="check the setting names and types") from exc


def to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict of a dataclass config, without ``None`` values (TOML has no null)."""

    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if x is not None}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return clean(dataclasses.asdict(config))
