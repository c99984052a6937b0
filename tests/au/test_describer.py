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


# -- presence, scale-correct wording and the sequence (issue 11) ---------------------


def _openface(feat_data):
    from skpersona.au import read_openface

    return read_openface(feat_data / "OpenFace_Test.csv")


def _mentioned(text):
    import re

    return set(re.findall(r"\((AU\d\d)[,)]", text))


def test_openface_presence_drives_the_description(feat_data):
    """OpenFace's own classifier says AU05 and AU23 in every frame, AU04 in 34%."""
    table = _openface(feat_data)
    presence = {c[:4]: table[c].mean() for c in table if c.endswith("_present")}
    text = AUDescriber(detail="high").fit_transform([table])[0, 0]
    for name in ("brow lowerer (AU04)", "upper lid raiser (AU05)", "lip tightener (AU23)"):
        assert name in text
    assert "neutral" not in text
    summarised = {a for a, rate in presence.items() if rate >= 0.05}
    assert _mentioned(text) == summarised
    for au in summarised:  # the rates are OpenFace's presence rates
        assert f"({au}) appears in {100 * presence[au]:.0f}% of frames" in text
    sequence = AUDescriber(detail="sequence").fit_transform([table])[0, 0]
    assert _mentioned(sequence) == {a for a, rate in presence.items() if rate > 0}


def test_probabilities_are_not_called_intensities(feat_data):
    table = read_fex(feat_data / "001.csv")  # py-feat: detection probabilities
    for detail in ("medium", "high", "sequence", "full"):
        text = AUDescriber(detail=detail).fit_transform([table])[0, 0]
        assert "probability" in text, detail
        for word in ("strong", "weak", "moderate", "intensity", " of 5", " of 1 "):
            assert word not in text, (detail, word)


def _windows_table():
    """Two keyframe windows of 5 frames; AU12 active 3 frames then 2 frames across the border."""
    au12 = np.array([0, 0, 2, 3, 4, 4, 2, 0, 0, 0], dtype=float)
    au04 = np.array([0, 2.5, 2.5, np.nan, 2.5, 0, 0, 0, 1.5, 0], dtype=float)
    table = pd.DataFrame({"timestamp": np.r_[np.arange(5), 20 + np.arange(5)] / 10.0,
                          "AU04": au04, "AU12": au12, "keyframe": np.repeat([0, 1], 5)})
    table.attrs["au_scale"] = "0-5"
    return table


def test_sequence_per_window_in_temporal_order():
    text = AUDescriber(detail="sequence").fit_transform([_windows_table()])[0, 0]
    assert text == (
        "Window 1 of 2 (0.0-0.4 s): the brow lowerer (AU04) starts at 0.1 s, peaks at 2.5 of 5 "
        "(moderate) at 0.1 s and is still active at the end; the lip corner puller (AU12) "
        "starts at 0.2 s, peaks at 4.0 of 5 (strong) at 0.4 s and is still active at the end. "
        "Window 2 of 2 (2.0-2.4 s): the lip corner puller (AU12) is active from the start, "
        "peaks at 4.0 of 5 (strong) at 2.0 s and ends at 2.2 s; the brow lowerer (AU04) starts "
        "at 2.3 s, peaks at 1.5 of 5 (weak) at 2.3 s and ends at 2.4 s."
    )
    # the tracking gap at 0.3 s neither ends nor restarts the brow lowerer
    assert text.count("brow lowerer (AU04) starts") == 2


def test_summary_counts_episodes_per_window():
    text = AUDescriber(detail="high").fit_transform([_windows_table()])[0, 0]
    assert "lip corner puller (AU12) appears in 50% of frames" in text
    assert "in 2 episodes of 2.5 frames on average" in text


def test_sequence_needs_frame_tables_and_handles_empty():
    stats = AUStatistics().set_output(transform="pandas").fit_transform([_video()])
    with pytest.raises(ValueError, match="needs frame tables"):
        AUDescriber(detail="sequence").fit(stats)
    empty = _video().iloc[:0]
    assert AUDescriber(detail="sequence").fit_transform([empty])[0, 0] == (
        "No face was detected in the video.")
    lost = _windows_table().assign(AU04=np.nan, AU12=np.nan)
    assert AUDescriber(detail="sequence").fit_transform([lost])[0, 0] == (
        "No face was detected in the video.")
    quiet = _windows_table().assign(AU04=0.0)
    quiet.loc[quiet.keyframe == 1, "AU12"] = 0.0
    text = AUDescriber(detail="sequence").fit_transform([quiet])[0, 0]
    assert text.endswith("Window 2 of 2 (2.0-2.4 s): no action unit is active.")


def test_sequence_frames_without_timestamps_and_max_aus():
    table = _windows_table().drop(columns="timestamp")
    text = AUDescriber(detail="sequence", max_aus=1).fit_transform([table])[0, 0]
    first, second = text.split(". Window 2 of 2 (frames 5-9): ")
    assert first.startswith("Window 1 of 2 (frames 0-4): the brow lowerer (AU04) starts at "
                            "frame 1")  # a tie on 3 active frames: the lower AU number
    assert _mentioned(first) == {"AU04"} and _mentioned(second) == {"AU12"}  # 2 frames vs 1


def test_sequence_mentions_exactly_the_active_aus():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=25, deadline=None, derandomize=True)
    @given(st.data())
    def check(data):
        n = data.draw(st.integers(1, 30))
        k = data.draw(st.integers(1, 3))
        values = data.draw(st.lists(st.sampled_from([np.nan, 0.0, 0.5, 1.0, 2.0, 4.5]),
                                    min_size=2 * n, max_size=2 * n))
        table = pd.DataFrame(np.asarray(values).reshape(n, 2), columns=["AU06", "AU12"])
        table["keyframe"] = np.sort(np.arange(n) % k)
        table.attrs["au_scale"] = "0-5"
        describer = AUDescriber(detail="sequence")
        text = describer.fit_transform([table])[0, 0]
        assert text == describer.transform([table.copy()])[0, 0]
        active = {a for a in ("AU06", "AU12") if (table[a] >= 1.0).any()}
        assert _mentioned(text) == active
        # every "starts at" follows a valid inactive frame of the same window
        assert text.count("starts") <= int((np.diff((table[["AU06", "AU12"]] >= 1.0)
                                                    .to_numpy(int), axis=0) == 1).sum()) + 2 * k

    check()


@pytest.mark.parametrize("detail", ["medium", "sequence"])
def test_unknown_or_absent_aus_are_named_not_no_face(detail):
    with pytest.raises(ValueError, match="aus: AU99 is not a FACS action unit; known: AU01"):
        AUDescriber(detail=detail, aus=["AU99"]).fit_transform([_video()])
    with pytest.raises(ValueError, match="aus: AU99 is not a FACS"):  # transform needs no fit
        AUDescriber(detail=detail, aus=["AU12", "AU99"]).transform([_video()])
    # a real AU that these tables do not have: said, instead of "No face was detected"
    with pytest.raises(ValueError, match=r"aus=\['AU04'\] names no AU of the frame tables, "
                       "which have AU01, AU06, AU12, AU25"):
        AUDescriber(detail=detail, aus=["AU04"]).fit_transform([_video()])


def test_rates_are_over_every_tracked_frame_of_a_marked_table():
    """KeyframeWindows(keep="all") marks the windows in the whole video: the summary's rates
    are over all tracked frames (a window, chosen for change, shows the smile in 3 of its
    5 frames, the video in 4 of 20), the sequence narrates the window only."""
    from skpersona.au import KeyframeWindows

    video = pd.DataFrame({"frame": np.arange(20), "timestamp": np.arange(20) / 10,
                          "AU12": np.r_[np.zeros(8), np.full(4, 4.0), np.zeros(8)]})
    video.attrs["au_scale"] = "0-5"
    windows = KeyframeWindows(n_keyframes=1, half_window=2)
    marked = windows.set_params(keep="all").fit_transform([video])[0, 0]
    assert len(marked) == 20 and marked["keyframe"].notna().sum() == 5
    text = AUDescriber(detail="full").fit_transform([marked])[0, 0]
    assert "(AU12) appears in 20% of frames" in text
    assert "Window 1 of 1 (0.6-1.0 s)" in text and text.count("Window") == 1
    only = windows.set_params(keep="windows").fit_transform([video])[0, 0]
    assert "(AU12) appears in 60% of frames" in AUDescriber().fit_transform([only])[0, 0]
