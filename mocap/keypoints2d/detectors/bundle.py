"""The MediaPipe ``PoseLandmarker`` model bundle (``.task``), built offline from the wheel's own models.

MediaPipe's Tasks API (:class:`mediapipe.tasks.python.vision.PoseLandmarker`, the one that finds
several people) loads a ``.task`` bundle: an *uncompressed* zip holding ``pose_detector.tflite`` and
``pose_landmarks_detector.tflite``. Google publishes such bundles for download; we never download
anything. The ``mediapipe`` wheel already ships the same networks that the legacy single-person
solution runs (``modules/pose_detection/pose_detection.tflite`` and
``modules/pose_landmark/pose_landmark_full.tflite``), but without the metadata the Tasks API needs
(input normalisation, colour space). :func:`pose_landmarker_bundle` adds that metadata with
MediaPipe's own ``MetadataWriter`` and zips the two models with MediaPipe's own bundle writer, once,
into a cache folder:

* folder: ``$MOCAP_CACHE`` if set, else ``~/.cache/mocap``;
* name: ``pose_landmarker_full-mediapipe<version>.task``, so a MediaPipe upgrade builds a new one;
* written atomically (temporary file + rename): concurrent builders (one worker per camera) each
  write a complete file and the last rename wins; a reader never sees half a bundle.

Normalisation (from the legacy graphs' ``ImageToTensorCalculator`` ranges): the detector takes
``[-1, 1]`` (mean 127.5, std 127.5), the landmark model ``[0, 1]`` (mean 0, std 255), RGB.
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

from mocap.errors import MocapError
from mocap.io.atomic import atomic_path

log = logging.getLogger(__name__)

#: The bundle's members and how each is made from a model in the ``mediapipe`` wheel:
#: ``member: (path inside the mediapipe package, normalisation mean, normalisation std)``.
BUNDLE_MEMBERS: dict[str, tuple[str, float, float]] = {
    "pose_detector.tflite": ("modules/pose_detection/pose_detection.tflite", 127.5, 127.5),
    "pose_landmarks_detector.tflite": ("modules/pose_landmark/pose_landmark_full.tflite", 0.0, 255.0),
}


def cache_dir() -> Path:
    """The folder for built models: ``$MOCAP_CACHE`` or ``~/.cache/mocap``."""
    env = os.environ.get("MOCAP_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mocap"


def bundle_name(mediapipe_version: str) -> str:
    """File name of the bundle built for one MediaPipe version."""
    return f"pose_landmarker_full-mediapipe{mediapipe_version}.task"


def is_valid_bundle(path: str | Path) -> bool:
    """True if ``path`` is a readable, uncompressed zip holding both bundle members (non-empty)."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename: i for i in zf.infolist()}
    except (OSError, zipfile.BadZipFile):
        return False
    return all(
        name in infos and infos[name].compress_type == zipfile.ZIP_STORED and infos[name].file_size > 0
        for name in BUNDLE_MEMBERS
    )


def pose_landmarker_bundle(folder: str | Path | None = None, *, rebuild: bool = False) -> Path:
    """Path of the ``.task`` bundle for ``PoseLandmarker``; built from the installed wheel at first use.

    Args:
        folder: where to keep it; default :func:`cache_dir`.
        rebuild: build it again even if a valid one is cached.

    Raises:
        MocapError: the wheel's models are missing, or the folder is not writable.
    """
    import mediapipe as mp

    folder = Path(folder) if folder is not None else cache_dir()
    path = folder / bundle_name(mp.__version__)
    if not rebuild and is_valid_bundle(path):
        return path
    if path.exists():
        log.warning("rebuilding the invalid pose landmarker bundle %s", path)
    models = {name: _with_metadata(*spec) for name, spec in BUNDLE_MEMBERS.items()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            _write_bundle(models, tmp)
    except OSError as exc:
        raise MocapError(
            f"cannot write the pose landmarker bundle ({exc.strerror or exc})",
            path=path,
            fix="set MOCAP_CACHE to a writable folder",
        ) from exc
    log.info("built the pose landmarker bundle %s from mediapipe %s", path, mp.__version__)
    return path


def _with_metadata(relative: str, mean: float, std: float) -> bytes:
    """One wheel model with the Tasks metadata added: image input (mean, std, RGB), feature outputs."""
    import mediapipe as mp
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

    source = Path(mp.__file__).parent / relative
    if not source.is_file():
        raise MocapError(
            f"the mediapipe wheel has no {relative}",
            path=source,
            fix="reinstall mediapipe==0.10.21 (`pip install --force-reinstall mediapipe==0.10.21`)",
        )
    buffer = bytearray(source.read_bytes())
    writer = metadata_writer.MetadataWriter.create(buffer)
    writer.add_general_info(source.stem, f"{relative} from mediapipe {mp.__version__}, metadata added by mocap")
    writer.add_image_input(norm_mean=[mean], norm_std=[std],
                           color_space_type=metadata_writer.MetadataWriter.color_space_types.RGB)
    for _ in writer_utils.get_output_tensor_types(buffer):
        writer.add_feature_output()
    model, _json = writer.populate()
    return bytes(model)


def _write_bundle(models: dict[str, bytes], path: Path) -> None:
    """An uncompressed zip of ``models`` (MediaPipe's writer: members aligned for mmap)."""
    from mediapipe.tasks.python.metadata.metadata_writers.model_asset_bundle_utils import (
        create_model_asset_bundle,
    )

    create_model_asset_bundle(models, str(path))
