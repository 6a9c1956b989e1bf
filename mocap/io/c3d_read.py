"""Reading C3D point data in pure numpy, bounds-checked at every step.

A damaged or crafted C3D file must give a clear error, never a crash: the C++ reader of ezc3d segfaults or
loops forever on about 7 % of mutated files (``bench/fuzz.py``), so reading does not use it (writing, of our
own data, still does). The format (c3d.org, "The C3D File Format User Guide"):

* 512-byte blocks. Block 1 is the header: byte 0 the parameter section's first block, byte 1 the key 0x50,
  then 16-bit words: 2 points per frame, 3 analog values per frame, 4/5 first/last frame (1-based, capped at
  65535), 7-8 the scale (float; negative: the data are floats), 9 the data section's first block, 11-12 the
  frame rate (float).
* The parameter section: 4 bytes (byte 3 the processor: 84 Intel, 85 DEC, 86 MIPS = big-endian), then
  records: name length (int8, negative = locked), group id (int8; negative = a group, positive = a
  parameter of that group), name, a 16-bit offset to the next record (0: the last), then for a parameter:
  type (int8: -1 char, 1 byte, 2 int16, 4 float), dimension count, dimensions, data, description.
* The data section, per frame: for every point X, Y, Z and a residual word (int16 scaled by POINT:SCALE, or
  float32), then the frame's analog samples. A negative residual marks a point as missing.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from mocap.errors import InputError

_FIX = "re-export the C3D file from the capture software"
_MAX_POINTS = 100_000
_MAX_ANALOG = 10_000_000


def _fail(problem: str, path: Path, fix: str = _FIX) -> InputError:
    return InputError(problem, path=path, fix=fix)


def read_parameters(data: bytes, start: int, order: str, path: Path) -> dict[str, dict[str, object]]:
    """``{GROUP: {PARAMETER: value}}`` of the parameter section at byte ``start`` (names upper case; char
    arrays as lists of stripped strings, numbers as numpy arrays)."""
    groups: dict[int, str] = {}
    params: dict[int, dict[str, object]] = {}
    pos = start + 4
    end = len(data)
    for _ in range(100_000):  # a bound on the number of records, whatever the offsets say
        if pos + 2 > end:
            break
        n_chars, gid = struct.unpack_from("bb", data, pos)
        if n_chars == 0:
            break
        n_chars = abs(n_chars)
        name_at = pos + 2
        if name_at + n_chars + 2 > end:
            raise _fail("a parameter record runs past the end of the file", path)
        name = data[name_at: name_at + n_chars].decode("latin-1").strip().upper()
        offset_at = name_at + n_chars
        (offset,) = struct.unpack_from(order + "h", data, offset_at)
        body = offset_at + 2
        if gid < 0:
            groups[-gid] = name
        elif gid > 0:
            params.setdefault(gid, {})[name] = _parameter_value(data, body, order, path)
        if offset <= 0:
            break
        pos = offset_at + offset
    return {groups.get(gid, f"GROUP{gid}"): values for gid, values in params.items()}


def _parameter_value(data: bytes, at: int, order: str, path: Path):
    if at + 2 > len(data):
        raise _fail("a parameter runs past the end of the file", path)
    kind, n_dims = struct.unpack_from("bB", data, at)
    if n_dims > 7:
        raise _fail(f"a parameter has {n_dims} dimensions", path)
    dims = list(data[at + 2: at + 2 + n_dims])
    if len(dims) != n_dims:
        raise _fail("a parameter's dimensions run past the end of the file", path)
    size = {-1: 1, 1: 1, 2: 2, 4: 4}.get(kind)
    if size is None:
        raise _fail(f"a parameter has the unknown data type {kind}", path)
    count = 1
    for d in dims:
        count *= d
    start = at + 2 + n_dims
    raw = data[start: start + count * size]
    if len(raw) != count * size:
        raise _fail("a parameter's data runs past the end of the file", path)
    if kind == -1:
        if len(dims) <= 1:
            return [raw.decode("latin-1").strip()]
        width = dims[0]
        if width == 0:
            return []
        return [raw[i: i + width].decode("latin-1").strip() for i in range(0, len(raw), width)]
    dtype = {1: "i1", 2: order + "i2", 4: order + "f4"}[kind]
    return np.frombuffer(raw, dtype=dtype).reshape(dims[::-1] if dims else ())


def _number(params: dict, group: str, name: str, default=None, *, unsigned: bool = False):
    value = params.get(group, {}).get(name)
    if value is None or isinstance(value, list) or np.size(value) == 0:
        return default
    v = np.ravel(value)[0]
    if unsigned and np.issubdtype(np.asarray(v).dtype, np.integer) and v < 0:
        v = int(v) + 65536
    return float(v)


def read_c3d_points(path: str | Path):
    """``(xyz (F, J, 3) in file units, missing (F, J) bool, labels, units, rate, first frame (0-based))`` of a C3D
    file; every damage is an ``InputError`` naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _fail("C3D file not found", path, "check the path") from None
    except OSError as exc:
        raise _fail(f"C3D file cannot be read ({exc.strerror or exc})", path, "check the path") from None
    if len(data) < 1024 or data[1] != 0x50:
        raise _fail("not a C3D file (no C3D header)", path)
    param_start = (data[0] - 1) * 512
    if data[0] < 2 or param_start + 4 > len(data):
        raise _fail(f"the header points the parameters to block {data[0]}, beyond the file", path)
    processor = data[param_start + 3]
    if processor == 85:
        raise _fail("DEC (VAX) floating point C3D files are not supported", path,
                    "re-export the file for an Intel (PC) processor")
    order = ">" if processor == 86 else "<"
    try:
        return _read(data, path, order, param_start)
    except (struct.error, ValueError, OverflowError, IndexError) as exc:
        if isinstance(exc, InputError):
            raise
        raise _fail(f"the C3D file is damaged ({exc})", path) from None


def _read(data: bytes, path: Path, order: str, param_start: int):
    (n_points, n_analog, first, last, _gap, scale, data_block, _per_frame, rate_header) = struct.unpack_from(
        order + "HHHHHfHHf", data, 2)
    params = read_parameters(data, param_start, order, path)
    n_points = int(_number(params, "POINT", "USED", n_points, unsigned=True))
    scale = _number(params, "POINT", "SCALE", scale)
    rate = _number(params, "POINT", "RATE", rate_header)
    data_block = int(_number(params, "POINT", "DATA_START", data_block, unsigned=True))
    if not 0 <= n_points <= _MAX_POINTS or not 0 <= n_analog <= _MAX_ANALOG:
        raise _fail(f"implausible counts: {n_points} points and {n_analog} analog values per frame", path)
    if scale is None or not np.isfinite(scale) or scale == 0:
        raise _fail(f"POINT:SCALE is {scale}: neither integer nor float data", path)
    if rate is None or not np.isfinite(rate) or not 0 < rate <= 1e6:
        raise _fail(f"the point rate is {rate}", path, "set POINT:RATE to the capture rate")
    is_float = scale < 0
    item = 4 if is_float else 2
    frame_bytes = (4 * n_points + n_analog) * item
    data_start = (data_block - 1) * 512
    if data_block < 2 or data_start > len(data):
        raise _fail(f"the data section starts at block {data_block}, beyond the file", path)
    announced = last - first + 1 if last >= first else 0
    frames_param = _number(params, "POINT", "FRAMES", None, unsigned=True)
    if frames_param is not None and last == 65535:  # the header's 16-bit frame count is capped
        announced = int(frames_param)
    available = (len(data) - data_start) // frame_bytes if frame_bytes else 0
    if n_points and announced > available:
        raise _fail(f"C3D file ends early: its header announces {announced} frames, it holds {available}", path)
    n_frames = min(announced, available) if n_points else 0
    labels = _labels(params, n_points)
    units = str((params.get("POINT", {}).get("UNITS") or ["mm"])[0]).strip().lower() or "mm"
    if not n_points or not n_frames:
        return np.zeros((n_frames, n_points, 3)), np.ones((n_frames, n_points), bool), labels, units, rate, max(first - 1, 0)
    dtype = np.dtype(order + ("f4" if is_float else "i2"))
    block = np.frombuffer(data, dtype=dtype, count=n_frames * frame_bytes // item, offset=data_start)
    values = block.reshape(n_frames, -1)[:, : 4 * n_points].reshape(n_frames, n_points, 4).astype(np.float64)
    residual = values[..., 3]
    xyz = values[..., :3] if is_float else values[..., :3] * scale
    missing = (residual < 0) | ~np.isfinite(xyz).all(axis=-1)
    return xyz, missing, labels, units, float(rate), max(int(first) - 1, 0)  # 0-based, as ezc3d reports it


def _labels(params: dict, n_points: int) -> tuple[str, ...]:
    """POINT:LABELS, continued in LABELS2, LABELS3 ... when there are more than 255 points."""
    point = params.get("POINT", {})
    labels = list(point.get("LABELS", []) or [])
    k = 2
    while f"LABELS{k}" in point:
        labels += list(point[f"LABELS{k}"])
        k += 1
    labels = [str(s).strip() for s in labels if isinstance(s, str)][:n_points]
    labels += [f"point{i + 1}" for i in range(len(labels), n_points)]
    return tuple(labels)
