"""Stacking of multi-output regressors: per-target weights learnt on out-of-fold predictions."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GroupKFold, KFold, cross_val_predict
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array, check_is_fitted


class StackedRegressor(RegressorMixin, BaseEstimator):
    """Combine regressors by stacking, one linear combination per target.

    scikit-learn's ``StackingRegressor`` takes one target; traits come five at a time.
    Each base regressor (for instance a ridge on TF-IDF features and a ridge on
    sentence embeddings of the same answers) predicts every target; their
    out-of-fold predictions on the training rows (K-fold cross-validation; by
    group when ``groups`` are given, so that the rows of one candidate never
    predict each other) are regressed onto each target, using only that target's predictions, with
    non-negative weights by default, so each trait trusts the view that predicts it
    best. The base regressors are then refitted on all rows.

    Parameters
    ----------
    estimators : list of (str, regressor)
        The base regressors, by name. Each sees the same ``X`` (route columns with a
        pipeline inside) and predicts all targets.
    cv : int, default=5
        Folds of the K-fold split (shuffled with ``random_state``) that gives the
        out-of-fold predictions; a ``GroupKFold`` split (also shuffled) when
        :meth:`fit` gets ``groups``.
    positive : bool, default=True
        Non-negative stacking weights (robust: a view is kept or dropped, never
        subtracted).
    random_state : int, RandomState instance or None, default=0
        Seed of the folds.

    Attributes
    ----------
    estimators_ : list of regressors
        The base regressors fitted on all rows.
    named_estimators_ : Bunch
        The same, by name.
    weights_ : ndarray of shape (n_targets, n_estimators)
        Each target's weight on each base regressor's prediction of it.
    intercept_ : ndarray of shape (n_targets,)
    n_features_in_ : int
        Number of columns of ``X`` (when it has a shape).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.compose import make_column_transformer
    >>> from skpersona.fusion import StackedRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 4))
    >>> y = np.c_[X[:, 0], X[:, 3]] + 0.1 * rng.normal(size=(120, 2))
    >>> left = make_pipeline(make_column_transformer(("passthrough", [0, 1])), Ridge())
    >>> right = make_pipeline(make_column_transformer(("passthrough", [2, 3])), Ridge())
    >>> stack = StackedRegressor([("left", left), ("right", right)]).fit(X, y)
    >>> stack.weights_.round(1)  # the first target trusts 'left', the second 'right'
    array([[1., 0.],
           [0., 1.]])
    """

    # Under metadata routing, ``groups`` given to cross_validate / a search for a grouped
    # splitter reaches fit too (no set_fit_request call needed), for grouped folds.
    __metadata_request__fit = {"groups": True}

    _parameter_constraints = {
        "estimators": [list],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "positive": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, estimators, *, cv=5, positive=True, random_state=0):
        self.estimators = estimators
        self.cv = cv
        self.positive = positive
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None):
        """Learn the per-target weights on out-of-fold predictions, then refit the bases.

        Parameters
        ----------
        X : array-like or DataFrame
            What every base regressor takes.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        groups : array-like of shape (n_samples,) or None, default=None
            Group labels (e.g. candidate ids when a candidate has several rows): the
            out-of-fold predictions then come from ``GroupKFold(cv)``, so no row is
            predicted by a model that saw another row of its group (with plain
            K-fold, a base regressor that memorises a candidate would look perfect
            out of fold and take all the weight). Inside ``cross_validate`` or a
            search they arrive by metadata routing (``params={"groups": groups}``
            with ``sklearn.set_config(enable_metadata_routing=True)``).

        Returns
        -------
        self
        """
        if not self.estimators or not all(
                isinstance(e, tuple) and len(e) == 2 and isinstance(e[0], str)
                for e in self.estimators):
            raise ValueError("estimators must be a non-empty list of (name, regressor) pairs.")
        names = [name for name, _ in self.estimators]
        if len(set(names)) != len(names):
            raise ValueError(f"estimator names must be unique, got {names}.")
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None.")
        y = check_array(y, ensure_2d=False, dtype=float, input_name="y")
        self._single = y.ndim == 1
        targets = y.reshape(len(y), -1)
        if hasattr(X, "shape") and len(X.shape) == 2:
            self.n_features_in_ = X.shape[1]
        if groups is None:
            folds = KFold(self.cv, shuffle=True, random_state=self.random_state)
        else:
            groups = np.asarray(groups)
            if groups.ndim != 1 or len(groups) != len(y):
                raise ValueError(f"groups must be one label per row of y ({len(y)}), got "
                                 f"shape {groups.shape}.")
            if len(np.unique(groups)) < self.cv:
                raise ValueError(f"cv={self.cv} grouped folds need at least {self.cv} groups, "
                                 f"got {len(np.unique(groups))}; lower cv or pass more "
                                 "groups.")
            folds = GroupKFold(self.cv, shuffle=True, random_state=self.random_state)
        fit_y = y if self._single else targets
        # The folds as index pairs: the same for every base, and no groups argument for
        # cross_val_predict to refuse when metadata routing is on.
        splits = list(folds.split(targets, targets, groups))
        out_of_fold = np.stack(
            [np.asarray(cross_val_predict(clone(est), X, fit_y, cv=splits)).reshape(targets.shape)
             for _, est in self.estimators], axis=2)  # (n_samples, n_targets, n_estimators)
        self.weights_ = np.zeros((targets.shape[1], len(self.estimators)))
        self.intercept_ = np.zeros(targets.shape[1])
        for t in range(targets.shape[1]):
            head = LinearRegression(positive=self.positive).fit(out_of_fold[:, t], targets[:, t])
            self.weights_[t], self.intercept_[t] = head.coef_, head.intercept_
        self.estimators_ = [clone(est).fit(X, fit_y) for _, est in self.estimators]
        return self

    @property
    def named_estimators_(self):
        """The fitted base regressors by name (a view of ``estimators_``, not stored: a
        model file then holds only plain lists)."""
        from sklearn.utils import Bunch

        check_is_fitted(self, "estimators_")
        names = [name for name, _ in self.estimators]
        return Bunch(**dict(zip(names, self.estimators_, strict=True)))

    def predict(self, X):
        """Each target: the weighted sum of the base regressors' predictions of it.

        Parameters
        ----------
        X : array-like or DataFrame

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self, "weights_")
        predictions = np.stack(
            [np.asarray(est.predict(X)).reshape(-1, len(self.intercept_))
             for est in self.estimators_], axis=2)
        out = np.einsum("ste,te->st", predictions, self.weights_) + self.intercept_
        return out[:, 0] if self._single else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True  # X goes to the base regressors as it is
        return tags
