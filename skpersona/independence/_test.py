"""``independence_test``: one entry point for every (conditional) independence test."""

import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import check_random_state

from ._classical import contingency_test, fisherz_test
from ._encoding import (
    MAX_AUTO_CATEGORIES,
    as_block,
    block_is_discrete,
    check_blocks,
    rescale_extreme,
    to_codes,
    to_continuous,
)
from ._kernel import hsic_gamma_test, hsic_permutation_test, hsic_rff_test, kci_test

#: Above this many samples ``method="auto"`` leaves the O(n^2)-memory, O(n^3)-time
#: KCI for RCIT (random Fourier features, linear in n).
AUTO_KCI_MAX_SAMPLES = 1000

METHODS = (
    "auto",
    "kci",
    "rcit",
    "fastkci",
    "fisherz",
    "hsic",
    "hsic_perm",
    "hsic_rff",
    "chi2",
    "chisq",
    "gsq",
)
#: Other names accepted for a method (causal-learn calls chi-square "chisq").
ALIASES = {"chisq": "chi2"}
_UNCONDITIONAL_ONLY = {"hsic", "hsic_perm", "hsic_rff"}
_DENSE_KERNEL = {"kci", "hsic", "hsic_perm"}
#: Above this many samples the dense-kernel tests warn about their memory use.
DENSE_KERNEL_WARN_SAMPLES = 5000
_DISCRETE = {"chi2", "gsq"}

# causal-learn's RCIT and FastKCI draw from numpy's global RandomState (and FastKCI
# runs joblib workers). We seed the global state under a lock, restore it afterwards
# and run FastKCI's inner joblib calls sequentially, so results are reproducible.
_GLOBAL_RNG_LOCK = threading.Lock()


@contextmanager
def _seeded_global_numpy(seed):
    with _GLOBAL_RNG_LOCK:
        state = np.random.get_state()  # noqa: NPY002
        np.random.seed(seed)  # noqa: NPY002
        try:
            yield
        finally:
            np.random.set_state(state)  # noqa: NPY002


@dataclass(frozen=True)
class IndependenceTestResult:
    """Outcome of :func:`independence_test`.

    Attributes
    ----------
    statistic : float
        The test statistic (larger means more evidence of dependence).
    pvalue : float
        p-value under the null hypothesis of (conditional) independence.
    method : str
        The test that ran (``"auto"`` resolved).
    n : int
        Number of samples used.
    conditional : bool
        Whether the test conditioned on ``z``.
    details : dict
        Method-specific extras (kernel widths, degrees of freedom, ...).
    """

    statistic: float
    pvalue: float
    method: str
    n: int
    conditional: bool = False
    details: dict = field(default_factory=dict, compare=False)

    def reject(self, alpha=0.05):
        """Whether independence is rejected at level ``alpha`` (``pvalue < alpha``)."""
        return bool(self.pvalue < alpha)


def resolve_method(method, discrete, n_samples, conditional):
    """The test ``method="auto"`` stands for, given the data.

    All blocks discrete -> ``"chi2"``; otherwise ``"kci"`` up to
    :data:`AUTO_KCI_MAX_SAMPLES` samples and ``"rcit"`` above.
    """
    if method != "auto":
        return method
    if discrete:
        return "chi2"
    return "kci" if n_samples <= AUTO_KCI_MAX_SAMPLES else "rcit"


def _causallearn_rcit(x, y, z, seed, options):
    from causallearn.utils.RCIT.RCIT import RCIT, RIT

    allowed = {"approx", "num_f", "num_f2"} if z is not None else {"approx"}
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"Unknown option(s) {sorted(unknown)} for rcit; allowed: {sorted(allowed)}.")
    with _seeded_global_numpy(seed):
        if z is None:
            pvalue, stat = RIT(**options).compute_pvalue(x, y)
        else:
            pvalue, stat = RCIT(**options).compute_pvalue(x, y, z)
    return float(stat), float(pvalue), dict(options)


def _causallearn_fastkci(x, y, z, seed, options):
    from causallearn.utils.FastKCI.FastKCI import FastKCI_CInd, FastKCI_UInd
    from joblib import parallel_config

    allowed = {"K", "J", "alpha"} | ({"epsilon", "use_gp"} if z is not None else set())
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(
            f"Unknown option(s) {sorted(unknown)} for fastkci; allowed: {sorted(allowed)}."
        )
    with _seeded_global_numpy(seed), parallel_config(backend="sequential"):
        if z is None:
            pvalue, stat = FastKCI_UInd(**options).compute_pvalue(x, y)
        else:
            pvalue, stat = FastKCI_CInd(**options).compute_pvalue(x, y, z)
    return float(stat), float(pvalue), dict(options)


def independence_test(
    x,
    y,
    z=None,
    method="auto",
    *,
    n_permutations=1000,
    n_features=100,
    random_state=None,
    **options,
):
    """Test whether ``x`` and ``y`` are independent (given ``z``).

    Parameters
    ----------
    x, y : array-like of shape (n_samples,) or (n_samples, n_columns)
        The two variables (blocks of one or more columns). Lists, arrays, Series and
        DataFrames are accepted; strings, booleans and categoricals are encoded
        (one-hot for kernel and Fisher-z tests, joint category codes for
        contingency tests). Text columns that hold numbers are parsed as numbers
        (stray unparseable cells become missing, with a warning); a categorical with
        more categories than half its rows (an ID or free text) is refused.
    z : array-like of shape (n_samples, n_columns) or None, default=None
        Conditioning variables.
    method : str, default="auto"
        ``"kci"`` (kernel conditional independence, Zhang et al. 2011; causal-learn's
        defaults, vectorised), ``"rcit"`` (randomised KCI, causal-learn's RIT / RCIT),
        ``"fastkci"`` (causal-learn's FastKCI), ``"fisherz"`` (partial correlation),
        ``"hsic"`` (HSIC, gamma approximation), ``"hsic_perm"`` (HSIC, permutation
        null), ``"hsic_rff"`` (HSIC on random Fourier features, linear in n),
        ``"chi2"`` (alias ``"chisq"``, causal-learn's name) and ``"gsq"``
        (chi-square and G-square, discrete data; a table with no degrees of freedom
        gives ``pvalue=1`` as in causal-learn, a sparse table warns), or
        ``"auto"``: chi-square when every block is discrete, otherwise KCI up to
        1,000 samples and RCIT above (KCI costs O(n^2) memory and O(n^3) time when
        conditioning). The HSIC variants are unconditional only.
    n_permutations : int, default=1000
        Permutations of ``"hsic_perm"``.
    n_features : int, default=100
        Random Fourier features per variable of ``"hsic_rff"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the randomised tests (``rcit``, ``fastkci``, ``hsic_perm``,
        ``hsic_rff``, and the median heuristic's subsample above 1,000 rows).
    **options
        Extra options for causal-learn's tests: ``approx``, ``num_f``, ``num_f2``
        for ``rcit``; ``K``, ``J``, ``alpha``, ``epsilon``, ``use_gp`` for
        ``fastkci``; ``epsilon`` for conditional ``kci``.

    Returns
    -------
    IndependenceTestResult
        With ``statistic``, ``pvalue``, ``method``, ``n``, ``conditional`` and
        ``details``.

    Raises
    ------
    ValueError
        On missing or infinite values, constant columns, identifier-like
        categoricals, mismatched lengths, fewer than 5 samples, continuous data given to a contingency test, or a
        conditioning set given to an unconditional test.

    Examples
    --------
    >>> import numpy as np
    >>> from skpersona.independence import independence_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=200)
    >>> res = independence_test(x, x**2 + 0.1 * rng.normal(size=200), method="kci")
    >>> res.method, res.n, res.pvalue < 0.01
    ('kci', 200, True)
    >>> independence_test(x, rng.normal(size=200), method="hsic").pvalue > 0.01
    True
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}.")
    method = ALIASES.get(method, method)
    blocks = {"x": as_block(x, "x"), "y": as_block(y, "y")}
    if z is not None:
        blocks["z"] = as_block(z, "z")
    n = check_blocks(blocks)
    conditional = z is not None
    discrete = all(block_is_discrete(b, MAX_AUTO_CATEGORIES) for b in blocks.values())
    method = resolve_method(method, discrete, n, conditional)
    check_method(method, conditional, options)
    rng = check_random_state(random_state)
    warn_dense_kernel(method, n, conditional, stacklevel=2)

    if method in _DISCRETE:
        codes = {name: to_codes(block, name) for name, block in blocks.items()}
        stat, pvalue, details = contingency_test(
            codes["x"], codes["y"], codes.get("z"), statistic=method
        )
    else:
        mats = {
            name: rescale_extreme(to_continuous(block, name, drop_first=(method == "fisherz")))
            for name, block in blocks.items()
        }
        stat, pvalue, details = run_continuous(
            method, mats["x"], mats["y"], mats.get("z"), rng, n_permutations, n_features, options
        )
    return make_result(stat, pvalue, method, n, conditional, details)


def check_method(method, conditional, options):
    """Refuse a conditioning set for an unconditional test, and options it does not take."""
    if conditional and method in _UNCONDITIONAL_ONLY:
        raise ValueError(
            f"method={method!r} is unconditional; pass z=None, or use 'kci', 'rcit', "
            "'fastkci', 'fisherz', 'chi2' or 'gsq' to condition on z."
        )
    allowed_options = {"rcit", "fastkci"} | ({"kci"} if conditional else set())
    if options and method not in allowed_options:
        raise TypeError(
            f"Unexpected option(s) {sorted(options)} for method={method!r}; extra options "
            "apply to 'rcit', 'fastkci' and conditional 'kci' only."
        )


def warn_dense_kernel(method, n, conditional, stacklevel=2):
    """Warn before a dense-kernel test builds n x n matrices for a large n."""
    if method in _DENSE_KERNEL and n > DENSE_KERNEL_WARN_SAMPLES:
        gib = (4 if conditional else 3) * n * n * 8 / 2**30
        warnings.warn(
            f"method={method!r} builds dense {n} x {n} kernel matrices (about {gib:.1f} GiB"
            f"{' and O(n^3) time' if conditional else ''}); method='rcit' or 'hsic_rff' "
            "scale linearly in n.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def run_continuous(method, xm, ym, zm, rng, n_permutations, n_features, options):
    """Run a test on encoded float matrices; returns ``(statistic, pvalue, details)``."""
    if method == "kci":
        return kci_test(xm, ym, zm, **options)
    if method == "fisherz":
        return fisherz_test(xm, ym, zm)
    if method == "hsic":
        return hsic_gamma_test(xm, ym, rng)
    if method == "hsic_perm":
        return hsic_permutation_test(xm, ym, rng, n_permutations)
    if method == "hsic_rff":
        return hsic_rff_test(xm, ym, rng, n_features)
    seed = int(rng.randint(np.iinfo(np.int32).max))
    runner = _causallearn_rcit if method == "rcit" else _causallearn_fastkci
    return runner(xm, ym, zm, seed, options)


def make_result(stat, pvalue, method, n, conditional, details):
    """An :class:`IndependenceTestResult`, refusing non-finite p-values."""
    if not np.isfinite(pvalue):
        raise ValueError(f"The {method} test returned a non-finite p-value ({pvalue}).")
    return IndependenceTestResult(
        statistic=float(stat),
        pvalue=float(min(max(pvalue, 0.0), 1.0)),
        method=method,
        n=int(n),
        conditional=conditional,
        details=details,
    )
