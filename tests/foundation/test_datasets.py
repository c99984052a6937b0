import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import cross_val_predict

from skpersona import BIG_FIVE, HEXACO
from skpersona.datasets import (
    AU_CODES,
    get_data_home,
    load_first_impressions,
    load_youtube_personality,
    make_interviews,
)
from skpersona.datasets._first_impressions import _RestrictedUnpickler
from skpersona.metrics import pearson_r_per_trait


@pytest.mark.parametrize("split, n", [("training", 6000), ("validation", 2000)])
def test_first_impressions_reads_official_pickles(shared_data, split, n):
    fi = load_first_impressions(shared_data, split=split)
    assert fi.data.shape == (n, 3)
    assert list(fi.target.columns) == list(BIG_FIVE)
    assert fi.target.shape == (n, 5)
    assert fi.target.to_numpy().min() >= 0 and fi.target.to_numpy().max() <= 1
    assert fi.interview.between(0, 1).all()
    assert fi.data["transcript"].map(type).eq(str).all()
    # Clip names share keys with labels; groups are the YouTube id before the first dot.
    assert (fi.data["video_id"].str.split(".").str[0] == fi.groups).all()
    assert len(np.unique(fi.groups)) < n
    words = fi.data["transcript"].str.split().str.len()
    assert 30 < words.mean() < 55


def test_first_impressions_errors(tmp_path, shared_data):
    with pytest.raises(FileNotFoundError, match="annotation_training.pkl"):
        load_first_impressions(tmp_path)
    with pytest.raises(ValueError, match="held out"):
        load_first_impressions(shared_data, split="test")


def test_restricted_unpickler_refuses_code(tmp_path):
    import io
    import os
    import pickle

    payload = pickle.dumps(os.system)
    with pytest.raises(pickle.UnpicklingError, match="Refusing"):
        _RestrictedUnpickler(io.BytesIO(payload)).load()


def test_youtube_personality(shared_data):
    yt = load_youtube_personality(shared_data)
    assert yt.data.shape[0] == 404
    assert len(yt.cue_names) == 25
    assert set(yt.data["gender"]) == {"Female", "Male"}
    assert yt.target.shape == (324, 5)
    assert yt.target.to_numpy().min() >= 1 and yt.target.to_numpy().max() <= 7
    assert yt.target.index.isin(yt.data.index).all()
    assert (yt.data["transcript"].str.len() > 0).mean() > 0.95


def test_data_home_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SKPERSONA_DATA", str(tmp_path))
    assert get_data_home() == tmp_path
    with pytest.raises(FileNotFoundError, match="SKPERSONA_DATA"):
        load_youtube_personality()


def test_make_interviews_contract():
    d = make_interviews(n_samples=12, n_frames=40, random_state=0)
    assert list(d.data.columns) == ["video", "transcript"]
    table = d.data["video"][3]
    assert list(table.columns) == ["frame", "timestamp", *AU_CODES]
    assert table.attrs["au_scale"] == "0-5"
    assert table[list(AU_CODES)].to_numpy().min() >= 0
    assert table[list(AU_CODES)].to_numpy().max() <= 5
    assert d.target.shape == (12, 5) and d.target.to_numpy().min() >= 0
    again = make_interviews(n_samples=12, n_frames=40, random_state=0)
    pd.testing.assert_frame_equal(again.target, d.target)
    assert again.data["transcript"].tolist() == d.data["transcript"].tolist()
    hexaco = make_interviews(n_samples=5, n_frames=20, traits="hexaco", random_state=1)
    assert list(hexaco.target.columns) == list(HEXACO)
    custom = make_interviews(n_samples=5, n_frames=20, traits=["grit"], random_state=1)
    assert "grit" in " ".join(custom.data["transcript"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"face_share": {"openness": 2.0}}, r"\[0, 1\]"),
        ({"face_share": {"grit": 0.5}}, "not in `traits`"),
        ({"traits": "big6"}, "Unknown trait set"),
    ],
)
def test_make_interviews_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_interviews(**kwargs)


def test_make_interviews_truth_is_recoverable():
    """Simple models recover each trait from the modality that shows it."""
    d = make_interviews(n_samples=400, n_frames=150, random_state=0)
    au_means = np.stack([t[list(AU_CODES)].to_numpy().mean(axis=0) for t in d.data["video"]])
    words = TfidfVectorizer(ngram_range=(1, 2)).fit_transform(d.data["transcript"])
    y = d.target

    def cv_r(X):
        pred = cross_val_predict(RidgeCV(alphas=np.logspace(-3, 3, 13)), X, y, cv=5)
        return pd.Series(pearson_r_per_trait(y, pred), index=y.columns)

    r_face, r_text = cv_r(au_means), cv_r(words.toarray())
    r_both = cv_r(np.hstack([au_means, words.toarray()]))
    assert r_face["neuroticism"] > 0.6 and r_text["neuroticism"] < 0.2  # face only
    assert r_text["openness"] > 0.6 and r_face["openness"] < 0.2  # words only
    for trait in ("extraversion", "agreeableness", "conscientiousness"):  # need both
        assert r_both[trait] > max(r_face[trait], r_text[trait]) + 0.1, trait
