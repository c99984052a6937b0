"""The graph search on recovered latents: block alignment, RESIT order, BIC parents."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skpersona.crl import mean_correlation_coefficient
from skpersona.crl._orient import align_blocks, order_dependence, resit_order, select_parents
from skpersona.datasets import make_multimodal_causal

BLOCKS, SHARED = [[0, 1], [2, 3]], [4]


def _latents(seed, n=400):
    data = make_multimodal_causal(
        n, n_measurements=1, graph="cross", noise_distribution="laplace", random_state=seed
    )
    return data.latents.to_numpy(), data.graph.to_numpy()


def _mix_blocks(latents, seed):
    """Each content block mixed by a random invertible matrix, every latent rescaled and shifted."""
    rng = np.random.RandomState(seed)
    mixed = latents.copy()
    for block in BLOCKS:
        mixing = np.eye(2) + rng.uniform(-0.8, 0.8, size=(2, 2))
        mixed[:, block] = latents[:, block] @ mixing
    return mixed * rng.uniform(0.2, 5.0, size=latents.shape[1]) + rng.normal(size=latents.shape[1])


def _mixed_and_aligned(seed, n):
    """True latents, the same mixed inside each block, and those aligned by align_blocks."""
    latents, _ = _latents(seed, n=n)
    mixed = _mix_blocks(latents, seed)
    weight, bias = align_blocks(mixed, BLOCKS, SHARED)
    return latents, mixed, mixed @ weight.T + bias


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_resit_order_and_bic_parents_recover_the_content_graph(seed):
    latents, truth = _latents(seed)
    order, scores = resit_order(latents)
    graph = select_parents(latents, order)
    np.testing.assert_array_equal(graph[:4, :4], truth)  # the empty graph misses 2 edges
    position = np.argsort(order)
    assert all(position[i] < position[j] for i, j in np.argwhere(graph))
    assert len(scores) == 5 and scores[0] == 0.0


def test_select_parents_respects_forbidden_edges():
    latents, _ = _latents(0)
    allowed = np.ones((5, 5))
    allowed[0, 2] = 0  # forbid the true edge z1_1 -> z2_1
    graph = select_parents(latents, resit_order(latents, allowed)[0], allowed)
    assert graph[0, 2] == 0 and graph[1, 3] == 1


@pytest.mark.parametrize("seed", [1, 3, 4])
def test_align_blocks_undoes_a_mixing_within_blocks(seed):
    latents, mixed, aligned = _mixed_and_aligned(seed, n=1000)
    before = mean_correlation_coefficient(latents, mixed)
    after = mean_correlation_coefficient(latents, aligned)
    assert before < 0.93 and after > 0.97, (before, after)
    # names stay put: each aligned latent is matched to the one it came from
    corr = np.corrcoef(mixed.T, aligned.T)[:5, 5:]
    assert np.all(np.argmax(np.abs(corr), axis=0) == np.arange(5))
    assert np.all(np.diag(corr) > 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_order_dependence_prefers_the_causal_order_of_the_blocks(seed):
    _, _, aligned = _mixed_and_aligned(seed, n=600)
    forward = order_dependence(aligned, BLOCKS, SHARED)
    backward = order_dependence(aligned, BLOCKS[::-1], SHARED)
    assert forward < backward, (forward, backward)


@settings(max_examples=15, deadline=None)
@given(
    scales=st.lists(st.floats(0.05, 20.0), min_size=5, max_size=5),
    shifts=st.lists(st.floats(-10.0, 10.0), min_size=5, max_size=5),
)
def test_graph_search_does_not_depend_on_the_latents_scale(scales, shifts):
    latents, _ = _latents(0, n=200)
    moved = latents * np.asarray(scales) + np.asarray(shifts)
    order, _ = resit_order(latents)
    assert resit_order(moved)[0] == order
    np.testing.assert_array_equal(select_parents(moved, order), select_parents(latents, order))
    aligned = [x @ w.T + b for x in (latents, moved) for w, b in [align_blocks(x, BLOCKS, SHARED)]]
    np.testing.assert_allclose(aligned[0], aligned[1], atol=1e-6)
    assert order_dependence(moved, BLOCKS, SHARED) == pytest.approx(
        order_dependence(latents, BLOCKS, SHARED), rel=1e-6
    )


def test_order_dependence_is_not_ruled_by_one_tiny_pvalue():
    # -log p was summed down to p = 1e-300: one residual far in the gamma approximation's
    # unreliable tail (p ~ 1e-75 here, -log p = 172) outweighed two clearly dependent
    # residuals (p ~ 1e-12 and 1e-5). Capped at ORDER_PVALUE_FLOOR, one test adds at most
    # -log(1e-10) = 23.
    from skpersona.crl._orient import ORDER_PVALUE_FLOOR

    rng = np.random.default_rng(0)
    n, blocks = 400, [[1], [2], [3], [4]]
    s = rng.normal(size=n)
    one = np.column_stack([s, s**2 + 0.05 * rng.normal(size=n)]
                          + [rng.normal(size=n) for _ in range(3)])
    maps = [np.abs, lambda v: np.cos(2 * v), lambda v: np.cos(3 * v), lambda v: np.exp(-v**2)]
    spread = np.column_stack([s] + [0.6 * f(s) / f(s).std() + rng.normal(size=n) for f in maps])
    cap = -np.log(ORDER_PVALUE_FLOOR)
    single, several = order_dependence(one, blocks, [0]), order_dependence(spread, blocks, [0])
    assert cap <= single < cap + 4  # the tiny p counts as the floor; three null tests add little
    assert single < several, (single, several)
    assert order_dependence(spread, blocks, [0]) <= 4 * cap


# -- known limitations on PersonaX-faithful latents (issue 25; doc/research/crl_notes.rst) --
# These pin what the graph stage does today on the true latents of
# make_multimodal_causal(graph="chain", shared_modulation=1); a change that lifts a
# limitation must update them (and the notes).
def _chain_latents(seed, shared_modulation, n=600):
    data = make_multimodal_causal(
        n, n_measurements=1, graph="chain", noise_distribution="laplace",
        shared_modulation=shared_modulation, random_state=seed,
    )
    return data.latents.to_numpy()


@pytest.mark.parametrize("seed", [0, 1])
def test_block_alignment_removes_the_edges_inside_a_modality(seed):
    # align_blocks assumes no edge inside a block: its ICA turns each in-modality child
    # into (nearly) its exogenous part, and the DAG search then misses the chain
    # z1_1 - z1_2, z2_1 - z2_2 that it finds on the unaligned true latents.
    from skpersona.crl._structure import search_dag

    latents = _chain_latents(seed, 1.0)
    allowed = 1.0 - np.eye(5)
    allowed[:4, 4] = 0.0  # s is a source
    weight, bias = align_blocks(latents, BLOCKS, SHARED)
    found = []
    for latent in (latents, latents @ weight.T + bias):
        dag = search_dag(latent, allowed)[1]
        found.append(int(dag[0, 1] + dag[1, 0] + dag[2, 3] + dag[3, 2]))
    assert found[0] == 2 and found[1] < 2, found


@pytest.mark.parametrize("seed", [0, 1])
def test_order_test_decides_when_s_sets_the_noise_scales(seed):
    # When s modulates every latent's noise scale, each raw residual's size depends on s,
    # a regressor of every test: every HSIC test rejected at the p-value floor in both
    # orders (a tie). Each residual divided by its noise scale fitted on s, the true
    # order 1 > 2 is the less dependent one, as it is without the modulation.
    from skpersona.crl._orient import ORDER_PVALUE_FLOOR

    floor = 4 * -np.log(ORDER_PVALUE_FLOOR)  # four tests, each at the floor
    for modulation in (1.0, 0.0):
        latents = _chain_latents(seed, modulation)
        weight, bias = align_blocks(latents, BLOCKS, SHARED)
        aligned = latents @ weight.T + bias
        forward, backward = (order_dependence(aligned, b, SHARED) for b in (BLOCKS, BLOCKS[::-1]))
        assert forward < backward < floor, (modulation, forward, backward)
