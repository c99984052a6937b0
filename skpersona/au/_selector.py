"""AU selection by simulated annealing with a Pareto front of score against size."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, _fit_context, clone, is_classifier
from sklearn.feature_selection import SelectorMixin
from sklearn.linear_model import Ridge
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv, cross_val_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
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
    best score.

    Columns are grouped by the AUs their names mention (``AU06_mean``,
    ``AU06_p90`` -> AU06; ``AU06+AU12_rate`` is kept only when both AUs
    are). Columns mentioning no AU are always kept. When no column name
    mentions an AU (e.g. a plain array), each column is its own unit.

    Parameters
    ----------
    estimator : estimator or None, default=None
        Scored on each subset; None is ``Ridge()``.
    cv : int, cross-validation generator or iterable, default=3
    scoring : str, callable or None, default=None
        None uses ``estimator.score``. Names of ``skpersona.metrics`` scorers
        (``"mean_accuracy"``, ``"ccc"``) and of scikit-learn are accepted.
    n_iter : int, default=30
        Annealing steps (one cross-validation each, repeated subsets are
        looked up).
    initial_temperature : float, default=0.02
        In score units.
    cooling : float in (0, 1], default=0.9
        Temperature factor per step.
    size_weight : float, default=0.02
        Score one would give up to drop all AUs; drives the walk towards
        small subsets.
    tolerance : float, default=0.005
        The selection is the smallest Pareto subset whose score is within
        this of the best score.
    min_aus : int, default=1
    statistics : AUStatistics or None, default=None
        Used when X holds frame tables (one per video): the selector then
        works on its output (None is ``AUStatistics()``).
    n_jobs : int or None, default=None
        Parallel folds of each cross-validation (joblib).
    random_state : int, RandomState or None, default=None
    verbose : bool, default=False

    Attributes
    ----------
    units_ : list of str
        The AUs (or columns) selected among.
    selected_aus_ : list of str
        The selected units.
    pareto_front_ : pandas.DataFrame
        Columns ``n_aus``, ``score``, ``score_std``, ``aus`` (tuple), one row
        per non-dominated subset, by increasing size.
    history_ : pandas.DataFrame
        One row per annealing step: ``step``, ``temperature``, ``n_aus``,
        ``score``, ``accepted``.
    best_score_ : float
        The score of the selected subset.
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
    >>> selector = AUSelector(n_iter=15, random_state=0).fit(X, y)
    >>> selector.selected_aus_
    ['AU12']
    >>> selector.get_feature_names_out().tolist()
    ['AU12_mean', 'AU12_max']
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit"]), None],
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "initial_temperature": [Interval(Real, 0, None, closed="neither")],
        "cooling": [Interval(Real, 0, 1, closed="right")],
        "size_weight": [Interval(Real, 0, None, closed="left")],
        "tolerance": [Interval(Real, 0, None, closed="left")],
        "min_aus": [Interval(Integral, 1, None, closed="left")],
        "statistics": [HasMethods(["fit", "transform"]), None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    def __init__(self, estimator=None, cv=3, scoring=None, n_iter=30, initial_temperature=0.02,
                 cooling=0.9, size_weight=0.02, tolerance=0.005, min_aus=1, statistics=None,
                 n_jobs=None, random_state=None, verbose=False):
        self.estimator = estimator
        self.cv = cv
        self.scoring = scoring
        self.n_iter = n_iter
        self.initial_temperature = initial_temperature
        self.cooling = cooling
        self.size_weight = size_weight
        self.tolerance = tolerance
        self.min_aus = min_aus
        self.statistics = statistics
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _statistics_frame(self, X, fit):
        if fit:
            self.statistics_ = clone(self.statistics if self.statistics is not None
                                     else AUStatistics())
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

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Search AU subsets and select one.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or frame tables
            A statistics matrix (column names like ``AU06_mean`` group the
            columns by AU), or per-video frame tables (list, Series, 1-column
            DataFrame, object array) summarised by ``statistics``.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self
        """
        if _is_frame_tables(X):
            X = self._statistics_frame(X, fit=True)
        elif hasattr(self, "statistics_"):
            del self.statistics_
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=False)
        estimator = clone(self.estimator) if self.estimator is not None else Ridge()
        scorer = _resolve_scoring(estimator, self.scoring)
        cv = check_cv(self.cv, y, classifier=is_classifier(estimator))
        rng = check_random_state(self.random_state)
        self.units_, self._column_units = self._groups(X.shape[1])
        n_units = len(self.units_)
        min_aus = min(self.min_aus, n_units)
        archive = {}

        def evaluate(state):
            key = state.tobytes()
            if key not in archive:
                chosen = [u for u, s in zip(self.units_, state) if s]
                mask = self._mask_for(chosen)
                scores = cross_val_score(clone(estimator), X[:, mask], y, cv=cv, scoring=scorer,
                                         n_jobs=self.n_jobs, error_score="raise")
                archive[key] = (float(np.mean(scores)), float(np.std(scores)), tuple(chosen))
            return archive[key][0]

        state = np.ones(n_units, dtype=bool)
        score = evaluate(state)
        temperature = float(self.initial_temperature)
        history = []
        for step in range(self.n_iter):
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
            temperature *= self.cooling
        entries = list(archive.values())
        front = [entries[i] for i in pareto_front([(e[0], len(e[2])) for e in entries])]
        # Plain arrays and lists (not DataFrames) so that skops can persist the selector.
        self._front = {
            "n_aus": np.array([len(e[2]) for e in front], dtype=np.int64),
            "score": np.array([e[0] for e in front]),
            "score_std": np.array([e[1] for e in front]),
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
        good = np.flatnonzero(scores >= scores.max() - self.tolerance)
        pick = min(good, key=lambda i: (self._front["n_aus"][i], -scores[i]))
        self.selected_aus_ = list(self._front["aus"][pick])
        self.best_score_ = float(scores[pick])
        self.support_ = self._mask_for(self.selected_aus_)
        return self

    @property
    def pareto_front_(self):
        """Non-dominated subsets: ``n_aus``, ``score``, ``score_std``, ``aus`` (tuple)."""
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
