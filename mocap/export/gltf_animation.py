"""Write a `SkeletonAnimation` into a binary glTF (GLB) file as a glTF animation, with numpy.

Blender's glTF exporter writes the skeleton, the skinned mesh and its material (`mocap.export.blender_export`),
but sampling an animation through it costs about 5 ms of Python per frame and holds every sample as a Python
object: minutes of animation take minutes and gigabytes. The animation itself is only a rotation per joint
and a root translation per frame, so it is added here instead, in frames of bounded chunks, straight into the
file's JSON and binary chunks.

Convention-free: each joint node's animated global rotation is its rest global rotation (read from the file)
turned by the joint's world rotation relative to its rest (``W_j @ B_j^T``, the same in any bone frame
convention), expressed in glTF's Y-up axes; node-local values follow from the node hierarchy in the file.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from mocap.body.animation import SkeletonAnimation
from mocap.errors import MocapError
from mocap.geometry import continuous_quaternions, matrix_to_quaternion, nearest_rotation

#: Blender (Z up) -> glTF (Y up): ``(x, y, z) -> (x, z, -y)``.
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
CHUNK_FRAMES = 2048
"""Frames converted at a time (memory stays flat with the length of the animation)."""
_FLOAT = 5126  # glTF componentType FLOAT


def read_glb(path: Path) -> tuple[dict, bytes]:
    """``(JSON dict, BIN chunk bytes)`` of a GLB file."""
    data = Path(path).read_bytes()
    magic, version, _ = struct.unpack_from("<4sII", data, 0)
    if magic != b"glTF" or version != 2:
        raise MocapError("not a binary glTF 2.0 file", path=path, fix="write it with export format glb")
    json_len, _ = struct.unpack_from("<II", data, 12)
    doc = json.loads(data[20:20 + json_len])
    offset = 20 + json_len
    binary = b""
    if offset < len(data):
        bin_len, _ = struct.unpack_from("<II", data, offset)
        binary = data[offset + 8:offset + 8 + bin_len]
    return doc, binary


def write_glb(path: Path, doc: dict, binary: bytes) -> None:
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<4sII", b"glTF", 2, total))
        fh.write(struct.pack("<II", len(text), 0x4E4F534A) + text)
        fh.write(struct.pack("<II", len(binary), 0x004E4942) + binary)


def _local_matrix(node: dict) -> np.ndarray:
    if "matrix" in node:
        return np.array(node["matrix"], dtype=np.float64).reshape(4, 4).T  # column-major
    M = np.eye(4)
    x, y, z, w = node.get("rotation", (0.0, 0.0, 0.0, 1.0))
    R = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    M[:3, :3] = R * np.asarray(node.get("scale", (1.0, 1.0, 1.0)))
    M[:3, 3] = node.get("translation", (0.0, 0.0, 0.0))
    return M


def node_globals(doc: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 4, 4)`` rest global transform of every node and ``(N,)`` parent node index (-1 for roots)."""
    nodes = doc.get("nodes", [])
    parent = -np.ones(len(nodes), dtype=int)
    for i, node in enumerate(nodes):
        for c in node.get("children", []):
            parent[c] = i
    G = np.full((len(nodes), 4, 4), np.nan)

    def glob(i):
        if np.isnan(G[i, 0, 0]):
            G[i] = (glob(parent[i]) if parent[i] >= 0 else np.eye(4)) @ _local_matrix(nodes[i])
        return G[i]

    for i in range(len(nodes)):
        glob(i)
    return G, parent


def _rotation_and_scale(M: np.ndarray) -> tuple[np.ndarray, float]:
    A = M[..., :3, :3]
    return nearest_rotation(A), float(np.cbrt(abs(np.linalg.det(A))))


def add_animation(path: str | Path, anim: SkeletonAnimation, name: str = "take") -> Path:
    """Add ``anim`` (metres, Z up, Blender's pose conventions) to the GLB at ``path`` as one animation.

    The file must hold nodes named like ``anim``'s joints in their rest pose (as Blender exports an armature
    without animation). Writes a rotation channel for every joint node and a translation channel for the root
    joint, sampled on every frame (LINEAR), replacing any animation already in the file.
    """
    from mocap.export.bone_frames import fill_missing_frames

    path = Path(path)
    doc, binary = read_glb(path)
    index = {n.get("name"): i for i, n in enumerate(doc.get("nodes", []))}
    missing = [n for n in anim.names if n not in index]
    if missing:
        raise MocapError(f"the glTF file has no node for joints {', '.join(missing[:5])}", path=path,
                         fix="export the armature built from the same animation")
    anim = fill_missing_frames(anim)
    G, parent = node_globals(doc)
    nodes = np.array([index[n] for n in anim.names])
    A = Z_UP_TO_Y_UP
    rest_rot = np.stack([_rotation_and_scale(G[n])[0] for n in nodes])            # (J, 3, 3)
    root = int(np.flatnonzero(np.array(anim.parents) < 0)[0])
    joint_of_node = {int(n): j for j, n in enumerate(nodes)}
    parents = [joint_of_node.get(int(parent[n]), -1) for n in nodes]              # parent joint, -1: a static node
    F, J = anim.n_frames, len(anim.names)
    quats = np.empty((J, F, 4), dtype=np.float32)                                 # glTF (x, y, z, w)
    root_t = np.empty((F, 3), dtype=np.float32)
    root_parent = int(parent[nodes[root]])
    Rp, sp = _rotation_and_scale(G[root_parent]) if root_parent >= 0 else (np.eye(3), 1.0)
    tp = G[root_parent, :3, 3] if root_parent >= 0 else np.zeros(3)
    previous = None
    for a in range(0, F, CHUNK_FRAMES):
        b = min(F, a + CHUNK_FRAMES)
        part = SkeletonAnimation(anim.names, anim.parents, anim.rest_positions, anim.rest_orientations,
                                 anim.local_rotations[a:b], anim.root_positions[a:b], anim.fps)
        P, W = part.world_transforms()
        delta = A @ W @ np.swapaxes(anim.rest_orientations, -1, -2) @ A.T         # world turn from rest, Y up
        Gn = delta @ rest_rot                                                     # (n, J, 3, 3) node globals
        local = np.empty_like(Gn)
        for j in range(J):
            p = parents[j]
            base = Gn[:, p] if p >= 0 else _rotation_and_scale(G[parent[nodes[j]]])[0] if parent[nodes[j]] >= 0 \
                else np.eye(3)
            local[:, j] = np.swapaxes(base, -1, -2) @ Gn[:, j]
        q = matrix_to_quaternion(local)                                           # (n, J, 4) (w, x, y, z)
        if previous is not None:
            q = np.concatenate([previous[None], q])
        q = continuous_quaternions(q)
        if previous is not None:
            q = q[1:]
        previous = q[-1]
        quats[:, a:b] = np.moveaxis(q[..., [1, 2, 3, 0]], 0, 1)
        root_t[a:b] = ((P[:, root] @ A.T - tp) @ Rp) / sp
    times = (np.arange(F) / float(anim.fps)).astype(np.float32)
    _write_channels(doc, bytearray(binary), path, name, times, nodes, quats, int(nodes[root]), root_t)
    return path


def _write_channels(doc: dict, binary: bytearray, path: Path, name: str, times: np.ndarray, nodes: np.ndarray,
                    quats: np.ndarray, root_node: int, root_t: np.ndarray) -> None:
    views, accessors = doc.setdefault("bufferViews", []), doc.setdefault("accessors", [])

    def accessor(array: np.ndarray, kind: str, bounds: bool = False) -> int:
        binary.extend(b"\0" * (-len(binary) % 4))
        views.append({"buffer": 0, "byteOffset": len(binary), "byteLength": array.nbytes})
        binary.extend(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        acc = {"bufferView": len(views) - 1, "componentType": _FLOAT, "count": len(array), "type": kind}
        if bounds:
            acc.update(min=[float(array.min())], max=[float(array.max())])
        accessors.append(acc)
        return len(accessors) - 1

    t = accessor(times, "SCALAR", bounds=True)
    samplers, channels = [], []
    for j, node in enumerate(nodes):
        samplers.append({"input": t, "interpolation": "LINEAR", "output": accessor(quats[j], "VEC4")})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": int(node), "path": "rotation"}})
    samplers.append({"input": t, "interpolation": "LINEAR", "output": accessor(root_t, "VEC3")})
    channels.append({"sampler": len(samplers) - 1, "target": {"node": root_node, "path": "translation"}})
    doc["animations"] = [{"name": name, "channels": channels, "samplers": samplers}]
    buffers = doc.setdefault("buffers", [{}])
    buffers[0]["byteLength"] = len(binary) + (-len(binary) % 4)
    write_glb(path, doc, bytes(binary))
