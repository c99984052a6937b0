"""AUDescriber."""

import numpy as np
import pandas as pd
import pytest

from skpersona.au import AUDescriber, AUStatistics, read_fex


def _video():
    n = 100
    video = pd.DataFrame({
        "AU01": np.r_[np.full(12, 1.5), np.zeros(n - 12)],  # 12%, weakly
        "AU06": np.r_[np.zeros(60), np.full(10, 4.5), np.zeros(30)],  # 10%, strongly
        "AU12": np.r_[np.zeros(60), np.full(30, 3.0), np.zeros(10)],  # 30%, moderately
        "AU25": np.full(n, 0.2),  # never active
    })
    video.attrs["au_scale"] = "0-5"
    return video


def test_medium_description():
    text = AUDescriber().fit_transform([_video()])[0, 0]
    assert text == (
        "The lip corner puller (AU12) appears in 30% of frames, mostly moderately. "
        "The inner brow raiser (AU01) appears in 12% of frames, mostly weakly. "
        "The cheek raiser (AU06) appears in 10% of frames, mostly strongly. "
        "The cheek raiser and lip corner puller (AU06+AU12, a Duchenne smile) co-occur in 10% "
        "of frames."
    )


def test_detail_levels_and_aus():
    video = _video()
    low = AUDescriber(detail="low").fit_transform([video])[0, 0]
    assert low.startswith("Most frequent: the lip corner puller (AU12, 30% of frames)")
    high = AUDescriber(detail="high").fit_transform([video])[0, 0]
    assert "in 1 episode of 30.0 frames on average" in high
    only = AUDescriber(aus=["AU01", "AU12"]).fit_transform([video])[0, 0]
    assert "AU06" not in only and "AU12" in only and "Duchenne" not in only
    capped = AUDescriber(max_aus=1).fit_transform([video])[0, 0]
    assert capped.count("appears") == 1


def test_deterministic_neutral_and_empty():
    video = _video()
    describer = AUDescriber().fit([video])
    assert describer.transform([video])[0, 0] == describer.transform([video.copy()])[0, 0]
    neutral = video.assign(AU01=0.0, AU06=0.0, AU12=0.0)
    assert "mostly neutral" in describer.transform([neutral])[0, 0]
    assert describer.transform([video.iloc[:0]])[0, 0] == "No face was detected in the video."


def test_scale_relative_wording(feat_data):
    table = read_fex(feat_data / "001.csv")  # py-feat probabilities, 0-1 scale
    text = AUDescriber(detail="high").fit_transform([table])[0, 0]
    assert "appears in" in text and "%" in text
    rescaled = table.copy()
    rescaled.attrs = {"au_scale": "0-5"}
    rescaled_text = AUDescriber().fit_transform([rescaled])[0, 0]
    assert rescaled_text != text  # thresholds follow attrs["au_scale"]


def test_statistics_input():
    video = _video()
    stats = AUStatistics().set_output(transform="pandas").fit_transform([video, video])
    texts = AUDescriber().fit_transform(stats)
    assert texts.shape == (2, 1)
    assert texts[0, 0] == AUDescriber().fit_transform([video])[0, 0]


def test_errors():
    with pytest.raises(ValueError, match="detail"):
        AUDescriber(detail="verbose").fit([_video()])
    with pytest.raises(TypeError, match="not a frame table"):
        AUDescriber().fit(["a sentence"])
