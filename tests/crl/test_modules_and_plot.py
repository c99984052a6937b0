import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skpersona.crl import plot_latent_graph
from skpersona.crl._modules import CausalPrior, ConditionalFlow


def test_posterior_flow_log_det_is_exact_and_layers_are_permuted():
    torch.manual_seed(0)
    flow = ConditionalFlow(dim=4, context_dim=4, hidden=8, n_layers=3)
    for layer in flow.layers:  # leave the identity start
        torch.nn.init.normal_(layer.net[-1].weight, std=0.3)
    perms = [getattr(flow, f"perm_{k}") for k in range(3)]
    assert any(not torch.equal(p, torch.arange(4)) for p in perms[1:])
    u, context = torch.randn(1, 4), torch.randn(1, 4)
    _, logdet = flow(u, context)
    jac = torch.autograd.functional.jacobian(lambda v: flow(v, context)[0], u)[0, :, 0, :]
    assert torch.allclose(logdet[0], torch.linalg.slogdet(jac)[1], atol=1e-5)


def _random_prior(allowed):
    torch.manual_seed(0)
    prior = CausalPrior(allowed.shape[0], allowed).eval()
    with torch.no_grad():
        for name in ("linear", "bend", "bend_slope", "bias", "log_scale", "noise_means"):
            getattr(prior, name).normal_()
        prior.running_mean.normal_()
        prior.running_var.uniform_(0.5, 3.0)
    return prior


def _noise_and_log_det(prior, z):
    u, log_det_u = prior.standardise(z)
    e, log_det_e = prior.noise(u)
    return e, log_det_u + log_det_e


def test_causal_prior_on_a_dag_is_a_triangular_flow_with_exact_density():
    prior = _random_prior(torch.triu(torch.ones(3, 3), diagonal=1))
    z = torch.randn(1, 3)
    _, log_det = _noise_and_log_det(prior, z)
    jac = torch.autograd.functional.jacobian(lambda v: _noise_and_log_det(prior, v)[0], z)
    jac = jac[0, :, 0, :]
    # e_i depends on z_j only for j <= i in the causal order: lower triangular Jacobian
    assert torch.allclose(torch.triu(jac, diagonal=1), torch.zeros(3, 3))
    assert torch.allclose(log_det[0], torch.linalg.slogdet(jac)[1], atol=1e-5)
    e = _noise_and_log_det(prior, z)[0]
    expected = prior.noise_log_prob(e)[0] + log_det[0]
    assert torch.allclose(prior.log_prob(z)[0], expected, atol=1e-5)


def _two_cycle_prior():
    # z1 -> z2 -> z1 with slopes whose product stays below 1: an invertible cyclic SCM
    prior = _random_prior(torch.ones(2, 2)).double()
    with torch.no_grad():
        prior.linear.copy_(torch.tensor([[0.0, 0.6], [-0.9, 0.0]]))
        prior.bend.copy_(torch.tensor([[0.0, 0.3], [0.2, 0.0]]))
        prior.bend_slope.fill_(1.5)
    return prior


def test_causal_prior_with_a_two_cycle_has_the_exact_change_of_variables_density():
    prior = _two_cycle_prior()
    z = torch.randn(5, 2, dtype=torch.float64)
    for row in z:
        jac = torch.autograd.functional.jacobian(
            lambda v: _noise_and_log_det(prior, v[None])[0][0], row
        )
        e = _noise_and_log_det(prior, row[None])[0]
        expected = prior.noise_log_prob(e)[0] + torch.linalg.slogdet(jac)[1]
        assert torch.allclose(prior.log_prob(row[None])[0], expected, atol=1e-8)


def test_causal_prior_with_a_two_cycle_integrates_to_one():
    prior = _two_cycle_prior()
    axis = torch.linspace(-25, 25, 1201, dtype=torch.float64)
    grid = torch.cartesian_prod(axis, axis)
    with torch.no_grad():
        density = torch.exp(prior.log_prob(grid)).reshape(len(axis), len(axis))
    mass = torch.trapezoid(torch.trapezoid(density, axis, dim=1), axis)
    assert abs(float(mass) - 1.0) < 1e-3


def test_a_feedback_loop_of_gain_above_one_is_penalised_not_rewarded():
    # w_12 * w_21 = 4: det(I - d loc/du) = -3, the map u -> e is not invertible; log|det|
    # (log 3 > 0) would make the loop look *more* likely than no loop at all
    prior = _random_prior(torch.ones(2, 2)).double()
    with torch.no_grad():
        prior.linear.copy_(torch.tensor([[0.0, 2.0], [2.0, 0.0]]))
        prior.bend.zero_()
        prior.log_scale.zero_()
    u = torch.randn(4, 2, dtype=torch.float64)
    _, log_det = prior.noise(u)
    assert torch.all(log_det < -100)
    # the penalty decreases with the loop's gain: its gradient pushes back to invertible maps
    log_det.sum().backward()
    assert float(prior.linear.grad[0, 1]) < 0 and float(prior.linear.grad[1, 0]) < 0
    # invertible loops keep the exact log-determinant (log(1 - 0.5 * 0.5))
    with torch.no_grad():
        prior.linear.copy_(torch.tensor([[0.0, 0.5], [0.5, 0.0]]))
    assert torch.allclose(prior.noise(u)[1], torch.full((4,), np.log(0.75), dtype=torch.float64))


def test_the_cycle_check_runs_when_the_mask_is_set_not_per_pass(monkeypatch):
    from skpersona.crl import _modules

    dag = _random_prior(torch.triu(torch.ones(3, 3), diagonal=1))
    cyclic = _random_prior(torch.ones(3, 3))
    assert not dag.has_cycle and cyclic.has_cycle
    z = torch.randn(5, 3)
    before = [prior.log_prob(z) for prior in (dag, cyclic)]

    def fail(pattern):
        raise AssertionError("the cycle check ran during a forward pass")

    monkeypatch.setattr(_modules, "_has_cycle", fail)
    after = [prior.log_prob(z) for prior in (dag, cyclic)]
    assert all(torch.equal(b, a) for b, a in zip(before, after))
    monkeypatch.undo()
    # a state dict that brings another mask brings its cycle flag
    dag.load_state_dict(cyclic.state_dict())
    assert dag.has_cycle and torch.equal(dag.log_prob(z), cyclic.log_prob(z))


@pytest.mark.parametrize("seed", [0, 1])
def test_mixture_noise_is_a_normalised_density(seed):
    torch.manual_seed(seed)
    prior = CausalPrior(1, torch.zeros(1, 1)).double()
    with torch.no_grad():
        for name in ("noise_logits", "noise_means", "noise_log_scales"):
            getattr(prior, name).normal_()
    grid = torch.linspace(-60, 60, 240001, dtype=torch.float64)
    density = torch.exp(prior.noise_log_prob(grid[:, None]))
    assert abs(float(torch.trapezoid(density, grid)) - 1.0) < 1e-4


def test_acyclicity_is_zero_exactly_on_dags():
    dag = _random_prior(torch.triu(torch.ones(3, 3), diagonal=1))
    cyclic = _random_prior(torch.ones(3, 3))
    assert abs(float(dag.acyclicity())) < 1e-5
    assert float(cyclic.acyclicity()) > 1e-2
    assert torch.all(torch.diag(cyclic.adjacency()) == 0)  # no self-loops, even if allowed


def _arrows(ax):
    return [t for t in ax.texts if isinstance(t, matplotlib.text.Annotation)]


def test_plot_latent_graph_draws_edges_above_threshold():
    names = ["z1_1", "z1_2", "z2_1"]
    adjacency = pd.DataFrame(
        [[0, 0.8, -0.4], [0, 0, 0.01], [0, 0, 0]], index=names, columns=names
    )
    ax = plot_latent_graph(adjacency, threshold=0.1, title="g")
    assert len(_arrows(ax)) == 2  # two arrows, the 0.01 edge is dropped
    assert ax.get_title() == "g"
    ax = plot_latent_graph(np.array([[0, 1], [0, 0]]))
    assert len(_arrows(ax)) == 1


def test_content_gate_hides_content_latents_from_the_decoders():
    from skpersona.crl._modules import MultimodalVAE

    torch.manual_seed(0)
    vae = MultimodalVAE([[0, 1, 2], [3, 4, 5]], [0, 1], [2, 2], 1, hidden=8, n_layers=1)
    latent = torch.randn(5, 5)
    moved = latent.clone()
    moved[:, :4] += 1.0  # content latents of both modalities; s (last column) unchanged
    vae.content_gate = 0.0
    assert all(torch.equal(a, b) for a, b in zip(vae.decode(latent), vae.decode(moved)))
    shifted_s = latent.clone()
    shifted_s[:, 4] += 1.0
    assert not torch.equal(vae.decode(latent)[0], vae.decode(shifted_s)[0])
    vae.content_gate = 1.0
    assert not torch.equal(vae.decode(latent)[0], vae.decode(moved)[0])


@settings(max_examples=20, deadline=None)
@given(row=st.integers(0, 8), col=st.integers(0, 7), channel=st.integers(0, 2))
def test_image_encoder_reads_columns_as_row_major_pixels(row, col, channel):
    # the columns are images.reshape(n, -1) of (height, width, channels): the pixel
    # (row, col, channel) must reach the convolutions at that place, not elsewhere
    from skpersona.crl._modules import ImageEncoder

    torch.manual_seed(0)
    encoder = ImageEncoder((9, 8, 3), 4, hidden=8)
    images = torch.zeros(1, 9, 8, 3)
    images[0, row, col, channel] = 1.0
    seen = []
    encoder.conv[0].register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    assert encoder(images.reshape(1, -1)).shape == (1, 4)
    expected = torch.zeros(1, 3, 9, 8)
    expected[0, channel, row, col] = 1.0
    torch.testing.assert_close(seen[0], expected)


def test_image_decoder_returns_row_major_pixels():
    from skpersona.crl._modules import ImageDecoder

    torch.manual_seed(0)
    decoder = ImageDecoder(3, (7, 6, 2), hidden=8)
    latent = torch.randn(4, 3)
    out = decoder(latent)
    assert out.shape == (4, 7 * 6 * 2)
    # channel c of the last convolution at pixel (i, j) is column (i * 6 + j) * 2 + c
    maps = decoder.conv(decoder.head(latent).reshape(4, *decoder.grid))
    torch.testing.assert_close(out.reshape(4, 7, 6, 2).permute(0, 3, 1, 2), maps)
