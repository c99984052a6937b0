"""Several answer videos per candidate: missing answers and the answers joined in time."""

import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skpersona.au import (
    AUExtractor,
    AUStatistics,
    KeyframeWindows,
    join_answer_videos,
    missing_video,
)

STATS = ["mean", "max", "active_rate", "onsets", "burst_mean"]


def _answer(values, start=0, step=1):
    table = pd.DataFrame({"frame": start + step * np.arange(len(values)),
                          "AU06": values[:, 0], "AU12": values[:, 1]})
    table.attrs["au_scale"] = "0-1"
    return table


@st.composite
def _answers(draw):
    """One candidate: 1-4 answers, some without frames, AU values with lost frames (NaN)."""
    answers = []
    for _ in range(draw(st.integers(1, 4))):
        n = draw(st.sampled_from([0, 1, 2, 5, 12]))
        values = draw(hnp.arrays(np.float64, (n, 2), elements=st.one_of(
            st.sampled_from([0.0, 0.2, 0.7, 1.0]), st.just(np.nan))))
        answers.append(_answer(values, start=draw(st.integers(0, 500)),
                               step=draw(st.integers(1, 3))))
    return answers


def _statistics(tables):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return AUStatistics(statistics=STATS, aus=["AU06", "AU12"],
                            co_activations=None).fit(tables).transform(tables)


@settings(max_examples=60, deadline=None)
@given(_answers())
def test_joined_answers_pool_each_answer_on_its_own(answers):
    joined = join_answer_videos(answers)
    with_frames = [a for a in answers if len(a)]
    assert len(joined) == sum(len(a) for a in answers)
    if not with_frames:  # no answer has frames: a video without a face
        assert joined.empty
        return
    # answer after answer, in order, time never going back, each answer one window
    assert joined["answer"].is_monotonic_increasing
    assert np.all(np.diff(joined["frame"]) > 0)
    assert joined["keyframe"].tolist() == [w for w, a in enumerate(with_frames)
                                           for _ in range(len(a))]
    per_answer = _statistics(with_frames).reshape(len(with_frames), 2, len(STATS))
    pooled = _statistics([joined]).reshape(2, len(STATS))
    counts = np.array([[np.isfinite(a[au]).sum() for au in ("AU06", "AU12")]
                       for a in with_frames])  # tracked frames per answer and AU
    for k in range(2):
        seen = counts[:, k] > 0
        if not seen.any():
            assert np.isnan(pooled[k]).all()
            continue
        stats = dict(zip(STATS, per_answer[seen, k].T, strict=True))
        weights = counts[seen, k]
        got = dict(zip(STATS, pooled[k], strict=True))
        # onsets add up: none is made or lost where one answer ends and the next begins
        assert got["onsets"] == stats["onsets"].sum()
        np.testing.assert_allclose(got["mean"], np.average(stats["mean"], weights=weights))
        np.testing.assert_allclose(got["active_rate"],
                                   np.average(stats["active_rate"], weights=weights))
        assert got["max"] == stats["max"].max()
    # an answer without frames changes nothing
    again = join_answer_videos([missing_video(), *answers, missing_video()])
    np.testing.assert_array_equal(_statistics([again]), _statistics([joined]))


def test_keyframe_windows_never_cross_two_answers():
    rng = np.random.default_rng(0)
    answers = [_answer(rng.uniform(0, 1, (40, 2))) for _ in range(3)]
    windows = KeyframeWindows(n_keyframes=6, half_window=5).fit_transform(
        [join_answer_videos(answers)])[0, 0]
    assert windows.groupby("keyframe")["answer"].nunique().max() == 1
    assert windows["answer"].nunique() > 1  # the keyframes come from several answers


def test_join_keeps_time_and_refuses_mixed_scales():
    first = _answer(np.full((3, 2), 0.5)).assign(timestamp=[0.0, 0.04, 0.08])
    second = _answer(np.full((2, 2), 0.5)).assign(timestamp=[1.0, 1.04])
    joined = join_answer_videos([first, second])
    np.testing.assert_allclose(joined["timestamp"], [0, 0.04, 0.08, 3600.08, 3600.12])
    assert joined.attrs["au_scale"] == "0-1"
    assert "timestamp" not in join_answer_videos([first, _answer(np.ones((2, 2)))])
    other = second.copy()
    other.attrs["au_scale"] = "0-5"
    with pytest.raises(ValueError, match="different AU scales"):
        join_answer_videos([first, other])


@pytest.mark.parametrize("empty", [None, np.nan, "", "  ", pd.NA])
def test_an_empty_cell_is_an_answer_without_video(empty):
    out = AUExtractor().transform([empty])  # nothing to extract: no weights needed
    table = out[0, 0]
    assert table.empty and table.attrs["missing_video"]
    statistics = AUStatistics(missing="impute").fit([_answer(np.full((4, 2), 0.6))])
    for cell in (table, empty):  # extracted, or the empty cell itself
        with pytest.warns(UserWarning, match="no tracked face"):
            features = statistics.transform(pd.DataFrame({"q2": [cell]}))
        assert features[0, -1] == 1.0  # no_face
    joined = join_answer_videos([empty, _answer(np.full((3, 2), 0.6)), empty])
    assert joined["answer"].tolist() == [1, 1, 1]


def test_semantic_fusion_reads_several_answer_videos_and_transcripts(tmp_path):
    from sklearn.linear_model import Ridge

    from skpersona.datasets import make_interviews
    from skpersona.fusion import SemanticFusionRegressor
    from skpersona.text import TextEmbedder

    data = make_interviews(n_samples=16, n_frames=20, random_state=0)
    half = {"q1": [], "q2": []}
    for table in data.data["video"]:  # each interview cut into two answer videos
        cut = len(table) // 2
        half["q1"].append(table.iloc[:cut].reset_index(drop=True))
        half["q2"].append(table.iloc[cut:].reset_index(drop=True))
    X = pd.DataFrame({"q1": half["q1"], "q2": half["q2"],
                      "t1": data.data["transcript"], "t2": "I like working in teams."})
    X.loc[3, "q2"] = None  # one answer video missing: no crash
    params = dict(keyframes=KeyframeWindows(n_keyframes=2, half_window=3),
                  selector="passthrough", head=Ridge(), random_state=0,
                  embedder=TextEmbedder(cache_dir=str(tmp_path)))
    model = SemanticFusionRegressor(video_column=["q1", "q2"], transcript_column=["t1", "t2"],
                                    **params).fit(X, data.target)
    # the same as one video column holding the joined answers, and one joined transcript
    joined = pd.DataFrame({
        "video": [join_answer_videos([a, missing_video() if b is None else b])
                  for a, b in zip(X["q1"], X["q2"], strict=True)],
        "transcript": [f"{a}\nI like working in teams." for a in X["t1"]]})
    single = SemanticFusionRegressor(**params).fit(joined, data.target)
    assert model.compose(X.iloc[:4]).tolist() == single.compose(joined.iloc[:4]).tolist()
    np.testing.assert_allclose(model.predict(X), single.predict(joined))
    with pytest.raises(ValueError, match="no column 'q3'"):
        model.set_params(video_column=["q1", "q3"]).fit(X, data.target)
