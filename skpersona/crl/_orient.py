"""A causal graph over recovered latents: blocks aligned, order by residual independence,
parents by BIC.

Used by :class:`~skpersona.crl.MultimodalCRL` after the latent model is fitted:
the SCM of the model assumes each (standardised) latent is an additive function
of its parents plus an exogenous noise independent of them. Under that
assumption, with non-Gaussian noises or nonlinear mechanisms, the causal order
is identified from the joint distribution (additive noise models, Hoyer et al.
2009; Peters et al. 2014): only in the causal direction is the residual of a
regression independent of the regressors. :func:`resit_order` finds the order
sink first, as RESIT does - the latent whose residual, regressed on all the
others that remain, is the least dependent on them (HSIC) comes last.
:func:`select_parents` then keeps, for every latent, the subset of its
predecessors with the lowest Bayesian information criterion (exhaustive over
subsets for a few predecessors, backward elimination beyond), a penalty fixed
in advance rather than a threshold tuned on results.

Regressions use the mechanism family of the model's SCM on standardised
latents, ``L * u + B * tanh(u)`` per parent, so the graph does not change when
a latent is rescaled.
"""

import itertools
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..independence._kernel import hsic_gamma_test

# Up to this many candidate parents every subset is scored; beyond, backward elimination.
_MAX_EXHAUSTIVE = 8
#: Smallest p-value order_dependence counts: the gamma approximation of HSIC's null is
#: not accurate in its far tail (p-values of 1e-300 were summed), so any p below this
#: counts as this one - one strongly dependent residual adds at most -log(1e-10) = 23.
ORDER_PVALUE_FLOOR = 1e-10


def _standardise(latents):
    latents = np.asarray(latents, dtype=float)
    scale = latents.std(axis=0)
    return (latents - latents.mean(axis=0)) / np.where(scale > 1e-12, scale, 1.0)


def _residual(u, child, parents):
    """Residual of latent ``child`` after a least-squares fit of ``L u_j + B tanh(u_j)``."""
    target = u[:, child]
    if len(parents) == 0:
        return target - target.mean()
    inputs = u[:, list(parents)]
    design = np.hstack([np.ones((len(u), 1)), inputs, np.tanh(inputs)])
    coef = np.linalg.lstsq(design, target, rcond=None)[0]
    return target - design @ coef


def _scale_free(residual, shared):
    """``residual`` divided by its noise scale fitted on the shared latents ``shared``.

    The SCM lets ``s`` set each latent's noise scale, so even the exogenous noise
    depends on ``s`` through its spread; an HSIC test of the raw residual
    against ``s`` rejects in every order. ``log(r^2)`` is regressed on ``L s + B tanh(s)``
    and ``r`` divided by ``exp(fit / 2)`` (a constant factor does not matter).
    """
    if shared.shape[1] == 0:
        return residual
    design = np.hstack([np.ones((len(shared), 1)), shared, np.tanh(shared)])
    log_square = np.log(residual**2 + 1e-6 * max(float(np.mean(residual**2)), 1e-12))
    coef = np.linalg.lstsq(design, log_square, rcond=None)[0]
    return residual / np.exp(0.5 * np.clip(design @ coef, -30.0, 30.0))


def _hsic(x, y, seed=0):
    return hsic_gamma_test(x.reshape(len(x), -1), y.reshape(len(y), -1),
                           np.random.RandomState(seed))[0]


def resit_order(latents, allowed=None):
    """Causal order of the latents (causes first) by residual independence, sink first.

    Parameters
    ----------
    latents : ndarray of shape (n_samples, n_latents)
        Recovered latents (any scale; standardised here).
    allowed : ndarray of shape (n_latents, n_latents) or None
        Non-zero where edge ``j -> i`` may exist (rows parents); a latent is
        regressed only on its allowed parents.

    Returns
    -------
    order : list of int
        Causes first.
    scores : list of float
        The HSIC statistic of the latent placed at each position (0 for the
        first, which has nobody left to depend on).
    """
    u = _standardise(latents)
    d = u.shape[1]
    allowed = np.ones((d, d)) if allowed is None else np.asarray(allowed) != 0
    remaining, reversed_order, scores = list(range(d)), [], []
    while len(remaining) > 1:
        best = None
        for k in remaining:
            others = [j for j in remaining if j != k]
            parents = [j for j in others if allowed[j, k]]
            stat = _hsic(_residual(u, k, parents), u[:, others])
            if best is None or stat < best[1]:
                best = (k, stat)
        reversed_order.append(best[0])
        scores.append(best[1])
        remaining.remove(best[0])
    return remaining + reversed_order[::-1], [0.0] + scores[::-1]


def _bic(u, child, parents):
    n = len(u)
    rss = float(np.sum(_residual(u, child, parents) ** 2))
    return n * np.log(max(rss, 1e-12) / n) + (1 + 2 * len(parents)) * np.log(n)


def select_parents(latents, order, allowed=None):
    """Parents of each latent among its predecessors in ``order``, by the lowest BIC.

    Parameters
    ----------
    latents : ndarray of shape (n_samples, n_latents)
    order : list of int
        Causes first (e.g. from :func:`resit_order`).
    allowed : ndarray of shape (n_latents, n_latents) or None
        Non-zero where edge ``j -> i`` may exist (rows parents).

    Returns
    -------
    graph : ndarray of int, shape (n_latents, n_latents)
        ``graph[j, i] = 1`` for an edge ``j -> i``; a DAG consistent with ``order``.
    """
    u = _standardise(latents)
    d = u.shape[1]
    allowed = np.ones((d, d)) if allowed is None else np.asarray(allowed) != 0
    graph = np.zeros((d, d), dtype=int)
    for position, child in enumerate(order):
        candidates = [j for j in order[:position] if allowed[j, child]]
        if len(candidates) <= _MAX_EXHAUSTIVE:
            subsets = itertools.chain.from_iterable(
                itertools.combinations(candidates, r) for r in range(len(candidates) + 1)
            )
            parents = min(subsets, key=lambda s: _bic(u, child, s))
        else:  # backward elimination while the BIC improves
            parents = list(candidates)
            while parents:
                trials = [[p for p in parents if p != q] for q in parents]
                best = min(trials, key=lambda s: _bic(u, child, s))
                if _bic(u, child, best) >= _bic(u, child, parents):
                    break
                parents = best
        graph[list(parents), child] = 1
    return graph


def _unmixing(residual, seed, n_restarts=5):
    """FastICA unmixing of one block's residuals: the most non-Gaussian of a few restarts."""
    from sklearn.decomposition import FastICA

    best = None
    for k in range(n_restarts):
        ica = FastICA(
            residual.shape[1], whiten="unit-variance", max_iter=1000, random_state=seed + k
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sources = ica.fit_transform(residual)
        # FastICA's own objective: negentropy approximated with G(y) = log cosh(y)
        gauss = 0.3745672075  # E[log cosh(nu)] for a standard normal nu
        negentropy = float(np.sum((np.mean(np.log(np.cosh(sources)), axis=0) - gauss) ** 2))
        if best is None or negentropy > best[0]:
            best = (negentropy, ica.components_)
    return best[1]


def align_blocks(latents, blocks, shared, seed=0):
    """Linear maps, one per content block, that undo a mixing of a block's latents.

    The latents of one modality's block are identified only up to an invertible
    mixing by the likelihood, which hardly changes along it. What pins them
    down is the assumption of the latent SCM that they are independent given
    the shared latents (no edges inside a block; structural sparsity across
    blocks) with non-Gaussian exogenous noise. So each block's residuals,
    given the shared latents, are unmixed by independent component analysis
    (FastICA, the most non-Gaussian of a few restarts), and the unmixing is
    applied to the block's latents. The new latents are matched to the old
    ones (largest absolute correlation), so that names stay put, and keep
    their signs. Blocks of one latent are only standardised.

    Parameters
    ----------
    latents : ndarray of shape (n_samples, n_latents)
    blocks : list of list of int
        Columns of each modality's content latents.
    shared : list of int
        Columns of the shared latents (left as they are, up to standardisation).
    seed : int
        Seed of FastICA's starts.

    Returns
    -------
    weight, bias : ndarray of shape (n_latents, n_latents), (n_latents,)
        The aligned latents are ``latents @ weight.T + bias``.
    """
    from scipy.optimize import linear_sum_assignment

    latents = np.asarray(latents, dtype=float)
    d = latents.shape[1]
    mean = latents.mean(axis=0)
    scale = latents.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    u = (latents - mean) / scale
    transform = np.eye(d)  # on the standardised latents: aligned = u @ transform
    for block in blocks:
        if len(block) < 2:
            continue
        residual = np.column_stack([_residual(u, j, shared) for j in block])
        rotation = _unmixing(residual, seed).T
        new = u[:, block] @ rotation
        rotation = rotation / new.std(axis=0)
        corr = np.corrcoef(u[:, block], new, rowvar=False)[: len(block), len(block) :]
        rows, cols = linear_sum_assignment(-np.abs(corr))
        keep = cols[np.argsort(rows)]
        signs = np.sign(corr[np.sort(rows), keep])
        transform[np.ix_(block, block)] = rotation[:, keep] * np.where(signs == 0, 1.0, signs)
    weight = (transform / scale[:, None]).T
    return weight, -weight @ mean


def order_dependence(latents, blocks, shared):
    """Residual dependence of one order of the blocks (the RESIT criterion; lower is better).

    Every latent of a block is regressed on the shared latents and on all
    latents of the blocks before it, its residual is divided by a noise scale
    fitted on the shared latents (the SCM lets ``s`` set every noise scale, which
    put every raw test at the floor in both orders), and it is tested for
    independence of those regressors (HSIC, gamma approximation); the
    ``-log`` p-values, capped at :data:`ORDER_PVALUE_FLOOR`, are summed. In the
    causal order the residuals are the exogenous noises, independent of the
    regressors. p-values rather than raw statistics, because the statistic's level
    under independence depends on the regressors, which differ between orders;
    capped, because the gamma approximation's far tail is not reliable: one
    residual with p = 1e-300 must not outweigh every other test.

    Parameters
    ----------
    latents : ndarray of shape (n_samples, n_latents)
    blocks : list of list of int
        Columns of each block, in the order to score (causes first).
    shared : list of int
        Columns of the shared latents (regressors of every block).

    Returns
    -------
    dependence : float
        Sum of ``-log max(p, ORDER_PVALUE_FLOOR)`` (0: no evidence of dependence).
    """
    u = _standardise(latents)
    before, total = list(shared), 0.0
    for block in blocks:
        if before:
            for j in block:
                residual = _scale_free(_residual(u, j, before), u[:, list(shared)])
                pvalue = hsic_gamma_test(residual[:, None], u[:, before], np.random.RandomState(0))[1]
                total -= np.log(max(pvalue, ORDER_PVALUE_FLOOR))
        before = before + list(block)
    return float(total)
