"""AUStatistics against a plain per-video reference."""

import numpy as np
import pandas as pd
import pytest

from skpersona.au import AUStatistics
from skpersona.au._statistics import frame_statistics

from .conftest import make_tables

ALL = ["mean", "std", "min", "max", "p10", "p50", "p90", "active_rate", "active_mean", "onsets",
       "onset_rate", "burst_mean"]


def _reference(values, thr):
    """Statistics of one AU series, written plainly."""
    valid = values[~np.isnan(values)]
    if valid.size == 0:
        return dict.fromkeys(ALL, np.nan)
    active = np.nan_to_num(values, nan=-np.inf) >= thr
    onsets = int(active[0]) + int((active[1:] & ~active[:-1]).sum())
    return {
        "mean": valid.mean(), "std": valid.std(), "min": valid.min(), "max": valid.max(),
        "p10": np.percentile(valid, 10), "p50": np.median(valid), "p90": np.percentile(valid, 90),
        "active_rate": active.sum() / valid.size,
        "active_mean": valid[valid >= thr].mean() if (valid >= thr).any() else 0.0,
        "onsets": onsets, "onset_rate": onsets / valid.size,
        "burst_mean": active.sum() / onsets if onsets else 0.0,
    }


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
    for i, table in enumerate(tables):
        for au in stats.aus_:
            ref = _reference(table[au].to_numpy(dtype=float), 1.0)
            for stat in ALL:
                got = out[i, names.index(f"{au}_{stat}")]
                np.testing.assert_allclose(got, ref[stat], equal_nan=True,
                                           err_msg=f"video {i} {au} {stat}")
        both = table[["AU06", "AU12"]].dropna()
        expected = ((both >= 1.0).all(axis=1)).mean() if len(both) else np.nan
        np.testing.assert_allclose(out[i, -1], expected, equal_nan=True)
    assert np.isnan(out[2]).all()


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
    start = time.perf_counter()
    out = AUStatistics().fit(tables).transform(tables)
    elapsed = time.perf_counter() - start
    assert out.shape[0] == 1000 and np.isfinite(out).all()
    assert elapsed < 10, f"1,000 videos x 450 frames x 20 AUs took {elapsed:.1f} s"
