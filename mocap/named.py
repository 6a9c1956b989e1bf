"""Ordered collections of named cameras (a calibrated rig, a take's camera clocks): iterate them, index them
by position or by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class NamedCameras(Generic[T]):
    """Mixin for a frozen dataclass with a ``cameras`` field: a tuple of items that have a ``name``. Call
    :meth:`_freeze_cameras` from ``__post_init__``."""

    cameras: tuple[T, ...]

    def _freeze_cameras(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        names = [c.name for c in self.cameras]
        if len(set(names)) != len(names):
            raise ValueError(f"camera names must be unique, got {names}")

    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self) -> Iterator[T]:
        return iter(self.cameras)

    def __getitem__(self, key: int | str) -> T:
        if isinstance(key, str):
            for cam in self.cameras:
                if cam.name == key:
                    return cam
            raise KeyError(f"no camera named {key!r}; cameras are {self.names}")
        return self.cameras[key]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]
