"""Importers of other tools' 2D keypoints: the committed fixtures in tests/data/importers (see its README)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from mocap.errors import InputError, MocapError
from mocap.keypoints2d.importers import IMPORTERS, import_keypoints
from mocap.keypoints2d.keypoints import Keypoints2D, left_right_pairs
from mocap.keypoints2d.sets import get_keypoint_set

DATA = Path(__file__).parent / "data" / "importers"
OPENPOSE = [DATA / "openpose_body25" / "cam01", DATA / "openpose_body25" / "cam02"]
SCORER = "DLC_resnet50_walkJan1shuffle1_1000"
DLC = [DATA / "dlc" / f"cam01{SCORER}.csv", DATA / "dlc" / f"cam02{SCORER}.csv"]
MMPOSE = [DATA / "mmpose" / "cam01.json", DATA / "mmpose" / "cam02.json"]
CAMS = ["cam01", "cam02"]


def _openpose(**kw) -> Keypoints2D:
    return import_keypoints(OPENPOSE, "openpose", camera_names=CAMS, fps=30.0, **{"keypoint_set": "body25", **kw})


def _write_openpose(folder: Path, frames: dict[int, list[list[float]]]) -> Path:
    """Per-frame OpenPose files: ``frames[number] = [flat pose_keypoints_2d of each person]``."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, people in frames.items():
        (folder / f"{folder.name}_{number:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": p} for p in people]}))
    return folder


def _flat(n_joints: int, x0: float = 10.0, conf: float = 0.8) -> list[float]:
    return [v for j in range(n_joints) for v in (x0 + j, 20.0 + j, conf)]


# --- OpenPose / Pose2Sim ------------------------------------------------------------------------------

def test_openpose_shapes_names_values(caplog):
    with caplog.at_level(logging.WARNING, logger="mocap.keypoints2d.importers"):
        kp = _openpose()
    assert kp.xy.shape == (2, 4, 25, 2) and kp.conf.shape == (2, 4, 25)
    assert kp.xy.dtype == np.float32 and kp.conf.dtype == np.float32
    assert kp.keypoint_set == "body25" and kp.joint_names == get_keypoint_set("body25").joint_names
    assert kp.camera_names == ("cam01", "cam02") and kp.fps == 30.0
    np.testing.assert_allclose(kp.timestamps, np.arange(4) / 30.0)
    j = np.arange(25)
    for c in (0, 1):  # frame 0: x = 100 + 10 j + f, y = 400 - 10 j + camera
        np.testing.assert_allclose(kp.xy[c, 0, :, 0], 100 + 10 * j)
        np.testing.assert_allclose(kp.xy[c, 0, :, 1], 400 - 10 * j + c + 1)
    np.testing.assert_allclose(kp.conf[0, 0], 0.9, rtol=1e-6)
    assert len(left_right_pairs(kp.joint_names)) == 11
    # cam02 has no file for frame 2: missing, and said so naming the camera and the counts
    assert np.isnan(kp.xy[1, 2]).all() and (kp.conf[1, 2] == 0).all()
    assert "cam02" in caplog.text and "3 of 4" in caplog.text


def test_openpose_zero_confidence_and_origin_are_missing():
    kp = _openpose()
    assert np.isnan(kp.xy[0, 1, 3]).all() and kp.conf[0, 1, 3] == 0  # confidence 0
    assert np.isnan(kp.xy[0, 1, 4]).all() and kp.conf[0, 1, 4] == 0  # at (0, 0) with confidence 0.7
    assert np.isfinite(kp.xy[0, 1, [0, 1, 2, 5]]).all()


def test_openpose_absurd_coordinates_are_missing_not_infinite(tmp_path):
    pose = _flat(17)
    pose[0], pose[4], pose[7] = 1e308, float("inf"), -2e6  # joint 0 x, joint 1 y, joint 2 y
    folder = _write_openpose(tmp_path / "cam", {0: [pose]})
    kp = import_keypoints([folder], "openpose", camera_names=["a"], fps=30.0)
    assert np.isfinite(kp.xy[np.isfinite(kp.xy)]).all() and not np.isinf(kp.xy).any()
    assert np.isnan(kp.xy[0, 0, :3]).all() and (kp.conf[0, 0, :3] == 0).all()
    assert np.isfinite(kp.xy[0, 0, 3:]).all()


def test_openpose_people_choice():
    best = _openpose()
    np.testing.assert_allclose(best.xy[0, 2, 0], [102, 401])  # the 0.9-confidence person, not the bystander
    first = _openpose(person=0)
    np.testing.assert_allclose(first.xy[0, 2, :3, 0], [900, 901, 902])
    np.testing.assert_allclose(first.conf[0, 2], 0.2, rtol=1e-6)
    second = _openpose(person=1)
    np.testing.assert_allclose(second.xy[0, 2, 0], [102, 401])
    assert np.isnan(second.xy[0, 0]).all()  # frames with a single person have no person 1
    assert np.isnan(best.xy[0, 3]).all() and (best.conf[0, 3] == 0).all()  # "people": []


def test_openpose_25_keypoints_need_an_explicit_set():
    with pytest.raises(InputError, match="several keypoint sets") as info:
        import_keypoints(OPENPOSE, "openpose", camera_names=CAMS, fps=30)
    assert "body25b" in info.value.fix and info.value.path.name.endswith("_keypoints.json")
    kp = _openpose(keypoint_set="BODY_25B")
    assert kp.keypoint_set == "body25b" and kp.joint_names[17] == "UpperNeck"


def test_openpose_infers_the_set_from_the_count(tmp_path):
    for n, name in ((17, "coco17"), (26, "halpe26"), (33, "blazepose33"), (133, "coco_wholebody133")):
        folders = [_write_openpose(tmp_path / f"{n}" / c, {0: [_flat(n)], 1: [_flat(n, 11.0)]}) for c in CAMS]
        kp = import_keypoints(folders, "pose2sim", camera_names=CAMS, fps=25)
        assert kp.keypoint_set == name and kp.xy.shape == (2, 2, n, 2)
        np.testing.assert_allclose(kp.xy[1, 1, :, 0], 11.0 + np.arange(n))


def test_openpose_aligns_cameras_by_frame_number(tmp_path, caplog):
    a = _write_openpose(tmp_path / "a", {5: [_flat(17)], 6: [_flat(17)], 7: [_flat(17)]})
    b = _write_openpose(tmp_path / "b", {6: [_flat(17, 50.0)], 7: [_flat(17, 50.0)], 8: [_flat(17, 50.0)]})
    with caplog.at_level(logging.WARNING, logger="mocap.keypoints2d.importers"):
        kp = import_keypoints([a, b], "openpose", camera_names=["a", "b"], fps=10)
    assert kp.n_frames == 4
    np.testing.assert_allclose(kp.timestamps, [0.5, 0.6, 0.7, 0.8])
    assert np.isnan(kp.xy[1, 0]).all() and kp.xy[1, 1, 0, 0] == 50.0
    assert np.isnan(kp.xy[0, 3]).all() and kp.xy[0, 2, 0, 0] == 10.0
    assert "'a' has 3 of 4" in caplog.text and "'b' has 3 of 4" in caplog.text


@pytest.mark.parametrize("case, match", [
    ("empty", "no OpenPose files"),
    ("missing", "folder not found"),
    ("malformed", "malformed JSON"),
    ("no_people_key", "no 'people' list"),
    ("not_triplets", "not x, y, c triplets"),
    ("mixed_counts", "keypoints per person, but"),
    ("wrong_set", "keypoint set 'coco17' has 17"),
    ("unknown_count", "match no keypoint set"),
    ("no_number", "no frame number"),
    ("duplicate_number", "two files have frame number 1"),
    ("text_values", "non-numbers"),
])
def test_openpose_bad_input_names_the_file_and_the_fix(tmp_path, case, match):
    folder = tmp_path / "cam01"
    kw = {}
    if case == "empty":
        folder.mkdir()
    elif case == "missing":
        pass
    elif case == "malformed":
        folder = DATA / "openpose_malformed" / "cam01"
        kw = {"keypoint_set": "body25"}
    elif case == "no_people_key":
        folder.mkdir()
        (folder / "f_000000000000_keypoints.json").write_text('{"version": 1.3}')
    elif case == "not_triplets":
        _write_openpose(folder, {0: [_flat(17)[:-1]]})
    elif case == "mixed_counts":
        _write_openpose(folder, {0: [_flat(17)], 1: [_flat(26)]})
    elif case == "wrong_set":
        _write_openpose(folder, {0: [_flat(26)]})
        kw = {"keypoint_set": "coco17"}
    elif case == "unknown_count":
        _write_openpose(folder, {0: [_flat(18)]})
    elif case == "no_number":
        folder.mkdir()
        (folder / "keypoints.json").write_text(json.dumps({"people": []}))
    elif case == "duplicate_number":
        _write_openpose(folder, {1: [_flat(17)]})
        (folder / "other_1.json").write_text(json.dumps({"people": []}))
    elif case == "text_values":
        _write_openpose(folder, {0: [["a"] * 51]})
    with pytest.raises(InputError, match=match) as info:
        import_keypoints([folder], "openpose", camera_names=["cam01"], fps=30, **kw)
    assert info.value.path is not None and info.value.fix
    assert str(info.value.path).startswith(str(folder))


# --- DeepLabCut ---------------------------------------------------------------------------------------

def test_dlc_csv(caplog):
    with caplog.at_level(logging.WARNING, logger="mocap.keypoints2d.importers"):
        kp = import_keypoints(DLC, "deeplabcut", camera_names=CAMS, fps=50)
    assert kp.keypoint_set == f"dlc:{SCORER}"
    assert kp.joint_names == ("nose", "left_wrist", "right_wrist")
    assert kp.xy.shape == (2, 4, 3, 2)
    np.testing.assert_allclose(kp.xy[0, 1], [[201, 101], [221, 131], [241, 161]])
    np.testing.assert_allclose(kp.conf[0, 0], 0.95, rtol=1e-6)
    assert np.isnan(kp.xy[0, 2, 0]).all() and kp.conf[0, 2, 0] == 0  # likelihood 0
    assert np.isnan(kp.xy[1, 1, 2]).all() and kp.conf[1, 1, 2] == 0  # empty cells
    assert np.isnan(kp.xy[1, 3]).all()  # cam02 has 3 frames: padded
    assert "cam02" in caplog.text and "3 of 4" in caplog.text
    np.testing.assert_array_equal(left_right_pairs(kp.joint_names), [[1, 2]])


def test_dlc_csv_with_a_registered_set_is_reordered(tmp_path):
    names = get_keypoint_set("coco17").joint_names
    order = list(reversed(names))
    rows = [["scorer"] + ["S"] * 51, ["bodyparts"] + [n for n in order for _ in range(3)],
            ["coords"] + ["x", "y", "likelihood"] * 17,
            ["0"] + [str(v) for j, n in enumerate(order) for v in (names.index(n), 1.0, 0.5)]]
    path = tmp_path / "camS.csv"
    path.write_text("\n".join(",".join(r) for r in rows))
    kp = import_keypoints([path], "dlc", camera_names=["a"], fps=30, keypoint_set="coco17")
    assert kp.keypoint_set == "coco17" and kp.joint_names == names
    np.testing.assert_allclose(kp.xy[0, 0, :, 0], np.arange(17))
    with pytest.raises(InputError, match="do not match keypoint set 'halpe26'"):
        import_keypoints([path], "dlc", camera_names=["a"], fps=30, keypoint_set="halpe26")


def test_dlc_multi_animal():
    path = [DATA / "dlc_multi" / f"cam01{SCORER}.csv"]
    best = import_keypoints(path, "dlc", camera_names=["a"], fps=30)
    assert best.joint_names == ("nose", "tail")
    np.testing.assert_allclose(best.xy[0, :, 0, 0], [110, 111, 112])  # mouse2: likelihood 0.9
    first = import_keypoints(path, "dlc", camera_names=["a"], fps=30, person=0)
    np.testing.assert_allclose(first.xy[0, :, 0, 0], [10, 11, 12])
    named = import_keypoints(path, "dlc", camera_names=["a"], fps=30, person="mouse1")
    np.testing.assert_allclose(named.xy, first.xy)
    with pytest.raises(InputError, match="no individual 'cat'"):
        import_keypoints(path, "dlc", camera_names=["a"], fps=30, person="cat")
    with pytest.raises(InputError, match="2 individuals"):
        import_keypoints(path, "dlc", camera_names=["a"], fps=30, person=2)


def test_dlc_h5_matches_csv(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("tables")
    paths = []
    for csv_path in DLC:
        df = pd.read_csv(csv_path, header=[0, 1, 2], index_col=0)
        h5 = tmp_path / csv_path.with_suffix(".h5").name
        df.to_hdf(h5, key="df_with_missing", format="table", mode="w")
        paths.append(h5)
    from_h5 = import_keypoints(paths, "dlc", camera_names=CAMS, fps=50)
    from_csv = import_keypoints(DLC, "dlc", camera_names=CAMS, fps=50)
    assert from_h5.joint_names == from_csv.joint_names and from_h5.keypoint_set == from_csv.keypoint_set
    np.testing.assert_array_equal(from_h5.xy, from_csv.xy)
    np.testing.assert_array_equal(from_h5.conf, from_csv.conf)


def test_dlc_h5_bad_input(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("tables")  # only to write the fixtures as pandas does

    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_text("not HDF5")
    with pytest.raises(InputError, match="HDF5 file is unreadable") as info:
        import_keypoints([corrupt], "dlc", camera_names=["a"], fps=30)
    assert info.value.path == corrupt
    flat = tmp_path / "flat.h5"
    pd.DataFrame(np.zeros((2, 3))).to_hdf(flat, key="df_with_missing")
    with pytest.raises(InputError, match="not DeepLabCut predictions"):
        import_keypoints([flat], "dlc", camera_names=["a"], fps=30)


def test_dlc_h5_never_runs_code_from_the_file(tmp_path):
    """pandas.read_hdf / PyTables unpickle attributes on open; our reader must not run a planted pickle."""
    import h5py

    pd = pytest.importorskip("pandas")
    pytest.importorskip("tables")
    flag = tmp_path / "pwned"
    cols = pd.MultiIndex.from_product([["DLC_x"], ["nose", "wrist"], ["x", "y", "likelihood"]],
                                      names=["scorer", "bodyparts", "coords"])
    df = pd.DataFrame(np.arange(12.0).reshape(2, 6), columns=cols)
    evil = f"cbuiltins\nopen\n(S'{flag}'\nS'w'\ntR.".encode()
    for where in ("values_block_0_kind", "TITLE"):
        path = tmp_path / f"evil_{where}.h5"
        df.to_hdf(path, key="df_with_missing", format="table", mode="w")
        with h5py.File(path, "r+") as fh:
            fh["df_with_missing/table"].attrs[where] = np.bytes_(evil)
            fh["df_with_missing"].attrs["errors"] = np.bytes_(evil)
        if where == "values_block_0_kind":
            with pytest.raises(InputError, match="not plain data"):
                import_keypoints([path], "dlc", camera_names=["a"], fps=30)
        else:
            kp = import_keypoints([path], "dlc", camera_names=["a"], fps=30)
            assert kp.joint_names == ("nose", "wrist")
        assert not flag.exists()


def test_plain_pickle_decoder():
    from mocap.io.hdf5_table import UnsafePickleError, decode_plain_pickle

    labels = [("DLC", "nose", "x"), ("DLC", "nose", "y")]
    import pickle  # noqa: F401 - the test writes pickles; the package never reads them with pickle

    for protocol in range(0, 6):
        assert decode_plain_pickle(pickle.dumps(labels, protocol=protocol)) == labels
    for evil in (pickle.dumps(print, protocol=0), b"cos\nsystem\n(S'true'\ntR.", b"garbage"):
        with pytest.raises(UnsafePickleError):
            decode_plain_pickle(evil)


@pytest.mark.parametrize("name, match", [
    ("bad_header.csv", "header row 3 starts with 'coordinates'"),
    ("bad_value.csv", "line 5 has a value that is not a number"),
])
def test_dlc_malformed(name, match):
    path = DATA / "dlc_malformed" / name
    with pytest.raises(InputError, match=match) as info:
        import_keypoints([path], "dlc", camera_names=["a"], fps=30)
    assert info.value.path == path and info.value.fix


def test_dlc_other_bad_input(tmp_path):
    header_only = tmp_path / "h.csv"
    header_only.write_text("scorer,S,S,S\nbodyparts,a,a,a\ncoords,x,y,likelihood\n")
    no_likelihood = tmp_path / "n.csv"
    no_likelihood.write_text("scorer,S,S\nbodyparts,a,a\ncoords,x,y\n0,1,2\n")
    short_row = tmp_path / "s.csv"
    short_row.write_text("scorer,S,S,S\nbodyparts,a,a,a\ncoords,x,y,likelihood\n0,1,2\n")
    for path, match in ((header_only, "no frames"), (no_likelihood, "lacks"), (short_row, "line 4 has 3 cells"),
                        (tmp_path / "absent.csv", "not found"), (tmp_path / "x.txt", "not found")):
        with pytest.raises(InputError, match=match):
            import_keypoints([path], "dlc", camera_names=["a"], fps=30)
    other = tmp_path / "x.json"
    other.write_text("{}")
    with pytest.raises(InputError, match="unknown DeepLabCut file type"):
        import_keypoints([other], "dlc", camera_names=["a"], fps=30)


def test_dlc_cameras_with_different_body_parts(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("scorer,S,S,S\nbodyparts,tail,tail,tail\ncoords,x,y,likelihood\n0,1,2,0.9\n")
    with pytest.raises(InputError, match="camera 'cam02' has keypoint set") as info:
        import_keypoints([DLC[0], other], "dlc", camera_names=CAMS, fps=30)
    assert info.value.path == other


# --- MMPose / RTMPose ---------------------------------------------------------------------------------

def test_mmpose_video_files(caplog):
    with caplog.at_level(logging.WARNING, logger="mocap.keypoints2d.importers"):
        kp = import_keypoints(MMPOSE, "mmpose", camera_names=CAMS, fps=30)
    assert kp.keypoint_set == "coco17" and kp.joint_names == get_keypoint_set("coco17").joint_names
    assert kp.xy.shape == (2, 5, 17, 2)
    j = np.arange(17)
    np.testing.assert_allclose(kp.xy[0, 2, :, 0], 302 + 10 * j)
    np.testing.assert_allclose(kp.xy[1, 0, :, 1], 602 - 20 * j)  # demo layout, frame_id from 1 -> row 0
    assert kp.conf[0, 1, 5] == 1.0  # a SimCC score of 1.3, clipped
    np.testing.assert_allclose(kp.xy[0, 3, 0], [303, 601])  # best of two instances, not the bystander
    assert np.isnan(kp.xy[0, 4]).all() and (kp.conf[0, 4] == 0).all()  # empty instances
    assert np.isnan(kp.xy[1, 4]).all()  # cam02 has 4 frames: padded, and said so
    assert "cam02" in caplog.text and "4 of 5" in caplog.text
    first = import_keypoints(MMPOSE, "mmpose", camera_names=CAMS, fps=30, person=0)
    np.testing.assert_allclose(first.xy[0, 3, 0], [803, 601])


def test_mmpose_image_folder_and_xy_score_triplets(tmp_path):
    folder = tmp_path / "cam01"
    folder.mkdir()
    for f in (0, 1, 3):  # per-image files; frame 2 has none
        inst = [{"keypoints": [[f + j + 1.0, 2.0 * j, 0.7] for j in range(26)]}]
        (folder / f"img_{f:05d}.json").write_text(json.dumps(inst))
    (folder / "img_00004.json").write_text(json.dumps({"meta_info": {}, "instance_info": []}))
    kp = import_keypoints([folder], "rtmpose", camera_names=["a"], fps=30)
    assert kp.keypoint_set == "halpe26" and kp.n_frames == 5
    np.testing.assert_allclose(kp.xy[0, 3, :, 0], 4 + np.arange(26))
    np.testing.assert_allclose(kp.conf[0, 0], 0.7, rtol=1e-6)
    assert np.isnan(kp.xy[0, 2]).all() and np.isnan(kp.xy[0, 4]).all()


def test_mmpose_wholebody_and_unknown_counts(tmp_path):
    def video(n):
        path = tmp_path / f"v{n}.json"
        path.write_text(json.dumps([{"frame_id": 0, "instances": [
            {"keypoints": [[1.0 + j, 2.0] for j in range(n)], "keypoint_scores": [0.5] * n}]}]))
        return path

    kp = import_keypoints([video(133)], "mmpose", camera_names=["a"], fps=30)
    assert kp.keypoint_set == "coco_wholebody133" and kp.xy.shape == (1, 1, 133, 2)
    with pytest.raises(InputError, match="21 keypoints per person match no keypoint set"):
        import_keypoints([video(21)], "mmpose", camera_names=["a"], fps=30)
    kp = import_keypoints([video(21)], "mmpose", camera_names=["a"], fps=30, keypoint_set="mediapipe_hand21")
    assert kp.keypoint_set == "mediapipe_hand21"


@pytest.mark.parametrize("content, match", [
    (None, "16 keypoint_scores for 17 keypoints"),
    ('{"predictions": []}', "not an MMPose predictions file"),
    ('[{"frame_id": 0}]', "no 'instances' list"),
    ("[]", "no frames"),
    ('[{"frame_id": 0, "instances": [{"bbox": [[0, 0, 1, 1]]}]}]', "has no 'keypoints'"),
    ('[{"frame_id": 0, "instances": [{"keypoints": [[1, 2]]}]}]', "no 'keypoint_scores'"),
    ('[{"keypoints": [[1, 2]], "keypoint_scores": [1]}]', "one image's instances"),
    ('[{"frame_id": 0, "instances": [', "malformed JSON"),
])
def test_mmpose_malformed(tmp_path, content, match):
    if content is None:
        path = DATA / "mmpose_malformed" / "cam01.json"
    else:
        path = tmp_path / "cam01.json"
        path.write_text(content)
    with pytest.raises(InputError, match=match) as info:
        import_keypoints([path], "mmpose", camera_names=["a"], fps=30)
    assert info.value.path == path and info.value.fix


def test_mmpose_cameras_with_different_sets(tmp_path):
    folder = tmp_path / "halpe"
    folder.mkdir()
    (folder / "f_0.json").write_text(json.dumps([{"keypoints": [[1, 2]] * 26, "keypoint_scores": [1] * 26}]))
    with pytest.raises(InputError, match="camera 'cam02' has keypoint set 'halpe26'"):
        import_keypoints([MMPOSE[0], folder], "mmpose", camera_names=CAMS, fps=30)


# --- the entry point ----------------------------------------------------------------------------------

def test_registry():
    assert set(IMPORTERS.names()) == {"openpose", "dlc", "mmpose"}


@pytest.mark.parametrize("kwargs, match", [
    ({"fmt": "vicon"}, "unknown keypoint format"),
    ({"camera_names": ["a"]}, "2 camera paths but 1 camera names"),
    ({"camera_names": ["a", "a"]}, "repeat"),
    ({"fps": 0}, "fps must be a positive number"),
    ({"fps": float("nan")}, "fps must be a positive number"),
    ({"person": -1}, "person must be"),
    ({"person": 1.5}, "person must be"),
    ({"person": "bob"}, "only understood for DeepLabCut"),
    ({"paths": []}, "no camera paths"),
    ({"keypoint_set": "body99"}, "unknown keypoint set"),
])
def test_bad_arguments(kwargs, match):
    args = {"paths": OPENPOSE, "fmt": "openpose", "camera_names": CAMS, "fps": 30.0, "keypoint_set": "body25",
            **kwargs}
    with pytest.raises(MocapError, match=match):
        import_keypoints(args.pop("paths"), args.pop("fmt"), **args)


def test_imported_keypoints_round_trip(tmp_path):
    kp = _openpose()
    back = Keypoints2D.load(kp.save(tmp_path / "kp.npz"))
    assert back.joint_names == kp.joint_names and back.keypoint_set == kp.keypoint_set
    np.testing.assert_array_equal(back.xy, kp.xy)

