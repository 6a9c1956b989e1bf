"""Build the Blender add-on (a Blender 4.2+ extension zip) with the mocap modules it needs vendored in.

Blender has its own Python with numpy but none of our dependencies, and the add-on must not pip-install
anything. So the zip holds ``blender_addon/*`` at its root plus copies of the pure-numpy mocap modules under
``_vendor/mocap/...`` (their ``mocap.`` imports rewritten to relative ones, so the copy works whatever
package name Blender gives the extension), the rig presets under ``_vendor/mocap/data/rigs/`` and the open body model
when it is present. The build checks every shipped module's imports: only the standard library, numpy,
Blender's own modules and other shipped modules; anything else fails the build with the offending line.
"""
from __future__ import annotations

import ast
import io
import logging
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mocap.errors import MocapError
from mocap.io.atomic import atomic_path

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_ROOT = Path(__file__).resolve().parent
ADDON_SOURCE = REPO_ROOT / "blender_addon"
RIGS_SOURCE = PACKAGE_ROOT / "data" / "rigs"
VENDOR = "_vendor"

#: The modules the add-on uses; what they import from mocap is shipped too.
SEED_MODULES = (
    "mocap.body.motion", "mocap.body.animation", "mocap.export.bone_frames", "mocap.export.blender_scene",
    "mocap.export.blender_export", "mocap.export.retarget", "mocap.export.rigs", "mocap.export.bvh", "mocap.camera",
    "mocap.layout", "mocap.people.roster",
)
#: Shipped only with the open body model (for the skinned body mesh).
BODY_MODEL_MODULES = ("mocap.body.lbs", "mocap.bodymodels")
BODY_MODEL_DIR = "bodymodels/open_smplx"  # every data file in it (model .npz, texture) is shipped

THIRD_PARTY_OK = frozenset({"numpy"})
BLENDER_MODULES = frozenset({"bpy", "bpy_extras", "mathutils", "addon_utils", "bl_math", "bmesh", "gpu"})
#: Imports inside functions that the add-on never reaches; ``{module: {import: why}}``.
LAZY_ALLOWED = {
    "mocap.camera": {"cv2": "only Camera.undistort_points"},
    "mocap.io.tomlio": {"tomli_w": "only writing TOML (CameraRig.save)"},
    "mocap.bodymodels": {"smplx": "only create_smplx (the fitting stage)", "torch": "only create_smplx"},
}


class AddonBuildError(MocapError):
    """The add-on cannot be built (a shipped module imports something Blender does not have)."""


@dataclass(frozen=True)
class ImportUse:
    module: str  # absolute module name imported
    line: int
    top_level: bool
    node: ast.stmt


def module_path(name: str) -> Path:
    """Source file of a ``mocap`` module (a package's ``__init__.py``)."""
    rel = Path(*name.split(".")[1:])
    for p in (PACKAGE_ROOT / rel.with_suffix(".py"), PACKAGE_ROOT / rel / "__init__.py"):
        if p.is_file():
            return p
    raise AddonBuildError(f"module {name} is needed by the add-on but does not exist",
                          fix="restore the module, or drop it from mocap.addon.SEED_MODULES")


def imports_of(source: str, name: str, is_package: bool = False) -> list[ImportUse]:
    """Every import in a module's source (absolute names), noting whether it runs at import time."""
    tree = ast.parse(source)
    package = name if is_package else name.rpartition(".")[0]
    top = {id(n) for n in tree.body}
    for n in tree.body:  # imports under top-level if/try also run at import time
        if isinstance(n, (ast.If, ast.Try)):
            top.update(id(c) for c in ast.walk(n))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [ImportUse(a.name, node.lineno, id(node) in top, node) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [base]
            if base.startswith("mocap"):  # `from mocap.export import bone_frames` imports a submodule
                targets = [f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base for a in node.names]
            out += [ImportUse(t, node.lineno, id(node) in top, node) for t in dict.fromkeys(targets)]
    return out


def _is_module(name: str) -> bool:
    try:
        module_path(name)
        return True
    except AddonBuildError:
        return False


def vendored_closure(seeds) -> dict[str, Path]:
    """The seed modules and every mocap module they import (at any depth), checked; ``{name: file}``."""
    todo, found, problems = list(seeds), {}, []
    while todo:
        name = todo.pop()
        if name in found:
            continue
        path = module_path(name)
        found[name] = path
        for use in imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py"):
            root = use.module.split(".")[0]
            if root == "mocap":
                if use.module != "mocap":
                    todo.append(use.module)
            elif root in sys.stdlib_module_names or root in THIRD_PARTY_OK or root in BLENDER_MODULES:
                continue
            elif not use.top_level and root in LAZY_ALLOWED.get(name, {}):
                continue
            else:
                problems.append(f"{path.relative_to(REPO_ROOT)}:{use.line} imports {use.module}")
    if problems:
        raise AddonBuildError("modules shipped in the Blender add-on import what Blender does not have:\n  "
                              + "\n  ".join(problems),
                              fix="keep add-on modules to the standard library and numpy (import heavy packages "
                                  "inside the functions that need them and list them in mocap.addon.LAZY_ALLOWED)")
    return found


def rewrite_imports(source: str, name: str, is_package: bool = False) -> str:
    """``from mocap.x import y`` / ``import mocap.x as y`` -> relative imports inside the vendored package.

    ``name`` is the module's dotted name (``mocap.export.rigs``); ``is_package`` for a package's ``__init__``.
    """
    depth = len(name.split(".")) - (0 if is_package else 1)  # dots from the module's package up to mocap
    lines = source.splitlines(keepends=True)
    edits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "mocap":
            rest = node.module[len("mocap"):].lstrip(".")
            new = ast.ImportFrom(module=rest or None, names=node.names, level=depth)
        elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "mocap" for a in node.names):
            if len(node.names) != 1 or node.names[0].asname is None or "." not in node.names[0].name:
                raise AddonBuildError(f"{name}:{node.lineno}: `{ast.unparse(node)}` cannot be vendored",
                                      fix="write it as `from mocap.x import y` (or `import mocap.x.y as z`)")
            parent, _, leaf = node.names[0].name.rpartition(".")
            rest = parent[len("mocap"):].lstrip(".")
            new = ast.ImportFrom(module=rest or None, names=[ast.alias(leaf, node.names[0].asname)], level=depth)
        else:
            continue
        edits.append((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, ast.unparse(new)))
    for l0, c0, l1, c1, text in sorted(edits, reverse=True):
        head, tail = lines[l0 - 1][:c0], lines[l1 - 1][c1:]
        lines[l0 - 1:l1] = [head + text + tail]
    return "".join(lines)


def addon_files(with_body_model: bool | None = None) -> dict[str, bytes]:
    """``{path in the zip: content}`` of the add-on."""
    if not (ADDON_SOURCE / "blender_manifest.toml").is_file():
        raise AddonBuildError("blender_addon/blender_manifest.toml is missing: the add-on's sources ship with the "
                              "source repository, not the wheel", path=ADDON_SOURCE,
                              fix="clone the mocap repository and run `mocap addon build` there")
    folder = PACKAGE_ROOT / BODY_MODEL_DIR
    model_files = sorted(p for p in folder.glob("*") if p.is_file() and p.suffix not in (".py", ".pyc")) \
        if folder.is_dir() else []
    if with_body_model is None:
        with_body_model = any(p.suffix == ".npz" for p in model_files) and all(_is_module(m) for m in BODY_MODEL_MODULES)
    seeds = SEED_MODULES + (BODY_MODEL_MODULES if with_body_model else ())
    files: dict[str, bytes] = {}
    for p in sorted(ADDON_SOURCE.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc":
            files[p.relative_to(ADDON_SOURCE).as_posix()] = p.read_bytes()
    modules = vendored_closure(seeds)
    for name, path in modules.items():
        rel = path.relative_to(PACKAGE_ROOT).as_posix()
        src = path.read_text(encoding="utf-8")
        files[f"{VENDOR}/mocap/{rel}"] = rewrite_imports(src, name, path.name == "__init__.py").encode("utf-8")
    for name in sorted({m.rsplit(".", k)[0] for m in modules for k in range(1, m.count(".") + 1)} | {"mocap"}):
        key = f"{VENDOR}/{name.replace('.', '/')}/__init__.py"
        files.setdefault(key, b'"""Vendored from mocap by mocap.addon.build_addon; do not edit."""\n')
    files[f"{VENDOR}/__init__.py"] = b'"""mocap modules copied in by `mocap addon build`."""\n'
    for p in sorted(RIGS_SOURCE.glob("*")) if RIGS_SOURCE.is_dir() else []:
        if p.is_file():
            files[f"{VENDOR}/mocap/data/rigs/{p.name}"] = p.read_bytes()
    if with_body_model:
        for p in model_files:
            files[f"{VENDOR}/mocap/{p.relative_to(PACKAGE_ROOT).as_posix()}"] = p.read_bytes()
    _check_addon_imports(files)
    return files


def _check_addon_imports(files: dict[str, bytes]) -> None:
    """The add-on's own modules import only the standard library, numpy, Blender and shipped files."""
    problems = []
    for rel, data in files.items():
        if not rel.endswith(".py") or rel.startswith(VENDOR + "/"):
            continue
        tree = ast.parse(data.decode("utf-8"))
        optional = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try) and _catches_import_error(t)
                    for b in t.body for n in ast.walk(b)}
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.ImportFrom) and node.level:
                target = (node.module or "").replace(".", "/")
                ok = any(f"{target}{suffix}" in files for suffix in (".py", "/__init__.py")) or not target
                if not ok:
                    problems.append(f"blender_addon/{rel}:{node.lineno} imports .{node.module}, not in the zip")
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) else [])
            for n in names:
                root = n.split(".")[0]
                if not (root in sys.stdlib_module_names or root in THIRD_PARTY_OK or root in BLENDER_MODULES):
                    problems.append(f"blender_addon/{rel}:{node.lineno} imports {n}")
    if problems:
        raise AddonBuildError("the add-on imports what Blender does not have:\n  " + "\n  ".join(problems),
                              fix="use the vendored modules (from ._vendor.mocap...) or the standard library")


def _catches_import_error(node: ast.Try) -> bool:
    names = []
    for h in node.handlers:
        t = h.type
        names += [e.id for e in (t.elts if isinstance(t, ast.Tuple) else [t]) if isinstance(e, ast.Name)]
    return bool({"ImportError", "ModuleNotFoundError"} & set(names))


def build_addon(out_zip: str | Path | None = None, *, with_body_model: bool | None = None) -> Path:
    """Write the add-on as an installable Blender extension zip (default ``out/mocap_blender_addon.zip``).

    Install it in Blender with Edit > Preferences > Get Extensions > Install from Disk, or
    ``blender --command extension install-file -r user_default FILE``.

    Args:
        out_zip: output path.
        with_body_model: ship the open body model (skinned mesh on import); default: when it is present.
    """
    out = Path(out_zip) if out_zip else REPO_ROOT / "out" / "mocap_blender_addon.zip"
    files = addon_files(with_body_model)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in sorted(files):
            info = zipfile.ZipInfo(rel, date_time=(2024, 1, 1, 0, 0, 0))  # reproducible bytes
            info.compress_type = zipfile.ZIP_STORED if rel.endswith((".npz", ".png", ".jpg")) else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[rel])
    with atomic_path(out) as tmp:
        tmp.write_bytes(buf.getvalue())
    log.info("wrote %s (%d files, %.1f MB)", out, len(files), out.stat().st_size / 1e6)
    return out
