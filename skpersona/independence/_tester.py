"""``IndependenceTester``: data given once, tests called by column in a loop.

Constraint-based causal discovery (PC, FCI) calls a test thousands of times on the
same table. Encoding and checking the columns once, and keeping the correlation
matrix for Fisher-z and the category codes for chi-square / G-square, makes a call
cost about what causal-learn's ``CIT`` objects cost, while giving the p-values of
:func:`independence_test`.
"""

import math
import numbers
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ._classical import contingency_test
from ._encoding import (
    MAX_AUTO_CATEGORIES,
    as_block,
    check_blocks,
    check_category_count,
    column_is_discrete,
    is_numeric,
    rescale_extreme,
    to_codes,
    to_continuous,
)
from ._fisherz_matrix import correlation_blocks, fisherz_from_correlation
from ._group_level import aggregate_columns, group_level_test
from ._groups import check_groups, groups_summary
from ._kernel import (
    kci_conditional_from_kernels,
    kci_from_kernels,
    kci_kernel,
    kci_residual_operator,
    kci_residualize,
    kci_standardize,
)
from ._memory import parse_memory
from ._test import (
    _DISCRETE,
    ALIASES,
    METHODS,
    auto_subsample,
    check_memory,
    check_method,
    make_result,
    resolve_method,
    run_continuous,
)


class IndependenceTester:
    """Reusable (conditional) independence tests over the columns of one table.

    Give the data once, then call ``tester(x, y, z)`` with column indices (or
    names) as often as a search needs: columns are checked and encoded once, the
    correlation matrix (Fisher-z) and category codes (chi-square, G-square) are
    kept, and p-values are cached per ``(x, y, z)``. P-values equal those of
    :func:`independence_test` on the same columns.

    The call signature, the ``method`` attribute and the p-value return follow
    causal-learn's ``CIT`` objects (a tester can be handed to its skeleton search;
    :func:`register_causallearn` names it for ``pc`` and ``fci``). As there, ``x`` and
    ``y`` are put in column order (conditional KCI is not symmetric in them), so
    ``tester(j, i, z)`` and ``tester(i, j, z)`` are one test.

    Parameters
    ----------
    data : DataFrame or array-like of shape (n_samples, n_variables)
        The table. Mixed types are encoded as in :func:`independence_test`
        (numbers as numbers, including numbers stored as text; strings, booleans
        and categoricals as categories). Missing values are not allowed.
    method : str, default="fisherz"
        Any method of :func:`independence_test` (``"auto"`` resolves per call from
        the columns involved, as there).
    max_categories : int, default=10
        Integer-valued numeric columns with at most this many values count as
        discrete for ``method="auto"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the randomised tests; an int gives every call the p-value of
        ``independence_test(..., random_state=random_state)``.
    cache : bool, default=True
        Keep the p-value of every ``(x, y, z)`` asked.
    max_kernel_bytes : int, default=2**29
        Memory for KCI's kept kernel matrices (512 MiB): each variable's centred
        kernel and each conditioning set's residual operator are built once and
        reused by later calls while they fit (the least recently used dropped
        first). When two ``n x n`` matrices do not fit, every call computes its own,
        as :func:`independence_test` does.
    n_permutations, n_features : int
        As in :func:`independence_test`.
    groups : array-like of shape (n_samples,) or None, default=None
        A group label per row (the source video of each clip): every test then runs on
        one row per group, as :func:`independence_test` does with ``groups`` (group
        means of columns that vary within a group; a conditioning set must be constant
        within groups). With ``method="kci"`` the columns are aggregated once and the
        group-level kernels (and their eigenvalues) are kept as without groups; other
        methods aggregate per call.
    **options
        Extra options for causal-learn's tests, as in :func:`independence_test`, and
        ``max_memory``: every test (kept kernels and random-feature tests included)
        is refused with :class:`MemoryLimitError` before allocating more than that.

    Attributes
    ----------
    method : str
        The method (causal-learn reads this attribute).
    n_samples : int
    columns : list of str
        Column names (``x0``, ``x1``, ... for arrays).
    n_calls : int
        Calls made, cache hits included.
    n_groups : int or None
        Distinct groups when ``groups`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> from skpersona.independence import IndependenceTester, independence_test
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=500)
    >>> b = a + rng.normal(size=500)
    >>> c = b + rng.normal(size=500)
    >>> tester = IndependenceTester(np.column_stack([a, b, c]), method="fisherz")
    >>> tester(0, 2) < 0.01, tester(0, 2, [1]) > 0.05
    (True, True)
    >>> round(tester(0, 2, [1]), 12) == round(independence_test(a, c, b, "fisherz").pvalue, 12)
    True
    """

    def __init__(
        self,
        data,
        method="fisherz",
        *,
        max_categories=MAX_AUTO_CATEGORIES,
        random_state=None,
        cache=True,
        max_kernel_bytes=2**29,
        n_permutations=1000,
        n_features=100,
        groups=None,
        **options,
    ):
        if method not in METHODS:
            raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}.")
        self.method = ALIASES.get(method, method)
        if not isinstance(data, pd.DataFrame | pd.Series) and np.ndim(data) == 2:
            array = np.asarray(data)
            data = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
        frame = as_block(data, "data")
        self.columns = list(frame.columns)
        if len(set(self.columns)) != len(self.columns):
            raise ValueError("data has duplicate column names; give every column its own name.")
        self._frame = frame
        self.n_samples = len(frame)
        if self.n_samples < 5:
            raise ValueError(
                f"An independence test needs at least 5 samples, got {self.n_samples}."
            )
        self.max_categories = max_categories
        self.random_state = random_state
        self._rng = check_random_state(random_state)
        self.cache = cache
        self.max_kernel_bytes = max_kernel_bytes
        self._kernels = {}
        self._kernel_bytes = 0
        self.n_permutations = n_permutations
        self.n_features = n_features
        self.options = options
        self.n_calls = 0
        self.groups = groups
        self._group_codes, self.n_groups = (
            (None, None) if groups is None else check_groups(groups, self.n_samples)
        )
        self._group_level = None
        self._index = {name: i for i, name in enumerate(self.columns)}
        self._errors = {}
        self._numeric = {}
        self._check_numeric_columns()
        self._discrete = {}
        self._codes = {}
        self._continuous = {}
        self._pvalues = {}
        self._results = {}
        self._fisherz = None

    # ------------------------------------------------------------------ columns
    def _check_numeric_columns(self):
        """Check all numeric columns at once with numpy (pandas per column is slow)."""
        names = [c for c in self.columns if is_numeric(self._frame[c])]
        if not names:
            return
        values = self._frame[names].to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(values).sum(axis=0)
        infinite = np.isinf(values).any(axis=0)
        constant = np.all(values == values[:1], axis=0)
        for k, name in enumerate(names):
            i = self._index[name]
            self._numeric[i] = values[:, k]
            if missing[k]:
                self._errors[i] = ValueError(
                    f"Column {name!r} of data contains {int(missing[k])} NaN/missing value(s). "
                    "Drop or impute those rows first."
                )
            elif infinite[k]:
                self._errors[i] = ValueError(
                    f"Column {name!r} of data contains infinite values; remove or clip them first."
                )
            elif constant[k]:
                self._errors[i] = ValueError(
                    f"Column {name!r} of data is constant: a test of independence has no "
                    "information about it. Drop that column."
                )
            else:
                self._errors[i] = None

    def _column_index(self, key):
        if isinstance(key, bool | np.bool_):
            raise TypeError(
                f"{key!r} is a boolean, not a column: name a column by its index (an int) "
                "or its name (a str)."
            )
        if isinstance(key, numbers.Integral):
            index = int(key)
            if not -len(self.columns) <= index < len(self.columns):
                raise IndexError(
                    f"Column index {index} is out of range for data with "
                    f"{len(self.columns)} columns."
                )
            return index % len(self.columns)
        if isinstance(key, str) and key in self._index:
            return self._index[key]
        raise KeyError(f"{key!r} is neither a column index nor a column name of the data.")

    def _indices(self, key):
        if key is None:
            return ()
        if isinstance(key, str) or not isinstance(key, Iterable):
            return (self._column_index(key),)
        return tuple(sorted({self._column_index(k) for k in key}))

    def _check_column(self, i):
        """Check a column once (missing, infinite, constant, identifier); re-raise after."""
        if i not in self._errors:
            name = self.columns[i]
            try:
                check_blocks({"data": self._frame[[name]]})
                self._errors[i] = None
            except (TypeError, ValueError) as exc:
                self._errors[i] = exc
        error = self._errors[i]
        if error is not None:
            raise type(error)(str(error))

    def _is_discrete(self, i):
        if i not in self._discrete:
            self._discrete[i] = column_is_discrete(
                self._frame[self.columns[i]], self.max_categories
            )
        return self._discrete[i]

    def _codes_of(self, i, block):
        if i not in self._codes:
            values = self._numeric.get(i)
            if values is not None and np.all(values == np.round(values)):
                codes = np.unique(values, return_inverse=True)[1].astype(np.int64)
                try:  # the rule of to_codes: not an identifier
                    check_category_count(
                        int(codes.max()) + 1, len(codes), self.columns[i], block, numeric=True
                    )
                    self._codes[i] = codes
                except ValueError as exc:
                    self._codes[i] = exc
            else:
                try:
                    self._codes[i] = to_codes(self._frame[[self.columns[i]]], block)
                except ValueError as exc:
                    self._codes[i] = exc
        codes = self._codes[i]
        if isinstance(codes, Exception):
            raise ValueError(str(codes).replace(f"of {block}", f"of the data ({block})"))
        return codes

    def _joint_codes(self, indices, block):
        codes = [self._codes_of(i, block) for i in indices]
        if len(codes) == 1:
            return codes[0]
        cards = [int(c.max()) + 1 for c in codes]
        if math.prod(cards) < 2**62:  # mixed radix, no sort
            joint = np.zeros(self.n_samples, dtype=np.int64)
            for c, k in zip(codes, cards):
                joint *= k
                joint += c
            return joint
        _, joint = np.unique(np.column_stack(codes), axis=0, return_inverse=True)
        return np.asarray(joint, dtype=np.int64).ravel()

    def _encoded(self, i):
        """Column ``i`` checked and encoded for Fisher-z (first level dropped)."""
        self._check_column(i)
        return self._matrix((i,), True)

    def _matrix(self, indices, drop_first):
        parts = []
        for i in indices:
            key = (i, drop_first)
            if key not in self._continuous:
                if i in self._numeric:
                    matrix = self._numeric[i][:, None]
                else:
                    column = self._frame[[self.columns[i]]]
                    matrix = to_continuous(column, self.columns[i], drop_first=drop_first)
                self._continuous[key] = rescale_extreme(matrix)
            parts.append(self._continuous[key])
        return parts[0] if len(parts) == 1 else np.hstack(parts)

    # ------------------------------------------------------------------ testing
    def __call__(self, x, y, z=None):
        """p-value of ``x _||_ y | z`` (causal-learn's ``CIT`` call signature).

        Parameters
        ----------
        x, y : int, str or list of them
            Column indices or names (several columns form one block).
        z : list of int or str, or None, default=None
            Conditioning columns.

        Returns
        -------
        float
        """
        self.n_calls += 1
        if (self.cache and isinstance(x, numbers.Integral) and isinstance(y, numbers.Integral)
                and not isinstance(x, bool | np.bool_) and not isinstance(y, bool | np.bool_)):
            # Fast path for causal-learn's loops: integer x, y and a list of indices z.
            try:
                zs = () if z is None else tuple(sorted(set(z)))
                if any(isinstance(k, bool | np.bool_) for k in zs):
                    raise TypeError  # True == 1: the slow path refuses it
                key = (min(x, y), max(x, y), zs)
                hit = self._pvalues.get(key)
            except TypeError:  # names mixed with indices: the slow path sorts it out
                hit = None
            if hit is not None:
                return hit
        return self.test(x, y, z).pvalue

    def test(self, x, y, z=None, *, random_state=None):
        """Full result of ``x _||_ y | z``, as :func:`independence_test` returns it.

        Parameters
        ----------
        x, y : int, str or list of them
            Column indices or names.
        z : list of int or str, or None, default=None
            Conditioning columns.
        random_state : int, RandomState instance or None, default=None
            Overrides the tester's ``random_state`` for this call (randomised
            tests only; the result is not cached).

        Returns
        -------
        IndependenceTestResult
        """
        xs, ys, zs = self._indices(x), self._indices(y), self._indices(z)
        if not xs or not ys:
            raise ValueError("x and y must name at least one column each.")
        overlap = (set(xs) & set(ys)) | ((set(xs) | set(ys)) & set(zs))
        if overlap:
            raise ValueError(
                f"x, y and z must not share columns; {[self.columns[i] for i in overlap]} "
                "appear twice."
            )
        if xs > ys:
            xs, ys = ys, xs
        key = (xs[0], ys[0], zs) if len(xs) == len(ys) == 1 else (xs, ys, zs)
        cacheable = self.cache and random_state is None
        if cacheable and key in self._results:
            return self._results[key]
        if self.groups is not None:
            return self._grouped_test(xs, ys, zs, key, cacheable, random_state)
        for i in xs + ys + zs:
            self._check_column(i)
        conditional = bool(zs)
        method = self.method
        if method == "auto":
            discrete = all(self._is_discrete(i) for i in xs + ys + zs)
            method = resolve_method(
                method,
                discrete,
                self.n_samples,
                conditional,
                self.options.get("max_memory"),
                subsample=True,  # as independence_test: exact KCI on a subsample given z
            )
        check_method(method, conditional, self.options)
        sub = auto_subsample(self.method, method, self.n_samples, conditional)
        limit = self.options.get("max_memory")
        if method not in _DISCRETE:  # contingency tests check their table once it is known
            widest = max(len(xs), len(ys), len(zs))
            check_memory("kci" if sub is not None else method, sub or self.n_samples,
                         conditional, stacklevel=3, max_memory=limit, n_columns=widest,
                         n_features=self.n_features, options=self.options)
        if sub is not None:
            result = self._subsample_test(xs, ys, zs, sub, random_state)
        elif method == "fisherz":
            result = self._fisherz_test(xs, ys, zs)
        elif method in _DISCRETE:
            stat, pvalue, details = contingency_test(
                self._joint_codes(xs, "x"),
                self._joint_codes(ys, "y"),
                self._joint_codes(zs, "z") if zs else None,
                statistic=method,
                max_memory=limit,
            )
            result = make_result(stat, pvalue, method, self.n_samples, conditional, details)
        elif method == "kci" and 2 * 8 * self.n_samples**2 <= min(self.max_kernel_bytes,
                                                                   parse_memory(limit)):
            stat, pvalue, details = self._kci_test(xs, ys, zs)
            result = make_result(stat, pvalue, method, self.n_samples, conditional, details)
        else:
            rng = self._call_rng(random_state)
            stat, pvalue, details = run_continuous(
                method,
                self._matrix(xs, False),
                self._matrix(ys, False),
                self._matrix(zs, False) if zs else None,
                rng,
                self.n_permutations,
                self.n_features,
                self.options,
            )
            result = make_result(stat, pvalue, method, self.n_samples, conditional, details)
        if cacheable:
            self._results[key] = result
            if len(xs) == len(ys) == 1:
                self._pvalues[key] = result.pvalue
        return result

    def _grouped_test(self, xs, ys, zs, key, cacheable, random_state):
        """The test on one row per group: :func:`independence_test` with ``groups``."""
        from ._test import independence_test

        result = self._kept_grouped_kci(xs, ys, zs) if self.method == "kci" else None
        if result is None:  # not KCI, or a case whose error independence_test words
            columns = [[self.columns[i] for i in idx] for idx in (xs, ys, zs)]
            result = independence_test(
                self._frame[columns[0]],
                self._frame[columns[1]],
                self._frame[columns[2]] if zs else None,
                self.method,
                n_permutations=self.n_permutations,
                n_features=self.n_features,
                random_state=self._call_rng(random_state),
                groups=self.groups,
                **self.options,
            )
        if cacheable:
            self._results[key] = result
            if len(xs) == len(ys) == 1:
                self._pvalues[key] = result.pvalue
        return result

    def _grouped_tester(self):
        """``(tester, parts, varying)``: a tester over the columns aggregated once per group
        (None where that table cannot be tested) and :func:`aggregate_columns`' maps."""
        if self._group_level is None:
            blocks, parts, varying = aggregate_columns(
                self._frame, self.columns, self._group_codes, self.n_groups
            )
            try:
                tester = IndependenceTester(
                    pd.concat(blocks, axis=1), "kci", max_categories=self.max_categories,
                    max_kernel_bytes=self.max_kernel_bytes, n_permutations=self.n_permutations,
                    n_features=self.n_features, **self.options,
                )
            except (TypeError, ValueError):  # under 5 groups, clashing names, ...
                tester = None
            self._group_level = (tester, parts, varying)
        return self._group_level

    def _kept_grouped_kci(self, xs, ys, zs):
        """Group-level KCI on the kept kernels (see ``_group_level``), or None where
        :func:`independence_test`'s own refusal (and wording) is to be raised."""
        tester, parts, varying = self._grouped_tester()
        result = group_level_test(tester, parts, varying, xs, ys, zs)
        if result is None:
            return None
        averaged = {
            block: [self.columns[i] for i in idx if varying[i]]
            for block, idx in zip("xyz", (xs, ys, zs))
        }
        summary = groups_summary(self._group_codes, self.n_groups, averaged)
        return replace(result, details={**result.details, "groups": summary})

    def _call_rng(self, random_state):
        """The random state of one call, drawn as :func:`independence_test` draws it."""
        if random_state is not None:
            return check_random_state(random_state)
        if isinstance(self.random_state, numbers.Integral):
            return check_random_state(self.random_state)  # as independence_test(seed)
        return self._rng

    def _subsample_test(self, xs, ys, zs, size, random_state):
        """``method="auto"`` given z above 1,000 rows: exact KCI on ``size`` seeded rows.

        The rows are drawn as :func:`independence_test` draws them, so both give the
        same p-value for the same ``random_state``.
        """
        rows = np.sort(self._call_rng(random_state).choice(self.n_samples, size, replace=False))
        frame = self._frame.iloc[rows].reset_index(drop=True)

        def matrix(indices):
            parts = [
                self._numeric[i][rows, None]
                if i in self._numeric
                else to_continuous(frame[[self.columns[i]]], self.columns[i])
                for i in indices
            ]
            return rescale_extreme(np.hstack(parts))

        stat, pvalue, details = run_continuous(
            "kci", matrix(xs), matrix(ys), matrix(zs), None, self.n_permutations,
            self.n_features, self.options,
        )
        details = {
            **details,
            "method_requested": "auto",
            "subsample": {"rows": size, "of": self.n_samples},
        }
        return make_result(stat, pvalue, "kci", size, True, details)

    def _kept(self, key, build):
        """A kernel-sized matrix, kept while it fits in ``max_kernel_bytes``."""
        if key in self._kernels:  # most recently used last: a variable in every pair stays
            self._kernels[key] = value = self._kernels.pop(key)
            return value
        value = build()
        size = getattr(value, "matrix", value).nbytes
        if size <= self.max_kernel_bytes:
            while self._kernels and self._kernel_bytes + size > self.max_kernel_bytes:
                old = self._kernels.pop(next(iter(self._kernels)))  # least recently used
                self._kernel_bytes -= getattr(old, "matrix", old).nbytes
            self._kernels[key] = value
            self._kernel_bytes += size
        return value

    def _kci_test(self, xs, ys, zs):
        """KCI from kept kernels: the same statistic and null as :func:`kci_test`.

        A kept kernel also keeps its eigenvalues once the spectral null asked for them.
        """
        x = kci_standardize(self._matrix(xs, False))
        y = kci_standardize(self._matrix(ys, False))
        null = self.options.get("null", "gamma")
        if not zs:
            kx = self._kept(("kci", xs), lambda: kci_kernel(x))
            ky = self._kept(("kci", ys), lambda: kci_kernel(y))
            return kci_from_kernels(kx, ky, null=null)
        epsilon = self.options.get("epsilon", 1e-3)
        z = kci_standardize(self._matrix(zs, False))
        z_dim = z.shape[1]
        rz = self._kept(
            ("rz", zs, epsilon),
            lambda: kci_residual_operator(kci_kernel(z, z_dim=z_dim), epsilon),
        )
        ky = self._kept(("kci", ys, z_dim), lambda: kci_kernel(y, z_dim=z_dim))
        kxr = kci_residualize(kci_kernel(np.hstack([x, 0.5 * z]), z_dim=z_dim), rz)
        stat, pvalue, details = kci_conditional_from_kernels(
            kxr, kci_residualize(ky, rz), null=null
        )
        details["epsilon"] = epsilon
        return stat, pvalue, details

    def _fisherz_test(self, xs, ys, zs):
        """Fisher-z from the correlation matrix of the encoded columns, built once."""
        if self._fisherz is None:
            self._fisherz = correlation_blocks(len(self.columns), self.n_samples, self._encoded)
        return fisherz_from_correlation(*self._fisherz, xs, ys, zs, self.n_samples)

    def __deepcopy__(self, memo):
        # Searches (causal-learn's PC) deep-copy their graph, test included: a tester
        # is read-only apart from its caches, so copies share it rather than the data.
        return self

    def __repr__(self):
        return (
            f"IndependenceTester(<{self.n_samples} x {len(self.columns)} data>, "
            f"method={self.method!r})"
        )


def __getattr__(name):
    # register_causallearn lived here; its own module imports this one, so the old
    # import path is served lazily rather than by a circular import
    if name == "register_causallearn":
        from ._causallearn import register_causallearn

        return register_causallearn
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
