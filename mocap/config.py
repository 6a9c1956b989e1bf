"""Typed configs from TOML: nested frozen dataclasses built from plain dicts, with clear errors."""

from __future__ import annotations

import dataclasses
import math
import types
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
            import difflib

            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError((f"unknown setting [{where}] {key!r}" if where else f"unknown setting {key!r}") + hint,
                             path=source, fix=f"valid settings are: {', '.join(sorted(fields))}")
        name = f"{where}.{key}" if where else key
        sub = hints.get(key)
        if dataclasses.is_dataclass(sub) and isinstance(value, dict):
            value = from_dict(sub, value, source=source, where=name)
        else:
            value = _checked(value, sub, name, source)
        kwargs[key] = value
    try:
        return klass(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InputError(f"invalid [{where}] settings: {exc}", path=source,
                         fix="check the setting names and types") from exc


def _checked(value: Any, hint: Any, name: str, source: str | Path | None) -> Any:
    """``value`` as the type ``hint`` asks for (an int where a float is due becomes a float, a list where a
    tuple is due a tuple); another type raises ``InputError``. Hints not listed here pass through."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for arm in args:
            try:
                return _checked(value, arm, name, source)
            except InputError:
                pass
        expected = " or ".join(_describe(a) for a in args if a is not type(None))
    elif origin is typing.Literal:
        if value in args:
            return value
        expected = "one of " + ", ".join(repr(a) for a in args)
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if isinstance(value, (list, tuple)):
            return tuple(_checked(v, args[0], f"{name}[{i}]", source) for i, v in enumerate(value))
        expected = "a list of " + {str: "strings", int: "integers", float: "numbers"}.get(args[0], str(args[0]))
    elif hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            number = float("inf")
        if math.isfinite(number):
            return number
        expected = "a finite number"
    elif hint is int and isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        expected = "an integer of sensible size"
    elif hint in (bool, int, str) or dataclasses.is_dataclass(hint):
        if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
            return value
        expected = _describe(hint)
    else:
        return value
    table, _, key = name.rpartition(".")
    raise InputError(f"setting {f'[{table}] ' if table else ''}{key} must be {expected}, not {value!r}",
                     path=source, fix=f"set {key} to {expected}")


def _describe(hint: Any) -> str:
    if dataclasses.is_dataclass(hint):
        return "a table"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", type(None): "absent"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict of a dataclass config, without ``None`` values (TOML has no null)."""

    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if x is not None}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return clean(dataclasses.asdict(config))


def field_docs(klass: type) -> dict[str, str]:
    """The docstring under each field of a dataclass (``name: type = default`` then ``\"\"\"doc\"\"\"``), by
    field name, from the class's source (and its bases'); fields without one are left out."""
    import ast
    import inspect
    import textwrap

    docs: dict[str, str] = {}
    for cls in reversed(klass.__mro__):
        if not dataclasses.is_dataclass(cls):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, nxt in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(nxt, ast.Expr)
                    and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str)):
                docs[node.target.id] = " ".join(inspect.cleandoc(nxt.value.value).split())
    return docs
