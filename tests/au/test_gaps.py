"""Tracking gaps are handled alike by AUDescriber's episodes and AUStatistics' runs: a run
goes on across at most BRIDGED_GAP_FRAMES (2) untracked frames and ends at a longer gap."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from skpersona.au import AUDescriber, AUStatistics
from skpersona.au._activity import au_activity, episodes, frame_clock
from skpersona.au._frames import BRIDGED_GAP_FRAMES


def _gappy():
    """AU12 active over frames 5-9, lost 10-11 (bridged), active 12-14, lost 15-18 (ends
    the episode), active 19-23, frames 24-26 missing from the table (ends it), active
    27-29: three episodes."""
    frames = np.r_[0:24, 27:30]
    au12 = np.zeros(30)
    au12[np.r_[5:10, 12:15, 19:24, 27:30]] = 4.0
    au12[np.r_[10:12, 15:19]] = np.nan
    table = pd.DataFrame({"frame": frames, "timestamp": frames / 10, "AU12": au12[frames]})
    table.attrs["au_scale"] = "0-5"
    return table


def test_a_gap_longer_than_two_frames_ends_an_episode_in_both():
    assert BRIDGED_GAP_FRAMES == 2
    table = _gappy()
    stats = AUStatistics(aus=["AU12"], statistics=["active_rate", "burst_mean"]).set_output(
        transform="pandas").fit_transform([table])
    n_active = 16
    assert stats.loc[0, "AU12_active_rate"] == n_active / 21  # 27 rows, 6 lost
    assert stats.loc[0, "AU12_burst_mean"] == n_active / 3  # three runs
    text = AUDescriber(detail="high").fit_transform([table])[0, 0]
    assert f"in 3 episodes of {n_active / 3:.1f} frames on average" in text
    sequence = AUDescriber(detail="sequence").fit_transform([table])[0, 0]
    assert "starts 3 times, first at 0.5 s" in sequence  # 0.5 s, and after each long gap


def test_same_rule_without_a_time_column():
    table = _gappy().drop(columns=["frame", "timestamp"])  # rows are the clock: no drop
    stats = AUStatistics(aus=["AU12"], statistics=["active_rate", "burst_mean"]).set_output(
        transform="pandas").fit_transform([table])
    assert stats.loc[0, "AU12_burst_mean"] == 16 / 2  # the missing frames are invisible
    assert "in 2 episodes" in AUDescriber(detail="high").fit_transform([table])[0, 0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["on", "off", "lost", "dropped"]), min_size=2, max_size=40),
       st.booleans())
def test_property_episodes_equal_runs(pattern, timed):
    """For any pattern of active, inactive, lost and dropped frames, the describer's
    episodes and the statistics' runs (active frames / burst_mean) are the same count."""
    frames, values = [], []
    for i, kind in enumerate(pattern):
        if kind == "dropped":
            continue
        frames.append(i)
        values.append({"on": 3.0, "off": 0.0, "lost": np.nan}[kind])
    if not frames:
        return
    table = pd.DataFrame({"AU12": values})
    if timed:
        table.insert(0, "frame", frames)
    table.attrs["au_scale"] = "0-5"
    _, valid, active = au_activity(table, ["AU12"], "auto", "0-5")
    clock, limit = frame_clock(table)
    n_episodes = len(episodes(active[:, 0], valid[:, 0], clock, limit))
    stats = AUStatistics(aus=["AU12"], statistics=["active_rate", "burst_mean"]).set_output(
        transform="pandas").fit_transform([table])
    n_active = int(active[:, 0].sum())
    burst = stats.loc[0, "AU12_burst_mean"]
    if n_active == 0:
        assert n_episodes == 0 and (burst == 0 or np.isnan(burst))
    else:
        assert n_episodes == round(n_active / burst)
