"""KeyframeWindows."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skpersona.au import KeyframeWindows

from .conftest import make_tables


def test_activity_keyframes_find_changes():
    values = np.zeros(300)
    values[100:140] = 4.0  # onset at 100, offset at 140
    values[250:] = 2.0  # onset at 250
    video = pd.DataFrame({"frame": np.arange(300), "AU12": values, "AU06": values / 2})
    video.attrs["au_scale"] = "0-5"
    kw = KeyframeWindows(n_keyframes=3, half_window=5).fit([video])
    assert kw.keyframes(video).tolist() == [100, 140, 250]
    out = kw.transform([video])[0, 0]
    assert out["frame"].tolist() == [*range(95, 106), *range(135, 146), *range(245, 256)]
    assert out["keyframe"].tolist() == [0] * 11 + [1] * 11 + [2] * 11
    assert out.attrs["au_scale"] == "0-5"


def test_uniform_and_short_and_empty_videos():
    tables = make_tables(n_videos=1, min_len=200, max_len=201)
    video = tables[0]
    kw = KeyframeWindows(n_keyframes=4, half_window=3, method="uniform").fit([video])
    assert kw.keyframes(video).tolist() == [25, 75, 125, 175]
    short = video.iloc[:5]
    empty = video.iloc[:0]
    out = KeyframeWindows(n_keyframes=5, half_window=7).fit_transform([video, short, empty])
    assert out.shape == (3, 1)
    assert len(out[0, 0]) == 5 * 15 and out[0, 0]["keyframe"].nunique() == 5
    assert len(out[1, 0]) == 5 and len(out[2, 0]) == 0
    # windows never overlap and keep time order
    frames = out[0, 0]["frame"].to_numpy()
    assert (np.diff(frames) > 0).all()


def test_aus_parameter_restricts_activity():
    rng = np.random.default_rng(0)
    video = pd.DataFrame({"AU01": rng.normal(size=120), "AU12": np.r_[np.zeros(60), np.ones(60)]})
    kw = KeyframeWindows(n_keyframes=1, half_window=2, aus=["AU12"]).fit([video])
    assert kw.keyframes(video).tolist() == [60]


def test_errors_and_names():
    with pytest.raises(ValueError, match="method"):
        KeyframeWindows(method="random").fit(make_tables(2))
    kw = KeyframeWindows().fit(make_tables(2))
    assert kw.get_feature_names_out().tolist() == ["frame_table"]


def _smile_video(n=300, onset=200):
    """A still face (intensities near 2) that smiles at ``onset`` (AU06, AU12 up by 1.5)."""
    rng = np.random.default_rng(0)
    aus = ["AU01", "AU04", "AU06", "AU12", "AU25", "AU26"]
    values = 2.0 + rng.normal(0, 0.01, (n, len(aus)))
    values[onset:, 2:4] += 1.5
    video = pd.DataFrame(values, columns=aus)
    video.insert(0, "frame", np.arange(n))
    video.attrs["au_scale"] = "0-5"
    return video


@pytest.mark.parametrize("loss", ["nan", "success", "confidence", "dropped"])
def test_tracking_loss_never_outranks_a_smile_onset(loss):
    video = _smile_video()
    gap = np.arange(80, 85)  # a 5-frame tracking gap
    params = {}
    if loss == "nan":
        video.loc[gap, video.columns[1:]] = np.nan
    elif loss == "success":  # failed frames kept with the tracker's garbage values
        video.loc[gap, video.columns[1:]] = 0.0
        video["success"] = ~video.index.isin(gap)
    elif loss == "confidence":
        video.loc[gap, video.columns[1:]] = 0.0
        video["confidence"] = np.where(video.index.isin(gap), 0.1, 0.98)
        params["min_confidence"] = 0.5
    else:  # frames dropped by the reader, and the face moved while it was lost
        video.loc[85:, video.columns[1:]] -= 1.0
        video = video.drop(index=gap).reset_index(drop=True)
    kw = KeyframeWindows(n_keyframes=1, half_window=5, **params).fit([video])
    (key,) = kw.keyframes(video)
    assert video["frame"].iloc[key] == 200
    out = kw.transform([video])[0, 0]
    assert out["frame"].tolist() == list(range(195, 206))
    if loss == "confidence":
        assert out["success"].all()


def test_short_videos_keep_every_frame_and_keyframes_inside():
    video = _smile_video(n=40, onset=20)
    for n in (1, 5, 10, 14, 15):
        short = video.iloc[:n]
        keys = KeyframeWindows(n_keyframes=5, half_window=7).keyframes(short)
        assert len(keys) == 1 and 0 <= keys[0] < n
        out = KeyframeWindows(n_keyframes=5, half_window=7).fit_transform([short])[0, 0]
        assert out["frame"].tolist() == list(range(n)) and (out["keyframe"] == 0).all()
    # one frame longer than a window: a window of 15 frames, not the whole video
    out = KeyframeWindows(n_keyframes=5, half_window=7).fit_transform([video.iloc[:16]])[0, 0]
    assert len(out) <= 15


def test_huge_half_window_allocates_nothing_big():
    import tracemalloc

    video = _smile_video(n=2_000, onset=1_000)
    tracemalloc.start()
    try:
        out = KeyframeWindows(half_window=10**12).fit_transform([video])[0, 0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(out) == 2_000 and peak < 20 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_windows_in_frames_follow_the_frame_column_not_rows():
    video = _smile_video(n=120, onset=40).drop(index=range(43, 80)).reset_index(drop=True)
    out = KeyframeWindows(n_keyframes=1, half_window=5).fit_transform([video])[0, 0]
    assert out["frame"].tolist() == list(range(35, 43))  # not rows past the dropped frames


def test_windows_in_seconds():
    video = _smile_video(n=250, onset=125)
    video["timestamp"] = video["frame"] / 25.0  # 25 frames per second
    video = video.drop(index=range(130, 140)).reset_index(drop=True)  # 0.4 s lost
    kw = KeyframeWindows(n_keyframes=3, half_window_seconds=0.5).fit([video])
    out = kw.transform([video])[0, 0]
    keys = video["timestamp"].to_numpy()[kw.keyframes(video)]
    assert 5.0 in keys.round(6)
    for window, rows in out.groupby("keyframe"):
        assert (rows["timestamp"] - keys[window]).abs().max() <= 0.5 + 1e-9
    assert out["keyframe"].is_monotonic_increasing and out["timestamp"].is_monotonic_increasing
    assert sorted(out["keyframe"].unique()) == [0, 1, 2]
    # without timestamps, windows in seconds cannot be placed
    with pytest.raises(ValueError, match="no 'timestamp' column"):
        kw.transform([video.drop(columns="timestamp")])


def test_bad_time_and_several_faces_are_refused():
    video = _smile_video(n=50)
    with pytest.raises(ValueError, match="non-decreasing"):
        KeyframeWindows().fit_transform([video.iloc[::-1]])
    with pytest.raises(ValueError, match="several faces"):
        KeyframeWindows().fit_transform([video.assign(face_id=np.arange(50) % 2)])
    lost = video.assign(**{c: np.nan for c in video.columns[1:]})
    out = KeyframeWindows().fit_transform([lost])[0, 0]
    assert len(out) == 0 and "keyframe" in out


@st.composite
def _tracked_video(draw):
    n = draw(st.integers(0, 120))
    steps = draw(st.lists(st.sampled_from([1, 1, 1, 1, 2, 9]), min_size=n, max_size=n))
    values = draw(st.lists(st.floats(0, 5), min_size=n, max_size=n))
    lost = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    video = pd.DataFrame({"frame": np.cumsum(steps).astype(int) if n else np.zeros(0, int),
                          "AU12": np.where(lost, np.nan, values) if n else np.zeros(0)})
    if draw(st.booleans()):
        video["timestamp"] = video["frame"] / 30.0
    return video


@settings(max_examples=80, deadline=None)
@given(_tracked_video(), st.integers(1, 6), st.integers(0, 12), st.sampled_from(
    ["activity", "uniform"]), st.booleans())
def test_property_windows_are_in_time_inside_the_video_and_disjoint(video, k, half, method,
                                                                     seconds):
    if seconds and "timestamp" not in video:
        seconds = False
    kw = KeyframeWindows(n_keyframes=k, half_window=half, method=method,
                         half_window_seconds=half / 30.0 if seconds else None)
    keys = kw.keyframes(video)
    out = kw.transform([video])[0, 0]
    n = len(video)
    tracked = video["AU12"].notna().to_numpy()
    assert len(keys) <= k and ((keys >= 0) & (keys < n)).all()
    assert tracked[keys].all()  # lost tracking is never a keyframe
    assert out["frame"].is_unique and out["frame"].is_monotonic_increasing  # rows kept in order
    assert set(out["frame"]) <= set(video["frame"])
    windows = out["keyframe"].to_numpy()
    assert (np.diff(windows) >= 0).all()
    assert sorted(set(windows)) == list(range(len(set(windows))))
    frames = video["frame"].to_numpy()
    if n and tracked.any() and frames[-1] - frames[0] + 1 <= 2 * half + 1:
        assert len(out) == n  # no longer than a window: kept whole
    elif len(keys):
        assert len(set(windows)) == len(keys)
        for w, key in enumerate(keys):
            inside = out.loc[windows == w, "frame"]
            assert (inside - frames[key]).abs().max() <= half + 1e-6


def test_keep_all_marks_the_same_windows_in_the_whole_video():
    tables = make_tables(3, seed=4, min_len=60, max_len=80)
    windows = KeyframeWindows(n_keyframes=2, half_window=4)
    cut = windows.fit_transform(tables)[:, 0]
    marked = windows.set_params(keep="all").fit_transform(tables)[:, 0]
    for table, part, full in zip(tables, cut, marked):
        assert len(full) == len(table)
        inside = full[full["keyframe"].notna()].reset_index(drop=True)
        pd.testing.assert_frame_equal(inside, part, check_dtype=False)
