"""Length units: the one table of what ``"m"``, ``"cm"`` and ``"mm"`` mean, for every file we read or write."""

from __future__ import annotations

from typing import Literal

from mocap.errors import MocapError

LengthUnit = Literal["m", "cm", "mm"]

#: Metres in one unit.
METRES_PER_UNIT: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001}


def metres_per_unit(unit: str) -> float:
    """Metres in one ``unit`` (``"m"``, ``"cm"`` or ``"mm"``): a file value times this is metres."""
    if unit not in METRES_PER_UNIT:
        raise MocapError(f"unknown length unit {unit!r}", fix=f"use one of {', '.join(METRES_PER_UNIT)}")
    return METRES_PER_UNIT[unit]


def units_per_metre(unit: str) -> float:
    """``unit``s in one metre: metres times this is the value written to a file."""
    return 1.0 / metres_per_unit(unit)
