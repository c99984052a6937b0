"""``independence_test``: one entry point for every (conditional) independence test."""

import logging
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.utils import check_random_state

from ._approx import rff_kci_test, warn_conditional_random_features
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
from ._groups import group_level
from ._kernel import hsic_gamma_test, hsic_permutation_test, hsic_rff_test, kci_test
from ._memory import check_test_memory, estimate_test_memory, parse_memory

logger = logging.getLogger(__name__)

#: Above this many samples ``method="auto"`` leaves the O(n^2)-memory, O(n^3)-time
#: conditional KCI for the random-feature KCI (``"kci_rff"``, linear in n).
AUTO_KCI_MAX_SAMPLES = 1000
#: The same for unconditional KCI, whose exact path is matrix-free (O(n) memory,
#: O(n^2) time: about 0.3 s at 5,000 samples).
AUTO_KCI_MAX_SAMPLES_UNCONDITIONAL = 5000
#: Given z above AUTO_KCI_MAX_SAMPLES rows, ``independence_test(method="auto")`` runs the
#: exact conditional KCI on a seeded random subsample of this many rows: ``kci_rff`` given
#: z is not calibrated at large n when z acts strongly and nonlinearly (measured: 0.17 of
#: null sets rejected at n = 3,000 with x, y = sin(z1) + z2 z3 + noise; exact KCI on
#: 1,000 rows 0.06, see doc/user_guide/independence.rst).
AUTO_CONDITIONAL_SUBSAMPLE = AUTO_KCI_MAX_SAMPLES

METHODS = (
    "auto",
    "kci",
    "kci_rff",
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
_DENSE_KERNEL = {"kci", "hsic", "hsic_perm"}  # "kci": when conditioning
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


def choose_method(method, discrete, n_samples, conditional, max_memory=None, subsample=False):
    """The test ``method="auto"`` stands for, and why: ``(method, reason)``.

    All blocks discrete -> ``"chi2"``. Otherwise exact ``"kci"`` up to
    :data:`AUTO_KCI_MAX_SAMPLES_UNCONDITIONAL` samples (unconditional) or
    :data:`AUTO_KCI_MAX_SAMPLES` (conditional) while its memory estimate stays under
    ``max_memory``; above, the random-feature KCI ``"kci_rff"`` (linear in n), except
    given z with ``subsample=True`` (what :func:`independence_test` does): exact
    ``"kci"`` on a random subsample of :data:`AUTO_CONDITIONAL_SUBSAMPLE` rows.
    An explicit method is returned unchanged (reason ``""``).
    """
    if method != "auto":
        return method, ""
    if discrete:
        return "chi2", "every block is discrete"
    cap = AUTO_KCI_MAX_SAMPLES if conditional else AUTO_KCI_MAX_SAMPLES_UNCONDITIONAL
    limit = parse_memory(max_memory)
    kind = "conditional" if conditional else "unconditional"
    if n_samples > cap:
        sub = AUTO_CONDITIONAL_SUBSAMPLE
        if conditional and subsample and estimate_test_memory("kci", sub, True) <= limit:
            return "kci", (
                f"n = {n_samples:,} > {cap:,} given z: the exact conditional KCI on a random "
                f"subsample of {sub:,} rows (random_state); the random-feature KCI given z "
                "can over-reject at large n when z acts strongly and nonlinearly"
            )
        return "kci_rff", (
            f"n = {n_samples:,} > {cap:,}: the exact {kind} KCI would be slow; using the "
            "random-feature KCI ('kci_rff'), linear in n"
        )
    need = estimate_test_memory("kci", n_samples, conditional)
    if need > limit:
        return "kci_rff", (
            f"the exact {kind} KCI would need about {need / 2**30:.1f} GiB, above "
            f"max_memory = {limit / 2**30:.1f} GiB; using the random-feature KCI ('kci_rff')"
        )
    return "kci", f"n = {n_samples:,} <= {cap:,}: the exact {kind} KCI"


def auto_subsample(method, chosen, n_samples, conditional):
    """Rows of the random subsample ``method="auto"`` runs ``chosen`` on, or None."""
    if (
        method == "auto"
        and chosen == "kci"
        and conditional
        and n_samples > AUTO_KCI_MAX_SAMPLES
    ):
        return AUTO_CONDITIONAL_SUBSAMPLE
    return None


def resolve_method(
    method, discrete, n_samples, conditional, max_memory=None, stacklevel=2, subsample=False
):
    """The test ``method="auto"`` stands for (see :func:`choose_method`), and say so.

    The choice is logged (``logging``, INFO, logger ``skpersona.independence._test``);
    a switch to the approximate ``"kci_rff"`` or to a subsample also warns
    (``UserWarning``).
    """
    chosen, reason = choose_method(
        method, discrete, n_samples, conditional, max_memory, subsample=subsample
    )
    if method == "auto":
        logger.info("method='auto' -> %r (%s)", chosen, reason)
        if chosen == "kci_rff":
            warnings.warn(
                f"method='auto' chose 'kci_rff': {reason}. Pass method='kci' for the exact "
                "test.",
                UserWarning,
                stacklevel=stacklevel + 1,
            )
        elif auto_subsample(method, chosen, n_samples, conditional):
            warnings.warn(
                f"method='auto' chose 'kci' on a subsample: {reason}. Pass "
                "method='kci_rff' to test every row (approximate given z), or method='kci' "
                "for the exact test on every row (O(n^2) memory, O(n^3) time).",
                UserWarning,
                stacklevel=stacklevel + 1,
            )
    return chosen


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
    max_memory=None,
    groups=None,
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
        defaults and p-values; unconditional: matrix-free, O(n) memory),
        ``"kci_rff"`` (random-feature KCI, RIT / RCoT-style: linear in n, gamma null),
        ``"rcit"`` (randomised KCI, causal-learn's RIT / RCIT),
        ``"fastkci"`` (causal-learn's FastKCI), ``"fisherz"`` (partial correlation),
        ``"hsic"`` (HSIC, gamma approximation), ``"hsic_perm"`` (HSIC, permutation
        null), ``"hsic_rff"`` (HSIC on random Fourier features, linear in n),
        ``"chi2"`` (alias ``"chisq"``, causal-learn's name) and ``"gsq"``
        (chi-square and G-square, discrete data; a table with no degrees of freedom
        gives ``pvalue=1`` as in causal-learn, a sparse table warns), or
        ``"auto"``: chi-square when every block is discrete, otherwise exact KCI up to
        5,000 samples and within ``max_memory``, ``"kci_rff"`` above; given ``z``, exact
        KCI up to 1,000 samples (O(n^2) memory, O(n^3) time) and above on a random
        subsample of 1,000 rows drawn with ``random_state`` (``details["subsample"]``;
        the random-feature KCI given ``z`` can over-reject at large n when ``z`` acts
        strongly and nonlinearly). The result's ``method`` and ``n`` say what ran, the
        choice is logged and a switch to ``"kci_rff"`` or to a subsample warns. The HSIC
        variants are unconditional only.
    n_permutations : int, default=1000
        Permutations of ``"hsic_perm"``.
    n_features : int, default=100
        Random Fourier features per variable of ``"hsic_rff"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the randomised tests (``kci_rff``, ``rcit``, ``fastkci``, ``hsic_perm``,
        ``hsic_rff``, the median heuristic's subsample above 1,000 rows, and ``"auto"``'s
        subsample given ``z``).
    max_memory : int, float, str or None, default=None
        Ceiling for the working memory of one test, in bytes or as text (``"8GB"``,
        ``"512MiB"``); None means 2 GiB. Every test estimates its memory first and
        refuses above it: the dense-kernel tests (conditional ``kci``, ``hsic``,
        ``hsic_perm``), the random-feature ones (``kci_rff``'s null covariance grows
        as ``n_features_xy ** 4``, ``hsic_rff``'s as ``n_features ** 2``), ``fastkci``
        and the contingency table of ``chi2`` / ``gsq``. ``"auto"`` switches from the
        exact KCI to ``"kci_rff"`` instead, when that fits.
    groups : array-like of shape (n_samples,) or None, default=None
        A group label per row when rows are not independent samples (the clips of one
        source video, the answers of one person). The test then runs on one row per
        group: a column constant within every group keeps its value (categories stay
        categories), a numeric column that varies within groups becomes its group mean
        and a categorical one the shares of its categories (all but the first). Valid
        when groups are independent of each other, whatever the dependence inside a
        group; ``n`` and ``method="auto"``'s choice then count groups, and
        ``details["groups"]`` says how many rows and groups, and which columns were
        averaged. Power cost: the test has as many samples as groups, and it sees only
        dependence that shows in the group means (a within-group relation, such as one
        clip's score against the same clip's prediction error, is lost). For a
        group-level attribute (a person's gender) the clip-level test's apparent extra
        power is the part that was never there. A conditioning set ``z`` must be
        constant within groups, otherwise the test is refused (``ValueError``). None
        treats every row as an independent sample.
    **options
        Extra options: ``approx``, ``num_f``, ``num_f2`` for ``rcit``; ``K``, ``J``,
        ``alpha``, ``epsilon``, ``use_gp`` for ``fastkci``; for ``kci``: ``null``
        (``"gamma"``, causal-learn's default two-moment fit, or ``"spectral"``, the
        weighted chi-square law of causal-learn's ``approx=False`` with a saddlepoint
        tail, better calibrated at small levels on heavy-tailed data, at O(n^3) cost;
        see :func:`~skpersona.independence._kernel.kci_test`) and, given ``z``,
        ``epsilon``;
        ``n_features_xy`` (default 10) and ``n_features_z`` (default 100) for
        ``kci_rff``.

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
    MemoryLimitError
        (a ``ValueError``) When a dense-kernel test would need more than
        ``max_memory``; raised before allocating.

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

    Rows in groups (three clips per person, the attribute a person's):

    >>> person = np.repeat(np.arange(100), 3)
    >>> attribute = rng.integers(0, 2, size=100)[person]
    >>> score = rng.normal(size=100)[person] + 0.5 * rng.normal(size=300)
    >>> res = independence_test(attribute, score, method="fisherz", groups=person)
    >>> res.n, res.details["groups"]["n_rows"]
    (100, 300)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}.")
    if groups is not None:  # one row per group, then the test as usual
        xg, yg, zg, summary = group_level(x, y, z, groups)
        result = independence_test(
            xg, yg, zg, method, n_permutations=n_permutations, n_features=n_features,
            random_state=random_state, max_memory=max_memory, **options,
        )
        return replace(result, details={**result.details, "groups": summary})
    method = ALIASES.get(method, method)
    conditional = z is not None
    mats = _plain_continuous(x, y, z)
    if mats is not None:
        blocks, n, discrete = None, mats["x"].shape[0], False
    else:
        blocks = {"x": as_block(x, "x"), "y": as_block(y, "y")}
        if z is not None:
            blocks["z"] = as_block(z, "z")
        n = check_blocks(blocks)
        discrete = all(block_is_discrete(b, MAX_AUTO_CATEGORIES) for b in blocks.values())
    requested = method
    method = resolve_method(
        method, discrete, n, conditional, max_memory, stacklevel=2, subsample=True
    )
    check_method(method, conditional, options)
    rng = check_random_state(random_state)
    n_total, sub = n, auto_subsample(requested, method, n, conditional)
    if sub is not None:  # seeded rows; the same rows of every block
        rows = np.sort(rng.choice(n, size=sub, replace=False))
        if mats is not None:
            mats = {name: m[rows] for name, m in mats.items()}
        else:
            blocks = {name: b.iloc[rows].reset_index(drop=True) for name, b in blocks.items()}
        n = sub
    widest = max(m.shape[1] for m in (mats or blocks).values())
    check_memory(method, n, conditional, stacklevel=2, max_memory=max_memory, n_columns=widest,
                 n_features=n_features, options=options)

    if method in _DISCRETE:
        if blocks is None:  # continuous data: to_codes says why a contingency test cannot run
            blocks = {k: as_block(v, k) for k, v in (("x", x), ("y", y), ("z", z)) if v is not None}
        codes = {name: to_codes(block, name) for name, block in blocks.items()}
        stat, pvalue, details = contingency_test(
            codes["x"], codes["y"], codes.get("z"), statistic=method, max_memory=max_memory
        )
    else:
        if mats is None:
            mats = {
                name: rescale_extreme(to_continuous(block, name, drop_first=(method == "fisherz")))
                for name, block in blocks.items()
            }
        stat, pvalue, details = run_continuous(
            method, mats["x"], mats["y"], mats.get("z"), rng, n_permutations, n_features, options
        )
    if requested == "auto":
        details = {**details, "method_requested": "auto"}
        if sub is not None:
            details["subsample"] = {"rows": sub, "of": n_total}
    return make_result(stat, pvalue, method, n, conditional, details)


def _plain_continuous(x, y, z):
    """Float matrices of plain float ndarrays, skipping the pandas round trip, or None.

    For 1-D / 2-D float arrays with finite, non-constant and not all-integer columns
    and at least 5 aligned rows, this is what :func:`as_block`, :func:`check_blocks`
    and :func:`to_continuous` give (continuous blocks, no encoding), in microseconds.
    Any other input returns None, and the general path reads it and raises its errors.
    """
    mats = {}
    for name, a in (("x", x), ("y", y), ("z", z)):
        if a is None and name == "z":
            continue
        if type(a) is not np.ndarray or a.dtype.kind != "f" or a.ndim not in (1, 2):
            return None
        mats[name] = a[:, None] if a.ndim == 1 else a
    if len({m.shape[0] for m in mats.values()}) != 1 or mats["x"].shape[0] < 5:
        return None
    for name, m in mats.items():
        if m.shape[1] == 0 or not np.isfinite(m).all():
            return None
        if (m.min(axis=0) == m.max(axis=0)).any() or (m == np.round(m)).all(axis=0).any():
            return None  # constant, or integer-valued (maybe discrete) columns
        mats[name] = rescale_extreme(np.ascontiguousarray(m, dtype=float))
    return mats


def check_method(method, conditional, options):
    """Refuse a conditioning set for an unconditional test, and options it does not take."""
    if conditional and method in _UNCONDITIONAL_ONLY:
        raise ValueError(
            f"method={method!r} is unconditional; pass z=None, or use 'kci', 'kci_rff', "
            "'rcit', 'fastkci', 'fisherz', 'chi2' or 'gsq' to condition on z."
        )
    options = {k: v for k, v in options.items() if k != "max_memory"}  # every test takes it
    if options and method not in {"rcit", "fastkci", "kci_rff", "kci"}:
        raise TypeError(
            f"Unexpected option(s) {sorted(options)} for method={method!r}; extra options "
            "apply to 'rcit', 'fastkci', 'kci_rff' and 'kci' only."
        )
    if method == "kci":
        allowed = {"null"} | ({"epsilon"} if conditional else set())
        unknown = set(options) - allowed
        if unknown:
            raise TypeError(
                f"Unexpected option(s) {sorted(unknown)} for method='kci'"
                f"{'' if conditional else ' without z'}; allowed: {sorted(allowed)}."
            )


def check_memory(method, n, conditional, stacklevel=2, max_memory=None, n_columns=1,
                 n_features=100, options=None):
    """Refuse a test over the memory limit; warn for a dense kernel at a large n under it.

    Raises :class:`~skpersona.independence.MemoryLimitError` (a ``ValueError``) before
    anything is allocated when the estimate of any test (random-feature ones included,
    see :func:`~skpersona.independence._memory.estimate_test_memory`) exceeds
    ``max_memory`` (default :data:`~skpersona.independence._memory.DEFAULT_MAX_MEMORY`).
    """
    need, _ = check_test_memory(method, n, conditional, max_memory, n_columns, n_features,
                                options)
    spectral = (options or {}).get("null") == "spectral"
    dense = method in ("hsic", "hsic_perm") or (method == "kci" and (conditional or spectral))
    if not dense:
        return
    if n > DENSE_KERNEL_WARN_SAMPLES:
        warnings.warn(
            f"method={method!r} builds dense {n} x {n} kernel matrices (about "
            f"{need / 2**30:.1f} GiB{' and O(n^3) time' if conditional else ''}); "
            "method='kci_rff', 'rcit' or 'hsic_rff' scale linearly in n.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def run_continuous(method, xm, ym, zm, rng, n_permutations, n_features, options):
    """Run a test on encoded float matrices; returns ``(statistic, pvalue, details)``."""
    options = {k: v for k, v in options.items() if k != "max_memory"}  # checked before
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
    if method == "kci_rff":
        unknown = set(options) - {"n_features_xy", "n_features_z"}
        if unknown:
            raise TypeError(
                f"Unknown option(s) {sorted(unknown)} for kci_rff; allowed: "
                "['n_features_xy', 'n_features_z']."
            )
        if zm is not None:
            warn_conditional_random_features(method, xm.shape[0])
        return rff_kci_test(
            xm,
            ym,
            zm,
            rng=rng,
            n_features=options.get("n_features_xy"),
            n_features_z=options.get("n_features_z"),
        )
    seed = int(rng.randint(np.iinfo(np.int32).max))
    if method == "rcit" and zm is not None:
        warn_conditional_random_features(method, xm.shape[0])
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
