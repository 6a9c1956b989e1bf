"""Frame sources: a video file or a folder/glob of still images, read one frame at a time.

Memory stays flat with video length: frames are streamed, never loaded all at once.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.errors import InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


def natural_key(s: str) -> list:
    """Sort key that orders ``img2`` before ``img10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


@dataclass(frozen=True)
class FrameSource:
    """A readable sequence of frames.

    Attributes:
        path: the video file, image folder or glob pattern.
        n_frames: number of frames (as reported by the container for videos).
        size: ``(width, height)`` in pixels.
        fps: frames per second (NaN for image folders).
        images: sorted image paths for a still-image source, else empty.
    """

    path: Path
    n_frames: int
    size: tuple[int, int]
    fps: float
    images: tuple[Path, ...] = ()

    def frames(self, *, gray: bool = False, stride: int = 1, rgb: bool = False,
               threads: int = 0) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(frame_index, image)``; BGR ``(H, W, 3)``, RGB ``(H, W, 3)`` with ``rgb``, or grayscale ``(H, W)``
        uint8. ``threads``: decoding threads of a video (0: OpenCV's default, one per core;
        1 suits a worker process per camera, whose workers keep the cores busy already)."""
        import cv2

        if self.images:
            for i in range(0, len(self.images), stride):
                img = cv2.imread(str(self.images[i]), cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR)
                if img is None:
                    raise InputError("image cannot be read", path=self.images[i], fix="replace or remove the file")
                yield i, (cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if rgb and not gray else img)
            return
        params = [cv2.CAP_PROP_N_THREADS, int(threads)] if threads else []
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_ANY, params)
        try:
            i = 0
            while True:
                if stride > 1 and i % stride:
                    ok = cap.grab()
                    if not ok:
                        break
                    i += 1
                    continue
                ok, img = cap.read()
                if not ok:
                    break
                if gray:
                    img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
                elif rgb:  # into a new array: OpenCV's in-place swap is twice as slow
                    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
                yield i, img
                i += 1
        finally:
            cap.release()
        if i < self.n_frames - max(2, 0.02 * self.n_frames):  # containers estimate their count: allow a little
            raise InputError(f"decoding stopped at frame {i} of the {self.n_frames} the video announces: the file "
                             "is damaged from there (a truncated copy or a broken recording)", path=self.path,
                             fix="copy or re-export the video again; to use the frames before the damage, cut the "
                                 "video there (e.g. `ffmpeg -i IN -frames:v N -c copy OUT.mp4`)")


def open_frames(path: str | Path) -> FrameSource:
    """Open a video file, a folder of images, or a glob pattern of images.

    Raises ``InputError`` naming the path when it is missing, unreadable or empty.
    """
    import cv2

    path = Path(path)
    spec = str(path)
    if path.is_dir() or any(ch in spec for ch in "*?["):
        files = sorted(
            (Path(p) for p in (glob.glob(str(path / "*")) if path.is_dir() else glob.glob(spec))),
            key=lambda p: natural_key(p.name),
        )
        files = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
        if not files:
            raise InputError("no images found", path=path, fix="point at a video file or a folder of .jpg/.png images")
        first = cv2.imread(str(files[0]))
        if first is None:
            raise InputError("image cannot be read", path=files[0], fix="replace or remove the file")
        h, w = first.shape[:2]
        return FrameSource(path, len(files), (w, h), float("nan"), tuple(files))
    if not path.is_file():
        raise InputError("video not found", path=path, fix="check session.toml's video paths and file names")
    cap = cv2.VideoCapture(str(path))
    try:
        ok, img = cap.read() if cap.isOpened() else (False, None)
        if not ok or img is None:
            raise InputError(
                "video cannot be decoded (corrupt, empty, or an unsupported codec)",
                path=path,
                fix="re-export it as H.264 or MJPG (e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`) or replace it",
            )
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or float("nan")
        h, w = img.shape[:2]
    finally:
        cap.release()
    return FrameSource(path, n, (w, h), fps)
