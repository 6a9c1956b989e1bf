"""One registry shape for every family of plug-ins: calibration formats, 2D keypoint importers, 3D point
formats, export formats and 2D detectors.

A :class:`Registry` holds :class:`Entry` objects keyed by name (plus aliases) and by file suffix, the way
trimesh keys its mesh loaders. An entry names its functions by role (``read``, ``write``, ``create``) as
``"module:attribute"`` strings, imported only when first used, so registering costs nothing and an optional
dependency is needed only by the format that uses it. Options are checked against the function's signature
before it runs, so a misspelt option is an error naming the options the format takes.

Add a format by adding an ``Entry`` to its family's registry (see the README's "Architecture").
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mocap.errors import InputError, MocapError


@dataclass(frozen=True)
class Entry:
    """One plug-in of a family.

    Attributes:
        name: the key users type (``--format trc``).
        description: one line for listings and ``--help``.
        functions: role -> ``"module:attribute"`` (or the callable itself), e.g. ``{"read": ..., "write": ...}``.
        suffixes: file suffixes it is chosen by, lower case with the dot (``".trc"``, ``".qca.txt"``).
        aliases: other names that mean this entry (``pose2sim`` for ``openpose``).
    """

    name: str
    description: str
    functions: dict[str, str | Callable[..., Any]] = field(default_factory=dict)
    suffixes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def can(self, role: str) -> bool:
        return role in self.functions

    def function(self, role: str) -> Callable[..., Any]:
        """The entry's function for ``role``, imported on first use."""
        target = self.functions.get(role)
        if target is None:
            raise MocapError(f"{self.name} cannot {role}",
                             fix=f"{self.name} supports: {', '.join(self.functions) or 'nothing'}")
        if callable(target):
            return target
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)


class Registry:
    """Entries of one family, by name, alias and suffix."""

    def __init__(self, kind: str, entries: Iterable[Entry] = ()):
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._aliases: dict[str, str] = {}
        for entry in entries:
            self.register(entry)

    def register(self, entry: Entry) -> Entry:
        for key in (entry.name, *entry.aliases):
            if key in self._entries or key in self._aliases:
                raise ValueError(f"{self.kind} {key!r} is registered twice")
        self._entries[entry.name] = entry
        self._aliases.update({alias: entry.name for alias in entry.aliases})
        return entry

    def names(self, role: str | None = None) -> list[str]:
        """Entry names (those that can ``role`` when given), in registration order."""
        return [n for n, e in self._entries.items() if role is None or e.can(role)]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) in self._entries

    def _key(self, name: str) -> str:
        key = name.strip().lower()
        return self._aliases.get(key, key)

    def get(self, name: str, role: str | None = None) -> Entry:
        """The entry called ``name`` (or an alias); unknown names are an error with a "did you mean"."""
        entry = self._entries.get(self._key(str(name)))
        choices = self.names(role)
        if entry is None or (role is not None and not entry.can(role)):
            close = difflib.get_close_matches(str(name).lower(), choices + list(self._aliases), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise MocapError(f"unknown {self.kind} {name!r}{hint}", fix=f"use one of: {', '.join(choices)}")
        return entry

    def from_suffix(self, path: str | Path, role: str | None = None) -> Entry | None:
        """The entry whose suffix ends ``path``'s name (the longest match wins), or None."""
        name = Path(path).name.lower()
        best = None
        for entry in self._entries.values():
            if role is not None and not entry.can(role):
                continue
            for suffix in entry.suffixes:
                if name.endswith(suffix) and (best is None or len(suffix) > best[0]):
                    best = (len(suffix), entry)
        return best[1] if best else None

    def for_path(self, path: str | Path, name: str | None = None, role: str | None = None) -> Entry:
        """``name``'s entry, else the one ``path``'s suffix names; an error when neither tells."""
        if name is not None:
            return self.get(name, role)
        entry = self.from_suffix(path, role)
        if entry is None:
            suffixes = sorted({s for e in self._entries.values() if role is None or e.can(role) for s in e.suffixes})
            raise InputError(f"cannot tell the {self.kind} from the file suffix of {Path(path).name!r}", path=path,
                             fix=f"use a file ending in {', '.join(suffixes)}, or name the {self.kind} explicitly "
                                 f"({', '.join(self.names(role))})")
        return entry

    def call(self, name: str, role: str, *args: Any, fixed: Iterable[str] = (), **options: Any) -> Any:
        """Run ``name``'s ``role`` function with ``args`` and the checked ``options``."""
        entry = self.get(name, role)
        return call_with_options(entry.function(role), f"the {entry.name} {self.kind}", args, options, fixed)


def call_with_options(func: Callable[..., Any], what: str, args: tuple, options: dict[str, Any],
                      fixed: Iterable[str] = ()) -> Any:
    """``func(*args, **options)`` after checking that every option is a parameter ``func`` takes
    (``fixed``: parameters filled by the caller, not options)."""
    params = inspect.signature(func).parameters
    accepted = [p for p in params if p not in set(fixed) and params[p].kind is not inspect.Parameter.VAR_KEYWORD]
    accepted = accepted[len(args):] if len(args) <= len(accepted) else []
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = sorted(set(options) - set(accepted)) if not takes_any else []
    if unknown:
        raise MocapError(f"option(s) {', '.join(unknown)} do not apply to {what}",
                         fix=f"{what} takes: {', '.join(accepted) or 'no options'}")
    return func(*args, **options)
