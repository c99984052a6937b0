"""How :class:`MultimodalCRL` finds its structure.

The order of the modalities (by the independence of regression residuals, or of
each order's own inferred noises), the DAG over all latents on the kept fit's
aligned latents, the refit's warm start, and the DAG read off a fitted adjacency.
"""

import itertools

import numpy as np
import torch

from ..independence._kernel import hsic_gamma_test
from ..utils._torch import torch_threads
from ._net import embed, validation_index
from ._orient import align_blocks, order_dependence, resit_order, select_parents

# The graph search tests independence on the validation rows; below this many it is skipped.
MIN_GRAPH_ROWS = 20
# The orders of the modalities are compared on at most this many rows (HSIC is quadratic).
_MAX_ORDER_ROWS = 2000


def order_name(label):
    """A candidate's label as ``order_scores_`` and ``order_dependence_`` key it."""
    return "learned" if label is None else " > ".join(label)


def choose_order(dependence, losses, rtol=1e-9):
    """The least dependent order, and whether it tied; a tie goes to the lower loss.

    Orders whose dependence is within ``rtol`` of the lowest tie (every HSIC
    test at the p-value floor makes all orders equal); among them the one with
    the lowest validation loss is kept, so the choice never depends on the
    position of an order in the candidate list.

    Parameters
    ----------
    dependence, losses : dict of label -> float
        Per candidate order, its dependence and its kept fit's validation loss.
    rtol : float
        Relative tolerance under which two dependences tie.

    Returns
    -------
    label, tied : label, bool
    """
    lowest = min(dependence.values())
    tol = rtol * max(abs(lowest), 1.0)
    tied = [k for k in dependence if dependence[k] <= lowest + tol]
    return min(tied, key=lambda k: (losses[k], order_name(k))), len(tied) > 1


def drop_nested(candidates):
    """Drop candidate orders whose allowed edges are a subset of another's (e.g. under a prior)."""
    patterns = {label: allowed > 0 for label, allowed in candidates.items()}
    kept = {}
    for label, allowed in candidates.items():
        nested = any(
            other != label
            and np.all(patterns[label] <= patterns[other])
            and (not np.array_equal(patterns[label], patterns[other]) or other in kept)
            for other in candidates
        )
        if not nested:
            kept[label] = allowed
    return kept


# -- the order of the modalities ------------------------------------------------------
def _order_rows(n_rows):
    """Rows on which the orders of the modalities are compared: all, or 2,000 drawn at random.

    HSIC costs memory quadratic in the rows, hence the cap.
    """
    if n_rows <= _MAX_ORDER_ROWS:
        return np.arange(n_rows)
    return np.sort(np.random.RandomState(0).choice(n_rows, _MAX_ORDER_ROWS, replace=False))


def residual_dependence(nets, Xs, blocks, shared, n_threads):
    """Per candidate order, the dependence its regression residuals leave (RESIT).

    Each candidate net's latents of the fitted rows (up to 2,000) are aligned
    (:func:`align_blocks`), and every order is scored on every candidate's
    aligned latents: ``-log`` p-values of HSIC tests of each latent's residual
    (divided by its noise scale fitted on the shared latents) against the
    shared latents and the blocks before its own, summed. Scoring
    all orders on the same latents compares the orders, not the latents: a net
    fitted under one order leans its latents towards it.

    Parameters
    ----------
    nets : dict of label -> LatentNet
        The kept net of each candidate order (a tuple of modalities).
    Xs : ndarray
        The standardised fitted rows.
    blocks : dict of str -> list of int
        Each modality's content latents (columns of the latents).
    shared : list of int
        The shared latents' columns.
    n_threads : int or None
        torch threads.
    """
    rows = _order_rows(len(Xs))
    latents = []
    for net in nets.values():
        latent = embed(net.module_, Xs, n_threads)[rows]
        weight, bias = align_blocks(latent, list(blocks.values()), shared)
        latents.append(latent @ weight.T + bias)
    return {
        order_name(label): sum(
            order_dependence(latent, [blocks[m] for m in label], shared) for latent in latents
        )
        for label in nets
    }


def noise_dependence(module, X, n_threads, max_rows=500):
    """Sum over pairs of inferred exogenous noises of the HSIC statistic ``n * HSIC_b``."""
    module.eval()
    with torch.no_grad(), torch_threads(n_threads):
        latent = module.embed(torch.as_tensor(X[:max_rows]))
        u, _ = module.prior.standardise(latent)
        noise = module.prior.noise(u)[0].numpy().astype(np.float64)
    rng = np.random.RandomState(0)
    total = 0.0
    for i, j in itertools.combinations(range(noise.shape[1]), 2):
        total += hsic_gamma_test(noise[:, [i]], noise[:, [j]], rng)[0]
    return total


# -- the DAG over all latents and the refit's start -----------------------------------
def aligned_validation_latents(net, Xs, blocks, shared, n_threads):
    """The net's latents of its validation rows, each block unmixed (:func:`align_blocks`).

    Returns ``(latents, weight, bias)``, the aligned latents being
    ``latents_before @ weight.T + bias``.
    """
    valid = embed(net.module_, Xs, n_threads)[validation_index(net, Xs)]
    weight, bias = align_blocks(valid, blocks, shared)
    return valid @ weight.T + bias, weight, bias


def search_dag(latent, allowed):
    """An order of all latents by residual independence, then each one's parents by BIC.

    Returns ``(order, dag)``; both stay within the ``allowed`` edges.
    """
    order, _ = resit_order(latent, allowed)
    return order, select_parents(latent, order, allowed)


def warm_start(module, fitted, weight, bias, latent, dag):
    """Start ``module`` (built for the refit) from the ``fitted`` one and the DAG search.

    Encoders and decoders as they were, the alignment as a fixed linear map
    between posterior and prior, and the SCM's mechanisms on ``dag``'s edges from
    the least-squares fits on ``latent`` (those of :func:`select_parents`).
    """
    state = {
        name: value
        for name, value in fitted.state_dict().items()
        if not name.startswith("prior.")
    }
    module.load_state_dict(state, strict=False)
    with torch.no_grad():
        module.align_weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        module.align_bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
        _start_mechanisms(module.prior, latent, dag)


def _start_mechanisms(prior, latent, dag):
    """Set the SCM's mechanisms on ``dag``'s edges from least-squares fits on ``latent``.

    The fits are those of :func:`select_parents` (``L u_j + B tanh(u_j)`` on
    standardised latents), so the refit starts where the DAG search ended.
    """
    mean, std = latent.mean(axis=0), latent.std(axis=0)
    u = (latent - mean) / np.where(std > 1e-12, std, 1.0)
    prior.running_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
    prior.running_var.copy_(torch.as_tensor(std**2, dtype=torch.float32))
    prior.bend_slope.fill_(1.0)
    for child in range(u.shape[1]):
        parents = np.flatnonzero(dag[:, child])
        design = np.hstack([np.ones((len(u), 1)), u[:, parents], np.tanh(u[:, parents])])
        coef = np.linalg.lstsq(design, u[:, child], rcond=None)[0]
        residual = u[:, child] - design @ coef
        k = len(parents)
        prior.bias[child] = float(coef[0])
        prior.log_scale[child] = float(np.log(max(residual.std(), 1e-3)))
        for p, lin, bend in zip(parents, coef[1 : 1 + k], coef[1 + k :]):
            prior.linear[p, child] = float(lin)
            prior.bend[p, child] = float(bend)


# -- the DAG read off a fitted adjacency -----------------------------------------------
def _reaches(graph, source, target):
    stack, seen = [source], {source}
    while stack:
        node = stack.pop()
        if node == target:
            return True
        for child in np.flatnonzero(graph[node]):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return False


def greedy_dag(weights, threshold):
    """Keep edges above ``threshold``, strongest first, skipping any that closes a cycle."""
    graph = np.zeros(weights.shape, dtype=int)
    candidates = np.argwhere(weights > threshold)
    for i, j in sorted(candidates.tolist(), key=lambda e: -weights[e[0], e[1]]):
        if not _reaches(graph, j, i):
            graph[i, j] = 1
    return graph


def topological_order(graph):
    """Kahn's algorithm, ties broken by index."""
    indegree = graph.sum(axis=0).astype(int)
    ready = sorted(np.flatnonzero(indegree == 0).tolist())
    order = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in np.flatnonzero(graph[node]):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(int(child))
                ready.sort()
    return order
