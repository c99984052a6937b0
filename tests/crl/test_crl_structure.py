"""How MultimodalCRL finds its structure: the order of the modalities, restarts, the DAG search."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from skpersona.crl import MultimodalCRL
from skpersona.crl._base import _Run
from skpersona.datasets import make_multimodal_causal

from ._settings import FAST, PLAIN


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
    assert isinstance(fitted.order_tied_, bool)
    if not fitted.order_tied_:
        assert fitted.modality_order_ == best.split(" > ")
    if model == "plain":
        assert -fitted.selection_loss_ == pytest.approx(fitted.order_scores_[best])
    else:  # the refit under the searched DAG is what is kept
        history = fitted.net_.history
        assert fitted.selection_loss_ == pytest.approx(min(history[:, "valid_loss"]))


def test_a_tied_order_goes_to_the_lower_validation_loss_not_the_first_listed():
    # PersonaX-faithful data put every HSIC test at the p-value floor: both orders score
    # the same, and a bare min() kept whichever order was listed first.
    from skpersona.crl._structure import choose_order

    floor = 8 * -np.log(1e-10)
    dependence = {("1", "2"): floor, ("2", "1"): floor * (1 + 1e-12)}
    losses = {("1", "2"): 3.2, ("2", "1"): 3.1}
    for listed in (dependence, dict(reversed(list(dependence.items())))):
        assert choose_order(listed, losses) == (("2", "1"), True)
    # a decided order is kept whatever its loss
    assert choose_order({("1", "2"): 150.0, ("2", "1"): floor}, losses) == (("1", "2"), False)


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
