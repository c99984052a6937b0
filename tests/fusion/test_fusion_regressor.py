"""FusionRegressor: modalities, fusion strategies, attributions, persistence, model selection."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import torch
from sklearn.base import clone
from sklearn.metrics import r2_score

from skpersona.fusion import FusionModule, FusionRegressor, SingleModalityWarning

FUSIONS = ["early", "gated", "attention", "late"]
FAST = dict(hidden_size=16, n_heads=2, max_epochs=40, batch_size=32, random_state=0)
SKOPS_TRUSTED = ["skpersona.fusion._regressor.FusionRegressor"]


def _two_modalities(n=300, seed=0):
    """AU block (4 cols) and text block (3 cols); trait 0 needs both, 1 is AU only."""
    rng = np.random.RandomState(seed)
    au = rng.normal(size=(n, 4))
    text = rng.normal(size=(n, 3))
    cols = [f"au__AU{i:02d}_mean" for i in range(4)] + [f"text__emb_{i}" for i in range(3)]
    X = pd.DataFrame(np.c_[au, text], columns=cols)
    y = pd.DataFrame(
        {
            "extraversion": 0.5 + 0.1 * (au[:, 0] + text[:, 0]) + 0.01 * rng.normal(size=n),
            "neuroticism": 0.5 + 0.15 * au[:, 1] + 0.01 * rng.normal(size=n),
        }
    )
    return X, y


@pytest.mark.parametrize("fusion", FUSIONS)
def test_fit_predict_every_fusion(fusion):
    X, y = _two_modalities()
    reg = FusionRegressor(fusion, **FAST).fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == y.shape and pred.dtype == np.float64
    assert r2_score(y, pred) > 0.7
    assert reg.modality_names_ == ["au", "text"]
    assert reg.modality_columns_["text"].tolist() == [4, 5, 6]
    weights = reg.modality_weights(X.iloc[10:20])
    assert list(weights.columns) == ["au", "text"]
    assert weights.index.tolist() == list(range(10, 20))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    assert (weights.to_numpy() >= 0).all()
    assert reg.modality_importance_.index.tolist() == ["au", "text"]
    assert reg.n_epochs_ == len(reg.loss_curve_) <= FAST["max_epochs"]


def test_predictions_in_original_target_scale():
    X, y = _two_modalities()
    y_big = 1000.0 + 50.0 * y["neuroticism"].to_numpy()
    reg = FusionRegressor("early", **FAST).fit(X, y_big)
    pred = reg.predict(X)
    assert pred.ndim == 1
    assert abs(pred.mean() - y_big.mean()) < 2.0
    assert r2_score(y_big, pred) > 0.7
    # Without target scaling the same net trains on the raw scale (and does worse).
    raw = FusionRegressor("early", scale_target=False, **FAST).fit(X, y_big)
    assert r2_score(y_big, raw.predict(X)) < r2_score(y_big, pred)


@pytest.mark.parametrize("fusion", ["early", "late", "gated"])
def test_attribution_points_to_the_informative_modality(fusion):
    X, y = _two_modalities()
    reg = FusionRegressor(fusion, **FAST).fit(X, y["neuroticism"])  # AU only
    assert reg.modality_importance_["au"] > reg.modality_importance_["text"]


def test_fusion_beats_each_single_modality_when_trait_needs_both():
    X, y = _two_modalities()
    X_test, y_test = _two_modalities(seed=1)
    target, test_target = y["extraversion"], y_test["extraversion"]
    fused = FusionRegressor("gated", **FAST).fit(X, target)
    fused_score = r2_score(test_target, fused.predict(X_test))
    for prefix in ("au__", "text__"):
        cols = [c for c in X.columns if c.startswith(prefix)]
        single = FusionRegressor("gated", **FAST).fit(X[cols], target)
        assert fused_score > r2_score(test_target, single.predict(X_test[cols])) + 0.2


def test_modalities_on_arrays():
    X, y = _two_modalities(n=80)
    arr = X.to_numpy()
    # No feature names: one modality holding every column, with a warning that says
    # how to pass the modalities (gated fusion of one modality is no fusion).
    with pytest.warns(SingleModalityWarning, match="modalities=") as record:
        reg = FusionRegressor(**FAST).fit(arr, y)
    assert "au__" in str(record[0].message) and record[0].filename == __file__
    assert reg.modality_names_ == ["all"]
    assert reg.modality_weights(arr).to_numpy().tolist() == [[1.0]] * len(arr)
    # Explicit blocks (indices or slices); columns in no block are ignored.
    reg = FusionRegressor(modalities={"au": slice(0, 4), "text": [4, 5]}, **FAST).fit(arr, y)
    assert reg.modality_names_ == ["au", "text"]
    assert reg.net_.module_.n_modalities == 2
    # Unprefixed DataFrame columns: one modality too.
    plain = pd.DataFrame(arr, columns=[f"f{i}" for i in range(arr.shape[1])])
    with pytest.warns(SingleModalityWarning, match="without modality prefixes"):
        assert FusionRegressor(**FAST).fit(plain, y).modality_names_ == ["all"]
    # One modality on purpose: early fusion, or the block given explicitly, is silent.
    with warnings.catch_warnings():
        warnings.simplefilter("error", SingleModalityWarning)
        FusionRegressor("early", **FAST).fit(arr, y)
        reg = FusionRegressor("gated", modalities={"all": slice(None)}, **FAST).fit(arr, y)
    assert reg.modality_names_ == ["all"]
    # Prefixes given explicitly.
    reg = FusionRegressor(modalities={"face": "au__", "words": "text__"}, **FAST).fit(X, y)
    assert reg.modality_names_ == ["face", "words"]


def test_errors_name_the_fix():
    X, y = _two_modalities(n=40)
    with pytest.raises(ValueError, match="no feature names|prefix"):
        FusionRegressor(modalities={"au": "au__"}, max_epochs=1).fit(X.to_numpy(), y)
    with pytest.raises(ValueError, match="fusion"):
        FusionRegressor("mid", max_epochs=1).fit(X, y)
    reg = FusionRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="feature names"):
        reg.predict(X.iloc[:, :3])  # names the missing columns


@pytest.mark.slow  # about 35-60 s on the 2-core CI machine
def test_reproducible_and_global_rng_untouched():
    X, y = _two_modalities(n=250)
    torch.manual_seed(123)
    before = torch.get_rng_state().clone()
    threads = torch.get_num_threads()
    a = FusionRegressor("attention", **FAST).fit(X, y)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.get_num_threads() == threads
    b = FusionRegressor("attention", **FAST).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    c = FusionRegressor("attention", **{**FAST, "random_state": 1}).fit(X, y)
    assert not np.array_equal(a.predict(X), c.predict(X))


def test_early_stopping_restores_best_epoch():
    X, y = _two_modalities(n=400)
    reg = FusionRegressor("gated", **{**FAST, "max_epochs": 300, "patience": 3, "lr": 0.01})
    reg.fit(X, y)
    assert reg.validation_loss_curve_ is not None  # "auto": on from 200 samples
    assert reg.n_epochs_ < 300
    assert reg.best_epoch_ == reg.n_epochs_ - 3
    assert min(reg.validation_loss_curve_) == reg.validation_loss_curve_[reg.best_epoch_ - 1]
    # Grouped validation split, and switched off.
    groups = np.repeat(np.arange(40), 10)
    grouped = FusionRegressor("gated", early_stopping=True, **FAST).fit(X, y, groups=groups)
    assert grouped.validation_loss_curve_ is not None
    off = FusionRegressor("gated", early_stopping=False, **FAST).fit(X, y)
    assert off.validation_loss_curve_ is None and off.n_epochs_ == FAST["max_epochs"]


@pytest.mark.parametrize("fusion", FUSIONS)
def test_modality_dropout_masks_whole_modalities_in_training_only(fusion):
    module = FusionModule([[0, 1], [2, 3, 4], [5]], 2, fusion, 8, 0.0, 0.9, 2)
    X = torch.randn(500, 6)
    module.train()
    torch.manual_seed(0)
    keep = module._keep_mask(500, X.device)
    assert keep.any(dim=1).all()  # at least one modality kept per sample
    assert 0.05 < keep.float().mean() < 0.6  # most are dropped at p=0.9
    out, weights = module.forward_with_weights(X, keep)
    assert out.shape == (500, 2)
    if weights is not None:  # a dropped modality gets no weight
        assert torch.all(weights[~keep] == 0)
    # A dropped modality's inputs do not matter.
    X2 = X.clone()
    X2[:, 2:5] = torch.randn(500, 3)
    only_first = torch.tensor([[True, False, True]]).expand(500, -1)
    module.eval()
    torch.testing.assert_close(
        module.forward_with_weights(X, only_first)[0], module.forward_with_weights(X2, only_first)[0]
    )
    assert module._keep_mask(500, X.device) is None  # nothing dropped in eval mode


@pytest.mark.parametrize("fusion", FUSIONS)
def test_clone_pickle_and_skops_round_trip(fusion, tmp_path):
    X, y = _two_modalities(n=120)
    reg = FusionRegressor(fusion, **FAST).fit(X, y)
    fresh = clone(reg)
    assert fresh.get_params() == reg.get_params() and not hasattr(fresh, "net_")
    expected = reg.predict(X)

    before = torch.get_rng_state().clone()
    restored = pickle.loads(pickle.dumps(reg))
    assert torch.equal(torch.get_rng_state(), before)  # loading leaves the global RNG alone
    np.testing.assert_array_equal(restored.predict(X), expected)
    assert isinstance(restored.net_.module_, FusionModule)
    assert hasattr(reg, "net_") and reg.net_ is not None  # dumping leaves reg intact

    path = tmp_path / "model.skops"
    sio.dump(reg, path)
    assert sorted(sio.get_untrusted_types(file=path)) == SKOPS_TRUSTED
    loaded = sio.load(path, trusted=SKOPS_TRUSTED)
    np.testing.assert_array_equal(loaded.predict(X), expected)
    pd.testing.assert_frame_equal(loaded.modality_weights(X), reg.modality_weights(X))
    pd.testing.assert_series_equal(loaded.modality_importance_, reg.modality_importance_)


@pytest.mark.parametrize("hidden_size, n_heads, width", [(10, 4, 12), (37, 3, 39), (1, 4, 4), (16, 4, 16)])
def test_attention_takes_any_hidden_size(hidden_size, n_heads, width):
    """Any hidden_size works with attention: the width rounds up to a multiple of n_heads
    (it used to raise, which a search over hidden_size saw as failed trials)."""
    X, y = _two_modalities(n=200)
    reg = FusionRegressor("attention", hidden_size=hidden_size, n_heads=n_heads,
                          lr=0.01, max_epochs=40, random_state=0).fit(X, y)
    module = reg.net_.module_
    assert module.width == width and module.attention.num_heads == n_heads
    assert module.attention.embed_dim == width
    assert r2_score(y, reg.predict(X)) > 0.5
    # The rounded width survives persistence.
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_allclose(again.predict(X), reg.predict(X))


def test_search_over_hidden_size_and_heads_has_no_failed_trial():
    """A randomized search draws hidden_size and n_heads independently, as a user does."""
    from scipy.stats import randint
    from sklearn.model_selection import RandomizedSearchCV

    X, y = _two_modalities(n=120)
    search = RandomizedSearchCV(
        FusionRegressor("attention", max_epochs=5, random_state=0),
        {"hidden_size": randint(5, 40), "n_heads": randint(1, 6)},
        n_iter=6, cv=2, random_state=0, error_score="raise",
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    drawn = search.cv_results_["params"]
    assert any(p["hidden_size"] % p["n_heads"] for p in drawn)
