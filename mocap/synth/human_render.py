"""Render a posed body mesh from the virtual cameras of a ``CameraRig`` with Blender (bpy, headless).

The scene is built once: the textured body (the model's UVs and ``texture.png``, with clothes painted
over it by body region: shirt, shorts, shoes), a floor, lights; several bodies for several performers
(each its own shirt colour, :data:`SHIRTS`). Each frame only the vertex positions change. Engines: Workbench (fast, about 1 s per 640x480 image on 2 cores) or Cycles.

Cameras: Blender renders an ideal pinhole image (square pixels, principal point in the middle, a
field of view wide enough for the whole distorted image); every output pixel is then traced back
through the true camera model (``K``, distortion, fisheye or not: ``Camera.undistort_points``) into
that pinhole image and sampled with ``cv2.remap``. So ``Camera.project`` of a world point lands on the
pixel that shows it, for any intrinsics and lens distortion. Our cameras (OpenCV axes: x right, y
down, looking along +z; world-to-camera ``R, t``) become Blender cameras (x right, y up, looking along
-z) with ``matrix_world = [[R.T @ diag(1, -1, -1), centre], [0, 1]]``.

``bpy`` is imported inside the functions that need it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.camera import Camera, CameraRig

log = logging.getLogger(__name__)

ENGINES = {"workbench": "BLENDER_WORKBENCH", "cycles": "CYCLES"}

#: Clothes painted over the skin texture: region -> (SMPL-X joints whose skinning weight puts a vertex
#: in it, RGB colour 0-1). Later regions win.
CLOTHES: dict[str, tuple[tuple[str, ...], tuple[float, float, float]]] = {
    "shirt": (("spine1", "spine2", "spine3", "left_collar", "right_collar", "left_shoulder", "right_shoulder"),
              (0.16, 0.33, 0.55)),
    "shorts": (("pelvis", "left_hip", "right_hip"), (0.22, 0.22, 0.25)),
    "shoes": (("left_ankle", "right_ankle", "left_foot", "right_foot"), (0.12, 0.10, 0.09)),
}
SKIN_RGB = (0.80, 0.62, 0.52)
#: Shirt colours of performers 0, 1, 2, ... (performer 0 wears the default blue).
SHIRTS = ((0.16, 0.33, 0.55), (0.62, 0.18, 0.16), (0.20, 0.48, 0.24), (0.55, 0.45, 0.12))


@dataclass(frozen=True)
class RenderOptions:
    """How images are rendered."""

    engine: str = "workbench"
    """"workbench" (fast) or "cycles" (path traced, about 3x slower at 16 samples)."""
    supersample: float = 1.25
    """The pinhole image is rendered at this many pixels per output pixel before the lens warp."""
    antialiasing: str = "FXAA"
    """Workbench anti-aliasing: "FXAA" (fast; the supersampled lens warp smooths edges too) or samples "5".."32"."""
    cycles_samples: int = 16
    """Samples per pixel with Cycles."""
    noise_sigma: float = 0.0
    """Gaussian sensor noise added to the final image (grey levels, 0-255)."""
    floor: bool = True
    """Draw a tiled floor at z = 0."""
    background: str = "plain"
    """"plain" (an empty grey world) or "cluttered" (textured walls, boxes, pillars and low objects, see
    :func:`clutter_layout`)."""
    clothing: str = "plain"
    """"plain" (flat clothes colours) or "textured" (striped shirt, checked shorts, in the body's UV space)."""
    seed: int = 0
    """Seed of the sensor noise."""


def clothing_regions(model: Mapping[str, np.ndarray]) -> np.ndarray:
    """``(V,)`` region index per vertex: 0 skin, k = the k-th entry of :data:`CLOTHES` (by skinning weights)."""
    from mocap.body.skeleton import JOINT_NAMES

    W = np.asarray(model["weights"])
    region = np.zeros(W.shape[0], dtype=np.int64)
    for k, (joints, _) in enumerate(CLOTHES.values(), start=1):
        cols = [JOINT_NAMES.index(j) for j in joints]
        region[W[:, cols].sum(axis=1) > 0.5] = k
    return region


def region_colours(shirt: Sequence[float] | None = None) -> np.ndarray:
    """``(1 + len(CLOTHES), 3)`` RGB 0-1: skin, then the clothes (``shirt`` replaces the shirt's colour)."""
    colours = np.array([SKIN_RGB] + [c for _, c in CLOTHES.values()], float)
    if shirt is not None:
        colours[1 + list(CLOTHES).index("shirt")] = shirt
    return colours


def cloth_pattern(k: int, h: int, w: int) -> np.ndarray:
    """``(h, w, 1)`` brightness factor of clothes region ``k`` in texture space: stripes for the shirt (1), a
    check for the shorts (2), a plain sole for the shoes."""
    yy, xx = np.mgrid[0:h, 0:w]
    period = max(h // 48, 4)
    if k == 1:
        return np.where((yy // period) % 2 == 0, 1.0, 0.45)[..., None] + 0.35 * ((xx // (3 * period)) % 2 == 0)[..., None]
    if k == 2:
        return np.where(((yy // (2 * period)) + (xx // (2 * period))) % 2 == 0, 1.25, 0.7)[..., None]
    return np.ones((h, w, 1))


def paint_texture(texture_rgb: np.ndarray, model: Mapping[str, np.ndarray],
                  shirt: Sequence[float] | None = None, pattern: bool = False) -> np.ndarray:
    """The body texture ``(H, W, 3)`` uint8 RGB with the clothes painted over their faces in UV space
    (``pattern``: with :func:`cloth_pattern`'s stripes and checks)."""
    import cv2

    img = texture_rgb.copy()
    h, w = img.shape[:2]
    region = clothing_regions(model)
    faces, ft, vt = np.asarray(model["f"]), np.asarray(model["ft"]), np.asarray(model["vt"])
    face_region = np.array([np.bincount(r, minlength=4).argmax() for r in region[faces]])
    colours = (region_colours(shirt) * 255).astype(np.uint8)
    rng = np.random.default_rng(0)
    for k in range(1, len(colours)):
        sel = face_region == k
        if not sel.any():
            continue
        layer = np.zeros((h, w), np.uint8)
        tris = np.round(np.stack([vt[ft[sel], 0] * w, (1 - vt[ft[sel], 1]) * h], axis=-1) * 4).astype(np.int32)
        cv2.fillPoly(layer, list(tris), 255, lineType=cv2.LINE_8, shift=2)
        layer = cv2.dilate(layer, np.ones((3, 3), np.uint8))  # cover the seams
        cloth = colours[k][None, None].astype(float) + rng.normal(0, 6, (h, w, 1))
        if pattern:
            cloth = cloth * cloth_pattern(k, h, w)
        cloth = np.clip(cloth, 0, 255)
        img = np.where(layer[..., None] > 0, cloth, img).astype(np.uint8)
    return img


def floor_texture(size: int = 512, tiles: int = 8) -> np.ndarray:
    """A light tiled floor ``(size, size, 3)`` uint8 RGB with some grain (deterministic)."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:size, 0:size] * tiles // size
    base = np.where((xx + yy) % 2 == 0, 176.0, 150.0)
    img = base[..., None] * np.array([1.0, 0.97, 0.9]) + rng.normal(0, 5, (size, size, 1))
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class ClutterItem:
    """A box of the cluttered background: centre ``(x, y)`` on the floor, size ``(w, d, h)``, turn about z
    (radians), and the seed of its texture."""

    centre: tuple[float, float]
    size: tuple[float, float, float]
    turn: float
    seed: int


def clutter_layout(seed: int = 0, *, inner: float = 1.9, ring: float = 3.6, outer: float = 5.6) -> list[ClutterItem]:
    """The boxes of a cluttered room (deterministic in ``seed``), around a capture area of radius ``inner``:

    * four walls 3 m high at ``outer`` + 0.4 m (posters of random coloured rectangles),
    * ten boxes and pillars (0.3-1.2 m wide, 0.4-2.2 m high) between ``ring`` and ``outer``, behind the
      cameras of a ring of radius 3.2 m, which see them behind the performer,
    * four low objects (stool-sized, at most 0.5 m high) between ``inner`` and ``ring``.
    """
    rng = np.random.default_rng(1000 + seed)
    wall = outer + 0.4
    items = [ClutterItem((x, y), (2 * wall, 0.1, 3.0), turn, int(rng.integers(1 << 30)))
             for x, y, turn in ((0, wall, 0), (0, -wall, 0), (wall, 0, np.pi / 2), (-wall, 0, np.pi / 2))]
    for k in range(14):
        low = k >= 10
        a = rng.uniform(0, 2 * np.pi)
        r = rng.uniform(inner + 0.3, ring - 0.3) if low else rng.uniform(ring, outer)
        w, d = rng.uniform(0.25, 0.5, 2) if low else rng.uniform(0.3, 1.2, 2)
        h = rng.uniform(0.25, 0.5) if low else rng.uniform(0.4, 2.2)
        items.append(ClutterItem((r * np.cos(a), r * np.sin(a)), (w, d, h), rng.uniform(0, np.pi),
                                 int(rng.integers(1 << 30))))
    return items


def clutter_texture(seed: int, size: int = 256) -> np.ndarray:
    """``(size, size, 3)`` uint8 RGB: random coloured rectangles and stripes on a random base (a poster, a
    shelf, a crate)."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.empty((size, size, 3), np.uint8)
    img[:] = rng.integers(40, 220, 3)
    for _ in range(int(rng.integers(6, 20))):
        x0, y0 = rng.integers(0, size, 2)
        x1, y1 = np.minimum([x0, y0] + rng.integers(8, size // 2, 2), size - 1)
        cv2.rectangle(img, (int(x0), int(y0)), (int(x1), int(y1)), [int(v) for v in rng.integers(0, 256, 3)], -1)
    if rng.random() < 0.5:
        img[:: int(rng.integers(6, 24))] //= 2
    return np.clip(img.astype(float) + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)


def pinhole_for(camera: Camera, supersample: float = 1.25) -> tuple[float, int, int]:
    """``(focal_px, width, height)`` of a centred square-pixel pinhole image that covers every ray
    of ``camera``'s (distorted) image."""
    w, h = camera.size
    u = np.linspace(-0.5, w - 0.5, 64)
    v = np.linspace(-0.5, h - 0.5, 48)
    border = np.concatenate([np.stack([u, np.full_like(u, -0.5)], 1), np.stack([u, np.full_like(u, h - 0.5)], 1),
                             np.stack([np.full_like(v, -0.5), v], 1), np.stack([np.full_like(v, w - 0.5), v], 1)])
    xn = camera.undistort_points(border)
    f = supersample * float(camera.K[0, 0])
    half = np.nanmax(np.abs(xn), axis=0) * f + 3
    return f, int(2 * np.ceil(half[0])), int(2 * np.ceil(half[1]))


def lens_maps(camera: Camera, focal: float, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap`` maps ``(H, W)`` float32: for each output pixel of ``camera``, where it lies in the
    centred pinhole image of ``focal`` and ``size``."""
    w, h = camera.size
    uu, vv = np.meshgrid(np.arange(w, dtype=float), np.arange(h, dtype=float))
    xn = camera.undistort_points(np.stack([uu, vv], -1).reshape(-1, 2)).reshape(h, w, 2)
    mapx = (xn[..., 0] * focal + (size[0] - 1) / 2).astype(np.float32)
    mapy = (xn[..., 1] * focal + (size[1] - 1) / 2).astype(np.float32)
    return mapx, mapy


def blender_camera_matrix(camera: Camera) -> np.ndarray:
    """``(4, 4)`` Blender ``matrix_world`` of ``camera`` (Blender cameras look along their -z, y up)."""
    M = np.eye(4)
    M[:3, :3] = camera.R.T @ np.diag([1.0, -1.0, -1.0])
    M[:3, 3] = camera.center
    return M


class HumanRenderer:
    """A Blender scene with body meshes and the rig's cameras; :meth:`render` gives BGR images.

    Args:
        model: body model arrays (``f``; ``vt``, ``ft`` and a texture for the textured look).
        rig: the cameras (their true intrinsics, distortion and poses).
        options: :class:`RenderOptions`.
        texture: ``(H, W, 3)`` uint8 RGB skin texture, or None (flat skin colour, clothes as vertex colours).
        shirts: one entry per body (performer): body ``k`` wears the shirt ``SHIRTS[shirts[k]]``. With several
            bodies, vertices are given as ``(bodies, V, 3)`` per image.
    """

    def __init__(self, model: Mapping[str, np.ndarray], rig: CameraRig, options: RenderOptions = RenderOptions(),
                 texture: np.ndarray | None = None, shirts: Sequence[int] = (0,)):
        import bpy

        self.rig = rig
        self.options = options
        self._rng = np.random.default_rng(options.seed)
        self._tmp = tempfile.TemporaryDirectory(prefix="mocap_render_")
        bpy.ops.wm.read_factory_settings(use_empty=True)
        self.scene = scene = bpy.context.scene
        self._setup_engine(scene, options, textured=texture is not None and "vt" in model)
        faces = np.asarray(model["f"], dtype=np.int64)
        self.n_vertices = int(np.asarray(model["v_template"]).shape[0])
        self.bodies = [self._build_body(model, faces, texture, k, shirt) for k, shirt in enumerate(shirts)]
        self.body = self.bodies[0]
        self.floor = self._build_floor() if options.floor else None
        if options.background not in ("plain", "cluttered"):
            raise ValueError(f"background must be 'plain' or 'cluttered', got {options.background!r}")
        if options.clothing not in ("plain", "textured"):
            raise ValueError(f"clothing must be 'plain' or 'textured', got {options.clothing!r}")
        self.clutter = self._build_clutter(clutter_layout(options.seed)) if options.background == "cluttered" else []
        self.cameras = []
        self._maps = []
        for cam in rig.cameras:
            focal, w, h = pinhole_for(cam, options.supersample)
            data = bpy.data.cameras.new(cam.name)
            data.sensor_fit = "HORIZONTAL"
            data.sensor_width = 36.0
            data.lens = focal / w * 36.0
            data.clip_start, data.clip_end = 0.05, 200.0
            obj = bpy.data.objects.new(cam.name, data)
            obj.matrix_world = _matrix(blender_camera_matrix(cam))
            scene.collection.objects.link(obj)
            self.cameras.append((obj, (w, h)))
            self._maps.append(lens_maps(cam, focal, (w, h)))
        self._markers: list = []

    # -- scene ---------------------------------------------------------------------------------------
    @staticmethod
    def _setup_engine(scene, options: RenderOptions, textured: bool) -> None:
        import bpy

        if options.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {options.engine!r}")
        scene.render.engine = ENGINES[options.engine]
        scene.render.resolution_percentage = 100
        scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
        scene.render.image_settings.file_format = "PNG"
        scene.render.image_settings.color_mode = "RGB"
        scene.render.image_settings.compression = 0
        scene.render.film_transparent = False
        scene.view_settings.view_transform = "Standard"
        world = bpy.data.worlds.new("world")
        world.color = (0.42, 0.44, 0.47)
        scene.world = world
        if options.engine == "workbench":
            shading = scene.display.shading
            shading.light = "STUDIO"
            shading.color_type = "TEXTURE" if textured else "VERTEX"
            shading.show_shadows = True
            shading.shadow_intensity = 0.35
            shading.show_cavity = False
            scene.display.render_aa = options.antialiasing
        else:
            scene.cycles.samples = options.cycles_samples
            scene.cycles.use_denoising = False
            scene.cycles.device = "CPU"
            world.node_tree.nodes["Background"].inputs[0].default_value = (0.42, 0.44, 0.47, 1.0)
            world.node_tree.nodes["Background"].inputs[1].default_value = 0.6
            sun = bpy.data.lights.new("sun", "SUN")
            sun.energy = 3.0
            obj = bpy.data.objects.new("sun", sun)
            obj.rotation_euler = (0.6, 0.2, 0.8)
            scene.collection.objects.link(obj)

    def _image(self, name: str, rgb: np.ndarray):
        import bpy

        h, w = rgb.shape[:2]
        img = bpy.data.images.new(name, w, h, alpha=True)
        rgba = np.concatenate([rgb[::-1].astype(np.float32) / 255.0, np.ones((h, w, 1), np.float32)], axis=-1)
        img.pixels.foreach_set(rgba.ravel())
        img.pack()
        return img

    def _material(self, name: str, image=None, rgb=(0.8, 0.8, 0.8)):
        import bpy

        mat = bpy.data.materials.new(name)
        nodes = mat.node_tree.nodes
        bsdf = nodes.get("Principled BSDF")
        bsdf.inputs["Roughness"].default_value = 0.8
        mat.diffuse_color = (*rgb, 1.0)
        if image is not None:
            tex = nodes.new("ShaderNodeTexImage")
            tex.image = image
            mat.node_tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
            nodes.active = tex
        else:
            attr = nodes.new("ShaderNodeVertexColor")
            attr.layer_name = "clothes"
            mat.node_tree.links.new(attr.outputs["Color"], bsdf.inputs["Base Color"])
        return mat

    def _build_body(self, model, faces, texture, index: int = 0, shirt_index: int = 0):
        import bpy

        shirt = SHIRTS[shirt_index % len(SHIRTS)] if shirt_index else None
        name = "body" if not index else f"body{index}"
        mesh = bpy.data.meshes.new(name)
        mesh.from_pydata(np.asarray(model["v_template"], float).tolist(), [], faces.tolist())
        mesh.polygons.foreach_set("use_smooth", np.ones(len(faces), dtype=bool))
        if texture is not None and "vt" in model:
            uv = mesh.uv_layers.new(name="UVMap")
            vt, ft = np.asarray(model["vt"], float), np.asarray(model["ft"], np.int64)
            uv.data.foreach_set("uv", vt[ft].reshape(-1).astype(np.float32))
            image = self._image(f"{name}_texture",
                                paint_texture(texture, model, shirt, pattern=self.options.clothing == "textured"))
            mat = self._material(name, image=image)
        else:
            colours = region_colours(shirt)[clothing_regions(model)]
            attr = mesh.color_attributes.new("clothes", "FLOAT_COLOR", "POINT")
            rgba = np.concatenate([colours, np.ones((len(colours), 1))], axis=1).astype(np.float32)
            attr.data.foreach_set("color", rgba.ravel())
            mat = self._material(name)
        mesh.materials.append(mat)
        mesh.update()
        obj = bpy.data.objects.new(name, mesh)
        self.scene.collection.objects.link(obj)
        return obj

    def _build_floor(self, half: float = 6.0):
        import bpy

        mesh = bpy.data.meshes.new("floor")
        mesh.from_pydata([(-half, -half, 0), (half, -half, 0), (half, half, 0), (-half, half, 0)], [], [(0, 1, 2, 3)])
        uv = mesh.uv_layers.new(name="UVMap")
        uv.data.foreach_set("uv", np.array([0, 0, 6, 0, 6, 6, 0, 6], np.float32))  # 48 x 48 tiles of 25 cm
        attr = mesh.color_attributes.new("clothes", "FLOAT_COLOR", "POINT")
        attr.data.foreach_set("color", np.tile([0.62, 0.6, 0.56, 1.0], 4).astype(np.float32))
        mesh.materials.append(self._material("floor", image=self._image("floor_texture", floor_texture())))
        mesh.update()
        obj = bpy.data.objects.new("floor", mesh)
        self.scene.collection.objects.link(obj)
        return obj

    def _build_clutter(self, items: Sequence[ClutterItem]) -> list:
        """One textured box per item (see :func:`clutter_layout`)."""
        import bpy

        corners = np.array([[x, y, z] for z in (0, 1) for y in (-0.5, 0.5) for x in (-0.5, 0.5)])
        quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
        uv = np.tile(np.array([0, 0, 1, 0, 1, 1, 0, 1], np.float32), len(quads))
        objects = []
        for k, item in enumerate(items):
            c, s_ = np.cos(item.turn), np.sin(item.turn)
            v = corners * np.asarray(item.size)
            v = v @ np.array([[c, s_, 0], [-s_, c, 0], [0, 0, 1]]) + np.array([*item.centre, 0.0])
            mesh = bpy.data.meshes.new(f"clutter{k}")
            mesh.from_pydata(v.tolist(), [], quads)
            mesh.uv_layers.new(name="UVMap").data.foreach_set("uv", uv)
            attr = mesh.color_attributes.new("clothes", "FLOAT_COLOR", "POINT")
            attr.data.foreach_set("color", np.tile([0.5, 0.5, 0.5, 1.0], 8).astype(np.float32))
            mesh.materials.append(self._material(f"clutter{k}", image=self._image(f"clutter{k}",
                                                                                   clutter_texture(item.seed))))
            mesh.update()
            obj = bpy.data.objects.new(f"clutter{k}", mesh)
            self.scene.collection.objects.link(obj)
            objects.append(obj)
        return objects

    def add_markers(self, points: np.ndarray, radius: float = 0.02, rgb=(1.0, 0.0, 0.0)) -> None:
        """Small spheres at world ``points (N, 3)`` (for checking the camera model)."""
        import bpy

        mat = self._material("marker", rgb=rgb)
        n = 16
        th, ph = np.meshgrid(np.linspace(0, np.pi, n // 2 + 1), np.linspace(0, 2 * np.pi, n, endpoint=False),
                             indexing="ij")
        unit = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], -1).reshape(-1, 3)
        quads = [(i * n + k, i * n + (k + 1) % n, (i + 1) * n + (k + 1) % n, (i + 1) * n + k)
                 for i in range(n // 2) for k in range(n)]
        for k, p in enumerate(np.asarray(points, float).reshape(-1, 3)):
            mesh = bpy.data.meshes.new(f"marker{k}")
            mesh.from_pydata((unit * radius + p).tolist(), [], quads)
            attr = mesh.color_attributes.new("clothes", "FLOAT_COLOR", "POINT")
            attr.data.foreach_set("color", np.tile([*rgb, 1.0], len(unit)).astype(np.float32))
            mesh.materials.append(mat)
            obj = bpy.data.objects.new(f"marker{k}", mesh)
            self.scene.collection.objects.link(obj)
            self._markers.append(obj)

    # -- rendering -----------------------------------------------------------------------------------
    def set_vertices(self, vertices: np.ndarray) -> None:
        """Move the body meshes to ``vertices (V, 3)`` (world, metres), or ``(bodies, V, 3)``."""
        v = np.asarray(vertices, np.float32).reshape(-1)
        if v.size != len(self.bodies) * self.n_vertices * 3:
            raise ValueError(f"expected {len(self.bodies)} x {self.n_vertices} vertices, got {v.size // 3}")
        for body, part in zip(self.bodies, v.reshape(len(self.bodies), -1)):
            body.data.vertices.foreach_set("co", part)
            body.data.update()

    def _render_pinhole(self, camera: int) -> np.ndarray:
        import bpy
        import cv2

        obj, (w, h) = self.cameras[camera]
        scene = self.scene
        scene.camera = obj
        scene.render.resolution_x, scene.render.resolution_y = w, h
        path = Path(self._tmp.name) / "frame.png"
        scene.render.filepath = str(path)
        with _quiet_stdout():
            bpy.ops.render.render(write_still=True)
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise RuntimeError(f"Blender wrote no image to {path}")
        return img

    def render(self, camera: int, vertices: np.ndarray | Sequence[np.ndarray] | None = None) -> np.ndarray:
        """BGR uint8 image ``(H, W, 3)`` of camera ``camera`` (index into the rig).

        ``vertices``: ``(V, 3)`` (or ``(bodies, V, 3)``) for the bodies now, or several shots ``(S, ...)``
        whose images are averaged (motion blur over the shutter); None keeps the current meshes.
        """
        import cv2

        per_shot = len(self.bodies) * self.n_vertices
        shots = [None] if vertices is None else np.asarray(vertices, float).reshape(-1, per_shot, 3)
        acc = None
        if self.options.engine == "cycles":  # the shutter's sub-frames share the samples of one image
            self.scene.cycles.samples = max(1, int(np.ceil(self.options.cycles_samples / len(shots))))
        for v in shots:
            if self.options.engine == "cycles":
                self.scene.cycles.seed = int(self._rng.integers(1 << 30))
            if v is not None:
                self.set_vertices(v)
            img = self._render_pinhole(camera).astype(np.float32)
            acc = img if acc is None else acc + img
        mapx, mapy = self._maps[camera]
        out = cv2.remap(acc / len(shots), mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if self.options.noise_sigma > 0:
            out = out + self._rng.normal(0, self.options.noise_sigma, out.shape)
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    def render_mask(self, camera: int, vertices: np.ndarray | None = None) -> np.ndarray:
        """``(H, W)`` bool silhouette of the body (Workbench, flat white on black, floor hidden)."""
        import cv2

        if vertices is not None:
            self.set_vertices(vertices)
        scene = self.scene
        saved = (scene.render.engine, scene.display.shading.light, scene.display.shading.color_type,
                 tuple(scene.world.color), scene.display.shading.show_shadows)
        scene.render.engine = "BLENDER_WORKBENCH"
        scene.display.shading.light = "FLAT"
        scene.display.shading.color_type = "OBJECT"
        scene.display.shading.show_shadows = False
        scene.world.color = (0, 0, 0)
        hidden = [o for o in (self.floor, *self._markers, *self.clutter) if o is not None]
        for o in hidden:
            o.hide_render = True
        for body in self.bodies:
            body.color = (1, 1, 1, 1)
        try:
            img = self._render_pinhole(camera)
        finally:
            (scene.render.engine, scene.display.shading.light, scene.display.shading.color_type, scene.world.color,
             scene.display.shading.show_shadows) = saved
            for o in hidden:
                o.hide_render = False
        mapx, mapy = self._maps[camera]
        return cv2.remap(img[..., 1], mapx, mapy, cv2.INTER_LINEAR) > 127

    def close(self) -> None:
        self._tmp.cleanup()


@contextlib.contextmanager
def _quiet_stdout():
    """Silence Blender's per-render "Saved: ..." lines (written by C code to file descriptor 1)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _matrix(M: np.ndarray):
    from mathutils import Matrix

    return Matrix([list(map(float, row)) for row in M])


def load_texture(path: str | Path) -> np.ndarray:
    """An RGB uint8 texture image."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot read texture image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
