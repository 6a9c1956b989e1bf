"""Overlapping windows over a long take, and joining per-window results without a seam.

A long take is fitted window by window (memory stays flat with take length). Neighbouring windows overlap;
near its edges a window's fit differs a little from a fit of the whole take (the temporal terms see only
one side there), so the join takes each window's frames away from its edges and cross-fades the two fits
over the middle half of the overlap with a smooth (C1) ramp: positions and velocities stay continuous.
"""
from __future__ import annotations

import numpy as np

from mocap.fitting.init import fill_nearest
from mocap.geometry import nearest_rotation


def plan_windows(n_frames: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]``: equal windows of at most ``window`` frames covering ``n_frames`` frames,
    neighbours overlapping by at least ``overlap`` frames (``overlap`` is clipped to ``window // 2``)."""
    if n_frames <= window:
        return [(0, n_frames)]
    overlap = int(np.clip(overlap, 2, window // 2))
    count = int(np.ceil((n_frames - overlap) / (window - overlap)))
    starts = np.linspace(0, n_frames - window, count).round().astype(int)
    return [(int(a), int(a) + window) for a in starts]


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def blend_weights(spans: list[tuple[int, int]]) -> list[np.ndarray]:
    """Per window, ``(stop - start,)`` weights that sum to 1 over the windows covering each frame: 1 inside,
    a smooth ramp across the middle half of each overlap with a neighbour, 0 near the window's edges."""
    weights = [np.ones(b - a) for a, b in spans]
    for k in range(len(spans) - 1):
        (a0, b0), (a1, _) = spans[k], spans[k + 1]
        n = b0 - a1  # overlap length
        if n <= 0:
            continue
        ramp = _smoothstep((np.arange(n) + 0.5 - n / 4) / (n / 2))  # 0 over the first quarter, 1 over the last
        weights[k][a1 - a0:] *= 1.0 - ramp
        weights[k + 1][:n] *= ramp
    return weights


class WindowJoiner:
    """Accumulates per-window arrays into whole-take arrays with `blend_weights`.

    ``add(span, weight, **arrays)`` with ``(n, ...)`` arrays per window; rotations (``(n, J, 3, 3)``) are
    blended as weighted matrix sums projected back onto rotations (`finish` does it where two windows meet).
    """

    def __init__(self, n_frames: int, rotations: tuple[str, ...] = ()):
        self.n_frames = n_frames
        self.rotations = rotations
        self.sums: dict[str, np.ndarray] = {}
        self.mixed = np.zeros(n_frames, dtype=bool)
        self.covered = np.zeros(n_frames)

    def add(self, span: tuple[int, int], weight: np.ndarray, **arrays: np.ndarray) -> None:
        a, b = span
        for name, x in arrays.items():
            if name not in self.sums:
                self.sums[name] = np.zeros((self.n_frames,) + x.shape[1:])
            self.sums[name][a:b] += weight.reshape((-1,) + (1,) * (x.ndim - 1)) * x
        self.mixed[a:b] |= (weight > 0) & (weight < 1)
        self.covered[a:b] += weight

    def finish(self) -> dict[str, np.ndarray]:
        """The joined arrays; frames that no window covered (a window left out) hold the nearest covered frame."""
        done = self.covered > 1e-9
        out = {}
        for name, total in self.sums.items():
            x = total.copy()
            x[done] /= self.covered[done].reshape((-1,) + (1,) * (x.ndim - 1))
            if name in self.rotations and self.mixed.any():
                x[self.mixed] = nearest_rotation(x[self.mixed])
            out[name] = fill_nearest(x, done)
        return out
