"""What the sync methods saw, kept for the report: correlation curves and drift windows.

Saved beside a take's ``sync.toml`` as ``sync_curves.npz`` (``allow_pickle=False``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.errors import InputError

CURVES_SCHEMA_VERSION = 1


@dataclass(frozen=True, eq=False)
class Correlation:
    """One correlation curve: how well ``camera``'s signal matches ``against``'s at each offset.

    Attributes:
        camera: the camera timed by this curve.
        against: the camera it was compared with.
        method: ``"audio"`` (onset envelopes) or ``"motion"`` (keypoint speeds).
        offsets: ``(L,)`` seconds, ``camera``'s start relative to ``against``'s at each point.
        scores: ``(L,)`` normalized correlation (NaN where the recordings overlap too little).
        peak: the offset picked, seconds (before sub-frame refinement and drift).
    """

    camera: str
    against: str
    method: str
    offsets: np.ndarray
    scores: np.ndarray
    peak: float


@dataclass(frozen=True, eq=False)
class DriftWindows:
    """Offsets of ``camera`` measured in windows along the take (a sloped line: clock drift).

    Attributes:
        camera: camera name.
        method: ``"audio"`` or ``"motion"``.
        times: ``(W,)`` take times of the windows' centres, seconds.
        offsets: ``(W,)`` the camera's offset found in each window, seconds.
    """

    camera: str
    method: str
    times: np.ndarray
    offsets: np.ndarray


@dataclass(frozen=True, eq=False)
class SyncCurves:
    """Every correlation curve and drift window of one take's sync."""

    correlations: tuple[Correlation, ...] = ()
    windows: tuple[DriftWindows, ...] = field(default_factory=tuple)

    def __add__(self, other: SyncCurves) -> SyncCurves:
        return SyncCurves(self.correlations + other.correlations, self.windows + other.windows)

    def save(self, path: str | Path) -> Path:
        from mocap.io.atomic import write_npz

        arrays: dict[str, np.ndarray] = {"schema_version": np.array(CURVES_SCHEMA_VERSION)}
        for k, c in enumerate(self.correlations):
            arrays[f"corr{k}_names"] = np.array([c.camera, c.against, c.method])
            arrays[f"corr{k}_offsets"] = np.asarray(c.offsets, float)
            arrays[f"corr{k}_scores"] = np.asarray(c.scores, float)
            arrays[f"corr{k}_peak"] = np.array(float(c.peak))
        for k, w in enumerate(self.windows):
            arrays[f"win{k}_names"] = np.array([w.camera, w.method])
            arrays[f"win{k}_times"] = np.asarray(w.times, float)
            arrays[f"win{k}_offsets"] = np.asarray(w.offsets, float)
        return write_npz(path, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> SyncCurves:
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["schema_version"]) > CURVES_SCHEMA_VERSION:
                    raise InputError("sync curves file is newer than this mocap supports", path=path,
                                     fix="upgrade mocap")
                corr, wins = [], []
                k = 0
                while f"corr{k}_names" in z.files:
                    cam, against, method = (str(s) for s in z[f"corr{k}_names"])
                    corr.append(Correlation(cam, against, method, z[f"corr{k}_offsets"], z[f"corr{k}_scores"],
                                            float(z[f"corr{k}_peak"])))
                    k += 1
                k = 0
                while f"win{k}_names" in z.files:
                    cam, method = (str(s) for s in z[f"win{k}_names"])
                    wins.append(DriftWindows(cam, method, z[f"win{k}_times"], z[f"win{k}_offsets"]))
                    k += 1
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"sync curves file is unreadable ({exc})", path=path,
                             fix="delete it and run `mocap sync` again") from exc
        return cls(tuple(corr), tuple(wins))


__all__ = ["Correlation", "DriftWindows", "SyncCurves"]
