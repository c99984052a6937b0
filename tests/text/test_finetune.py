"""FineTunedTextRegressor on the real all-MiniLM-L6-v2 (no mock): tiny texts, 12 tokens,
one trainable layer, one or two epochs, so each fit takes seconds."""

import pickle

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import torch
from sklearn.base import clone

import skpersona
from skpersona.text import FineTunedTextRegressor, load_model

WORDS = ["happy", "sad", "team", "alone", "plan", "late", "friends", "quiet", "party", "rules"]
FAST = dict(max_tokens=12, max_epochs=1, n_trainable_layers=1, batch_size=8, random_state=0)


def _data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, 5)) for _ in range(n)]
    y = np.c_[[t.count("party") + t.count("friends") for t in texts],
              [t.count("plan") - t.count("late") for t in texts]].astype(float) * 10 + 50
    return texts, y


@pytest.fixture(scope="module")
def fitted():
    texts, y = _data()
    return FineTunedTextRegressor(validation_fraction=0.2, **FAST).fit(texts, y), texts, y


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_fit_predict_shapes_and_target_scale(fitted):
    model, texts, y = fitted
    pred = model.predict(texts)
    assert pred.shape == (30, 2) and model.n_outputs_ == 2
    # predictions are in y's scale (mean about 50), not the standardised one
    assert np.all(np.abs(pred.mean(axis=0) - y.mean(axis=0)) < y.std(axis=0))
    assert np.corrcoef(pred[:, 0], y[:, 0])[0, 1] > 0.5  # the ridge start already reads words
    one = FineTunedTextRegressor(validation_fraction=None, **FAST).fit(texts, y[:, 0])
    assert one.predict(pd.Series(texts[:4])).shape == (4,)
    assert len(model.epoch_cpu_seconds_) == model.n_epochs_ == 1


def test_early_stopping_uses_the_inner_split(fitted):
    model, _, _ = fitted
    batches = model.net_.history[-1, "batches"]
    assert sum(b["train_batch_size"] for b in batches if "train_batch_size" in b) == 24
    assert sum(b["valid_batch_size"] for b in batches if "valid_batch_size" in b) == 6
    assert len(model.validation_loss_curve_) == model.n_epochs_
    texts, y = _data()
    # a learning rate too small to improve the validation loss: stopped after patience epochs
    still = FineTunedTextRegressor(**{**FAST, "max_epochs": 5}, lr=1e-9, head_lr=1e-9,
                                   patience=1, validation_fraction=0.2).fit(texts, y)
    assert still.n_epochs_ == 2 and still.best_epoch_ == 1
    without = FineTunedTextRegressor(**{**FAST, "max_epochs": 2},
                                     validation_fraction=None).fit(texts, y)
    assert without.validation_loss_curve_ is None and without.n_epochs_ == 2


def test_freezing_keeps_lower_layers_and_trains_the_top(fitted):
    model, _, _ = fitted
    base = _state(load_model("all-MiniLM-L6-v2", device="cpu"))
    tuned = _state(model.net_.module_.encoder)
    assert tuned.keys() == base.keys()
    changed = {k for k in base if not torch.equal(base[k], tuned[k])}
    assert changed, "nothing was trained"
    assert all(k.startswith("0.model.encoder.layer.5.") for k in changed), sorted(changed)[:5]
    assert any(".attention." in k for k in changed) and any(".output." in k for k in changed)
    # the process's shared model is never changed (it was compared against above)
    layer0 = "0.model.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(base[layer0], tuned[layer0])
    trainable = {k for k, p in model.net_.module_.named_parameters() if p.requires_grad}
    top = {f"encoder.{k}" for k in base if k.startswith("0.model.encoder.layer.5.")}
    assert trainable == top | {"head.weight", "head.bias"}


def test_head_only_and_all_layers():
    texts, y = _data(20)
    probe = FineTunedTextRegressor(**{**FAST, "n_trainable_layers": 0},
                                   validation_fraction=None).fit(texts, y)
    assert probe.n_trainable_parameters_ == 384 * 2 + 2
    with pytest.raises(ValueError, match="6 transformer layers"):
        FineTunedTextRegressor(**{**FAST, "n_trainable_layers": 7}).fit(texts, y)


def test_answer_columns_separate_and_joined():
    texts, y = _data(24)
    table = pd.DataFrame({"id": range(24), "q1": texts, "q2": texts[::-1]})
    table.loc[3, "q2"] = None  # a missing answer is the empty text
    separate = FineTunedTextRegressor(columns=["q1", "q2"], validation_fraction=None,
                                      questions={"q1": "Why?", "q2": "How?"}, **FAST)
    separate.fit(table, y)
    assert separate.net_.module_.head.in_features == 2 * 384
    assert separate._answer_texts(table.iloc[:1], reset=False)[0][0].startswith("Why?\n")
    assert separate.predict(table[["q2", "id", "q1"]]).shape == (24, 2)  # found by name
    with pytest.raises(ValueError, match="answer columns"):
        separate.predict(texts)
    joined = FineTunedTextRegressor(columns=["q1", "q2"], answers="joined",
                                    validation_fraction=None, **FAST).fit(table, y)
    assert joined.net_.module_.head.in_features == 384
    assert joined._answer_texts(table.iloc[:1], reset=False) == [[f"{texts[0]}\n\n{texts[-1]}"]]


def test_same_seed_same_model_and_global_rng_untouched():
    texts, y = _data(20)
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    first = FineTunedTextRegressor(validation_fraction=None, **FAST).fit(texts, y)
    assert torch.equal(torch.rand(1), expected)
    second = FineTunedTextRegressor(validation_fraction=None, **FAST).fit(texts, y)
    np.testing.assert_allclose(first.predict(texts), second.predict(texts), atol=1e-5)


def test_clone_and_params():
    est = FineTunedTextRegressor(max_tokens=32, n_trainable_layers=None, columns=["a"])
    assert clone(est).get_params() == est.get_params()
    assert est.__sklearn_tags__().input_tags.string


def test_persistence_stores_trained_weights_only(fitted, tmp_path):
    model, texts, _ = fitted
    expected = model.predict(texts)
    path = tmp_path / "ft.skops"
    sio.dump(model, path)
    assert path.stat().st_size < 12_000_000  # one MiniLM layer and the head, not 90 MB
    loaded = skpersona.load(path)
    assert loaded.net_ is None
    np.testing.assert_allclose(loaded.predict(texts), expected, atol=1e-5)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(again.predict(texts), expected, atol=1e-5)


def test_loading_refuses_another_base_model_or_damaged_weights(fitted):
    model, texts, _ = fitted
    other = pickle.loads(pickle.dumps(model))
    other._encoder_identity = "sha256:another model"
    with pytest.raises(ValueError, match="not the one it was fine-tuned from"):
        other.predict(texts)
    damaged = pickle.loads(pickle.dumps(model))
    name = next(k for k in damaged._trained_weights if k.startswith("encoder."))
    damaged._trained_weights[name] = np.zeros((40_000, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="do not match"):
        damaged.predict(texts)


def test_clear_errors():
    texts, y = _data(10)
    with pytest.raises(ValueError, match="n_samples=10"):
        FineTunedTextRegressor(**FAST).fit(texts, y[:5])
    with pytest.raises(TypeError, match="not a string"):
        FineTunedTextRegressor(**FAST).fit([*texts[:9], 3.5], y)
    with pytest.raises(ValueError, match="max_tokens=1000"):
        FineTunedTextRegressor(**{**FAST, "max_tokens": 1000}).fit(texts, y)
    with pytest.raises(ValueError, match="max_epochs"):
        FineTunedTextRegressor(max_epochs=0).fit(texts, y)
    with pytest.raises(ValueError, match="holds no sample"):
        FineTunedTextRegressor(**FAST, validation_fraction=0.01).fit(texts, y)


def test_cross_validates_in_a_pipeline_and_a_failed_fit_leaves_no_model():
    from sklearn.exceptions import NotFittedError
    from sklearn.model_selection import KFold, cross_val_predict

    texts, y = _data(16)
    est = FineTunedTextRegressor(validation_fraction=None, **FAST)
    pred = cross_val_predict(est, np.asarray(texts, dtype=object), y, cv=KFold(2))
    assert pred.shape == (16, 2) and np.all(np.isfinite(pred))
    with pytest.raises(ValueError):
        est.set_params(max_tokens=10_000).fit(texts, y)
    with pytest.raises(NotFittedError):
        est.predict(texts)
