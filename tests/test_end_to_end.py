"""The whole pipeline on the shipped sample session (``sample_sessions/studio4``: 4 rendered cameras,
one 106-frame take, ground truth): every file an animator gets, errors against the truth, an
interrupted run that resumes to the same outputs, and clear errors for bad session-level input.

On 2 cores the reference run takes 35-55 s and the interrupted + resumed run about 30 s more."""

from __future__ import annotations

import dataclasses
import os
import shutil

import numpy as np
import pytest
from conftest import REPO

import mocap.fitting.stage as fit_stage
from mocap.errors import MocapError
from mocap.evaluation.ground_truth import evaluate_take
from mocap.pipeline import RunConfig, run_session
from mocap.session import Session, Take

pytestmark = pytest.mark.slow  # whole-pipeline runs: in `make test`, not in `make test-fast`

STUDIO4 = REPO / "sample_sessions" / "studio4"
TAKE = "demo"


def studio4(output_dir, **changes) -> Session:
    return dataclasses.replace(Session.load(STUDIO4), output_dir=output_dir, **changes)


def statuses(runs):
    return [(r.stage, r.take, r.status) for r in runs]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run of every stage; returns the session (its output folder is filled)."""
    session = studio4(tmp_path_factory.mktemp("reference") / "output")
    runs = run_session(session)
    assert statuses(runs) == [("calibrate", None, "ran"), ("detect", TAKE, "ran"), ("sync", TAKE, "ran"),
                              ("triangulate", TAKE, "ran"), ("fit", TAKE, "ran"), ("export", TAKE, "ran"),
                              ("report", None, "ran")]
    return session


def test_full_pipeline_writes_every_output(reference):
    """Every file is there, and the animation files hold the fitted motion: BVH, FBX and GLB read back give
    the body's joint positions on every frame (FBX and GLB through Blender's own importers)."""
    import bpy
    from blender_samples import max_joint_error, reimport

    from mocap.body.animation import from_body_motion
    from mocap.body.motion import BodyMotion
    from mocap.export.bvh import bvh_to_animation, read_bvh

    files = reference.layout.take(TAKE)
    for path in (files.export_file("smplx", ".bvh"), files.export_file("smplx", ".fbx"),
                 files.export_file("smplx", ".glb"), files.body_motion, files.points3d, files.report,
                 reference.layout.index):
        assert path.stat().st_size > 0, path
    anim = from_body_motion(BodyMotion.load(files.body_motion))
    P, _ = anim.world_transforms()
    bvh = bvh_to_animation(read_bvh(files.export_file("smplx", ".bvh")))
    Pb, _ = bvh.world_transforms()
    idx = [bvh.names.index(n) for n in anim.names]
    assert np.abs(Pb[:, idx] - P).max() < 1e-4
    for suffix in (".fbx", ".glb"):
        scene, arm = reimport(bpy, files.export_file("smplx", suffix), int(round(anim.fps)))
        skinned = [o for o in scene.objects if o.type == "MESH" and o.parent == arm]  # (the glTF importer adds
        assert len(skinned) == 1 and len(skinned[0].data.vertices) > 10_000     # an Icosphere bone shape)
        err, _ = max_joint_error(bpy, scene, arm, anim)
        assert err < 1e-3, f"{suffix}: joints {err * 1000:.2f} mm from the fitted body"


def test_full_pipeline_matches_ground_truth(reference):
    ev = evaluate_take(STUDIO4, TAKE, reference.output_dir)
    assert ev.body_joints.mpjpe < 35.0  # mm, the fitted 22 SMPL-X body joints (about 19 mm now)
    assert ev.points3d.mpjpe < 40.0  # mm, the triangulated BlazePose landmarks (about 28 mm now)


def _assert_same_npz(a_path, b_path, atol=0.0):
    with np.load(a_path, allow_pickle=False) as a, np.load(b_path, allow_pickle=False) as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            if a[key].dtype.kind in "fc":
                np.testing.assert_allclose(a[key], b[key], rtol=0, atol=atol, err_msg=key)
            else:
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_interrupted_fit_resumes_to_identical_outputs(reference, tmp_path, monkeypatch):
    session = studio4(tmp_path / "output")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(fit_stage, "fit_take", interrupted)  # run.py imports it from the module at call time
        with pytest.raises(KeyboardInterrupt):
            run_session(session)
    take_dir = session.layout.take(TAKE).folder
    assert (take_dir / "points3d.npz").is_file()
    assert not (take_dir / "body_motion.npz").exists() and not (take_dir / ".fit.stamp.toml").exists()

    runs = run_session(session)
    assert statuses(runs) == [("calibrate", None, "reused"), ("detect", TAKE, "reused"), ("sync", TAKE, "reused"),
                              ("triangulate", TAKE, "reused"), ("fit", TAKE, "ran"), ("export", TAKE, "ran"),
                              ("report", None, "ran")]
    ref_dir = reference.layout.take(TAKE).folder
    for name in ("keypoints2d.npz", "points3d.npz", "points3d_raw.npz"):
        _assert_same_npz(ref_dir / name, take_dir / name)
    _assert_same_npz(ref_dir / "body_motion.npz", take_dir / "body_motion.npz", atol=1e-6)
    bvh = "export/demo_smplx.bvh"
    assert (ref_dir / bvh).read_text() == (take_dir / bvh).read_text()


# Bad input at session level: a MocapError that names the file or the setting, never a traceback.


def _with_reference_calibration(reference, output_dir):
    """A fresh output folder holding a copy of the reference calibration (so calibrate is reused)."""
    shutil.copytree(reference.layout.calibration.folder, output_dir / "calibration")
    return output_dir


def test_missing_take_videos(reference, tmp_path):
    missing = tuple(tmp_path / "takes" / "walk" / f"{cam}.mp4" for cam in reference.camera_names)
    session = studio4(tmp_path / "output", takes=(Take("walk", missing),))
    with pytest.raises(MocapError, match="has no video") as info:
        run_session(session)
    assert "cam0.mp4" in str(info.value) and "session.toml" in str(info.value)
    assert not (tmp_path / "output" / "calibration").exists()  # checked before any work


def test_one_camera_video_missing(reference, tmp_path):
    videos = list(Session.load(STUDIO4).take(TAKE).videos)
    videos[2] = tmp_path / "takes" / TAKE / "cam2.mp4"
    session = studio4(_with_reference_calibration(reference, tmp_path / "output"), takes=(Take(TAKE, tuple(videos)),))
    with pytest.raises(MocapError, match="camera 'cam2' has no video") as info:
        run_session(session)
    assert str(videos[2]) in str(info.value)


def test_output_folder_is_a_file(tmp_path):
    output = tmp_path / "output"
    output.write_text("not a folder")
    with pytest.raises(MocapError, match="output folder") as info:
        run_session(studio4(output))
    assert str(output) in str(info.value)


def test_output_folder_not_writable(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: a read-only folder is still writable")
        with pytest.raises(MocapError, match="output folder") as info:
            run_session(studio4(locked / "output"))
        assert "locked" in str(info.value)
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("text, words", [
    ("[fit]\nitersations = 3\n", ["unknown setting [fit] 'itersations'", "iterations"]),
    ('[fit]\niterations = "many"\n', ["[fit] iterations", "integer", "'many'"]),
    ('[export]\nformats = "bvh"\n', ["[export] formats", "list"]),
    ("fit = 3\n", ["fit", "table"]),
])
def test_bad_run_config(tmp_path, text, words):
    path = tmp_path / "run.toml"
    path.write_text(text)
    with pytest.raises(MocapError) as info:
        RunConfig.load(Session.load(STUDIO4), path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message
