"""Take videos against their calibrated cameras: the same size, or a small crop or pad placed explicitly.

A take video whose size differs from its camera's calibrated image by a few pixels (an encoder that pads 1080
to 1088, a crop of a few columns) is still usable, once it is known where it lies in the calibrated image: the
camera's ``video_offset = [x, y]`` in session.toml (``[[cameras]]``), applied by
:meth:`mocap.camera.Camera.from_video_pixels`. Such a video is reported (a warning naming the camera, the file
and both sizes, unless ``video_offset`` is set); any larger difference is an error naming the same.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mocap.camera import Camera, CameraRig
from mocap.errors import InputError
from mocap.io.frames import open_frames
from mocap.session import Session

log = logging.getLogger(__name__)

SIZE_TOLERANCE = 0.03
"""A take video may be smaller or larger than its camera's calibrated image by up to this share of each side."""

_FIX = ("use the videos this calibration was made for (or calibrate again); a video cropped or padded by a few "
        f"pixels (up to {SIZE_TOLERANCE:.0%} of a side) is placed with video_offset = [x, y] (where its top-left "
        "pixel lies in the calibrated image) in the camera's [[cameras]] entry of session.toml")


def check_video_size(camera: Camera, video_size: tuple[int, int], path: str | Path, *,
                     offset_set: bool = False) -> str | None:
    """Compare one video's ``(width, height)`` with its calibrated camera.

    Returns ``None`` when they match, a warning line for a small crop or pad (``None`` too when
    ``offset_set``: the session says where the video lies); raises ``InputError`` naming the camera, the file
    and both sizes for anything else, or when ``camera.video_offset`` puts the video outside the image.
    """
    (w, h), (cw, ch) = tuple(int(v) for v in video_size), camera.size
    sizes = f"video {Path(path).name} is {w}x{h} pixels, camera {camera.name!r} is calibrated at {cw}x{ch}"
    if (w, h) == (cw, ch) and not any(camera.video_offset):
        return None
    if abs(w - cw) > SIZE_TOLERANCE * cw or abs(h - ch) > SIZE_TOLERANCE * ch:
        rotated = " (rotated by 90 degrees?)" if (w, h) == (ch, cw) else ""
        raise InputError(f"{sizes}{rotated}: the video does not match its calibration", path=path, fix=_FIX)
    ox, oy = camera.video_offset
    if not (min(0, cw - w) <= ox <= max(0, cw - w) and min(0, ch - h) <= oy <= max(0, ch - h)):
        raise InputError(f"{sizes}, and video_offset [{ox:g}, {oy:g}] places the video outside the calibrated image",
                         path=path, fix=f"set video_offset between [{min(0, cw - w)}, {min(0, ch - h)}] and "
                                        f"[{max(0, cw - w)}, {max(0, ch - h)}] in camera {camera.name!r}'s "
                                        "[[cameras]] entry of session.toml")
    if offset_set:
        log.info("%s: placed at video_offset [%g, %g]", sizes, ox, oy)
        return None
    return (f"{sizes}: its top-left pixel is taken as the calibration's (video_offset [0, 0]); if the video is "
            f"centred in the calibrated image, set video_offset = [{(cw - w) / 2:g}, {(ch - h) / 2:g}] in camera "
            f"{camera.name!r}'s [[cameras]] entry of session.toml")


def check_video_sizes(session: Session, take: str, rig: CameraRig, *, missing_ok: bool = False) -> list[str]:
    """Check every video of ``take`` against its camera in ``rig`` (:func:`check_video_size`); the warnings are
    logged and returned. Videos that are not there are skipped with ``missing_ok`` (keypoints imported from
    another tool need no videos), else they are an error."""
    warnings = []
    for entry, video in zip(session.cameras, session.take(take).videos):
        if entry.name not in rig.names:
            continue
        try:
            size = open_frames(video).size
        except InputError:
            if missing_ok:
                continue
            raise
        message = check_video_size(rig[entry.name], size, video, offset_set=entry.video_offset is not None)
        if message:
            log.warning(message)
            warnings.append(message)
    return warnings


__all__ = ["SIZE_TOLERANCE", "check_video_size", "check_video_sizes"]
