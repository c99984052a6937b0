"""``DependencyScreen``: PersonaX Level I, every pair through several tests.

The estimator: its parameters, input checks, ``fit`` and the outputs. The plan of
which tests each pair gets is in :mod:`._screen_plan`, the work on one pair in
:mod:`._screen_pairs`, the combination into decisions and the graph in
:mod:`._screen_decision`.
"""

import itertools
import numbers
import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._encoding import MAX_CATEGORY_SHARE, coerce_numeric, column_is_discrete
from ._groups import check_groups, constant_within_groups
from ._multitest import adjust_pvalues
from ._ratings import aggregate_ratings
from ._screen_decision import adjacency_matrix, agreement_table, prior_mask
from ._screen_decision import pvalue_matrix as _pvalue_matrix
from ._screen_pairs import _RESULT_COLUMNS, _run_chunk
from ._screen_plan import check_methods, check_plan_memory, plan_pairs
from ._tester import IndependenceTester

#: Options the screen gives a test unless ``test_options`` names them (see its docstring).
SCREEN_TEST_DEFAULTS = {"kci": {"null": "spectral"}}


def _with_screen_defaults(test_options):
    """``test_options`` over :data:`SCREEN_TEST_DEFAULTS` (the user's values win)."""
    options = dict(test_options or {})
    for method, defaults in SCREEN_TEST_DEFAULTS.items():
        given = options.get(method)
        if given is None or isinstance(given, dict):  # anything else: the test says why
            options[method] = {**defaults, **(given or {})}
    return options


class DependencyScreen(BaseEstimator):
    """Screen every pair of variables with several independence tests side by side.

    PersonaX Level I: on a table of mixed variables (trait scores, demographics,
    physical and geographic attributes), each pair (optionally given a conditioning
    set) is tested with several methods. The methods' p-values of a pair are combined
    into one p-value by the Cauchy combination test (:func:`cauchy_combination`,
    valid whatever the dependence between the tests), and the combined p-values are
    corrected for multiple testing once, over all pairs (Benjamini-Hochberg by
    default): a pair is dependent where its corrected combined p-value is below
    ``alpha``, so the false discovery rate of the dependency graph is controlled at
    ``alpha`` as far as each test's p-values are valid (the combination inherits a
    test's excess: ``benchmarks/bench_independence.py``, ``screen_fdr`` and its
    confirmation ``screen_fdr_confirm``). Each method's own p-values and decisions
    stay side by side (``pvalues_``, ``agreement_``). Tests that cannot run on a pair (too few rows after dropping
    missing values, a constant column, continuous data for a contingency test, ...)
    are recorded as failed with their reason; they never count as a dependence or
    an independence. Text columns holding numbers are tested as numbers (stray cells
    become missing values, with a warning); categoricals with about as many
    categories as rows (identifiers, free text) are refused (their pairs fail).
    Rows that come in groups (several clips of one person) go to ``fit`` with their
    ``groups``: every test then runs on one row per group.

    Parameters
    ----------
    methods : "auto", list of str or dict, default="auto"
        Tests to run on every pair. ``"auto"``: for a pair whose variables (and
        conditioning set) are all discrete, ``chi2`` and ``gsq``; otherwise
        ``kci``, ``rcit`` and ``hsic`` up to 1,000 rows and ``kci_rff``, ``rcit`` and
        ``hsic_rff`` above; given a conditioning set, ``kci`` and ``rcit``, above
        1,000 rows on a seeded random subsample of 1,000 rows (as
        ``independence_test(method="auto")``: the random-feature tests given z
        over-reject at large n; the ``n`` column and ``reason`` say so). A list applies the same tests to every pair
        (inapplicable ones are reported as failed; ``"auto"`` in a list lets each
        test choose, see ``method_used``). A dict
        ``{"continuous": [...], "discrete": [...]}`` chooses by pair type. Before any
        test runs, dense-kernel tests (conditional ``kci``, ``hsic``, ``hsic_perm``)
        whose memory estimate exceeds their limit (2 GiB, or
        ``test_options={"kci": {"max_memory": "16GB"}}``) raise
        :class:`~skpersona.independence.MemoryLimitError`.
    alpha : float, default=0.05
        Level at which an adjusted p-value means "dependent".
    correction : {"bh", "holm", "none"}, default="bh"
        Multiple-testing correction, applied once over the combined p-values of all
        pairs and conditioning sets (``agreement_["pvalue_adjusted"]``); also per
        method over all pairs, for each method's own decisions
        (``pvalues_["pvalue_adjusted"]``).
    conditioning : list of str, list of lists of str, or None, default=None
        One conditioning set (a list of columns) for every pair, or several sets
        (a list of lists; ``[]`` stands for the marginal test), each tested side by
        side. Conditioning columns are not screened themselves.
    pairs : list of (str, str) or None, default=None
        Pairs to test; all pairs of the screened variables when None.
    consensus : {"cauchy", "majority", "all", "any"}, default="cauchy"
        How the methods combine. ``"cauchy"``: a pair is dependent (given a
        conditioning set) when the Cauchy combination of its successful tests'
        p-values, corrected over all pairs, is below ``alpha`` (error rate
        controlled). The vote rules decide on each method's own corrected decision:
        at least half (``"majority"``; a tie keeps the edge), all, or any of the
        successful tests reject; nothing controls the error rate of a vote
        (``"majority"`` with two tests is ``"any"``: measured at about twice the
        nominal false discovery rate). With several conditioning sets, a pair is an edge of ``adjacency_`` when it is dependent
        under every set that reached a decision: independence given any set removes
        the edge, as in constraint-based causal discovery.
    aggregate : dict of str -> list of str, or None, default=None
        Rating columns to aggregate PersonaX style before screening (median after
        dropping 0 = "insufficient information", see :func:`aggregate_ratings`);
        the aggregated columns replace their sources.
    missing : {"pairwise", "error"}, default="pairwise"
        Drop rows with missing values pair by pair (the ``n`` column records how many
        remain), or raise on any missing value.
    max_categories : int, default=10
        Integer-valued numeric columns with at most this many values count as
        discrete (strings, booleans and categoricals always do).
    test_options : dict of str -> dict or None, default=None
        Extra keyword arguments per method for :func:`independence_test`, e.g.
        ``{"hsic_perm": {"n_permutations": 500}}``. The screen's ``kci`` runs with
        ``null="spectral"`` (the weighted chi-square law of the kernels' eigenvalues,
        with a saddlepoint tail) unless ``{"kci": {"null": "gamma"}}`` asks for causal-learn's
        gamma fit: on heavy-tailed and skewed variables the gamma fit rejects two to
        four times too often at the levels 0.001-0.01 where Benjamini-Hochberg decides
        (``python benchmarks/bench_independence.py --only kci_tail``), the spectral
        law keeps them; it costs one eigendecomposition per variable (per pair given
        a conditioning set).
    n_jobs : int or None, default=None
        Pairs tested in parallel through joblib.
    random_state : int, RandomState instance or None, default=None
        Seeds the randomised tests.
    verbose : bool, default=False
        Show a progress bar over pairs.

    Attributes
    ----------
    pvalues_ : DataFrame
        One row per (pair, method): ``x``, ``y``, ``conditioning``, ``method``,
        ``method_used`` (the test that ran: ``method`` with ``"auto"`` resolved), ``n``,
        ``statistic``, ``pvalue``, ``pvalue_adjusted``, ``dependent`` (nullable
        boolean, missing for failed tests), ``status`` (``"ok"`` or ``"failed"``),
        ``reason`` (why a test failed, or the caveats of one that ran, e.g. a
        contingency table too sparse for the chi-square approximation).
    agreement_ : DataFrame
        One row per pair and conditioning set: ``x``, ``y``, ``conditioning``,
        ``n_methods``, ``n_ok``, ``n_dependent`` (tests whose own corrected p-value
        is below ``alpha``), ``pvalue`` (the Cauchy combination of the successful
        tests' raw p-values), ``pvalue_adjusted`` (``pvalue`` corrected over all
        rows), ``decision`` (``"dependent"``, ``"independent"`` or ``"failed"``),
        ``agreement`` (the share of successful tests whose own decision agrees with
        it) and one ``pvalue_<method>`` column per method (raw p-values; NaN where
        the method failed or did not run on the pair).
    adjacency_ : DataFrame
        Square, symmetric, indexed by the screened variables: 1.0 for a dependency,
        0.0 for none, NaN where every test of the pair failed or the pair was not
        tested; the diagonal is 0.
    variables_ : list of str
        The screened variables.
    discrete_ : dict of str -> bool
        Which variables were treated as discrete.
    n_groups_ : int or None
        Distinct groups given to ``fit`` (None without ``groups``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skpersona.independence import DependencyScreen
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=200)
    >>> df = pd.DataFrame({"a": a, "b": np.sin(2 * a) + 0.2 * rng.normal(size=200),
    ...                    "c": rng.normal(size=200)})
    >>> screen = DependencyScreen(random_state=0).fit(df)
    >>> screen.adjacency_.loc["a", "b"], screen.adjacency_.loc["a", "c"]
    (np.float64(1.0), np.float64(0.0))
    """

    _parameter_constraints = {
        "methods": [StrOptions({"auto"}), list, tuple, dict],
        "alpha": [Interval(numbers.Real, 0, 1, closed="neither")],
        "correction": [StrOptions({"bh", "holm", "none"})],
        "conditioning": [list, tuple, None],
        "pairs": [list, tuple, None],
        "consensus": [StrOptions({"cauchy", "majority", "all", "any"})],
        "aggregate": [dict, None],
        "missing": [StrOptions({"pairwise", "error"})],
        "max_categories": [Interval(numbers.Integral, 1, None, closed="left")],
        "test_options": [dict, None],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    def __init__(
        self,
        methods="auto",
        *,
        alpha=0.05,
        correction="bh",
        conditioning=None,
        pairs=None,
        consensus="cauchy",
        aggregate=None,
        missing="pairwise",
        max_categories=10,
        test_options=None,
        n_jobs=None,
        random_state=None,
        verbose=False,
    ):
        self.methods = methods
        self.alpha = alpha
        self.correction = correction
        self.conditioning = conditioning
        self.pairs = pairs
        self.consensus = consensus
        self.aggregate = aggregate
        self.missing = missing
        self.max_categories = max_categories
        self.test_options = test_options
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.target_tags.required = False
        return tags

    # ------------------------------------------------------------------ fitting
    def _as_frame(self, X):
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True)
            frame = X.copy()
            frame.columns = [str(c) for c in frame.columns]
            # Numbers stored as text (a stray "n/a?" in a CSV) are numbers, not n categories.
            frame = coerce_numeric(frame, "X")
            for column in frame.columns:
                series = frame[column]
                if series.dtype.kind == "c":
                    raise ValueError(f"Column {column!r} holds complex numbers; real data needed.")
                if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(
                    series
                ):
                    values = series.to_numpy(dtype=float, na_value=np.nan)
                    if np.isinf(values).any():
                        raise ValueError(
                            f"Column {column!r} contains infinite values; remove or clip them."
                        )
            if frame.shape[0] == 0:
                raise ValueError("X has 0 samples; DependencyScreen needs data.")
            return frame.reset_index(drop=True)
        array = validate_data(
            self, X, dtype=None, ensure_all_finite="allow-nan", ensure_min_samples=1
        )
        array = check_array(array, dtype=None, ensure_all_finite="allow-nan")
        frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
        if array.dtype == object:
            frame = coerce_numeric(frame.infer_objects(), "X")
        return frame

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, groups=None):
        """Run the screen.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_variables)
            Mixed variables; missing values allowed (see ``missing``).
        y : None
            Ignored.
        groups : array-like of shape (n_samples,) or None, default=None
            A group label per row when rows are not independent samples (the clips of
            one source video): every test then runs on one row per group, as
            :func:`independence_test` does with ``groups``; ``n`` in ``pvalues_`` counts
            the groups tested, and ``method="auto"`` chooses by the number of groups. A
            discrete column that varies within a group is tested through its
            categories' shares, so it counts as continuous (``discrete_``).

        Returns
        -------
        self
        """
        check_methods(self.methods)
        frame = self._as_frame(X)
        codes, self.n_groups_ = (None, None) if groups is None else check_groups(
            groups, frame.shape[0]
        )
        if self.aggregate:
            agg = aggregate_ratings(frame, groups=self.aggregate)
            used = {c for cols in self.aggregate.values() for c in cols}
            frame = pd.concat([frame.drop(columns=sorted(used)), agg], axis=1)
        if self.missing == "error" and frame.isna().any().any():
            bad = frame.columns[frame.isna().any()].tolist()
            raise ValueError(
                f"Columns {bad} contain missing values; use missing='pairwise' to drop them "
                "pair by pair, or impute them first."
            )
        cond_sets = self._conditioning_sets()
        cond_vars = sorted({c for cs in cond_sets for c in cs})
        absent = [c for c in cond_vars if c not in frame.columns]
        if absent:
            raise ValueError(f"Conditioning columns {absent} are not in X.")
        variables = [c for c in frame.columns if c not in cond_vars]
        if len(variables) < 2:
            raise ValueError(
                f"DependencyScreen needs at least 2 variables to pair, got {len(variables)}; "
                "X has 1 feature(s) to screen."
            )
        if frame.shape[0] < 5:
            raise ValueError(
                f"DependencyScreen needs at least 5 samples, got n_samples = {frame.shape[0]}."
            )
        if self.pairs is None:
            pairs = list(itertools.combinations(variables, 2))
        else:
            pairs = [(str(a), str(b)) for a, b in self.pairs]
            same = [p for p in pairs if p[0] == p[1]]
            if same:
                raise ValueError(f"pairs must name two different variables, got {same}.")
            unknown = sorted({v for p in pairs for v in p} - set(variables))
            if unknown:
                raise ValueError(f"pairs name variables not in X (or in conditioning): {unknown}.")
        self.discrete_ = {
            c: column_is_discrete(frame[c], self.max_categories) for c in frame.columns
        }
        if codes is not None:  # a discrete column that varies within a group is averaged
            self.discrete_ = {
                c: d and constant_within_groups(frame[c].astype(str), codes, self.n_groups_)
                for c, d in self.discrete_.items()
            }
        identifiers = [
            c
            for c in frame.columns
            if self.discrete_[c]
            and not pd.api.types.is_numeric_dtype(frame[c])
            and frame[c].nunique() > max(2, MAX_CATEGORY_SHARE * frame[c].notna().sum())
        ]
        if identifiers:
            warnings.warn(
                f"Columns {identifiers} have about as many categories as rows (identifiers or "
                "free text); their pairs are reported as failed. Drop them, or map them to "
                "fewer categories.",
                UserWarning,
                stacklevel=2,
            )
        n_samples = frame.shape[0] if codes is None else self.n_groups_
        plan, subsamples = plan_pairs(self.methods, pairs, cond_sets, self.discrete_, n_samples)
        rng = check_random_state(self.random_state)
        seeds = [rng.randint(np.iinfo(np.int32).max, size=len(p[-1])) for p in plan]
        options = _with_screen_defaults(self.test_options)
        check_plan_memory(plan, subsamples, n_samples, options)
        used = sorted({c for a, b, cond, _ in plan for c in (a, b, *cond)}, key=frame.columns.get_loc)
        data = frame[used]
        labels = None if groups is None else np.asarray(groups, dtype=object).ravel()
        testers = self._testers(data, {m for *_, ms in plan for m in ms}, options, labels)
        tasks = list(zip(plan, seeds, subsamples))
        # One task per pair when running in this process (no copies; progress per pair);
        # a few chunks per worker otherwise, so the table travels once per chunk.
        n_workers = effective_n_jobs(self.n_jobs)
        size = 1 if n_workers == 1 else max(1, -(-len(tasks) // (4 * n_workers)))
        chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
        if self.verbose:
            from tqdm.auto import tqdm

            chunks = tqdm(chunks, desc="DependencyScreen")
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_run_chunk)(data, chunk, self.missing, options, testers, labels)
            for chunk in chunks
        )
        table = pd.DataFrame([row for rows in results for row in rows])
        if table.empty:
            table = pd.DataFrame(columns=_RESULT_COLUMNS)
        table["pvalue_adjusted"] = np.nan
        for _method, index in table.groupby("method").groups.items():
            table.loc[index, "pvalue_adjusted"] = adjust_pvalues(
                table.loc[index, "pvalue"].to_numpy(dtype=float), self.correction
            )
        ok = table["status"] == "ok"
        dependent = pd.array([pd.NA] * len(table), dtype="boolean")
        dependent[ok.to_numpy()] = (table.loc[ok, "pvalue_adjusted"] < self.alpha).to_numpy()
        table["dependent"] = dependent
        self.pvalues_ = table[_RESULT_COLUMNS].reset_index(drop=True)
        self.variables_ = variables
        self.agreement_ = agreement_table(self.pvalues_, self.alpha, self.correction,
                                          self.consensus)
        self.adjacency_ = adjacency_matrix(self.agreement_, variables)
        return self

    def _testers(self, data, methods, options, groups=None):
        """One :class:`IndependenceTester` per method over the screened table."""
        testers = {}
        for method in methods:
            try:
                testers[method] = IndependenceTester(
                    data, method, max_categories=self.max_categories, groups=groups,
                    **options.get(method, {}),
                )
            except (TypeError, ValueError):
                return None  # unusable options or table: each pair reports its own error
        return testers

    def _conditioning_sets(self):
        cond = self.conditioning
        if cond is None or len(cond) == 0:
            return [()]
        if all(isinstance(c, list | tuple) for c in cond):
            return [tuple(str(v) for v in c) for c in cond]
        if any(isinstance(c, list | tuple) for c in cond):
            raise ValueError(
                "conditioning must be one list of column names, or a list of such lists; "
                f"got a mix: {cond!r}."
            )
        return [tuple(str(v) for v in cond)]

    # --------------------------------------------------------------- outputs
    def pvalue_matrix(self, method=None, adjusted=True):
        """Square DataFrame of p-values (NaN for failed or untested pairs).

        Parameters
        ----------
        method : str or None, default=None
            One method's p-values; None takes the combined p-values of
            ``agreement_`` (Cauchy combination over the successful methods). With
            several conditioning sets, the largest of the sets' values is kept (the
            weakest evidence, matching ``adjacency_``).
        adjusted : bool, default=True
            Corrected (``pvalue_adjusted``) or raw p-values.
        """
        check_is_fitted(self, "pvalues_")
        column = "pvalue_adjusted" if adjusted else "pvalue"
        table = self.pvalues_[self.pvalues_["status"] == "ok"]
        if method is None:
            table = self.agreement_
        else:
            if method not in set(self.pvalues_["method"]):
                raise ValueError(
                    f"method {method!r} did not run; ran {sorted(set(self.pvalues_['method']))}."
                )
            table = table[table["method"] == method]
        return _pvalue_matrix(table, self.variables_, column)

    def plot(self, ax=None, method=None, rows=None, columns=None, cmap="viridis", annotate=None):
        """Heatmap of ``-log10`` adjusted p-values; ``*`` marks a dependency edge.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; a new figure when None.
        method : str or None, default=None
            Plot one method; None plots the combined p-values (``agreement_``).
        rows, columns : list of str or None, default=None
            Variables on each axis (a rectangular block, e.g. traits against
            cues); all screened variables when None.
        cmap : str, default="viridis"
        annotate : bool or None, default=None
            Mark edges with ``*`` and pairs whose tests all failed with ``x``;
            default: when each axis has at most 40 variables.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        check_is_fitted(self, "adjacency_")
        rows = list(self.variables_) if rows is None else [str(r) for r in rows]
        columns = list(self.variables_) if columns is None else [str(c) for c in columns]
        unknown = sorted(set(rows + columns) - set(self.variables_))
        if unknown:
            raise ValueError(f"Variables {unknown} were not screened.")
        mat = self.pvalue_matrix(method=method).loc[rows, columns]
        if ax is None:
            _, ax = plt.subplots(
                figsize=(max(4.0, 0.4 * len(columns) + 3), max(3.0, 0.4 * len(rows) + 2))
            )
        score = -np.log10(np.clip(mat.to_numpy(dtype=float), 1e-300, 1.0))
        image = ax.imshow(np.ma.masked_invalid(score), cmap=cmap, vmin=0, aspect="auto")
        ax.figure.colorbar(image, ax=ax, label=r"$-\log_{10}$ adjusted p-value")
        ax.set_xticks(np.arange(len(columns)), labels=columns, rotation=90)
        ax.set_yticks(np.arange(len(rows)), labels=rows)
        if annotate is None:
            annotate = max(len(rows), len(columns)) <= 40
        if annotate:
            adj = self.adjacency_.loc[rows, columns].to_numpy(dtype=float)
            status = self.agreement_.set_index(["x", "y"])["decision"]
            for i, j in itertools.product(range(len(rows)), range(len(columns))):
                if rows[i] == columns[j]:
                    continue
                if adj[i, j] == 1.0:
                    ax.text(j, i, "*", ha="center", va="center", color="white")
                elif np.isnan(adj[i, j]) and (
                    status.get((rows[i], columns[j])) == "failed"
                    or status.get((columns[j], rows[i])) == "failed"
                ):
                    ax.text(j, i, "x", ha="center", va="center", color="red")
        title = "Dependency screen" + (f" ({method})" if method else " (combined tests)")
        ax.set_title(title)
        return ax

    def to_prior_mask(self, groups):
        """Turn the dependency graph into a prior mask for ``MultimodalCRL``.

        Parameters
        ----------
        groups : dict of str -> list of str
            Latent block (modality) name -> the screened variables that belong to it.

        Returns
        -------
        DataFrame of shape (n_groups, n_groups)
            Indexed and columned by the group names in the given order (rows =
            parent, columns = child): 1.0 where an edge is allowed (some dependency
            between a variable of one group and one of the other, or on the
            diagonal), 0.0 where it is forbidden. Pairs whose tests all failed, or
            that were not tested, count as allowed (unknown is never turned into a
            forbidden edge); a warning names them.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from skpersona.independence import DependencyScreen
        >>> rng = np.random.default_rng(0)
        >>> a = rng.normal(size=150)
        >>> df = pd.DataFrame({"a": a, "b": a**2 + 0.1 * rng.normal(size=150),
        ...                    "c": rng.normal(size=150)})
        >>> screen = DependencyScreen(random_state=0).fit(df)
        >>> screen.to_prior_mask({"face": ["a"], "text": ["b"], "bio": ["c"]})
              face  text  bio
        face   1.0   1.0  0.0
        text   1.0   1.0  0.0
        bio    0.0   0.0  1.0
        """
        return prior_mask(self.adjacency_, self.variables_, groups)
