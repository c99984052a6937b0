"""FusionClassifier: binarised traits (multilabel), multiclass labels, persistence."""

import pickle

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.metrics import accuracy_score

from skpersona.fusion import FusionClassifier

FAST = dict(hidden_size=16, n_heads=2, max_epochs=40, batch_size=32, random_state=0)


def _data(n=300, seed=0):
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(
        rng.normal(size=(n, 5)), columns=["au__a", "au__b", "au__c", "text__0", "text__1"]
    )
    high = pd.DataFrame(
        {"extraversion": (X["au__a"] + X["text__0"] > 0), "neuroticism": X["au__b"] > 0}
    ).astype(int)
    return X, high


@pytest.mark.parametrize("fusion", ["early", "gated", "attention", "late"])
def test_binarised_traits(fusion):
    X, high = _data()
    X_test, high_test = _data(seed=1)
    clf = FusionClassifier(fusion, **FAST).fit(X, high)
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2) and ((proba >= 0) & (proba <= 1)).all()
    pred = clf.predict(X_test)
    assert set(np.unique(pred)) <= {0, 1}
    for j in range(2):
        assert accuracy_score(high_test.iloc[:, j], pred[:, j]) > 0.7  # chance: 0.5
    assert clf.modality_names_ == ["au", "text"]
    np.testing.assert_allclose(clf.modality_weights(X_test).sum(axis=1), 1.0, atol=1e-6)


def test_multiclass_string_labels_and_attribution():
    X, high = _data()
    labels = np.array(["low", "high"])[high["neuroticism"]]  # AU-only trait
    clf = FusionClassifier("early", **FAST).fit(X, labels)
    assert clf.classes_.tolist() == ["high", "low"]
    assert accuracy_score(labels, clf.predict(X)) > 0.85
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    assert clf.modality_importance_["au"] > clf.modality_importance_["text"]


def test_errors():
    X, high = _data(n=50)
    with pytest.raises(ValueError, match="at least 2 classes"):
        FusionClassifier(max_epochs=1).fit(X, np.zeros(50))
    with pytest.raises(ValueError, match="indicator"):
        FusionClassifier(max_epochs=1).fit(X, np.c_[np.arange(50) % 3, np.arange(50) % 2])


def test_pickle_and_skops(tmp_path):
    X, high = _data(n=120)
    clf = FusionClassifier("gated", **FAST).fit(X, high)
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), expected)
    path = tmp_path / "clf.skops"
    sio.dump(clf, path)
    trusted = ["skpersona.fusion._classifier.FusionClassifier"]
    assert sorted(sio.get_untrusted_types(file=path)) == trusted
    np.testing.assert_array_equal(sio.load(path, trusted=trusted).predict_proba(X), expected)
