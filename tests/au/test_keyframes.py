"""KeyframeWindows."""

import numpy as np
import pandas as pd
import pytest

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
