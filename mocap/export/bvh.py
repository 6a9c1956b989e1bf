"""BVH motion files: a plain numpy reader and the forward-kinematics math (pure functions).

``read_bvh(path) -> BvhMotion`` parses the file; ``bvh_local_rotations``, ``bvh_local_translations``,
``world_transforms`` and ``forward_kinematics`` turn a ``BvhMotion`` into arrays. ``write_bvh`` writes a
`SkeletonAnimation` (the exporters' common input) and ``bvh_to_animation`` reads a file back into one.

Conventions (as the BVH format specifies them):

* Rotation channels are Euler angles in degrees, applied in the order the ``CHANNELS`` line lists
  them, intrinsically: ``Zrotation Xrotation Yrotation`` gives ``R = Rz @ Rx @ Ry``.
* A joint's local transform maps its own frame into its parent's: ``x_parent = R @ x + t``, where
  ``t`` is the joint's ``OFFSET``, except that a position channel replaces the matching offset
  component (what Blender's importer does; the root's offset is zero in nearly every file).
* ``End Site`` blocks become extra joints named ``<parent>_end``, with no channels and
  ``end_site`` set; they give the tips of the toes, head and fingers.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.errors import InputError
from mocap.io.atomic import atomic_open

CHANNEL_NAMES = ("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")
_CANONICAL = {c.lower(): c for c in CHANNEL_NAMES}
_TOKEN = re.compile(r"[{}]|[^\s{}]+")
_FIX_HIERARCHY = "repair or re-export the file; each joint needs OFFSET x y z and CHANNELS n names..."


@dataclass(frozen=True, eq=False)  # arrays: compare fields explicitly
class BvhMotion:
    """One BVH file: the skeleton (in file order, parents before children) and its motion.

    Attributes:
        joint_names: ``(J,)`` joint names; end sites are included as ``<parent>_end``.
        parents: ``(J,)`` int, index of each joint's parent, -1 for a root.
        offsets: ``(J, 3)`` rest offset from the parent, in file units.
        channels: per joint, the channel names in file order (e.g. ``("Zrotation", "Yrotation",
            "Xrotation")``); empty for end sites.
        end_site: ``(J,)`` bool, True for the ``End Site`` tips.
        frame_time: seconds per frame, as written in the file.
        motion: ``(F, C)`` channel values, C = total channel count; angles in degrees.
        path: the file it was read from, if any.
    """

    joint_names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    end_site: np.ndarray
    frame_time: float
    motion: np.ndarray
    path: Path | None = None

    def __post_init__(self):
        n = len(self.joint_names)
        shapes_ok = (
            self.parents.shape == (n,) and self.offsets.shape == (n, 3) and len(self.channels) == n
            and self.end_site.shape == (n,) and self.motion.ndim == 2
            and self.motion.shape[1] == sum(len(c) for c in self.channels)
        )
        if not shapes_ok:
            raise ValueError("BvhMotion: joint_names, parents, offsets, channels, end_site and motion disagree")
        if np.any(self.parents >= np.arange(n)):
            raise ValueError("BvhMotion: every joint must come after its parent")
        if not self.frame_time > 0:
            raise ValueError(f"BvhMotion: frame_time must be positive, got {self.frame_time}")

    @property
    def n_frames(self) -> int:
        return self.motion.shape[0]

    @property
    def n_joints(self) -> int:
        """Number of joints, end sites included."""
        return len(self.joint_names)

    @property
    def fps(self) -> float:
        """Frames per second; snapped to an integer when the file's frame time is a rounded one
        (``0.0083333`` -> 120)."""
        rate = 1.0 / self.frame_time
        nearest = round(rate)
        return float(nearest) if nearest > 0 and abs(rate - nearest) < 1e-4 * nearest else rate

    @property
    def channel_start(self) -> np.ndarray:
        """``(J,)`` column of each joint's first channel in ``motion``."""
        counts = np.array([len(c) for c in self.channels], dtype=int)
        return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)

    def joint_index(self, name: str) -> int:
        """Index of the joint called ``name`` (KeyError naming the available joints if absent)."""
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise KeyError(f"no joint {name!r}; joints are {', '.join(self.joint_names)}") from None


# ----------------------------------------------------------------------------------------------
# Reading


def read_bvh(path: str | Path) -> BvhMotion:
    """Read a BVH file (any mix of tabs, spaces, LF/CRLF line ends, trailing blanks).

    Raises ``InputError`` naming the file, the line and the fix when it is missing or malformed:
    a broken hierarchy, a motion block shorter or longer than its ``Frames:`` line, a row with the
    wrong number of values, or a value that is not a finite number.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as e:
        raise InputError(f"cannot read the BVH file ({e.strerror or e})", path=path,
                         fix="check the path and that the file is readable") from None
    lines = text.splitlines()
    tokens = _hierarchy_tokens(lines)
    skeleton, motion_line = _HierarchyParser(tokens, path).parse()
    frame_time, motion = _parse_motion(lines, motion_line, sum(len(j["channels"]) for j in skeleton), path)
    return BvhMotion(
        joint_names=tuple(j["name"] for j in skeleton),
        parents=np.array([j["parent"] for j in skeleton], dtype=int),
        offsets=np.array([j["offset"] for j in skeleton], dtype=float).reshape(-1, 3),
        channels=tuple(j["channels"] for j in skeleton),
        end_site=np.array([j["end_site"] for j in skeleton], dtype=bool),
        frame_time=frame_time,
        motion=motion,
        path=path,
    )


def _hierarchy_tokens(lines: list[str]) -> list[tuple[str, int]]:
    """``(token, line number)`` pairs up to and including the ``MOTION`` keyword."""
    tokens = []
    for i, line in enumerate(lines):
        for m in _TOKEN.finditer(line):
            tokens.append((m.group(), i + 1))
            if m.group().upper() == "MOTION":
                return tokens
    return tokens


class _HierarchyParser:
    """Recursive-descent parser of the HIERARCHY block over ``(token, line)`` pairs."""

    def __init__(self, tokens: list[tuple[str, int]], path: Path):
        self.tokens, self.path, self.pos = tokens, path, 0
        self.joints: list[dict] = []

    def error(self, problem: str, line: int | None = None, fix: str = _FIX_HIERARCHY) -> InputError:
        if line is None:
            line = self.tokens[min(self.pos, len(self.tokens) - 1)][1] if self.tokens else 1
        return InputError(f"line {line}: {problem}", path=self.path, fix=fix)

    def next(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.tokens):
            last = self.tokens[-1][1] if self.tokens else 1
            raise self.error(f"file ends where {what} was expected", last,
                             fix="the file is truncated; re-export or re-download it")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect(self, keyword: str) -> int:
        tok, line = self.next(f"'{keyword}'")
        if tok.upper() != keyword.upper():
            raise self.error(f"expected '{keyword}', found '{tok}'", line)
        return line

    def number(self, what: str) -> float:
        tok, line = self.next(what)
        try:
            value = float(tok)
        except ValueError:
            raise self.error(f"{what} must be a number, found '{tok}'", line) from None
        if not np.isfinite(value):
            raise self.error(f"{what} must be finite, found '{tok}'", line)
        return value

    def parse(self) -> tuple[list[dict], int]:
        """Returns the joints in file order and the line number of ``MOTION``."""
        if not self.tokens:
            raise InputError("the file is empty", path=self.path, fix="re-export or re-download the BVH file")
        tok, line = self.tokens[0]
        if tok.upper() != "HIERARCHY":
            raise self.error(f"expected 'HIERARCHY' at the start of a BVH file, found '{tok}'", line,
                             fix="check that this is a BVH file")
        self.pos = 1
        while self.pos < len(self.tokens) and self.tokens[self.pos][0].upper() == "ROOT":
            self.pos += 1
            self.joint(parent=-1)
        if not self.joints:
            raise self.error("no ROOT joint after HIERARCHY")
        tok, line = self.next("'MOTION'")
        if tok.upper() != "MOTION":
            raise self.error(f"expected 'MOTION' after the hierarchy, found '{tok}'", line)
        return self.joints, line

    def name_tokens(self, line: int) -> str:
        """A joint name: the tokens on ``line`` before ``{`` (names may contain spaces)."""
        parts = []
        while self.pos < len(self.tokens) and self.tokens[self.pos][1] == line and self.tokens[self.pos][0] != "{":
            parts.append(self.tokens[self.pos][0])
            self.pos += 1
        if not parts:
            raise self.error("joint without a name", line)
        return " ".join(parts)

    def joint(self, parent: int) -> None:
        line = self.tokens[self.pos - 1][1]
        name = self.name_tokens(line)
        if any(j["name"] == name for j in self.joints):
            raise self.error(f"joint name '{name}' is used twice", line,
                             fix="give every joint a unique name")
        index = len(self.joints)
        joint = {"name": name, "parent": parent, "offset": None, "channels": (), "end_site": False}
        self.joints.append(joint)
        self.expect("{")
        while True:
            tok, tline = self.next(f"'}}' closing joint '{name}'")
            key = tok.upper()
            if key == "OFFSET":
                joint["offset"] = [self.number(f"OFFSET of '{name}'") for _ in range(3)]
            elif key == "CHANNELS":
                joint["channels"] = self.channel_list(name, tline)
            elif key == "JOINT":
                self.joint(parent=index)
            elif key == "END":
                self.end_site(parent=index, line=tline)
            elif key == "}":
                break
            else:
                raise self.error(f"unexpected '{tok}' in joint '{name}'", tline)
        if joint["offset"] is None:
            raise self.error(f"joint '{name}' has no OFFSET", line)

    def channel_list(self, name: str, line: int) -> tuple[str, ...]:
        count_tok = self.tokens[self.pos][0] if self.pos < len(self.tokens) else ""
        count = self.number(f"CHANNELS count of '{name}'")
        if count != int(count) or not 0 <= count <= 6:
            raise self.error(f"CHANNELS count of '{name}' must be 0-6, found '{count_tok}'", line)
        channels = []
        for _ in range(int(count)):
            tok, tline = self.next(f"a channel name of '{name}'")
            canonical = _CANONICAL.get(tok.lower())
            if canonical is None or tline != line:
                raise self.error(f"CHANNELS line of '{name}' says {int(count)} channels but "
                                 f"'{tok}' (line {tline}) is not one of {', '.join(CHANNEL_NAMES)}", line)
            channels.append(canonical)
        if self.pos < len(self.tokens) and self.tokens[self.pos][1] == line:
            raise self.error(f"CHANNELS line of '{name}' lists more channels than its count {int(count)}", line)
        if len(set(channels)) != len(channels):
            raise self.error(f"joint '{name}' repeats a channel", line)
        return tuple(channels)

    def end_site(self, parent: int, line: int) -> None:
        self.expect("Site")
        base = f"{self.joints[parent]['name']}_end"
        names = {j["name"] for j in self.joints}
        name, k = base, 1
        while name in names:
            k += 1
            name = f"{base}{k}"
        self.expect("{")
        self.expect("OFFSET")
        offset = [self.number(f"OFFSET of the End Site of '{self.joints[parent]['name']}'") for _ in range(3)]
        self.expect("}")
        self.joints.append({"name": name, "parent": parent, "offset": offset, "channels": (), "end_site": True})


def _header_value(lines: list[str], i: int, pattern: str, label: str, path: Path) -> str:
    m = re.match(pattern, lines[i], re.IGNORECASE) if i < len(lines) else None
    if m is None:
        found = repr(lines[i].strip()) if i < len(lines) else "the end of the file"
        raise InputError(f"line {i + 1}: expected '{label} ...' in the MOTION header, found {found}", path=path,
                         fix="the MOTION block must start with 'Frames: N' and 'Frame Time: seconds'")
    return m.group(1)


def _parse_motion(lines: list[str], motion_line: int, n_channels: int, path: Path) -> tuple[float, np.ndarray]:
    """Parse ``Frames:``, ``Frame Time:`` and the ``(F, C)`` block after the MOTION keyword."""
    i = motion_line  # 0-based index of the line after MOTION
    while i < len(lines) and not lines[i].strip():
        i += 1
    frames_tok = _header_value(lines, i, r"\s*Frames\s*:\s*(\S+)\s*$", "Frames:", path)
    frames_line = i + 1
    i += 1
    time_tok = _header_value(lines, i, r"\s*Frame\s*Time\s*:\s*(\S+)\s*$", "Frame Time:", path)
    try:
        n_frames, frame_time = int(frames_tok), float(time_tok)
    except ValueError:
        n_frames, frame_time = -1, float("nan")
    if n_frames < 0 or not frame_time > 0 or not np.isfinite(frame_time):
        raise InputError(f"lines {frames_line}-{i + 1}: bad MOTION header (Frames: {frames_tok}, "
                         f"Frame Time: {time_tok})", path=path,
                         fix="'Frames:' needs a whole number >= 0 and 'Frame Time:' positive seconds per frame")
    rows, row_lines = [], []
    for k in range(i + 1, len(lines)):
        values = lines[k].split()
        if not values:
            continue
        if len(values) != n_channels:
            raise InputError(f"line {k + 1}: expected {n_channels} values (the hierarchy's channel count), "
                             f"found {len(values)}", path=path,
                             fix="the file is truncated or its motion does not match its hierarchy; "
                                 "re-export or re-download it")
        rows.append(values)
        row_lines.append(k + 1)
    if len(rows) != n_frames:
        raise InputError(f"line {frames_line} says Frames: {n_frames} but {len(rows)} rows of motion data follow",
                         path=path, fix="the file is truncated or was edited; re-export or re-download it "
                                        "(or correct the Frames: line)")
    try:
        motion = np.array(rows, dtype=float).reshape(n_frames, n_channels)
        bad_row = None if np.all(np.isfinite(motion)) else int(np.nonzero(~np.isfinite(motion).all(axis=1))[0][0])
    except ValueError:
        bad_row = next(r for r, vals in enumerate(rows) if not _all_numbers(vals))
    if bad_row is not None:
        bad = next(v for v in rows[bad_row] if not _finite_number(v))
        raise InputError(f"line {row_lines[bad_row]}: '{bad}' is not a finite number", path=path,
                         fix="the motion data is corrupt; re-export or re-download the file")
    return frame_time, motion


def _finite_number(s: str) -> bool:
    try:
        return bool(np.isfinite(float(s)))
    except ValueError:
        return False


def _all_numbers(values: list[str]) -> bool:
    return all(_finite_number(v) for v in values)


# ----------------------------------------------------------------------------------------------
# Kinematics (pure functions of a BvhMotion)


def axis_rotation(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Rotations about ``axis`` ('X', 'Y' or 'Z') by ``degrees (...)`` -> ``(..., 3, 3)``."""
    a = np.radians(np.asarray(degrees, dtype=float))
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    rows = {
        "X": [one, zero, zero, zero, c, -s, zero, s, c],
        "Y": [c, zero, s, zero, one, zero, -s, zero, c],
        "Z": [c, -s, zero, s, c, zero, zero, zero, one],
    }[axis.upper()]
    return np.stack(rows, axis=-1).reshape(a.shape + (3, 3))


def bvh_local_rotations(motion: BvhMotion) -> np.ndarray:
    """``(F, J, 3, 3)`` local joint rotations: ``R = R_ch1 @ R_ch2 @ R_ch3`` in each joint's channel
    order (intrinsic Euler angles in degrees); identity for joints without rotation channels."""
    rot = np.tile(np.eye(3), (motion.n_frames, motion.n_joints, 1, 1))
    for j, (chans, start) in enumerate(zip(motion.channels, motion.channel_start)):
        for k, ch in enumerate(chans):
            if ch.endswith("rotation"):
                rot[:, j] = rot[:, j] @ axis_rotation(ch[0], motion.motion[:, start + k])
    return rot


def bvh_local_translations(motion: BvhMotion) -> np.ndarray:
    """``(F, J, 3)`` local joint translations in file units: the OFFSET, with each position channel
    replacing its component."""
    trans = np.tile(motion.offsets, (motion.n_frames, 1, 1))
    for j, (chans, start) in enumerate(zip(motion.channels, motion.channel_start)):
        for k, ch in enumerate(chans):
            if ch.endswith("position"):
                trans[:, j, "XYZ".index(ch[0])] = motion.motion[:, start + k]
    return trans


def world_transforms(motion: BvhMotion) -> tuple[np.ndarray, np.ndarray]:
    """World rotations ``(F, J, 3, 3)`` and positions ``(F, J, 3)`` (file units) of every joint."""
    local_r, local_t = bvh_local_rotations(motion), bvh_local_translations(motion)
    world_r, world_t = np.empty_like(local_r), np.empty_like(local_t)
    for j, p in enumerate(motion.parents):
        if p < 0:
            world_r[:, j], world_t[:, j] = local_r[:, j], local_t[:, j]
        else:
            world_r[:, j] = world_r[:, p] @ local_r[:, j]
            world_t[:, j] = world_t[:, p] + (world_r[:, p] @ local_t[:, j, :, None])[..., 0]
    return world_r, world_t


def forward_kinematics(motion: BvhMotion) -> np.ndarray:
    """``(F, J, 3)`` world joint positions in file units (end sites included)."""
    return world_transforms(motion)[1]


# ----------------------------------------------------------------------------------------------
# SkeletonAnimation <-> BVH

#: World (Z-up, facing -Y) -> BVH Y-up axes: ``(x, y, z) -> (x, z, -y)``; the character then faces +Z.
ZUP_TO_YUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
ROTATION_ORDERS = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")


def _file_axes(up: str) -> np.ndarray:
    """``p_file = A @ p_world`` for a file with this up axis."""
    if up not in ("Y", "Z"):
        raise ValueError(f"up must be 'Y' (the usual BVH convention) or 'Z' (Blender's axes), got {up!r}")
    return ZUP_TO_YUP if up == "Y" else np.eye(3)


def matrix_to_euler(R: np.ndarray, order: str) -> np.ndarray:
    """``(..., 3, 3)`` rotations -> ``(..., 3)`` intrinsic Euler angles in degrees, in ``order``'s channel order:
    ``R = R_order[0](a0) @ R_order[1](a1) @ R_order[2](a2)`` (the BVH reading of a ``CHANNELS`` line).

    The middle angle is in [-90, 90]; at +-90 (gimbal lock) the last angle is set to 0.
    """
    if order not in ROTATION_ORDERS:
        raise ValueError(f"rotation order must be one of {', '.join(ROTATION_ORDERS)}, got {order!r}")
    i, j, k = ("XYZ".index(c) for c in order)
    s = 1.0 if (j - i) % 3 == 1 else -1.0  # +1 for cyclic orders (XYZ, YZX, ZXY)
    sin_b = np.clip(s * R[..., i, k], -1.0, 1.0)
    b = np.arcsin(sin_b)
    locked = np.abs(sin_b) > 1.0 - 1e-12
    a = np.where(locked, np.arctan2(s * R[..., k, j], R[..., j, j]), np.arctan2(-s * R[..., j, k], R[..., k, k]))
    c = np.where(locked, 0.0, np.arctan2(-s * R[..., i, j], R[..., i, i]))
    return np.degrees(np.stack([a, b, c], axis=-1))


def _continuous_degrees(angles: np.ndarray) -> np.ndarray:
    """Unwrap ``(F, ...)`` angles in degrees along frames so that curves have no 360-degree jumps."""
    return np.degrees(np.unwrap(np.radians(angles), axis=0))


def _children(parents) -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in parents]
    for j, p in enumerate(parents):
        if p >= 0:
            kids[p].append(j)
    return kids


def write_bvh(path: str | Path, anim, *, up: str = "Y", rotation_order: str = "ZXY", scale: float = 1.0,
              end_sites: dict[str, np.ndarray] | None = None, decimals: int = 6) -> Path:
    """Write a `SkeletonAnimation` as a BVH file, atomically.

    The file: one ``ROOT`` (the animation's root joint) with ``OFFSET 0 0 0`` and ``CHANNELS 6 Xposition
    Yposition Zposition`` followed by the three rotation channels in ``rotation_order`` (default
    ``Zrotation Xrotation Yrotation``); every other joint ``CHANNELS 3`` rotations in the same order (or 6, with
    its position from the parent, when it has local translations: a UE5 rig's pelvis), its ``OFFSET`` the
    rest-pose vector from its parent; every leaf ends with an ``End Site``. Angles are intrinsic
    Euler angles in degrees (``R = R_Z @ R_X @ R_Y`` for ZXY), made continuous over frames.

    BVH joint frames are aligned with the file axes at rest, so each joint's rotation is its world rotation
    relative to its rest, ``G_j = W_j @ B_j^T`` (``W`` posed and ``B`` rest orientations, from the animation's
    FK), and the channels hold ``G_parent^T @ G_j`` expressed in file axes.

    Args:
        path: the ``.bvh`` file.
        anim: a `mocap.body.animation.SkeletonAnimation` (metres, Z-up world, character facing -Y).
        up: ``"Y"`` (default, what most tools expect: ``(x, y, z) -> (x, z, -y)``, the character faces +Z;
            Blender imports it with its default axes) or ``"Z"`` (world axes as they are; import in Blender
            with forward Y, up Z).
        rotation_order: Euler order of the rotation channels (``"ZXY"``, ``"XYZ"``, ...).
        scale: file units per metre (1 = metres, 100 = centimetres).
        end_sites: ``{leaf joint name: (3,) world vector from the joint to its tip at rest}``, metres; leaves
            not named continue their parent's bone with the same length.
        decimals: digits after the point for offsets, positions and angles.

    Returns the path written. Raises ``InputError`` when the animation has non-finite values.
    """
    path = Path(path)
    A = _file_axes(up)
    matrix_to_euler(np.eye(3), rotation_order)  # validates the order
    P, W = anim.world_transforms()
    if not (np.isfinite(P).all() and np.isfinite(W).all()):
        bad = np.flatnonzero(~(np.isfinite(P).all(axis=(1, 2)) & np.isfinite(W).all(axis=(1, 2, 3))))
        raise InputError(f"the animation has non-finite values in {len(bad)} frame(s), first {bad[0]}", path=path,
                         fix="fill or trim the missing frames before exporting")
    G = A @ (W @ np.swapaxes(anim.rest_orientations, -1, -2)) @ A.T  # (F, J, 3, 3) file-axes delta from rest
    local = G.copy()
    for j, p in enumerate(anim.parents):
        if p >= 0:
            local[:, j] = np.swapaxes(G[:, p], -1, -2) @ G[:, j]
    order = _file_order(anim.parents)
    angles = _continuous_degrees(matrix_to_euler(local[:, order], rotation_order))  # (F, J, 3) in file order
    moving = _translated_joints(anim)
    columns = []
    for k, j in enumerate(order):
        p = anim.parents[j]
        if p < 0:
            columns.append(P[:, j] @ A.T * scale)
        elif j in moving:  # position channels: the offset from the parent, moved by the joint's translation
            offset = anim.rest_positions[j] - anim.rest_positions[p] + anim.local_translations[:, j] @ \
                anim.rest_orientations[j].T
            columns.append(offset @ A.T * scale)
        columns.append(angles[:, k])
    frames = np.concatenate(columns, axis=1)
    header = _hierarchy_text(anim, A, scale, rotation_order, end_sites or {}, decimals, moving)
    body = io.StringIO()
    np.savetxt(body, frames, fmt=f"%.{decimals}f", delimiter=" ")
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(header)
        fh.write(f"MOTION\nFrames: {len(frames)}\nFrame Time: {1.0 / anim.fps:.8f}\n")
        fh.write(body.getvalue())
    return path


def _file_order(parents) -> list[int]:
    """Joint indices in the depth-first order in which the hierarchy (and so the channels) is written."""
    roots = [j for j, p in enumerate(parents) if p < 0]
    if len(roots) != 1:
        raise ValueError(f"BVH export needs exactly one root joint, the animation has {len(roots)}")
    kids, order, stack = _children(parents), [], roots
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(kids[j]))
    return order


def _translated_joints(anim) -> set[int]:
    """Joints other than the root that move away from their rest offset in some frame."""
    T = getattr(anim, "local_translations", None)
    if T is None:
        return set()
    return {j for j in range(1, len(anim.names)) if anim.parents[j] >= 0 and np.abs(T[:, j]).max() > 1e-9}


def _hierarchy_text(anim, A: np.ndarray, scale: float, order: str, end_sites: dict, decimals: int,
                    moving: set[int] = frozenset()) -> str:
    r = anim.rest_positions
    kids = _children(anim.parents)
    rot = " ".join(f"{c}rotation" for c in order)
    num = f"{{:.{decimals}f}}".format
    lines = ["HIERARCHY"]

    def vec(v):
        return " ".join(num(x + 0.0) for x in np.round(A @ v * scale, decimals))

    def emit(j: int, depth: int):
        pad = "\t" * depth
        p = anim.parents[j]
        name = "_".join(anim.names[j].split())
        lines.append(f"{pad}{'ROOT' if p < 0 else 'JOINT'} {name}")
        lines.append(pad + "{")
        lines.append(f"{pad}\tOFFSET {vec(np.zeros(3) if p < 0 else r[j] - r[p])}")
        six = p < 0 or j in moving
        lines.append(f"{pad}\tCHANNELS {'6 Xposition Yposition Zposition ' + rot if six else '3 ' + rot}")
        for c in kids[j]:
            emit(c, depth + 1)
        if not kids[j]:
            tip = end_sites.get(anim.names[j])
            if tip is None:
                tip = r[j] - r[p] if p >= 0 else np.array([0.0, 0.0, 0.1])
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET {vec(np.asarray(tip, float))}", f"{pad}\t}}"])
        lines.append(pad + "}")

    emit(_file_order(anim.parents)[0], 0)
    return "\n".join(lines) + "\n"


def bvh_to_animation(motion: BvhMotion, *, up: str = "Y", metres_per_unit: float = 1.0,
                     end_sites: bool = True):
    """A `BvhMotion` as a `SkeletonAnimation` in the Z-up world (metres, character facing -Y).

    Joint frames are the file's axes at rest (``rest_orientations`` = the file-to-world turn), so the local
    rotations are the file's channel rotations unchanged; rest positions are the summed ``OFFSET`` s and the
    root follows the file's root position channels.

    Args:
        motion: from `read_bvh`.
        up: the file's up axis: ``"Y"`` (most BVH files, CMU included: ``(x, y, z)_file -> (x, -z, y)``)
            or ``"Z"``.
        metres_per_unit: e.g. 0.01 for centimetre files, ``mocap.synth.cmu.CMU_UNIT_M`` for CMU clips.
        end_sites: keep the ``End Site`` tips as joints (``<parent>_end``).

    Raises ``InputError`` for files with several roots.
    """
    from mocap.body.animation import SkeletonAnimation

    A = _file_axes(up)
    roots = np.flatnonzero(motion.parents < 0)
    if len(roots) != 1:
        raise InputError(f"the file has {len(roots)} ROOT joints; a skeleton animation needs one", path=motion.path,
                         fix="split the file into one file per skeleton")
    keep = np.flatnonzero(np.ones(motion.n_joints, bool) if end_sites else ~motion.end_site)
    new_index = -np.ones(motion.n_joints, int)
    new_index[keep] = np.arange(len(keep))
    parents = tuple(int(new_index[p]) if p >= 0 else -1 for p in motion.parents[keep])
    rest = np.zeros((motion.n_joints, 3))
    for j, p in enumerate(motion.parents):
        rest[j] = motion.offsets[j] + (rest[p] if p >= 0 else 0.0)
    _, world_t = world_transforms(motion)
    to_world = A.T * metres_per_unit
    J = len(keep)
    # joints with position channels move away from their OFFSET: in the joint frame (= file axes), metres
    delta = (bvh_local_translations(motion) - motion.offsets[None]) * metres_per_unit
    delta[:, roots[0]] = 0.0
    delta = delta[:, keep]
    return SkeletonAnimation(
        names=tuple(motion.joint_names[j] for j in keep), parents=parents, rest_positions=rest[keep] @ to_world.T,
        rest_orientations=np.broadcast_to(A.T, (J, 3, 3)).copy(), local_rotations=bvh_local_rotations(motion)[:, keep],
        root_positions=world_t[:, roots[0]] @ to_world.T, fps=motion.fps,
        local_translations=delta if np.abs(delta).max(initial=0.0) > 1e-12 else None)
