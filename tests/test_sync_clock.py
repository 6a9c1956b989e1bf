"""The take time model and sync.toml: known answers, round trips and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.errors import InputError, MocapError
from mocap.sync.clock import CameraClock, TakeSync, apply_overrides, check_overlap, read_sync, unsynchronized, write_sync


def take() -> TakeSync:
    return TakeSync((
        CameraClock("cam10", 0.0, 30.0, 0.0, 1.0, "audio"),
        CameraClock("cam2", 0.25, 29.97, 100.0, 0.8, "audio"),
        CameraClock("side", -1.5, 60.0, -40.0, 0.6, "motion"),
    ), {"reference": "cam10"})


def test_frame_times_follow_the_model():
    cam = CameraClock("c", time_offset=0.5, fps=25.0, drift_ppm=200.0)
    t = cam.frame_times(4)
    np.testing.assert_allclose(t, 0.5 + np.arange(4) / 25.0 * (1 + 200e-6))
    frames = np.array([0.0, 1.37, 1000.5])
    np.testing.assert_allclose(cam.frame_at(cam.time_of(frames)), frames, atol=1e-9)
    assert cam.frame_at(0.5) == 0.0


def test_sync_toml_round_trip_keeps_order_and_values(tmp_path):
    path = write_sync(tmp_path / "sync.toml", take())
    assert [p.name for p in tmp_path.iterdir()] == ["sync.toml"]  # nothing half-written left behind
    back = read_sync(path)
    assert back.names == ["cam10", "cam2", "side"]  # file order, not sorted
    for a, b in zip(back, take()):
        assert a == b
    assert back.metadata["reference"] == "cam10"
    text = path.read_text()
    assert "schema_version = 1" in text and "[[cameras]]" in text


@pytest.mark.parametrize("body, words", [
    ("schema_version = 1\n[[cameras]]\nname = 'a'\nfps = 'thirty'\n", ["camera 'a'", "'fps'", "finite number"]),
    ("schema_version = 1\n[[cameras]]\nname = 'a'\n", ["camera 'a'", "'fps' is missing"]),
    ("schema_version = 1\n[[cameras]]\nfps = 30\n", ["entry 1", "'name'"]),
    ("schema_version = 1\n[[cameras]]\nname = 'a'\nfps = 30\nmethod = 'guess'\n", ["method"]),
    ("schema_version = 1\n[[cameras]]\nname = 'a'\nfps = -5\n", ["fps must be positive"]),
    ("[[cameras]]\nname = 'a'\nfps = 30\n", ["not a sync file"]),
    ("schema_version = 9\n[[cameras]]\nname = 'a'\nfps = 30\n", ["newer"]),
    ("schema_version = 1\ncameras = [", ["not valid TOML"]),
])
def test_bad_sync_files_name_the_file_and_field(tmp_path, body, words):
    path = tmp_path / "sync.toml"
    path.write_text(body)
    with pytest.raises(InputError) as err:
        read_sync(path)
    msg = str(err.value)
    assert str(path) in msg and err.value.fix
    for w in words:
        assert w in msg


def test_missing_sync_file(tmp_path):
    with pytest.raises(InputError, match="sync file not found"):
        read_sync(tmp_path / "nope.toml")


def test_overrides_replace_estimates_and_mark_them_manual():
    out = apply_overrides(take(), {"cam2": {"time_offset": 0.3}, "side": {"fps": 59.94}})
    assert out["cam2"].time_offset == 0.3 and out["cam2"].method == "manual" and out["cam2"].confidence == 1.0
    assert out["side"].fps == 59.94 and out["side"].method == "motion"  # fps alone is not a sync estimate
    assert out.names == take().names


@pytest.mark.parametrize("overrides, words", [
    ({"cam3": {"time_offset": 1.0}}, ["unknown camera 'cam3'", "cam10, cam2, side"]),
    ({"cam2": {"offset": 1.0}}, ["unknown sync field 'offset'"]),
    ({"cam2": {"time_offset": "1s"}}, ["finite number"]),
    ({"cam2": {"fps": 0}}, ["fps must be positive"]),
    ({"cam2": 1.0}, ["must be a table"]),
])
def test_bad_overrides_say_what_and_where(overrides, words, tmp_path):
    with pytest.raises(InputError) as err:
        apply_overrides(take(), overrides, source=tmp_path / "session.toml")
    assert "session.toml" in str(err.value)
    for w in words:
        assert w in str(err.value)


def test_rereferencing_keeps_which_frames_coincide():
    sync = take()
    new = sync.rereferenced("cam2")
    assert new["cam2"].time_offset == pytest.approx(0.0, abs=1e-15)
    assert new["cam2"].drift_ppm == pytest.approx(0.0, abs=1e-9)
    frames_a = np.array([0.0, 100.0, 3000.0])  # frames of 'side'
    t_old = sync["side"].time_of(frames_a)
    t_new = new["side"].time_of(frames_a)
    for name in ("cam10", "cam2"):
        np.testing.assert_allclose(sync[name].frame_at(t_old), new[name].frame_at(t_new), atol=1e-9)
    back = new.rereferenced("cam10")
    for a, b in zip(back, sync):
        assert a.time_offset == pytest.approx(b.time_offset, abs=1e-12)
        assert a.drift_ppm == pytest.approx(b.drift_ppm, abs=1e-6)


def test_overlap_span_and_a_camera_that_overlaps_nobody():
    sync = TakeSync((CameraClock("a", 0.0, 30.0), CameraClock("b", 1.0, 30.0), CameraClock("c", 2.0, 60.0)))
    start, end = check_overlap(sync, [91, 91, 61])  # a: 0-3 s, b: 1-4 s, c: 2-3 s
    assert (start, end) == pytest.approx((1.0, 3.0))
    late = apply_overrides(sync, {"c": {"time_offset": 10.0}})
    with pytest.raises(MocapError) as err:
        check_overlap(late, [91, 91, 61])
    assert "camera 'c'" in str(err.value) and "time_offset" in err.value.fix


def test_unsynchronized_is_todays_assumption():
    sync = unsynchronized(["a", "b"], [30.0, 60.0])
    assert [c.time_offset for c in sync] == [0.0, 0.0] and sync["b"].fps == 60.0
    assert all(c.method == "none" for c in sync)
