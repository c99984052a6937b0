"""Held-out null designs: calibration data never used to tune any test.

``kci_rff``'s settings (the z features' widths and count, ``_UNDERSMOOTH``, the local
correction) were chosen on three generators: ``x = tanh(z) + exp. noise, y = z^2 / 2 +
noise`` with a 1-D normal z, ``sin(z1) + z2 z3`` shared by x and y, and ``sin(2 z1) +
z2 z3`` / ``cos(z1 + z2) + tanh(2 z3)`` (3-D normal z, normal or exponential noise).
The designs here differ in every respect a tuning could exploit - mechanisms
(interactions, exponentials, periodic and bounded maps), z dimensions (2 and 5, and a
discrete column), z laws (uniform, mixed) and noise laws (Laplace, Student t,
lognormal, gamma, logistic, and noise whose scale changes with z) - and were written
down before any test was run on them. They serve the calibration tests
(``tests/test_independence_approx.py``) and ``benchmarks/bench_independence.py``; no
setting of any test may be chosen on them.

Each design returns ``(x, y, z)`` with ``x`` and ``y`` independent given ``z`` (``z``
None for the unconditional ones), as 2-D float arrays.
"""

import numpy as np


def _col(a):
    return np.asarray(a, dtype=float).reshape(len(a), -1)


def skewed_heavy(rng, n):
    """Unconditional: lognormal x against Student-t(3) y (skewed against heavy-tailed)."""
    return _col(rng.lognormal(0.0, 0.8, size=n)), _col(rng.standard_t(3, size=n)), None


def bimodal_block(rng, n):
    """Unconditional: a 2-D uniform x block against a bimodal Laplace mixture y."""
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = np.where(rng.random(n) < 0.5, -2.0, 2.0) + rng.laplace(scale=0.5, size=n)
    return x, _col(y), None


def interaction_2d(rng, n):
    """Given a 2-D uniform z: x an interaction, y periodic plus a kink; Laplace noise."""
    z = rng.uniform(-2.0, 2.0, size=(n, 2))
    x = z[:, 0] * z[:, 1] / 2 + rng.laplace(scale=0.5, size=n)
    y = np.cos(1.5 * z[:, 0]) + 0.5 * np.abs(z[:, 1]) + rng.laplace(scale=0.5, size=n)
    return _col(x), _col(y), z


def wide_z_5d(rng, n):
    """Given a 5-D normal z acting through a linear index, exp and a square; t / gamma noise."""
    z = rng.normal(size=(n, 5))
    x = z.sum(axis=1) / np.sqrt(5) + 0.5 * np.tanh(z[:, 0]) + 0.4 * rng.standard_t(5, size=n)
    y = np.exp(z[:, 1] / 2) + z[:, 2] ** 2 / 2 + 0.5 * (rng.gamma(2.0, 1.0, size=n) - 2.0)
    return _col(x), _col(y), z


def heteroscedastic_1d(rng, n):
    """Given a 1-D uniform z: both noises' scale grows with |z| (a noise law that moves)."""
    z = rng.uniform(-2.0, 2.0, size=n)
    scale = 0.3 + 0.3 * np.abs(z)
    x = z + scale * rng.normal(size=n)
    y = np.sin(2 * z) + scale * rng.normal(size=n)
    return _col(x), _col(y), _col(z)


def mixed_z(rng, n):
    """Given z = (a 3-level discrete column, a normal column); logistic noise."""
    level = rng.integers(0, 3, size=n).astype(float)
    cont = rng.normal(size=n)
    x = level + np.sin(cont) + 0.5 * rng.logistic(size=n)
    y = level * cont + 0.5 * rng.logistic(size=n)
    return _col(x), _col(y), np.column_stack([level, cont])


UNCONDITIONAL = {"skewed_heavy": skewed_heavy, "bimodal_block": bimodal_block}
CONDITIONAL = {
    "interaction_2d": interaction_2d,
    "wide_z_5d": wide_z_5d,
    "heteroscedastic_1d": heteroscedastic_1d,
    "mixed_z": mixed_z,
}
DESIGNS = {**UNCONDITIONAL, **CONDITIONAL}


def null_screen_table(rng, n, n_variables=5):
    """A table for the screen with no dependence between its screened variables given z.

    Every variable depends on a shared 1-D z through its own held-out mechanism and
    noise law (those of :data:`CONDITIONAL` and more), so marginally they all depend
    on one another and given ``z`` none does: the screen conditioned on ``["z"]`` has
    only null pairs. Returns a DataFrame with columns ``v0..`` and ``z``.
    """
    import pandas as pd

    z = rng.uniform(-2.0, 2.0, size=n)
    maps = [
        lambda: np.cos(1.5 * z) + rng.laplace(scale=0.5, size=n),
        lambda: np.abs(z) + 0.4 * rng.standard_t(5, size=n),
        lambda: np.exp(z / 2) + 0.5 * (rng.gamma(2.0, 1.0, size=n) - 2.0),
        lambda: z + (0.3 + 0.3 * np.abs(z)) * rng.normal(size=n),
        lambda: np.sin(2 * z) + 0.5 * rng.logistic(size=n),
        lambda: z**2 / 2 + rng.lognormal(0.0, 0.5, size=n),
    ]
    table = {f"v{j}": maps[j % len(maps)]() for j in range(n_variables)}
    table["z"] = z
    return pd.DataFrame(table)
