"""Memory estimates of the independence tests, checked before anything is allocated.

Exact kernel tests hold dense ``n x n`` matrices: conditional KCI at n = 20,000 needs
about 15 GiB. :func:`check_test_memory` compares the estimate with a limit
(:data:`DEFAULT_MAX_MEMORY` unless the caller passes ``max_memory``) and refuses with
:class:`MemoryLimitError`, naming the estimate, the limit and the ways out.
"""

import numbers
import re

#: Default ceiling for one test's working memory (bytes): 2 GiB.
DEFAULT_MAX_MEMORY = 2 * 2**30

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "kib": 2**10,
    "m": 10**6,
    "mb": 10**6,
    "mib": 2**20,
    "g": 10**9,
    "gb": 10**9,
    "gib": 2**30,
    "t": 10**12,
    "tb": 10**12,
    "tib": 2**40,
}


class MemoryLimitError(ValueError):
    """A test would need more memory than allowed; raised before allocating it."""


def parse_memory(value, name="max_memory"):
    """Bytes from ``None`` (the default limit), a number of bytes or a string like ``"8GB"``."""
    if value is None:
        return DEFAULT_MAX_MEMORY
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number of bytes or a string like '8GB', got {value!r}.")
    if isinstance(value, int | float):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}.")
        return float(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", value)
        if match and match.group(2).lower() in _UNITS and float(match.group(1)) > 0:
            return float(match.group(1)) * _UNITS[match.group(2).lower()]
    raise ValueError(
        f"{name} must be a positive number of bytes or a string like '512MB' or '8GiB', "
        f"got {value!r}."
    )


def format_bytes(n_bytes):
    """``'14.9 GiB'``-style text."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            return f"{n_bytes / size:.1f} {unit}"
    return f"{int(n_bytes)} B"


def estimate_test_memory(method, n_samples, conditional, n_columns=1, n_features=100,
                         options=None):
    """Approximate peak working memory in bytes of one test (inputs not counted).

    ``n_columns`` is the widest encoded block, ``n_features`` the random features of
    ``"hsic_rff"`` and ``options`` the test's extra options (``n_features_xy``,
    ``n_features_z`` of ``"kci_rff"``; ``num_f``, ``num_f2`` of ``"rcit"``; ``K`` of
    ``"fastkci"``; ``null`` of ``"kci"``). Dense kernel tests count their ``n x n``
    float64 matrices: conditional KCI 5 (``Kx``, ``Ky``, ``Rz`` and two products), HSIC
    3; unconditional KCI is blocked (two strips of 64K entries); KCI's spectral null
    adds one matrix for its eigendecomposition (unconditionally: both kernels whole). Random-feature tests count their
    ``n x features`` matrices and their feature-by-feature covariances (``kci_rff``'s
    null covariance has ``n_features_xy ** 4`` entries). FastKCI is counted as
    conditional KCI on twice a partition's share of the rows (its partitions are
    uneven). Contingency tests are checked on their table once the categories are known
    (:func:`check_table_memory`); here they, and Fisher-z, count a few columns.
    """
    options = options or {}
    n = int(n_samples)
    row = 8 * n
    # the median heuristic's pairwise distances of <= 1,000 rows, filtered, then sorted
    median = 9 * min(n, 1000) ** 2
    if method == "kci":
        spectral = options.get("null") == "spectral"  # + the eigendecomposition's copy
        if conditional:
            return int((6.25 if spectral else 5.25) * row * n)  # measured: 5.01 n^2 doubles
        if spectral:  # both centred kernels whole, and a copy for the eigenvalues
            return int(3.25 * row * n)
        return 3 * 8 * 65536 + row * (2 * n_columns + 16)
    if method in ("hsic", "hsic_perm"):
        return int(3.25 * row * n)  # measured: 3.00-3.02 n^2 doubles
    if method == "kci_rff":
        from ._approx import DEFAULT_N_FEATURES, default_n_features_z

        d = _count(options, "n_features_xy", DEFAULT_N_FEATURES)
        d_z = _count(options, "n_features_z", default_n_features_z(n_samples, n_columns_z=3))
        # per-sample products (n x d^2) and their covariance (d^2 x d^2); z features: the
        # parts and their stacked copy (2 d_z), one more for the fit; the ridge's d_z x d_z
        # matrices (Gram, eigenvectors, inverse, squared operator and products)
        return (median + row * (2 * d * d + 3 * d_z + 4 * d + 2 * n_columns)
                + 8 * d**4 + (6 * 8 * d_z**2 if conditional else 0))
    if method == "hsic_rff":
        d = _count({"n": n_features}, "n", 100)
        return median + row * (3 * d + 2 * n_columns) + 3 * 8 * d * d
    if method == "rcit":
        d_z, d = _count(options, "num_f", 100), _count(options, "num_f2", 5)
        return median + row * (3 * (d_z + 2 * d) + 2 * d * d + 2 * n_columns) + 8 * (
            3 * d_z**2 + 2 * d**4)
    if method == "fastkci":
        part = min(n, -(-2 * n // _count(options, "K", 10)))
        return int(5.25 * 8 * part * part) + row * (2 * n_columns + 16)
    return row * (4 * n_columns + 4)


def _count(options, key, default):
    """A positive integer option, or ``default`` (the test itself refuses a bad value)."""
    value = options.get(key)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0:
        return int(value)
    return int(default)


def _advice(method, need):
    raise_it = (f"raise the limit with max_memory='{max(1, int(-(-need // 2**30)))}GiB' if "
                "the machine has it")
    features = {"kci_rff": "n_features_xy / n_features_z", "hsic_rff": "n_features",
                "rcit": "num_f / num_f2"}
    if method in features:
        return f"Use fewer random features ({features[method]}), test a subsample, or {raise_it}."
    return (f"Use method='auto' or 'kci_rff' (random-feature KCI, linear in n), test a "
            f"subsample, or {raise_it}.")


def check_test_memory(method, n_samples, conditional, max_memory=None, n_columns=1,
                      n_features=100, options=None):
    """Raise :class:`MemoryLimitError` when the estimate exceeds the limit; return both."""
    limit = parse_memory(max_memory)
    need = estimate_test_memory(method, n_samples, conditional, n_columns, n_features, options)
    if need is not None and need > limit:
        dense = method in ("hsic", "hsic_perm") or (method == "kci" and conditional)
        what = "conditional on z " if conditional and method == "kci" else ""
        kind = " of dense n x n kernel matrices" if dense else ""
        raise MemoryLimitError(
            f"method={method!r} {what}at n = {n_samples:,} would need about "
            f"{format_bytes(need)}{kind}, above max_memory = {format_bytes(limit)}. "
            + _advice(method, need)
        )
    return need, limit


def check_table_memory(n_cells, max_memory=None):
    """Refuse a contingency table of ``n_cells`` cells over the limit (a few float copies)."""
    limit = parse_memory(max_memory)
    need = 6 * 8 * int(n_cells)
    if need > limit:
        raise MemoryLimitError(
            f"The contingency table has {int(n_cells):,} cells (strata x categories of x x "
            f"categories of y) and would need about {format_bytes(need)}, above max_memory = "
            f"{format_bytes(limit)}. Merge rare categories, condition on fewer columns, or "
            + f"raise the limit with max_memory='{max(1, int(-(-need // 2**30)))}GiB'."
        )
