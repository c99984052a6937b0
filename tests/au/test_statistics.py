"""AUStatistics against a plain per-video reference."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skpersona.au import AUStatistics
from skpersona.au._statistics import frame_statistics

from .conftest import make_tables

ALL = ["mean", "std", "min", "max", "p10", "p50", "p90", "active_rate", "active_mean", "onsets",
       "onset_rate", "burst_mean"]


def _clock(table):
    """Each row's time and the longest step a run crosses: 2 untracked frames, i.e. 3.5
    typical steps of the frame (else timestamp) column, else of row positions."""
    time_col = "frame" if "frame" in table else "timestamp" if "timestamp" in table else None
    if time_col is not None:
        times = table[time_col].astype(float).to_numpy()
        steps = np.diff(times)
        positive = steps[steps > 0]
        if np.isfinite(times).all() and len(positive):
            return times, 3.5 * np.median(positive)
        if np.isfinite(times).all():
            return times, 3.5
    return np.arange(len(table), dtype=float), 3.5


def _runs(values, clock, limit, thr):
    """Runs of one window: stretches of active tracked frames, continued across untracked
    frames while the next tracked one is at most limit later, and never backwards."""
    runs, before, last = 0, False, None
    for i, value in enumerate(values):
        if i and clock[i] < clock[i - 1]:  # back in time: a new segment
            before = False
        if np.isnan(value):
            continue
        if last is not None and clock[i] - last > limit:
            before = False
        active = value >= thr
        runs += active and not before
        before, last = active, clock[i]
    return runs


def _reference(table, au, thr):
    """Statistics of one AU of one video, window by window with pandas, then pooled."""
    values = table[au].astype(float) if au in table else pd.Series(np.nan, index=table.index)
    if "success" in table:
        values = values.where(table["success"].astype(float) > 0.5)
    valid = values.dropna()
    if valid.empty:
        return dict.fromkeys(ALL, np.nan)
    clock, limit = _clock(table)
    clock = pd.Series(clock, index=table.index)
    window = table["keyframe"] if "keyframe" in table else pd.Series(0, index=table.index)
    window_id = (window != window.shift()).cumsum()
    onsets = runs = 0
    for _, rows in table.groupby(window_id, sort=False):
        v = values.loc[rows.index]
        active = (v >= thr) & v.notna()
        seen = active[v.notna()]  # the AU as seen on tracked frames only
        onsets += int((seen & ~seen.shift(1, fill_value=False)).sum())
        runs += _runs(v.to_numpy(), clock.loc[rows.index].to_numpy(), limit, thr)
    n_active = int((valid >= thr).sum())
    return {
        "mean": valid.mean(), "std": valid.std(ddof=0), "min": valid.min(), "max": valid.max(),
        "p10": valid.quantile(0.1), "p50": valid.median(), "p90": valid.quantile(0.9),
        "active_rate": n_active / len(valid),
        "active_mean": valid[valid >= thr].mean() if n_active else 0.0,
        "onsets": onsets, "onset_rate": onsets / len(valid),
        "burst_mean": n_active / runs if runs else 0.0,
    }


def _check_against_reference(tables, out, aus, thr=1.0):
    for i, table in enumerate(tables):
        for a, au in enumerate(aus):
            ref = _reference(table, au, thr)
            for s, stat in enumerate(ALL):
                np.testing.assert_allclose(out[i, a * len(ALL) + s], ref[stat], equal_nan=True,
                                           rtol=1e-9, atol=1e-12,
                                           err_msg=f"video {i} {au} {stat}")


def test_matches_reference_with_nans_and_empty_videos():
    tables = make_tables(n_videos=15, seed=1)
    tables[2] = tables[2].iloc[:0]  # empty video
    tables[4].loc[[0, 3, 4, 10], "AU06"] = np.nan
    tables[5]["AU12"] = np.nan  # AU never seen in this video
    tables[6] = tables[6].iloc[:1]  # a single frame
    stats = AUStatistics(statistics=ALL, co_activations=[("AU06", "AU12")]).fit(tables)
    out = stats.transform(tables)
    names = list(stats.get_feature_names_out())
    assert out.shape == (15, len(names)) and len(names) == 6 * len(ALL) + 1
    _check_against_reference(tables, out, stats.aus_)
    for i, table in enumerate(tables):
        both = table[["AU06", "AU12"]].dropna()
        expected = ((both >= 1.0).all(axis=1)).mean() if len(both) else np.nan
        np.testing.assert_allclose(out[i, -1], expected, equal_nan=True)
    assert np.isnan(out[2]).all()


def _stat(table, au, stat, **params):
    stats = AUStatistics(statistics=[stat], aus=[au], co_activations=None, au_scale="0-5",
                         **params)
    return float(stats.fit([table]).transform([table])[0, 0])


def test_real_pyfeat_outputs_match_the_reference(shared_data):
    # py-feat's own video outputs (every 2nd frame, 0-1 scale), whole and in keyframe windows
    from skpersona.au import KeyframeWindows, read_fex
    from skpersona.au._frames import as_frame_tables

    tables = [read_fex(shared_data / "pyfeat_outputs" / f"news_sample_00{i}.csv")
              for i in (2, 3, 5)]
    windows = as_frame_tables(KeyframeWindows().fit(tables).transform(tables))
    assert any(t["keyframe"].nunique() > 1 for t in windows)
    for videos in (tables, windows):
        stats = AUStatistics(statistics=ALL, co_activations=None).fit(videos)
        _check_against_reference(videos, stats.transform(videos), stats.aus_, thr=0.5)


def test_episodes_never_cross_window_borders():
    # Two windows back to back: an active run of 3 at the end of window 0, of 2 at the
    # start of window 1. They are two episodes, not one of 5.
    table = pd.DataFrame({"AU12": [0, 0, 3, 3, 3, 3, 3, 0, 0, 0.0],
                          "keyframe": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]})
    assert _stat(table, "AU12", "onsets") == 2
    assert _stat(table, "AU12", "burst_mean") == 2.5
    assert _stat(table.drop(columns="keyframe"), "AU12", "onsets") == 1


def test_long_tracking_gaps_break_runs_but_never_create_onsets():
    on = [0, 3, 3, 3, 3, 3, 0.0]
    # lost tracking in the middle of a smile: NaN row, success == 0 row (one frame each:
    # bridged, one run of 4), three NaN rows, dropped frames (longer: two runs of 2)
    nan_gap = pd.DataFrame({"AU12": [0, 3, 3, np.nan, 3, 3, 0.0]})
    failed = pd.DataFrame({"AU12": on, "success": [1, 1, 1, 0, 1, 1, 1]})
    long_gap = pd.DataFrame({"AU12": [0, 3, 3, np.nan, np.nan, np.nan, 3, 3, 0.0]})
    dropped = pd.DataFrame({"AU12": [0, 3, 3, 3, 3, 0.0], "frame": [0, 1, 2, 30, 31, 32]})
    for table, burst in ((nan_gap, 4.0), (failed, 4.0), (long_gap, 2.0), (dropped, 2.0)):
        assert _stat(table, "AU12", "onsets") == 1, table
        assert _stat(table, "AU12", "burst_mean") == burst, table
    # a failed row is no data: its value is left out of every statistic
    failed.loc[3, "AU12"] = 0.0
    assert _stat(failed, "AU12", "onsets") == 1
    assert _stat(failed, "AU12", "mean") == pytest.approx(12 / 6)
    # the AU seen off before the gap and on after it: that is an onset
    off_on = pd.DataFrame({"AU12": [0, 0, np.nan, 3, 3.0]})
    assert _stat(off_on, "AU12", "onsets") == 1


def test_chunking_and_order_do_not_change_results():
    tables = make_tables(n_videos=30, seed=2, min_len=1, max_len=120)
    aus = ["AU01", "AU02", "AU04"]
    full = frame_statistics(tables, aus, ALL, np.ones(30), [("AU01", "AU02")])
    tiny = frame_statistics(tables, aus, ALL, np.ones(30), [("AU01", "AU02")], chunk_elements=50)
    np.testing.assert_allclose(full, tiny)
    order = np.random.default_rng(0).permutation(30)
    shuffled = frame_statistics([tables[i] for i in order], aus, ALL, np.ones(30),
                                [("AU01", "AU02")])
    np.testing.assert_allclose(shuffled, full[order])


def test_feature_names_defaults_and_set_output():
    tables = make_tables(n_videos=4, n_aus=5)
    stats = AUStatistics().fit(tables)
    assert stats.aus_ == ["AU01", "AU02", "AU04", "AU06", "AU12"]
    names = stats.get_feature_names_out()
    assert names[0] == "AU01_mean" and "AU06+AU12_rate" in names and "AU01+AU02_rate" in names
    frame = AUStatistics().set_output(transform="pandas").fit_transform(tables)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(names)


def test_threshold_relative_to_each_scale():
    on_5 = pd.DataFrame({"AU12": [0.0, 2.0, 2.0, 0.0]})
    on_5.attrs["au_scale"] = "0-5"
    on_1 = pd.DataFrame({"AU12": [0.0, 0.4, 0.4, 0.0]})
    on_1.attrs["au_scale"] = "0-1"
    auto = AUStatistics(statistics=["active_rate"]).fit([on_5, on_1]).transform([on_5, on_1])
    np.testing.assert_allclose(auto[:, 0], [0.5, 0.0])  # thresholds 1.0 and 0.5
    rel = AUStatistics(statistics=["active_rate"], threshold=0.3).fit([on_5]).transform(
        [on_5, on_1])
    np.testing.assert_allclose(rel[:, 0], [0.5, 0.5])  # 1.5 on 0-5, 0.3 on 0-1
    forced = AUStatistics(statistics=["active_rate"], au_scale="0-1").fit([on_5])
    np.testing.assert_allclose(forced.transform([on_5])[:, 0], [0.5])
    no_attrs = pd.DataFrame({"AU12": [0.0, 3.0]})  # inferred 0-5 from values above 1
    np.testing.assert_allclose(forced.set_params(au_scale=None).transform([no_attrs])[:, 0], [0.5])


def test_explicit_aus_missing_columns_and_fill_value():
    tables = make_tables(n_videos=3, n_aus=3)
    stats = AUStatistics(statistics=["mean"], aus=[1, "AU09"], co_activations=None).fit(tables)
    out = stats.transform(tables)
    assert list(stats.get_feature_names_out()) == ["AU01_mean", "AU09_mean"]
    assert np.isnan(out[:, 1]).all() and np.isfinite(out[:, 0]).all()
    filled = stats.set_params(fill_value=-1.0).transform(tables)
    assert (filled[:, 1] == -1).all()


def test_accepted_containers():
    tables = make_tables(n_videos=3)
    stats = AUStatistics().fit(tables)
    ref = stats.transform(tables)
    obj = np.empty((3, 1), dtype=object)
    for i, t in enumerate(tables):
        obj[i, 0] = t
    for X in (pd.Series(tables), pd.DataFrame({"video": tables}), obj, obj[:, 0], tuple(tables)):
        np.testing.assert_allclose(stats.transform(X), ref)


def test_errors():
    tables = make_tables(n_videos=2)
    with pytest.raises(ValueError, match="Unknown statistic"):
        AUStatistics(statistics=["median"]).fit(tables)
    with pytest.raises(ValueError, match="Co-activation"):
        AUStatistics(aus=["AU01"], co_activations=[("AU01", "AU12")]).fit(tables)
    with pytest.raises(TypeError, match="single frame table"):
        AUStatistics().fit(tables[0])
    with pytest.raises(TypeError, match="not a frame table"):
        AUStatistics().fit(["video.mp4"])
    with pytest.raises(ValueError, match="No AU columns"):
        AUStatistics().fit([pd.DataFrame({"frame": [1, 2]})])
    with pytest.raises(ValueError, match="threshold"):
        AUStatistics(threshold=2.0).fit(tables)


def test_many_videos_fast():
    import time

    rng = np.random.default_rng(0)
    aus = [f"AU{i:02d}" for i in range(1, 21)]
    tables = []
    for _ in range(1000):
        table = pd.DataFrame(rng.uniform(0, 5, (450, 20)), columns=aus)
        table.attrs["au_scale"] = "0-5"
        tables.append(table)
    AUStatistics().fit(tables[:1]).transform(tables[:1])  # compiles the kernel once (cached)
    start = time.perf_counter()
    out = AUStatistics().fit(tables).transform(tables)
    elapsed = time.perf_counter() - start
    assert out.shape[0] == 1000 and np.isfinite(out).all()
    assert elapsed < 10, f"1,000 videos x 450 frames x 20 AUs took {elapsed:.1f} s"


# Property tests: random videos with windows, lost tracking and dropped frames.

@st.composite
def _videos(draw, max_videos=4, max_len=40):
    """Frame tables with keyframe windows, NaN rows, failed rows and jumps in frame numbers."""
    tables = []
    for _ in range(draw(st.integers(1, max_videos))):
        n = draw(st.integers(0, max_len))
        levels = draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, 4.0, np.nan]),
                               min_size=2 * n, max_size=2 * n))
        table = pd.DataFrame(np.asarray(levels, dtype=float).reshape(n, 2),
                             columns=["AU06", "AU12"])
        if draw(st.booleans()):
            steps = draw(st.lists(st.sampled_from([1, 1, 1, 2, 7]), min_size=n, max_size=n))
            table.insert(0, "frame", np.cumsum(steps) if n else np.zeros(0, int))
        if draw(st.booleans()):
            table["success"] = draw(st.lists(st.sampled_from([1, 1, 1, 0]), min_size=n,
                                             max_size=n))
        if draw(st.booleans()):
            sizes = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
            table["keyframe"] = np.cumsum(sizes) // 3 if n else np.zeros(0, int)
        tables.append(table)
    return tables


@settings(max_examples=60, deadline=None)
@given(_videos())
def test_property_matches_window_by_window_pandas_reference(tables):
    out = frame_statistics(tables, ["AU06", "AU12"], ALL, np.ones(len(tables)))
    _check_against_reference(tables, out, ["AU06", "AU12"])


@settings(max_examples=60, deadline=None)
@given(_videos(max_videos=1), st.data())
def test_property_a_tracking_gap_never_creates_an_onset(tables, data):
    table = tables[0]
    at = data.draw(st.integers(0, len(table)))
    gap = table.iloc[[min(at, len(table) - 1)]].copy() if len(table) else table.copy()
    gap[["AU06", "AU12"]] = np.nan
    with_gap = pd.concat([table.iloc[:at], gap, table.iloc[at:]], ignore_index=True)
    stats = ["onsets", "active_rate", "mean"]
    before = frame_statistics([table], ["AU06", "AU12"], stats, np.ones(1))
    after = frame_statistics([with_gap], ["AU06", "AU12"], stats, np.ones(1))
    np.testing.assert_allclose(after, before, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(_videos(max_videos=6), st.randoms(use_true_random=False))
def test_property_permuting_videos_permutes_rows(tables, random):
    order = list(range(len(tables)))
    random.shuffle(order)
    full = frame_statistics(tables, ["AU06", "AU12"], ALL, np.ones(len(tables)),
                            [("AU06", "AU12")])
    shuffled = frame_statistics([tables[i] for i in order], ["AU06", "AU12"], ALL,
                                np.ones(len(tables)), [("AU06", "AU12")], chunk_elements=64)
    np.testing.assert_allclose(shuffled, full[order], rtol=1e-12, atol=1e-12)


def test_bad_inputs_get_errors_naming_the_input():
    good = pd.DataFrame({"AU06": [0.0, 2.0, 3.0], "AU12": [1.0, 0.0, 4.0]})
    good.attrs["au_scale"] = "0-5"
    stats = AUStatistics(statistics=["mean", "onsets"]).fit([good])
    inf = good.assign(AU12=[1.0, np.inf, 0.0])
    with pytest.raises(ValueError, match=r"Video 1: AU12 is infinite at row 1"):
        stats.transform([good, inf])
    text = good.assign(AU12=["1.0", "n/a", "2"])
    with pytest.raises(ValueError, match=r"Video 1: column 'AU12' holds non-numeric"):
        stats.transform([good, text])
    twice = pd.concat([good, good[["AU06"]]], axis=1)
    with pytest.raises(ValueError, match=r"Video 0 has AU AU06 twice"):
        stats.transform([twice])
    both = good.assign(AU6=good["AU06"])
    with pytest.raises(ValueError, match=r"AU6 and AU06 are the same AU"):
        stats.transform([both])
    with pytest.raises(ValueError, match=r"Invalid AU intensity scale '0-0'"):
        AUStatistics(au_scale="0-0").fit([good])
    bad_attrs = good.copy()
    bad_attrs.attrs["au_scale"] = "5-0"
    with pytest.raises(ValueError, match=r"Video 1: Invalid AU intensity scale '5-0'"):
        stats.transform([good, bad_attrs])


def test_unpadded_au_names_are_the_same_au():
    padded = pd.DataFrame({"AU06": [0.0, 2.0, 3.0], "AU12": [1.0, 0.0, 4.0]})
    short = padded.rename(columns={"AU06": "AU6"})
    stats = AUStatistics(statistics=["mean", "onsets"], au_scale="0-5").fit([short, padded])
    assert stats.aus_ == ["AU06", "AU12"]
    np.testing.assert_array_equal(stats.transform([short]), stats.transform([padded]))


def _assert_ranks_equal_a_float64_sort(rows):
    """ranks_of at every rank of each row (all at once, one at a time, descending) vs np.sort."""
    from skpersona.au._frame_kernel import histogram_bins, rank_scratch, ranks_of, spread

    for row in rows:
        vals = row[~np.isnan(row)]
        m = len(vals)
        if not m:
            continue
        want = np.sort(vals)
        low, high = want[0], want[-1]
        for ranks in [np.arange(m), np.arange(m)[::-1].copy()] + [np.array([r]) for r in range(m)]:
            scratch = rank_scratch(m, len(ranks))
            n_bins, scale = histogram_bins(m, low, high, scratch[0].size)
            _, n_low, n_high = spread(vals, m, 0.0, low, high, n_bins, scale, scratch)
            assert (n_low, n_high) == ((vals == low).sum(), (vals == high).sum())
            got = np.empty(len(ranks))
            ranks_of(vals.copy(), m, low, high, n_low, n_high, n_bins, scale, ranks, got,
                     scratch)
            np.testing.assert_array_equal(got, want[ranks], err_msg=f"row {row}, ranks {ranks}")


def test_histogram_ranks_equal_a_float64_sort():
    rng = np.random.default_rng(0)
    rows = list(np.round(rng.uniform(0, 5, (4, 120)), 2))  # OpenFace-like: many exact ties
    rows[0][:30] = 0.0
    rows[1][::7] = np.nan
    rows += [
        1.0 + np.arange(150)[::-1] * 1e-15,  # distinct values in one bin, wrong order
        np.r_[np.zeros(60), 1e300, rng.uniform(0, 5, 60)],  # most values share bin 0
        rng.normal(0, 1, 200),  # continuous: about 4 values a bin
        np.clip(rng.normal(0.8, 1.2, 450), 0, 5),  # ties at the minimum and maximum
        np.array([-1.7e308, 0.0, 1.5, 1.7e308, 2.0]),  # span beyond float64: whole-row sort
        np.r_[-1.7e308, np.round(rng.uniform(0, 5, 100), 1), 1.7e308],  # the same, heapsort
        np.array([0.0, 5e-324, 1e-323, 5e-324, 0.0, 1e-323]),  # subnormal span: scale overflows
        np.array([np.nan, np.nan]),
        np.array([2.5]),
    ]
    _assert_ranks_equal_a_float64_sort(rows)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e308, 1e308), st.sampled_from([0.0, 1.0, np.nan, 5e-324]),
                          st.floats(0, 5)), min_size=1, max_size=90))
def test_property_histogram_ranks_equal_a_float64_sort(values):
    _assert_ranks_equal_a_float64_sort([np.asarray(values)])


def test_percentiles_are_the_linear_interpolation_of_the_sorted_values_exactly():
    # Bit for bit the interpolation the statistics promise (and the previous engine gave):
    # sorted[r] + (q / 100 * (n - 1) - r) * (sorted[r + 1] - sorted[r]), r its floor.
    rng = np.random.default_rng(5)
    series = [np.round(rng.uniform(0, 5, n), 2) for n in (1, 2, 3, 10, 449, 1000)]
    series += [np.clip(rng.normal(0.8, 1.2, 450), 0, 5), rng.normal(1000, 1e-3, 300)]
    qs = [0, 1, 10, 33.3, 50, 90, 99.9, 100]
    tables = [pd.DataFrame({"AU12": s}) for s in series]
    out = frame_statistics(tables, ["AU12"], [f"p{q}" for q in qs] + ["min", "max"],
                           np.ones(len(series)))
    for row, s in zip(out, series, strict=True):
        ordered = np.sort(s)
        for q, got in zip(qs, row, strict=False):
            position = q / 100.0 * (len(s) - 1)
            r = int(np.floor(position))
            low, high = ordered[r], ordered[min(r + 1, len(s) - 1)]
            assert got == low + (position - r) * (high - low), (q, len(s))
        assert row[-2] == ordered[0] and row[-1] == ordered[-1]


def test_mean_and_std_stay_exact_on_offset_and_near_constant_series():
    rng = np.random.default_rng(3)
    series = [1000 + rng.normal(0, 1e-3, 400), np.r_[np.full(600, 2.5), 2.5 + 1e-9],
              np.full(50, 4.2), rng.uniform(-3, 3, 7)]
    tables = [pd.DataFrame({"AU12": s}) for s in series]
    out = frame_statistics(tables, ["AU12"], ["mean", "std"], np.ones(len(tables)))
    for row, s in zip(out, series, strict=True):
        np.testing.assert_allclose(row, [s.mean(), s.std()], rtol=1e-9, atol=1e-15)


def test_missing_impute_fills_training_means_and_flags_videos_without_a_face():
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    tables = make_tables(n_videos=8, n_aus=3, seed=3)
    faceless = tables[5].assign(success=False)  # tracking lost throughout
    faceless.attrs = {"au_scale": "0-5", "path": "interview_5.mp4"}
    empty = tables[6].iloc[:0]  # what KeyframeWindows gives for such a video
    train = tables[:5] + [faceless, empty] + tables[7:]
    plain = AUStatistics(statistics=["mean", "active_rate"]).fit(train)
    expected = plain.transform(train)
    assert np.isnan(expected[[5, 6]]).all()  # what a ridge refused before
    stats = AUStatistics(statistics=["mean", "active_rate"], missing="impute").fit(train)
    assert stats.get_feature_names_out()[-1] == "no_face"
    with pytest.warns(UserWarning, match=r"2 of 8 videos have no tracked face \(videos "
                                         r"5 \(interview_5.mp4\), 6\)"):
        out = stats.transform(train)
    means = np.nanmean(expected, axis=0)
    np.testing.assert_allclose(out[:, :-1], np.where(np.isnan(expected), means, expected))
    assert out[:, -1].tolist() == [0, 0, 0, 0, 0, 1, 1, 0]
    # the training means are kept: a new faceless video gets them, not its batch's
    with pytest.warns(UserWarning, match="1 of 2 videos"):
        np.testing.assert_allclose(stats.transform([tables[0], empty])[1, :-1], means)
    with pytest.warns(UserWarning):
        model = make_pipeline(AUStatistics(missing="impute"), StandardScaler(), Ridge())
        model.fit(train, np.arange(8.0))
        assert np.isfinite(model.predict(train)).all()
