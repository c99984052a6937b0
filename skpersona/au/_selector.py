"""AU selection by simulated annealing with a Pareto front of score against size."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, _fit_context, clone, is_classifier
from sklearn.feature_selection import SelectorMixin
from sklearn.linear_model import Ridge
from sklearn.metrics import check_scoring
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    ShuffleSplit,
    StratifiedShuffleSplit,
    check_cv,
    cross_val_score,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._facs import aus_in_name
from ._frames import as_items
from ._statistics import AUStatistics


def _is_frame_tables(X):
    if isinstance(X, pd.DataFrame):
        return X.shape[1] == 1 and len(X) > 0 and isinstance(X.iloc[0, 0], pd.DataFrame)
    if isinstance(X, list | tuple | pd.Series) or (isinstance(X, np.ndarray) and X.dtype == object):
        try:
            items = as_items(X)
        except (TypeError, ValueError):
            return False
        return len(items) > 0 and isinstance(items[0], pd.DataFrame)
    return False


def _resolve_scoring(estimator, scoring):
    if isinstance(scoring, str):
        try:  # skpersona's own scorers by name ("mean_accuracy", "ccc"), when available
            from skpersona.metrics import get_scorer

            return get_scorer(scoring)
        except (ImportError, KeyError, ValueError):
            pass
    return check_scoring(estimator, scoring=scoring)


def pareto_front(points):
    """Indices of the non-dominated (score up, size down) points, by size."""
    points = list(points)
    keep = []
    for i, (score_i, size_i) in enumerate(points):
        dominated = any(
            (score_j >= score_i and size_j <= size_i) and (score_j > score_i or size_j < size_i)
            for j, (score_j, size_j) in enumerate(points) if j != i
        )
        if not dominated:
            keep.append(i)
    return sorted(keep, key=lambda i: (points[i][1], -points[i][0]))


class AUSelector(SelectorMixin, BaseEstimator):
    """Select action units by simulated annealing over AU subsets.

    A wrapper selector: each candidate subset of AUs is scored by the
    cross-validated score of ``estimator`` on the columns of those AUs. The
    annealing walk flips one AU at a time and accepts a worse subset with
    probability ``exp(-delta / T)``, where ``delta`` is the loss of score plus
    ``size_weight`` times the change of the share of AUs kept, and ``T``
    cools geometrically. Every evaluated subset enters an archive whose
    non-dominated points (higher score, fewer AUs) form the Pareto front; the
    selection is the smallest subset on the front within ``tolerance`` of the
    best score (by default one standard error: the one-standard-error rule). A final polish scores the selection without each of its AUs
    in turn and repeats the rule until it no longer picks a smaller subset.

    Honest scores: before the search, a share ``holdout`` of the samples (of
    the groups, when ``groups`` is given) is set aside. The search
    cross-validates on the rest only; then each Pareto subset is refitted on
    the whole search part and scored once on the held-out part. The selection
    itself uses the search scores only, so the held-out scores
    (``pareto_front_["holdout_score"]``, ``selected_score_``) are unbiased
    estimates for the chosen subsets, while the search scores are the maximum
    over many subsets and therefore optimistic.

    Columns are grouped by the AUs their names mention (``AU06_mean``,
    ``AU06_p90`` -> AU06; ``AU06+AU12_rate`` is kept only when both AUs
    are). Columns mentioning no AU are always kept. When no column name
    mentions an AU (e.g. a plain array), each column is its own unit.

    Parameters
    ----------
    estimator : estimator or None, default=None
        Scored on each subset; None is ``Ridge()``.
    cv : int, cross-validation generator or iterable, default=3
        Folds of the search (on the search part). An int with ``groups``
        passed to :meth:`fit` means ``GroupKFold(cv)``, so that no identity
        is in two folds.
    scoring : str, callable or None, default=None
        None uses ``estimator.score``. Names of ``skpersona.metrics`` scorers
        (``"mean_accuracy"``, ``"ccc"``) and of scikit-learn are accepted.
    n_iter : int or "auto", default="auto"
        Annealing steps (one cross-validation each, repeated subsets are
        looked up). ``"auto"``: ``15 * n_units`` (300 for py-feat's 20 AUs),
        stopping early once ``5 * n_units`` steps in a row found no better
        subset (size penalty included).
    initial_temperature : float, default=0.02
        In score units.
    cooling : float in (0, 1] or "auto", default="auto"
        Temperature factor per step; ``"auto"`` cools to 1% of the initial
        temperature over the budget (``0.01 ** (1 / n_iter)``).
    size_weight : float, default=0.1
        Score one would give up to drop all AUs; drives the walk towards
        small subsets.
    tolerance : float or "auto", default="auto"
        The selection is the smallest Pareto subset whose search score is
        within this of the best search score. ``"auto"``: the standard error
        of the best subset's mean fold score (fold standard deviation over
        ``sqrt(n_folds - 1)``), i.e. the one-standard-error rule.
    min_aus : int, default=1
    holdout : float in (0, 1) or None, default=0.2
        Share of the samples (of the groups, with ``groups``) held out of the
        search to score the Pareto front; None searches on every sample and
        leaves the held-out scores NaN.
    statistics : AUStatistics or None, default=None
        Used when X holds frame tables (one per video): the selector then
        works on its output (None is ``AUStatistics(missing="impute")``: a
        video without a tracked face gets the training means and a
        ``no_face`` column, kept whatever AUs are selected).
    n_jobs : int or None, default=None
        Parallel folds of each cross-validation (joblib).
    random_state : int, RandomState or None, default=None
        Seeds the held-out split and the walk.
    verbose : bool, default=False

    Attributes
    ----------
    units_ : list of str
        The AUs (or columns) selected among.
    selected_aus_ : list of str
        The selected units.
    pareto_front_ : pandas.DataFrame
        One row per non-dominated subset, by increasing size: ``n_aus``;
        ``score`` and ``score_std``, the mean and spread over the search
        folds (optimistic: the front is the best of many subsets on these
        very folds); ``holdout_score``, the score on the held-out part of the
        estimator fitted on the search part (NaN with ``holdout=None``);
        ``aus`` (tuple).
    history_ : pandas.DataFrame
        One row per annealing step: ``step``, ``temperature``, ``n_aus``,
        ``score``, ``accepted``.
    search_score_ : float
        Search (cross-validated) score of the selected subset: a maximum over
        the searched subsets, hence optimistic. Not a held-out estimate.
    selected_score_ : float
        Held-out score of the selected subset (folds the search never used);
        NaN with ``holdout=None``.
    all_score_ : float
        Held-out score with every unit (no selection), on the same rows:
        whether selecting helps at all (NaN with ``holdout=None``).
    holdout_indices_ : ndarray of int
        Rows of X held out of the search (empty with ``holdout=None``): other
        models may compare with and without the selection on them, honestly.
    n_iter_ : int
        Annealing steps run.
    statistics_ : AUStatistics
        Fitted statistics (frame-table input only).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skpersona.au import AUSelector
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(60, 6)), columns=[
    ...     "AU06_mean", "AU06_max", "AU12_mean", "AU12_max", "AU04_mean", "AU04_max"])
    >>> y = X["AU12_mean"] + 0.1 * rng.normal(size=60)
    >>> selector = AUSelector(random_state=0).fit(X, y)
    >>> selector.selected_aus_
    ['AU12']
    >>> bool(selector.selected_score_ > 0.9)  # R^2 on samples the search never saw
    True
    >>> selector.get_feature_names_out().tolist()
    ['AU12_mean', 'AU12_max']
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit"]), None],
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
        "n_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "initial_temperature": [Interval(Real, 0, None, closed="neither")],
        "cooling": [Interval(Real, 0, 1, closed="right"), StrOptions({"auto"})],
        "size_weight": [Interval(Real, 0, None, closed="left")],
        "tolerance": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "min_aus": [Interval(Integral, 1, None, closed="left")],
        "holdout": [Interval(Real, 0, 1, closed="neither"), None],
        "statistics": [HasMethods(["fit", "transform"]), None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    def __init__(self, estimator=None, cv=3, scoring=None, n_iter="auto",
                 initial_temperature=0.02, cooling="auto", size_weight=0.1, tolerance="auto",
                 min_aus=1, holdout=0.2, statistics=None, n_jobs=None, random_state=None,
                 verbose=False):
        self.estimator = estimator
        self.cv = cv
        self.scoring = scoring
        self.n_iter = n_iter
        self.initial_temperature = initial_temperature
        self.cooling = cooling
        self.size_weight = size_weight
        self.tolerance = tolerance
        self.min_aus = min_aus
        self.holdout = holdout
        self.statistics = statistics
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _statistics_frame(self, X, fit):
        if fit:
            self.statistics_ = clone(self.statistics if self.statistics is not None
                                     else AUStatistics(missing="impute"))
            self.statistics_.fit(X)
        values = self.statistics_.transform(X)
        return pd.DataFrame(values, columns=self.statistics_.get_feature_names_out())

    def _groups(self, n_features):
        names = getattr(self, "feature_names_in_", None)
        names = [str(n) for n in names] if names is not None else None
        tokens = [aus_in_name(n) for n in names] if names is not None else [[]] * n_features
        if not any(tokens):
            units = names or [f"x{i}" for i in range(n_features)]
            return units, [[u] for u in units]
        units = sorted({a for t in tokens for a in t}, key=lambda a: int(a[2:]))
        return units, tokens

    def _mask_for(self, chosen):
        keep = set(chosen)
        return np.array([all(a in keep for a in t) for t in self._column_units], dtype=bool)

    def _split(self, X, y, groups, classifier, rng):
        """Row indices of the search part and the held-out part."""
        n = len(X)
        if self.holdout is None:
            return np.arange(n), np.empty(0, dtype=np.int64)
        seed = rng.randint(np.iinfo(np.int32).max)
        if groups is not None:
            if len(np.unique(groups)) < 2:
                raise ValueError("holdout needs at least 2 groups; pass more groups or "
                                 "holdout=None.")
            splitter = GroupShuffleSplit(n_splits=1, test_size=self.holdout, random_state=seed)
        elif classifier and np.ndim(y) == 1:
            splitter = StratifiedShuffleSplit(n_splits=1, test_size=self.holdout,
                                              random_state=seed)
        else:
            splitter = ShuffleSplit(n_splits=1, test_size=self.holdout, random_state=seed)
        try:
            return next(splitter.split(X, y, groups))
        except ValueError as exc:
            raise ValueError(f"Cannot hold out {self.holdout} of the samples: {exc} Pass more "
                             "samples or holdout=None.") from exc

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None):
        """Search AU subsets and select one.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or frame tables
            A statistics matrix (column names like ``AU06_mean`` group the
            columns by AU), or per-video frame tables (list, Series, 1-column
            DataFrame, object array) summarised by ``statistics``.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        groups : array-like of shape (n_samples,) or None, default=None
            Identity of each sample (e.g. the speaker): the held-out part and
            the search folds never split a group. Inside a ``Pipeline`` with
            metadata routing enabled, request it with
            ``set_fit_request(groups=True)``.

        Returns
        -------
        self
        """
        if _is_frame_tables(X):
            X = self._statistics_frame(X, fit=True)
        elif hasattr(self, "statistics_"):
            del self.statistics_
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=False)
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (X.shape[0],):
                raise ValueError(f"groups must have one entry per sample ({X.shape[0]}), got "
                                 f"shape {groups.shape}.")
        estimator = clone(self.estimator) if self.estimator is not None else Ridge()
        scorer = _resolve_scoring(estimator, self.scoring)
        classifier = is_classifier(estimator)
        rng = check_random_state(self.random_state)
        search, held = self._split(X, y, groups, classifier, rng)
        self.holdout_indices_ = np.sort(np.asarray(held, dtype=np.int64))
        X_s, y_s = X[search], y[search]
        g_s = None if groups is None else groups[search]
        cv = GroupKFold(self.cv) if (g_s is not None and isinstance(self.cv, Integral)) else (
            self.cv)
        # Folds fixed once (groups applied here, so metadata routing never has to carry them).
        folds = list(check_cv(cv, y_s, classifier=classifier).split(X_s, y_s, g_s))
        n_folds = len(folds)
        self.units_, self._column_units = self._groups(X.shape[1])
        n_units = len(self.units_)
        min_aus = min(self.min_aus, n_units)
        auto = self.n_iter == "auto"
        n_iter = 15 * n_units if auto else self.n_iter
        patience = 5 * n_units if auto else None
        cooling = 0.01 ** (1.0 / n_iter) if self.cooling == "auto" else self.cooling
        archive = {}

        def evaluate(state):
            key = state.tobytes()
            if key not in archive:
                chosen = [u for u, s in zip(self.units_, state) if s]
                mask = self._mask_for(chosen)
                scores = cross_val_score(clone(estimator), X_s[:, mask], y_s, cv=folds,
                                         scoring=scorer, n_jobs=self.n_jobs, error_score="raise")
                archive[key] = (float(np.mean(scores)), float(np.std(scores)), tuple(chosen))
            return archive[key][0]

        def objective(value, size):  # what the walk maximises: score minus the size penalty
            return value - self.size_weight * size / n_units

        state = np.ones(n_units, dtype=bool)
        score = evaluate(state)
        best, since_best = objective(score, n_units), 0
        temperature = float(self.initial_temperature)
        history = []
        for step in range(n_iter):
            candidate = state.copy()
            flippable = np.arange(n_units)
            if candidate.sum() <= min_aus:  # may only add
                flippable = np.flatnonzero(~candidate)
            if flippable.size == 0:
                break
            flip = rng.choice(flippable)
            candidate[flip] = ~candidate[flip]
            new_score = evaluate(candidate)
            delta = (score - new_score) + self.size_weight * (candidate.sum() - state.sum()) / n_units
            accepted = bool(delta <= 0 or rng.random_sample() < np.exp(-delta / temperature))
            if accepted:
                state, score = candidate, new_score
            history.append((step, temperature, int(candidate.sum()), new_score, accepted))
            if self.verbose:
                print(f"[AUSelector] step {step}: {int(candidate.sum())} AUs, "
                      f"score {new_score:.4f}, {'accepted' if accepted else 'rejected'}")
            temperature *= cooling
            value = objective(new_score, int(candidate.sum()))
            best, since_best = (value, 0) if value > best + 1e-12 else (best, since_best + 1)
            if patience is not None and since_best >= patience:
                break
        self.n_iter_ = len(history)

        def select():
            entries = list(archive.values())
            front = [entries[i] for i in pareto_front([(e[0], len(e[2])) for e in entries])]
            best = max(front, key=lambda e: e[0])
            tolerance = self.tolerance
            if tolerance == "auto":  # one standard error of the best subset's fold scores
                tolerance = best[1] / np.sqrt(max(n_folds - 1, 1))
            good = [e for e in front if e[0] >= best[0] - tolerance]
            return front, min(good, key=lambda e: (len(e[2]), -e[0]))

        # Polish: drop single AUs from the selection while the rule picks a smaller subset,
        # so that the selection is minimal among its one-AU-smaller neighbours.
        front, chosen = select()
        while len(chosen[2]) > min_aus:
            for unit in chosen[2]:
                evaluate(np.array([u in chosen[2] and u != unit for u in self.units_]))
            front, smaller = select()
            if len(smaller[2]) >= len(chosen[2]):
                break
            chosen = smaller
        # Plain arrays and lists (not DataFrames) so that skops can persist the selector.
        self._front = {
            "n_aus": np.array([len(e[2]) for e in front], dtype=np.int64),
            "score": np.array([e[0] for e in front]),
            "score_std": np.array([e[1] for e in front]),
            "holdout_score": np.array([
                self._holdout_score(estimator, scorer, X, y, search, held, list(e[2]))
                for e in front]),
            "aus": [list(e[2]) for e in front],
        }
        steps = list(zip(*history)) if history else [[]] * 5
        self._history = {
            "step": np.asarray(steps[0], dtype=np.int64),
            "temperature": np.asarray(steps[1], dtype=float),
            "n_aus": np.asarray(steps[2], dtype=np.int64),
            "score": np.asarray(steps[3], dtype=float),
            "accepted": np.asarray(steps[4], dtype=bool),
        }
        scores = self._front["score"]
        pick = [list(e[2]) for e in front].index(list(chosen[2]))
        self.selected_aus_ = list(self._front["aus"][pick])
        self.search_score_ = float(scores[pick])
        self.selected_score_ = float(self._front["holdout_score"][pick])
        self.all_score_ = self._holdout_score(estimator, scorer, X, y, search, held, self.units_)
        self.support_ = self._mask_for(self.selected_aus_)
        return self

    def _holdout_score(self, estimator, scorer, X, y, search, held, chosen):
        """Score on the held-out rows of the estimator fitted on the search rows."""
        if len(held) == 0:
            return np.nan
        mask = self._mask_for(chosen)
        model = clone(estimator).fit(X[search][:, mask], y[search])
        return float(scorer(model, X[held][:, mask], y[held]))

    @property
    def pareto_front_(self):
        """Non-dominated subsets: ``n_aus``, ``score``, ``score_std``, ``holdout_score``, ``aus``."""
        check_is_fitted(self, "support_")
        front = dict(self._front)
        front["aus"] = [tuple(a) for a in front["aus"]]
        return pd.DataFrame(front)

    @property
    def history_(self):
        """One row per annealing step: step, temperature, n_aus, score, accepted."""
        check_is_fitted(self, "support_")
        return pd.DataFrame(self._history)

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_

    def transform(self, X):
        """Keep the columns of the selected AUs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or frame tables

        Returns
        -------
        ndarray of shape (n_samples, n_selected_features)
        """
        check_is_fitted(self, "support_")
        if _is_frame_tables(X):
            if not hasattr(self, "statistics_"):
                raise ValueError("This AUSelector was fitted on a matrix; pass the same kind of X.")
            X = self._statistics_frame(X, fit=False)
        return super().transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
