"""The fusion estimators' ``device`` parameter and ``sample_weight`` in fit."""

import numpy as np
import pandas as pd
import pytest
import torch

from skpersona.fusion import FusionClassifier, FusionRegressor

# Full-batch, dropout-free training: the fitted network is a function of the weighted
# loss alone (no mini-batch sampling, no dropout masks), so weights can be compared
# with repeated rows.
_EXACT = dict(hidden_size=8, dropout=0.0, modality_dropout=0.0, batch_size=10_000,
              max_epochs=40, early_stopping=False, lr=1e-2, random_state=0)


def _data(n=40, seed=0):
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["au__a", "au__b", "text__0", "text__1"])
    y = X["au__a"] - X["text__0"] ** 2 + 0.1 * rng.normal(size=n)
    return X, y.to_numpy()


def test_device_is_a_parameter_passed_to_skorch():
    X, y = _data()
    assert FusionRegressor().get_params()["device"] == "cpu"
    reg = FusionRegressor(device=torch.device("cpu"), max_epochs=2, random_state=0).fit(X, y)
    assert reg.net_.device == torch.device("cpu")
    assert FusionClassifier(device="cpu").get_params()["device"] == "cpu"


def test_integer_weights_equal_repeated_rows():
    X, y = _data()
    counts = np.arange(len(y)) % 3 + 1  # 1, 2, 3, 1, ...
    weighted = FusionRegressor(**_EXACT).fit(X, y, sample_weight=counts)
    rows = np.repeat(np.arange(len(y)), counts)
    repeated = FusionRegressor(**_EXACT).fit(X.iloc[rows], y[rows])
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-4, atol=1e-4)
    unweighted = FusionRegressor(**_EXACT).fit(X, y)
    assert np.abs(unweighted.predict(X) - weighted.predict(X)).max() > 1e-2


def test_zero_weights_drop_rows():
    X, y = _data()
    keep = np.arange(len(y)) < 25
    weighted = FusionRegressor(**_EXACT).fit(X, y, sample_weight=keep.astype(float))
    subset = FusionRegressor(**_EXACT).fit(X[keep], y[keep])
    np.testing.assert_allclose(weighted.predict(X), subset.predict(X), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("multilabel", [False, True])
def test_classifier_weights_equal_repeated_rows(multilabel):
    X, y = _data()
    Y = np.c_[y > 0, X["au__b"] > 0].astype(int) if multilabel else (y > 0).astype(int)
    counts = np.arange(len(y)) % 3 + 1
    weighted = FusionClassifier(**_EXACT).fit(X, Y, sample_weight=counts)
    rows = np.repeat(np.arange(len(y)), counts)
    repeated = FusionClassifier(**_EXACT).fit(X.iloc[rows], Y[rows])
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X),
                               rtol=1e-4, atol=1e-4)


def test_weights_with_early_stopping_and_bad_weights():
    X, y = _data(n=60)
    reg = FusionRegressor(max_epochs=5, early_stopping=True, random_state=0)
    reg.fit(X, y, sample_weight=np.linspace(0.5, 2, 60))
    assert reg.validation_loss_curve_ is not None
    with pytest.raises(ValueError, match="(?i)negative"):
        FusionRegressor(max_epochs=2).fit(X, y, sample_weight=-np.ones(60))
    with pytest.raises(ValueError, match="non-zero"):
        FusionRegressor(max_epochs=2).fit(X, y, sample_weight=np.zeros(60))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_trains_on_cuda_and_predicts_after_pickling():
    import pickle

    X, y = _data()
    reg = FusionRegressor(device="cuda", max_epochs=5, random_state=0).fit(X, y)
    assert next(reg.net_.module_.parameters()).is_cuda
    loaded = pickle.loads(pickle.dumps(reg))  # rebuilt on the CPU
    np.testing.assert_allclose(loaded.predict(X), reg.predict(X), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("criterion", "settings", "targets"), [
    (torch.nn.HuberLoss, {"delta": 0.05}, "real"),
    (torch.nn.BCEWithLogitsLoss, {"pos_weight": torch.tensor([4.0, 0.5])}, "binary"),
])
def test_weighted_loss_keeps_the_criterion_settings(criterion, settings, targets):
    """The weighted path computes per-sample losses with the net's own criterion: its
    ``criterion__*`` settings (skorch's convention) are kept, so unit weights give
    exactly the unweighted loss and integer weights the loss of repeated rows."""
    from skpersona.fusion._base import _WeightedNet

    net = _WeightedNet(module=torch.nn.Linear, module__in_features=3, module__out_features=2,
                       criterion=criterion, **{f"criterion__{k}": v for k, v in settings.items()})
    net.initialize()
    gen = torch.Generator().manual_seed(0)
    y_pred = torch.randn(12, 2, generator=gen)
    y_true = (torch.rand(12, 2, generator=gen) > 0.5).float() if targets == "binary" else \
        torch.randn(12, 2, generator=gen)
    X = np.zeros((12, 3), dtype=np.float32)
    plain = net.get_loss(y_pred, y_true, X=X)
    assert torch.isclose(plain, criterion(**settings)(y_pred, y_true))
    assert not torch.isclose(plain, criterion()(y_pred, y_true))  # the settings matter here
    ones = net.get_loss(y_pred, y_true, X={"X": X, "sample_weight": np.ones(12, np.float32)})
    assert torch.isclose(ones, plain)
    counts = np.arange(12) % 3 + 1
    rows = np.repeat(np.arange(12), counts)
    weighted = net.get_loss(y_pred, y_true, X={
        "X": X, "sample_weight": (counts / counts.mean()).astype(np.float32)})
    assert torch.isclose(weighted, criterion(**settings)(y_pred[rows], y_true[rows]))
    assert net.criterion_.reduction == "mean"  # the net's own criterion is unchanged
