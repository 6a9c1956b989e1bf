"""Command-line options generated from the stage config dataclasses: one source for names, types, choices,
defaults and help.

Every field of a config becomes ``--field-name`` (nested tables ``--table-field-name``): ``bool`` fields
``--x/--no-x``, ``Literal`` fields a choice, ``tuple[...]`` fields a repeatable option. The help is the
field's docstring and shows the dataclass default; an option not given leaves the setting to the config
file (``--config``) and then to that default, so no default is declared twice.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import click

from mocap.config import field_docs


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """``(type, optional)`` of ``X | None``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return (args[0] if len(args) == 1 else str), True
    return hint, False


def _click_type(hint: Any) -> tuple[Any, bool]:
    """``(click type, multiple)`` for a field type."""
    hint, _ = _unwrap(hint)
    origin = typing.get_origin(hint)
    if origin is tuple:
        inner, multiple = _click_type(typing.get_args(hint)[0])
        return inner, True
    if origin is typing.Literal:
        return click.Choice([str(a) for a in typing.get_args(hint)]), False
    return {bool: bool, int: int, float: float}.get(hint, str), False


def _convert(hint: Any, value: Any) -> Any:
    """A click value back to the field's type (choices of int literals become ints)."""
    hint, _ = _unwrap(hint)
    origin = typing.get_origin(hint)
    if origin is tuple:
        return tuple(_convert(typing.get_args(hint)[0], v) for v in value)
    if origin is typing.Literal:
        for arg in typing.get_args(hint):
            if str(arg) == str(value):
                return arg
    return value


def _default_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) or "none"
    return "none" if value is None else str(value)


@dataclasses.dataclass(frozen=True)
class ConfigOptions:
    """The options of one config dataclass: ``table`` is its name in a run config (``fit``, ``smoothing``)."""

    klass: type
    table: str
    prefix: str = ""
    exclude: tuple[str, ...] = ()

    def fields(self) -> list[tuple[str, str, Any, Any, str]]:
        """``(param name, dotted setting path, type, default, help)`` for every field, nested tables included."""
        return list(_walk(self.klass, self.prefix, "", self.exclude))

    def decorate(self, command):
        for param, path, hint, default, doc in reversed(self.fields()):
            flag = "--" + param.replace("_", "-")
            ctype, multiple = _click_type(hint)
            doc = doc.replace("``", "")
            text = f"{doc} [default: {_default_text(default)}]" if doc else f"[default: {_default_text(default)}]"
            if ctype is bool:
                opt = click.option(f"{flag}/--no-{flag[2:]}", param, default=None, help=text)
            else:
                opt = click.option(flag, param, type=ctype, multiple=multiple, default=None, help=text)
            command = opt(command)
        return command

    def given(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The settings given on the command line as a nested ``{field: value}`` dict for this table
        (removes this config's parameters from ``kwargs``)."""
        out: dict[str, Any] = {}
        for param, path, hint, _, _ in self.fields():
            value = kwargs.pop(param, None)
            if value is None or (isinstance(value, tuple) and not value):
                continue
            node = out
            *parents, leaf = path.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = _convert(hint, value)
        return out


def _walk(klass: type, prefix: str, path: str, exclude: tuple[str, ...]):
    hints = typing.get_type_hints(klass)
    docs = field_docs(klass)
    defaults = klass()
    for f in dataclasses.fields(klass):
        if f.name in exclude:
            continue
        hint = hints[f.name]
        default = getattr(defaults, f.name)
        if dataclasses.is_dataclass(hint):
            yield from _walk(hint, f"{prefix}{f.name}_", f"{path}{f.name}.", ())
            continue
        yield f"{prefix}{f.name}", f"{path}{f.name}", hint, default, docs.get(f.name, "")


def settings_listing(klass: type, table: str = "", indent: str = "  ") -> str:
    """Every table and setting of a nested config (for ``mocap run --help``): ``[table]`` headers, then
    ``name = default`` per setting; nested tables as ``[table.sub]``."""
    hints = typing.get_type_hints(klass)
    defaults = klass()
    plain = [f for f in dataclasses.fields(klass) if not dataclasses.is_dataclass(hints[f.name])]
    lines = [f"[{table}]"] if table else []
    lines += [f"{indent}{f.name} = {_default_text(getattr(defaults, f.name))}" for f in plain]
    for f in dataclasses.fields(klass):
        if dataclasses.is_dataclass(hints[f.name]):
            lines.append(settings_listing(hints[f.name], f"{table}.{f.name}" if table else f.name, indent))
    return "\n".join(lines)


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """``"fit.iterations=30"`` -> ``(["fit", "iterations"], 30)``: the value is read as a TOML value
    (numbers, true/false, ["lists"]), else taken as a string."""
    import tomllib

    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{text!r} is not TABLE.SETTING=VALUE (e.g. fit.iterations=30)")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return [k.strip() for k in key.split(".")], value


def run_overrides(assignments: tuple[str, ...] | list[str], until: str | None = None) -> dict[str, Any]:
    """``--set TABLE.SETTING=VALUE`` options (and ``--until``) as ``{table: {setting: value}}`` overrides."""
    overrides: dict[str, Any] = {"until": until} if until else {}
    for text in assignments:
        keys, value = parse_assignment(text)
        node = overrides
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return overrides
