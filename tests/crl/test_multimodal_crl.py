import copy
import pickle

import numpy as np
import pandas as pd
import pytest
import skops.io
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA, FastICA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skpersona.crl import BetaVAE, MultimodalCRL, mcc_scorer, mean_correlation_coefficient
from skpersona.crl._base import _Run
from skpersona.datasets import make_causal_digits, make_multimodal_causal

FAST = dict(hidden_size=16, n_hidden_layers=1, max_epochs=4, batch_size=64, random_state=0)
# the SCM as the first fit leaves it: no alignment, DAG search and refit
PLAIN = {**FAST, "refine_graph": False}


@pytest.fixture(scope="module")
def data():
    return make_multimodal_causal(n_samples=240, n_features=6, random_state=0)


@pytest.fixture(scope="module")
def fitted(data):
    return MultimodalCRL(**FAST).fit(data.data)


@pytest.fixture(scope="module")
def plain(data):
    return MultimodalCRL(**PLAIN).fit(data.data)


def test_named_latents_and_pandas_output(data, fitted):
    names = ["z1_1", "z1_2", "z2_1", "z2_2", "s_1"]
    assert fitted.get_feature_names_out().tolist() == names
    out = clone(fitted).set_output(transform="pandas").fit(data.data).transform(data.data)
    assert isinstance(out, pd.DataFrame) and out.columns.tolist() == names
    assert fitted.modalities_ == ["1", "2"]
    assert list(fitted.adjacency_.index) == names == list(fitted.adjacency_.columns)
    assert set(np.unique(fitted.graph_.to_numpy())) <= {0, 1}


def test_graph_is_a_dag_and_causal_order_follows_it(fitted):
    graph = fitted.graph_.to_numpy()
    order = [fitted.graph_.index.get_loc(n) for n in fitted.causal_order_]
    assert sorted(fitted.causal_order_) == sorted(fitted.get_feature_names_out())
    position = np.argsort(order)
    for i, j in np.argwhere(graph):
        assert position[i] < position[j]
    # the strongest edges are kept, one that closes a cycle is not
    assert np.all(np.diag(fitted.adjacency_.to_numpy()) == 0)


def test_greedy_dag_breaks_cycles_at_the_weakest_edge():
    from skpersona.crl._structure import greedy_dag as _greedy_dag

    weights = np.array([[0, 0.9, 0], [0, 0, 0.8], [0.3, 0, 0]])
    np.testing.assert_array_equal(_greedy_dag(weights, 0.1), [[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    np.testing.assert_array_equal(_greedy_dag(weights, 0.85), [[0, 1, 0], [0, 0, 0], [0, 0, 0]])


@pytest.mark.parametrize("refine", [False, True])
def test_causal_order_forbids_backward_edges_across_modalities(data, refine):
    crl = MultimodalCRL(causal_order=["1", "2"], **{**FAST, "refine_graph": refine}).fit(data.data)
    assert crl.modality_order_ == ["1", "2"] and list(crl.order_scores_) == ["1 > 2"]
    backward = crl.adjacency_.loc[["z2_1", "z2_2"], ["z1_1", "z1_2"]].to_numpy()
    assert np.all(backward == 0)
    forward = crl.adjacency_.loc[["z1_1", "z1_2"], ["z2_1", "z2_2"]].to_numpy()
    if refine:  # the refit keeps the searched DAG's edges, all of them forward
        edges = set(crl.dag_search_["edges"])
        dag = [[(a, b) in edges for b in ("z2_1", "z2_2")] for a in ("z1_1", "z1_2")]
        np.testing.assert_array_equal(forward != 0, dag)
        assert not edges & {(a, b) for a in ("z2_1", "z2_2") for b in ("z1_1", "z1_2")}
    else:
        assert np.all(forward != 0)


@pytest.mark.parametrize("model", ["plain", "fitted"])
def test_without_causal_order_every_modality_order_is_scored(model, request):
    fitted = request.getfixturevalue(model)
    assert set(fitted.order_scores_) == set(fitted.order_dependence_) == {"1 > 2", "2 > 1"}
    # the kept order is the one whose residuals (noises) are the least dependent
    best = min(fitted.order_dependence_, key=fitted.order_dependence_.get)
    assert fitted.modality_order_ == best.split(" > ")
    if model == "plain":
        assert -fitted.selection_loss_ == pytest.approx(fitted.order_scores_[best])
    else:  # the refit under the searched DAG is what is kept
        history = fitted.net_.history
        assert fitted.selection_loss_ == pytest.approx(min(history[:, "valid_loss"]))


def test_adjacency_gets_gradients_through_the_mechanisms(data):
    crl = MultimodalCRL(**{**FAST, "max_epochs": 1}).fit(data.data)
    module = crl.net_.module_
    module.train()
    module.zero_grad()
    X = torch.as_tensor(crl._standardise(data.data.to_numpy()))
    out = module(X)
    # reconstruction + KL only: no sparsity term, so any gradient comes through the SCM
    (out["recon"] + out["kl"]).backward()
    allowed = module.prior.mask.numpy() > 0
    for name in ("linear", "bend"):
        grad = getattr(module.prior, name).grad.numpy()
        assert np.all(np.abs(grad[allowed]) > 0), name
        assert np.all(grad[~allowed] == 0), name


def _rescale_latent(crl, j, factor):
    """The same model with latent j multiplied by factor: encoders, decoders, prior statistics.

    A refined model maps the posterior to the reported latents by its alignment,
    whose row j is rescaled instead.
    """
    module = crl.net_.module_
    with torch.no_grad():
        module.prior.running_mean[j] *= factor
        module.prior.running_var[j] *= factor**2
        if not torch.equal(module.align_weight, torch.eye(len(module.align_bias))):
            module.align_weight[j] *= factor
            module.align_bias[j] *= factor
            return
        for k, (encoder, decoder) in enumerate(zip(module.encoders, module.decoders)):
            idx = module._latent_index(module.measurement_modality[k])
            if j not in idx:
                continue
            pos, width = idx.index(j), len(idx)
            encoder[-1].weight[pos] *= factor  # mean
            encoder[-1].bias[pos] *= factor
            encoder[-1].bias[width + pos] += 2 * np.log(factor)  # log-variance
            decoder[0].weight[:, pos] /= factor


@pytest.mark.parametrize("model", ["plain", "fitted"])
@pytest.mark.parametrize("j, factor", [(1, 5.0), (4, 0.2)])
def test_rescaling_a_latent_changes_neither_the_loss_nor_the_graph(data, model, j, factor, request):
    fitted = request.getfixturevalue(model)
    rescaled = copy.deepcopy(fitted)
    _rescale_latent(rescaled, j, factor)
    expected = factor * fitted.transform(data.data)[:, j]
    # float32: entries near zero carry the rounding of the largest ones
    np.testing.assert_allclose(
        rescaled.transform(data.data)[:, j], expected, rtol=1e-4,
        atol=1e-5 * np.abs(expected).max(),
    )
    before, after = fitted.loss_terms(data.data), rescaled.loss_terms(data.data)
    for term in ("recon", "kl", "sparsity", "loss"):
        assert after[term] == pytest.approx(before[term], rel=1e-4, abs=1e-4), term
    pd.testing.assert_frame_equal(rescaled.adjacency_, fitted.adjacency_)
    pd.testing.assert_frame_equal(rescaled.graph_, fitted.graph_)
    # while training, the prior standardises by the batch: no statistics to carry over
    X = torch.as_tensor(fitted._standardise(data.data.to_numpy()))
    losses = []
    for model in (fitted, rescaled):
        module = copy.deepcopy(model.net_.module_).train()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1)
            out = module(X)
        losses.append(float(model.net_.get_loss(out, None, training=True).detach()))
    assert losses[1] == pytest.approx(losses[0], rel=1e-4)


def test_prior_mask_zeros_stay_zero(data):
    mask = pd.DataFrame([[1, 0], [1, 1]], index=["1", "2"], columns=["1", "2"])
    crl = MultimodalCRL(prior_mask=mask, **PLAIN).fit(data.data)
    across = crl.adjacency_.loc[["z1_1", "z1_2"], ["z2_1", "z2_2"]].to_numpy()
    within = crl.adjacency_.loc[["z1_1"], ["z1_2"]].to_numpy()
    assert np.all(across == 0)
    assert np.all(within != 0)  # modality-level diagonal: edges inside a modality stay allowed


def test_latent_level_prior_mask_and_favoured_edges(data):
    names = ["z1_1", "z1_2", "z2_1", "z2_2"]
    mask = pd.DataFrame(np.zeros((4, 4)), index=names, columns=names)
    mask.loc["z1_1", "z2_1"] = 2.0  # allowed, half the L1 penalty
    crl = MultimodalCRL(prior_mask=mask, **PLAIN).fit(data.data)
    # the prior allows a 1 -> 2 edge only: the order 2 > 1 is nested in 1 > 2, not searched
    assert list(crl.order_scores_) == ["1 > 2"]
    content = crl.adjacency_.loc[names, names].to_numpy() != 0
    assert content.sum() == 1 and crl.adjacency_.loc["z1_1", "z2_1"] != 0
    penalty = crl.net_.module_.prior.penalty.numpy()
    assert penalty[0, 2] == pytest.approx(0.5)


def test_bad_prior_masks_are_explained(data):
    with pytest.raises(ValueError, match="neither the modalities"):
        MultimodalCRL(prior_mask=pd.DataFrame([[1]], index=["a"], columns=["a"]), **FAST).fit(
            data.data
        )
    with pytest.raises(ValueError, match="expected"):
        MultimodalCRL(prior_mask=np.ones((3, 3)), **FAST).fit(data.data)
    with pytest.raises(ValueError, match="causal_order"):
        MultimodalCRL(causal_order=["1", "3"], **FAST).fit(data.data)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_prior_mask_with_nan_or_inf_is_refused(data, bad):
    # A NaN weight used to pass the non-negativity check and train on NaN penalties.
    mask = pd.DataFrame([[1, bad], [1, 1]], index=["1", "2"], columns=["1", "2"])
    with pytest.raises(ValueError, match=r"prior_mask has NaN or infinite entries \(at \[\[0, 1\]\]\)"):
        MultimodalCRL(prior_mask=mask, **FAST).fit(data.data)
    with pytest.raises(ValueError, match="NaN or infinite"):
        MultimodalCRL(prior_mask=mask.to_numpy(), **FAST).fit(data.data)


def test_causal_order_reorders_modalities(data):
    crl = MultimodalCRL(causal_order=["2", "1"], **FAST).fit(data.data)
    assert crl.modalities_ == ["2", "1"]
    assert crl.get_feature_names_out().tolist()[:2] == ["z2_1", "z2_2"]


def test_measurements_share_their_modality_latents():
    data = make_multimodal_causal(
        n_samples=120, n_features=5, n_measurements=[3, 1], modality_names=["text", "face"],
        random_state=1,
    )
    assert data.data.columns[0] == "text.v1__x0"
    crl = MultimodalCRL(latent_dim={"text": 1, "face": 2}, **FAST).fit(data.data)
    assert crl.measurements_ == {"text": ["v1", "v2", "v3"], "face": ["face"]}
    module = crl.net_.module_
    assert len(module.encoders) == len(module.decoders) == 4
    assert crl.get_feature_names_out().tolist() == ["ztext_1", "zface_1", "zface_2", "s_1"]


def test_explicit_modalities_on_a_plain_array(data):
    X = data.data.to_numpy()
    crl = MultimodalCRL(modalities={"a": slice(0, 6), "b": list(range(6, 12))}, **FAST).fit(X)
    assert crl.modalities_ == ["a", "b"]
    assert crl.transform(X).shape == (240, 5)
    single = MultimodalCRL(**FAST).fit(X)  # unprefixed columns form one modality
    assert single.get_feature_names_out().tolist() == ["zx_1", "zx_2", "s_1"]


def test_reproducible_clone_and_pickle(data, fitted):
    torch.manual_seed(123)
    before = torch.get_rng_state().clone()
    threads = torch.get_num_threads()
    again = clone(fitted).fit(data.data)
    assert torch.equal(torch.get_rng_state(), before)  # fit leaves the global RNG alone
    assert torch.get_num_threads() == threads
    np.testing.assert_array_equal(again.transform(data.data), fitted.transform(data.data))
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(data.data), fitted.transform(data.data))
    assert restored.score(data.data) == fitted.score(data.data)


def test_score_is_the_held_out_elbo_whatever_the_weights(data, fitted):
    terms = fitted.loss_terms(data.data)
    assert fitted.score(data.data) == pytest.approx(-(terms["recon"] + terms["kl"]), rel=1e-6)
    expected = terms["recon"] + fitted.a_ind * terms["kl"] + fitted.a_sp * terms["sparsity"]
    assert terms["loss"] >= expected - 1e-5 * abs(expected)  # plus the acyclicity terms
    # validation loss (early stopping, restarts, order search) is the negative ELBO too
    reweighted = MultimodalCRL(**{**FAST, "a_ind": 0.1, "a_sp": 3.0}).fit(data.data)
    history = reweighted.net_.history
    assert reweighted.selection_loss_ == pytest.approx(min(history[:, "valid_loss"]))
    assert np.isfinite(reweighted.score(data.data))


def test_early_stopping_uses_a_validation_split(data):
    crl = MultimodalCRL(**{**FAST, "max_epochs": 60, "patience": 2, "lr": 0.05}).fit(data.data)
    history = crl.net_.history
    assert "valid_loss" in history[-1]
    assert crl.n_epochs_ < 60
    no_valid = MultimodalCRL(**{**FAST, "validation_fraction": None}).fit(data.data)
    assert no_valid.n_epochs_ == FAST["max_epochs"]


def test_shared_warmup_epochs_and_early_stopping_after_them(data):
    crl = MultimodalCRL(**{**PLAIN, "max_epochs": 12, "shared_warmup": 5, "patience": 1}).fit(
        data.data
    )
    gate = list(crl.net_.history[:, "content_gate"])
    assert gate[:6] == [0.0] * 5 + [1.0] and set(gate[5:]) == {1.0}
    assert crl.net_.module_.content_gate == 1.0
    # early stopping counts only after the warm-up: at least patience + 1 epochs more
    assert crl.n_epochs_ >= 5 + 2
    capped = MultimodalCRL(**{**PLAIN, "shared_warmup": 15}).fit(data.data)  # max_epochs=4
    assert list(capped.net_.history[:, "content_gate"]) == [0.0, 0.0, 1.0, 1.0]
    off = MultimodalCRL(**{**PLAIN, "shared_warmup": 0}).fit(data.data)
    assert "content_gate" not in off.net_.history[0]
    no_shared = MultimodalCRL(**{**PLAIN, "shared_dim": 0}).fit(data.data)
    assert "content_gate" not in no_shared.net_.history[0]
    # the refit under the searched DAG starts warm: no second warm-up
    refined = MultimodalCRL(**{**FAST, "shared_warmup": 1}).fit(data.data)
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
    crl = MultimodalCRL(
        causal_order=["1", "2"], hidden_size=32, batch_size=128, lr=5e-3, max_epochs=60,
        patience=10, random_state=0,
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
    pipe = make_pipeline(MultimodalCRL(**{**FAST, "max_epochs": 2}))
    search = GridSearchCV(pipe, {"multimodalcrl__a_ind": [0.01, 0.1]}, scoring=mcc_scorer, cv=2)
    search.fit(data.data, data.latents)
    assert 0 < search.best_score_ <= 1


def test_beta_vae_same_interface(data):
    vae = BetaVAE(n_components=3, **FAST).set_output(transform="pandas").fit(data.data)
    out = vae.transform(data.data)
    assert out.columns.tolist() == ["z_1", "z_2", "z_3"]
    assert np.isfinite(vae.score(data.data))
    assert not hasattr(vae, "adjacency_")
    restored = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(restored.transform(data.data), out.to_numpy())


@pytest.mark.parametrize("model", ["crl", "crl_flow", "vae"])
def test_skops_round_trip(data, model):
    est = {
        "crl": MultimodalCRL(**FAST),
        "crl_flow": MultimodalCRL(n_flow_layers=2, **FAST),
        "vae": BetaVAE(n_components=3, **FAST),
    }[model].fit(data.data)
    blob = skops.io.dumps(est)
    untrusted = skops.io.get_untrusted_types(data=blob)
    assert untrusted == [
        "skpersona.crl._betavae.BetaVAE" if model == "vae"
        else "skpersona.crl._multimodal.MultimodalCRL"
    ]
    restored = skops.io.loads(blob, trusted=untrusted)
    np.testing.assert_array_equal(restored.transform(data.data), est.transform(data.data))
    assert restored.score(data.data) == est.score(data.data)
    assert len(restored.net_.history) == est.n_epochs_
    if model != "vae":
        pd.testing.assert_frame_equal(restored.adjacency_, est.adjacency_)
    # the live estimator is untouched by serialisation
    assert hasattr(est, "net_")


def test_n_init_keeps_the_initialisation_with_the_best_validation_loss(data):
    one = MultimodalCRL(restart_selection="elbo", **PLAIN).fit(data.data)
    three = MultimodalCRL(n_init=3, restart_selection="elbo", **PLAIN).fit(data.data)
    # the first of the three initialisations is the single one: never worse
    assert three.selection_loss_ <= one.selection_loss_
    assert three.selection_loss_ == pytest.approx(min(three.net_.history[:, "valid_loss"]))


def test_restarts_chosen_by_noise_independence_not_by_elbo(data):
    from skpersona.crl._net import validation_rows as _validation_rows
    from skpersona.crl._structure import noise_dependence as _noise_dependence

    nets = [MultimodalCRL(**{**PLAIN, "random_state": seed}).fit(data.data) for seed in (0, 1)]
    Xs = nets[0]._standardise(data.data.to_numpy())
    dependence = [_noise_dependence(m.net_.module_, _validation_rows(m.net_, Xs), 1) for m in nets]
    assert dependence[0] != dependence[1]
    dependent, independent = np.argsort(dependence)[::-1]
    # the run with the more dependent noises has the better (lower) validation loss
    runs = [_Run(0.0, nets[dependent].net_, {}, 0), _Run(1.0, nets[independent].net_, {}, 0)]
    kept, found = MultimodalCRL()._select_restart(runs, Xs)  # independence is the default
    assert kept.net is nets[independent].net_
    assert found == [dependence[dependent], dependence[independent]]
    kept, found = MultimodalCRL(restart_selection="elbo")._select_restart(runs, Xs)
    assert kept.net is nets[dependent].net_ and found is None


def test_restart_selection_by_independence_in_fit(data):
    from skpersona.crl._net import validation_rows as _validation_rows
    from skpersona.crl._structure import noise_dependence as _noise_dependence

    est = MultimodalCRL(n_init=2, restart_selection="independence", **PLAIN).fit(data.data)
    assert len(est.restart_dependence_) == len(est.order_scores_)
    assert all(len(runs) == 2 for runs in est.restart_dependence_)
    Xs = est._standardise(data.data.to_numpy())
    kept = _noise_dependence(est.net_.module_, _validation_rows(est.net_, Xs), 1)
    assert kept == pytest.approx(min(min(runs) for runs in est.restart_dependence_))
    with pytest.raises(ValueError, match="restart_selection"):
        MultimodalCRL(restart_selection="hsic").fit(data.data)


def test_refined_fit_keeps_the_searched_dag_and_its_alignment(data, fitted):
    edges = set(fitted.dag_search_["edges"])
    names = fitted.get_feature_names_out().tolist()
    assert sorted(fitted.dag_search_["order"]) == sorted(names)
    # the refit's SCM allows exactly the searched DAG's edges; graph_ keeps the strong ones
    mask = fitted.net_.module_.prior.mask.numpy()
    assert {(names[i], names[j]) for i, j in np.argwhere(mask)} == edges
    shown = {(a, b) for a in names for b in names if fitted.graph_.loc[a, b]}
    assert shown <= edges
    # the alignment is a fixed map between posterior and reported latents
    module = fitted.net_.module_
    assert not torch.equal(module.align_weight, torch.eye(5))
    X = torch.as_tensor(fitted._standardise(data.data.to_numpy()))
    with torch.no_grad():
        mu, logvar = module.encode(X)
        raw = module.posterior(mu, logvar, sample=False)[0]
    np.testing.assert_allclose(
        fitted.transform(data.data), (module.align(raw)).numpy(), rtol=1e-5, atol=1e-6
    )


def test_refine_graph_needs_enough_validation_rows(data):
    few = data.data.iloc[:60]  # 12 validation rows
    with pytest.warns(UserWarning, match="refine_graph needs at least 20 validation rows"):
        crl = MultimodalCRL(**FAST).fit(few)
    assert crl.dag_search_ is None
    assert torch.equal(crl.net_.module_.align_weight, torch.eye(5))


def _identity_net(est, args, Xs, reversed_mechanisms=None):
    """A real LatentNet whose encoders pass each modality's (latent, latent, shared) columns on.

    With ``reversed_mechanisms`` ((child, parent) pairs), the SCM is given those mechanisms,
    fitted by least squares; otherwise the SCM stays at its start (no mechanism).
    """
    net = est._make_net(len(Xs), 0, args).initialize()
    module = net.module_
    with torch.no_grad():
        for encoder in module.encoders:
            encoder[-1].weight.zero_()
            encoder[-1].bias.zero_()
            encoder[-1].weight[:3, :3] = torch.eye(3)  # means; log-variances 0
        prior = module.prior
        prior.running_mean.zero_()
        prior.running_var.fill_(1.0)
        for child, parent in reversed_mechanisms or []:
            coef = np.polyfit(Xs[:, parent], Xs[:, child], 1)[0]
            prior.linear[parent, child] = float(coef)
            prior.log_scale[child] = float(np.log(np.std(Xs[:, child] - coef * Xs[:, parent])))
    return net


def test_order_chosen_on_the_same_latents_not_by_each_order_own_scm():
    # Observations are the true latents (1 > 2 across modalities), so both candidate nets
    # infer the same latents. The 2 > 1 net's SCM has fitted (reversed) mechanisms, the
    # 1 > 2 net's SCM none: its noises are the dependent latents themselves. The old
    # criterion - each order's own inferred noises - keeps 2 > 1; residual independence
    # of the orders on the same (aligned) latents keeps the true 1 > 2.
    truth = make_multimodal_causal(
        n_samples=600, n_measurements=1, graph="cross", noise_distribution="laplace",
        random_state=0,
    ).latents.to_numpy()
    columns = [0, 1, 4, 2, 3, 4]  # modality 1 sees (z1_1, z1_2, s), modality 2 (z2_1, z2_2, s)
    names = [f"{m}__{c}" for m, c in [("1", "a"), ("1", "b"), ("1", "s"), ("2", "a"),
                                      ("2", "b"), ("2", "s")]]
    Xs = ((truth - truth.mean(0)) / truth.std(0))[:, columns].astype(np.float32)
    results = {}
    for refine in (False, True):
        est = MultimodalCRL(**{**FAST, "n_hidden_layers": 0, "refine_graph": refine})
        *_, candidates = est._layout(Xs, np.asarray(names, dtype=object))
        args = {
            label: dict(
                measurement_columns=[[0, 1, 2], [3, 4, 5]], measurement_modality=[0, 1],
                latent_dims=[2, 2], n_shared=1, allowed=allowed, hidden=16, n_layers=0,
                n_flow_layers=0,
            )
            for label, allowed in candidates.items()
        }
        latent_xs = Xs[:, [0, 1, 3, 4, 2]]  # z1_1, z1_2, z2_1, z2_2, s
        best = {
            ("1", "2"): _Run(
                0.0, _identity_net(est, args[("1", "2")], latent_xs), args[("1", "2")], 0
            ),
            ("2", "1"): _Run(
                0.0, _identity_net(est, args[("2", "1")], latent_xs, [(0, 2), (1, 3)]),
                args[("2", "1")], 0,
            ),
        }
        label, _ = est._select_structure(best, Xs)
        results[refine] = (label, est.order_dependence_)
    assert results[False][0] == ("2", "1")  # each order judged by its own SCM: wrong
    assert results[True][0] == ("1", "2")  # every order judged on the same latents: right


@pytest.fixture(scope="module")
def digits():
    return make_causal_digits(200, image_size=6, random_state=0)


def test_image_modalities_get_convolutions_and_survive_skops(digits):
    from skpersona.crl._modules import ImageDecoder, ImageEncoder

    crl = MultimodalCRL(image_shape={"2": (6, 6, 3)}, **FAST).fit(digits.data)
    module = crl.net_.module_
    kinds = [(type(e).__name__, type(d).__name__) for e, d in zip(module.encoders, module.decoders)]
    # modality 1 keeps its MLP, modality 2 (the image) gets convolutions
    assert kinds == [("Sequential", "Sequential"), (ImageEncoder.__name__, ImageDecoder.__name__)]
    assert crl.transform(digits.data).shape == (200, 5)
    blob = skops.io.dumps(crl)
    # the image modules travel inside the net's state: the file asks trust for the
    # estimator alone, as the CLI's load_model grants it
    untrusted = skops.io.get_untrusted_types(data=blob)
    assert untrusted == ["skpersona.crl._multimodal.MultimodalCRL"]
    restored = skops.io.loads(blob, trusted=untrusted)
    np.testing.assert_array_equal(restored.transform(digits.data), crl.transform(digits.data))


@pytest.mark.parametrize(
    "shape, message",
    [
        ({"3": (6, 6, 3)}, "names modalities \\['3'\\]"),
        ({"1": (6, 6)}, "must be \\(height, width, channels\\)"),
        ({"1": (6, 6, 0)}, "must be \\(height, width, channels\\)"),
        ({"1": "6x6"}, "must be \\(height, width, channels\\)"),
        # a string of three digits or a float would otherwise pass as numbers
        ({"1": "663"}, "must be \\(height, width, channels\\)"),
        ({"1": (6, 6, 3.5)}, "must be \\(height, width, channels\\)"),
        ({"1": (6, 6, 2)}, "needs 72 columns per measurement, got 108"),
    ],
)
def test_bad_image_shapes_are_explained(digits, shape, message):
    with pytest.raises(ValueError, match=message):
        MultimodalCRL(image_shape=shape, **FAST).fit(digits.data)


@pytest.mark.parametrize(
    "make, message",
    [
        # 2,000,001 latents: the prior's adjacency alone would be 29 TiB (issue 24)
        (lambda: MultimodalCRL(latent_dim=10**6), "2,000,001 latents over 2 modalities"),
        (lambda: MultimodalCRL(latent_dim={"1": 1, "2": 1000}), "1,002 latents"),
        # a 10**6 x 10**6 hidden layer: 4 TB of weights
        (lambda: MultimodalCRL(hidden_size=10**6), "parameters .*lower hidden_size"),
        (lambda: BetaVAE(hidden_size=10**6), "BetaVAE would train a network of"),
    ],
)
def test_absurd_sizes_are_refused_before_anything_is_allocated(data, make, message):
    with pytest.raises(ValueError, match=message):
        make().set_params(max_epochs=1).fit(data.data)


def test_the_largest_allowed_sizes_are_not_refused(data):
    # 1,000 latents in all are accepted (the refusal is for mistyped sizes, not large models)
    from skpersona.crl._multimodal import _MAX_LATENTS

    est = MultimodalCRL(latent_dim={"1": 1, "2": _MAX_LATENTS - 2})
    layout = est._layout(data.data.to_numpy(), np.asarray(data.data.columns, dtype=object))
    assert sum(layout.latent_dims) + layout.n_shared == _MAX_LATENTS


def test_a_file_saved_before_the_module_split_still_loads(data, fitted):
    # files written before the estimators left crl/_estimators.py name that module;
    # skops finds the class there, so the file loads once its type is trusted
    import io
    import zipfile

    blob = skops.io.dumps(fitted)
    old = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "schema.json":
                content = content.replace(b"skpersona.crl._multimodal", b"skpersona.crl._estimators")
            dst.writestr(item, content)
    untrusted = skops.io.get_untrusted_types(data=old.getvalue())
    assert untrusted == ["skpersona.crl._estimators.MultimodalCRL"]
    restored = skops.io.loads(old.getvalue(), trusted=untrusted)
    assert type(restored) is MultimodalCRL
    np.testing.assert_array_equal(restored.transform(data.data), fitted.transform(data.data))
