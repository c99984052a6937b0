"""How MultimodalCRL trains: early stopping, the shared warm-up, restarts, and what a fit recovers."""

import copy

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA, FastICA
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skpersona.crl import BetaVAE, MultimodalCRL, mcc_scorer, mean_correlation_coefficient
from skpersona.datasets import make_causal_digits, make_multimodal_causal

from ._settings import FAST, PLAIN


def _mean_over_draws(fn, n_draws=64):
    with torch.no_grad():
        torch.manual_seed(1)
        return float(torch.stack([fn() for _ in range(n_draws)]).mean())


@pytest.mark.parametrize("model", ["fitted", "beta_vae"])
def test_score_is_an_importance_weighted_elbo(data, fitted, model):
    X = data.data
    est = fitted if model == "fitted" else BetaVAE(n_components=3, **FAST).fit(X)
    module, Xt = est.net_.module_.eval(), est._tensor(X)
    # one draw's log weight is unbiased for the ELBO the loss uses (exact entropy there)
    elbo = _mean_over_draws(lambda: module.log_weight(Xt).mean())
    terms = _mean_over_draws(lambda: -sum(module(Xt)[k] for k in ("recon", "kl")))
    assert elbo == pytest.approx(terms, abs=0.02 * abs(terms))
    score = est.score(X)
    assert score == est.score(X)  # fixed draws: deterministic
    assert est.n_score_samples == 16
    one_draw = copy.deepcopy(est).set_params(n_score_samples=1)
    assert score > elbo and score > one_draw.score(X)


def test_validation_loss_is_the_negative_elbo_whatever_the_weights(data, fitted):
    terms = fitted.loss_terms(data.data)
    net = fitted.net_
    h = terms["acyclicity"]
    parts = (
        fitted.a_recon * terms["recon"] + fitted.a_ind * terms["kl"]
        + fitted.a_sp * terms["sparsity"] + net.dag_alpha * h + 0.5 * net.dag_rho * h * h
    )
    assert terms["loss"] == pytest.approx(parts, rel=1e-5)
    assert terms["elbo"] == -(terms["recon"] + terms["kl"])
    # validation loss (early stopping, restarts, order search) is the negative ELBO too
    reweighted = MultimodalCRL(**{**FAST, "a_ind": 0.1, "a_sp": 3.0}).fit(data.data)
    history = reweighted.net_.history
    assert reweighted.selection_loss_ == pytest.approx(min(history[:, "valid_loss"]))
    assert np.isfinite(reweighted.score(data.data))


def test_training_raises_the_held_out_bound_above_the_same_untrained_network(data):
    train, test = data.data.iloc[:180], data.data.iloc[180:]
    crl = MultimodalCRL(**{**PLAIN, "causal_order": ["1", "2"], "shared_warmup": 0}).fit(train)
    untrained = copy.deepcopy(crl)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        fresh = crl._build_module(crl._module_args)  # the same network, as initialised
    untrained.net_.module_.load_state_dict(fresh.state_dict())
    untrained.net_.module_.eval()
    trained_score, untrained_score = crl.score(test), untrained.score(test)
    assert trained_score > untrained_score + 1.0, (trained_score, untrained_score)


def test_early_stopping_uses_a_validation_split(data):
    one = {**FAST, "causal_order": ["1", "2"], "shared_warmup": 0}  # one fit, then the refit
    crl = MultimodalCRL(**{**one, "max_epochs": 60, "patience": 2, "lr": 0.05}).fit(data.data)
    history = crl.net_.history
    assert "valid_loss" in history[-1]
    assert crl.n_epochs_ < 60
    no_valid = MultimodalCRL(**{**one, "validation_fraction": None}).fit(data.data)
    assert no_valid.n_epochs_ == FAST["max_epochs"]
    # no early stopping: the last epoch's weights are kept, so its loss is reported
    assert no_valid.selection_loss_ == no_valid.net_.history[-1, "train_loss"]


def test_selection_loss_is_the_kept_epochs_after_the_warmup(data):
    # here the validation loss of the warm-up's last epoch (content latents hidden) is
    # below every later one, and patience 1 stops the fit two epochs after the warm-up
    kwargs = {**PLAIN, "causal_order": ["1", "2"], "max_epochs": 8, "patience": 1}
    crl = MultimodalCRL(shared_warmup=3, **kwargs).fit(data.data)
    history = crl.net_.history
    after = [row["valid_loss"] for row in history if row["content_gate"] == 1.0]
    during = [row["valid_loss"] for row in history if row["content_gate"] == 0.0]
    assert len(during) == 3 and min(during) < min(after)  # the case at stake
    assert crl.selection_loss_ == min(after)


def test_shared_warmup_epochs_and_early_stopping_after_them(data):
    one_order = {**PLAIN, "causal_order": ["1", "2"]}  # one fit each: the order is not at stake
    crl = MultimodalCRL(**{**one_order, "max_epochs": 12, "shared_warmup": 5, "patience": 1})
    crl.fit(data.data)
    gate = list(crl.net_.history[:, "content_gate"])
    assert gate[:6] == [0.0] * 5 + [1.0] and set(gate[5:]) == {1.0}
    assert crl.net_.module_.content_gate == 1.0
    # early stopping counts only after the warm-up: at least patience + 1 epochs more
    assert crl.n_epochs_ >= 5 + 2
    capped = MultimodalCRL(**{**one_order, "shared_warmup": 15}).fit(data.data)  # max_epochs=4
    assert list(capped.net_.history[:, "content_gate"]) == [0.0, 0.0, 1.0, 1.0]
    off = MultimodalCRL(**{**one_order, "shared_warmup": 0}).fit(data.data)
    assert "content_gate" not in off.net_.history[0]
    no_shared = MultimodalCRL(**{**one_order, "shared_dim": 0}).fit(data.data)
    assert "content_gate" not in no_shared.net_.history[0]
    # the refit under the searched DAG starts warm: no second warm-up
    refined = MultimodalCRL(**{**FAST, "causal_order": ["1", "2"], "shared_warmup": 1}).fit(
        data.data
    )
    assert "content_gate" not in refined.net_.history[0] and refined.shared_warmup_ == 1


def test_auto_warmup_keeps_the_schedule_with_the_better_validation_elbo(data):
    kwargs = {**PLAIN, "causal_order": ["1", "2"], "max_epochs": 8}
    fits = {w: MultimodalCRL(shared_warmup=w, **kwargs).fit(data.data) for w in (0, 4, "auto")}
    best = min((0, 4), key=lambda w: fits[w].selection_loss_)
    assert fits[0].selection_loss_ != fits[4].selection_loss_
    assert fits["auto"].shared_warmup_ == best
    assert fits["auto"].selection_loss_ == fits[best].selection_loss_


def test_shared_warmup_keeps_a_shared_factor_out_of_the_content_blocks():
    # the digits' background grey is shared by both images; without the warm-up the
    # second image's own latent copies it (|r| 0.95 to the true s on this seed)
    data = make_causal_digits(900, image_size=8, random_state=0)
    train, test = data.data.iloc[:600], data.data.iloc[600:]
    shared = data.latents["s_1"].to_numpy()[600:]
    kwargs = dict(
        causal_order=["1", "2"], refine_graph=False, hidden_size=32, batch_size=128, lr=5e-3,
        max_epochs=60, random_state=0,
    )
    corr = {}
    for warmup in (0, 15):
        latents = MultimodalCRL(shared_warmup=warmup, **kwargs).fit(train).transform(test)
        corr[warmup] = [abs(np.corrcoef(shared, latents[:, k])[0, 1]) for k in range(5)]
    assert max(corr[0][:4]) > 0.8, corr  # the failure the warm-up is for
    assert corr[15][4] > 0.9 and max(corr[15][:4]) < 0.3, corr


def test_recovers_latents_better_than_pca_and_fastica():
    data = make_multimodal_causal(
        n_samples=1200, n_features=6, n_measurements=2, graph="cross",
        noise_distribution="laplace", random_state=3,
    )
    train, test = data.data.iloc[:900], data.data.iloc[900:]
    truth = data.latents.iloc[900:]
    # shared_warmup="auto" keeps the plain fit here (shared_warmup_ == 0, the same latents
    # to the last bit), so that schedule alone is fitted
    crl = MultimodalCRL(
        causal_order=["1", "2"], hidden_size=32, batch_size=128, lr=5e-3, max_epochs=60,
        patience=10, shared_warmup=0, random_state=0,
    )
    mcc = mean_correlation_coefficient(truth, crl.fit(train).transform(test))
    scaler = StandardScaler().fit(train)
    baselines = {
        name: mean_correlation_coefficient(
            truth, model.fit(scaler.transform(train)).transform(scaler.transform(test))
        )
        for name, model in [("pca", PCA(5)), ("ica", FastICA(5, random_state=0, max_iter=500))]
    }
    assert mcc > max(baselines.values()) + 0.1, (mcc, baselines)


def test_pipeline_and_grid_search_with_mcc_scorer(data):
    one_fit = {**FAST, "max_epochs": 2, "causal_order": ["1", "2"], "shared_warmup": 0}
    pipe = make_pipeline(MultimodalCRL(**one_fit))  # the search's contract, not the order's
    folds = list(KFold(2).split(data.data))
    search = GridSearchCV(pipe, {"multimodalcrl__a_ind": [0.01, 0.1]}, scoring=mcc_scorer,
                          cv=folds)
    search.fit(data.data, data.latents)
    # each cell of the search is the MCC of that fold's fit against that fold's true latents
    train, test = folds[0]
    for k, a_ind in enumerate([0.01, 0.1]):
        model = MultimodalCRL(**{**one_fit, "a_ind": a_ind}).fit(data.data.iloc[train])
        expected = mean_correlation_coefficient(
            data.latents.iloc[test], model.transform(data.data.iloc[test])
        )
        assert search.cv_results_["split0_test_score"][k] == pytest.approx(expected, abs=1e-6)


def test_n_init_keeps_the_initialisation_with_the_best_validation_loss(data):
    one = MultimodalCRL(restart_selection="elbo", **PLAIN).fit(data.data)
    three = MultimodalCRL(n_init=3, restart_selection="elbo", **PLAIN).fit(data.data)
    # the first of the three initialisations is the single one: never worse
    assert three.selection_loss_ <= one.selection_loss_
    assert three.selection_loss_ == pytest.approx(min(three.net_.history[:, "valid_loss"]))
