"""Memory estimates of the independence tests, checked before anything is allocated.

Exact kernel tests hold dense ``n x n`` matrices: conditional KCI at n = 20,000 needs
about 15 GiB. :func:`check_test_memory` compares the estimate with a limit
(:data:`DEFAULT_MAX_MEMORY` unless the caller passes ``max_memory``) and refuses with
:class:`MemoryLimitError`, naming the estimate, the limit and the ways out.
"""

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


def estimate_test_memory(method, n_samples, conditional, n_columns=1, n_features=100):
    """Approximate peak working memory in bytes of one test (inputs not counted).

    ``n_columns`` is the widest encoded block. Dense kernel tests count their
    ``n x n`` float64 matrices: conditional KCI 5 (``Kx``, ``Ky``, ``Rz`` and two
    products), HSIC 3; unconditional KCI is blocked (two strips of 64K entries).
    Random-feature tests count their ``n x features`` matrices. Tests run by
    causal-learn other than RCIT (FastKCI) and the classical tests return None or a
    linear estimate.
    """
    n = int(n_samples)
    row = 8 * n
    median = 16 * 2**20  # the median heuristic's pairwise distances of <= 1,000 rows
    if method == "kci":
        if conditional:
            return int(5.25 * row * n)  # measured: 5.01 n^2 doubles
        return 3 * 8 * 65536 + row * (2 * n_columns + 16)
    if method in ("hsic", "hsic_perm"):
        return int(3.25 * row * n)  # measured: 3.00-3.02 n^2 doubles
    if method == "kci_rff":
        from ._approx import DEFAULT_N_FEATURES, default_n_features_z

        d, d_z = DEFAULT_N_FEATURES, default_n_features_z(n_samples, n_columns_z=3)
        # z features: the parts and their stacked copy (2 d_z), one more for the fit
        return median + row * (2 * d * d + 3 * d_z + 4 * d + 2 * n_columns)
    if method in ("hsic_rff", "rcit"):
        return median + row * (3 * n_features + 2 * n_columns)
    if method == "fastkci":
        return None
    return row * (4 * n_columns + 4)


def check_test_memory(method, n_samples, conditional, max_memory=None, n_columns=1):
    """Raise :class:`MemoryLimitError` when the estimate exceeds the limit; return both."""
    limit = parse_memory(max_memory)
    need = estimate_test_memory(method, n_samples, conditional, n_columns)
    if need is not None and need > limit:
        what = "conditional on z " if conditional and method == "kci" else ""
        raise MemoryLimitError(
            f"method={method!r} {what}at n = {n_samples:,} would need about "
            f"{format_bytes(need)} of dense n x n kernel matrices, above max_memory = "
            f"{format_bytes(limit)}. Use method='auto' or 'kci_rff' (random-feature KCI, "
            f"linear in n), test a subsample, or raise the limit with "
            f"max_memory='{max(1, int(-(-need // 2**30)))}GiB' if the machine has it."
        )
    return need, limit
