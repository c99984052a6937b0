"""FLAML adapters: a learner for the fusion estimators, and multi-trait targets.

FLAML's ``AutoML`` takes one target (it flattens a 2-D ``y``). Wrapping the fusion
network in ``MultiOutputRegressor`` would train one network per trait and lose what
the traits share; instead each row's trait vector travels as one object of a
1-D ``y`` (:func:`traits_as_rows`), and :class:`FusionLearner` stacks it back into
a matrix, so one network learns every trait.
"""

import numpy as np
import pandas as pd
from flaml import AutoML
from flaml.automl.model import SKLearnEstimator

from ..fusion import FusionClassifier, FusionRegressor
from ..metrics import get_scorer
from ._spaces import flaml_space


def traits_as_rows(Y):
    """A trait matrix as a 1-D Series of row vectors, which FLAML accepts as ``y``.

    Parameters
    ----------
    Y : array-like or DataFrame of shape (n_samples, n_traits)

    Returns
    -------
    pandas.Series of shape (n_samples,), dtype object
        Each item is one sample's float vector of traits (the index is ``Y``'s).

    Examples
    --------
    >>> from skpersona.automl import traits_as_rows
    >>> traits_as_rows([[0.1, 0.2], [0.3, 0.4]]).iloc[1].tolist()
    [0.3, 0.4]
    """
    index = Y.index if isinstance(Y, pd.DataFrame) else None
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2:
        raise ValueError(f"Y must be 2-D (samples x traits), got shape {Y.shape}.")
    return pd.Series(list(Y), index=index, dtype=object)


def _matrix(y):
    """Undo :func:`traits_as_rows` (a plain 1-D target passes through)."""
    values = y.to_numpy() if isinstance(y, pd.Series | pd.DataFrame) else np.asarray(y)
    if values.dtype == object and values.ndim == 1 and len(values) and np.ndim(values[0]) == 1:
        return np.stack(values).astype(float)
    return values


def flaml_metric(scoring="mean_accuracy"):
    """A FLAML custom metric from a scorer (skpersona's or scikit-learn's name, or object).

    FLAML minimises: the metric returns ``-score`` on the validation data, and the
    score itself (``"val_score"``) for the log. It reads targets passed through
    :func:`traits_as_rows`.

    Parameters
    ----------
    scoring : str or callable, default="mean_accuracy"
        See :func:`skpersona.metrics.get_scorer`.

    Returns
    -------
    callable
        ``metric(X_val, y_val, estimator, labels, X_train, y_train, ...)`` for
        ``AutoML.fit(metric=...)``.

    Examples
    --------
    >>> from skpersona.automl import flaml_metric
    >>> callable(flaml_metric("ccc"))
    True
    """
    scorer = get_scorer(scoring)

    def metric(X_val, y_val, estimator, labels, X_train, y_train, *args, **kwargs):
        model = getattr(estimator, "estimator", estimator)
        score = float(scorer(model, X_val, _matrix(y_val)))
        return -score, {"val_score": score}

    return metric


class FusionLearner(SKLearnEstimator):
    """A FLAML learner for :class:`~skpersona.fusion.FusionRegressor` (and Classifier).

    Register it with ``automl.add_learner("fusion", FusionLearner)`` and name it in
    ``estimator_list=["fusion"]``. Its search space is
    ``flaml_space("fusion", learner=True)``: it starts small and short (8 hidden
    units, 10 epochs) and FLAML grows the costly parameters only when they pay off.
    A target passed through :func:`traits_as_rows` trains one network on every
    trait. Fixed parameters of the fusion estimator (``random_state``,
    ``modalities``, ``torch_threads`` ...) go in ``fixed``, e.g. a subclass with
    ``fixed = {"random_state": 0}``.

    Notes
    -----
    ``sklearn.base.clone(automl)`` (what ``cross_validate`` or a search does with an
    ``AutoML`` object) builds a new ``AutoML`` from its settings and forgets every
    ``add_learner`` call, so ``estimator_list=["fusion"]`` then fails. Use
    :class:`FusionAutoML`, which registers the learner in its constructor, or call
    ``add_learner`` again on the clone.
    """

    fixed = {}

    def __init__(self, task="regression", n_jobs=None, **config):
        super().__init__(task, **config)
        self.params.update(self.fixed)
        self.estimator_class = (FusionClassifier if self._task.is_classification()
                                else FusionRegressor)

    @classmethod
    def search_space(cls, data_size, task, **params):
        """The learner form of ``flaml_space("fusion")``."""
        return flaml_space("fusion", learner=True)

    @classmethod
    def cost_relative2lgbm(cls):
        """A small torch network costs about ten gradient-boosting fits."""
        return 10.0

    def _fit(self, X_train, y_train, **kwargs):
        return super()._fit(X_train, _matrix(y_train), **kwargs)

    def predict(self, X, **kwargs):
        """Predictions of the fitted fusion estimator; for several traits a DataFrame
        of shape (n_samples, n_traits).

        FLAML's ``AutoML.predict`` flattens any 2-D ndarray a learner returns (to
        ``n_samples * n_traits`` values); a DataFrame reaches the caller as it is.
        """
        X = self._preprocess(X)
        pred = self._model.predict(X)
        if np.ndim(pred) == 2:
            return pd.DataFrame(pred, index=X.index if isinstance(X, pd.DataFrame) else None)
        return pred


class FusionAutoML(AutoML):
    """FLAML's ``AutoML`` with :class:`FusionLearner` registered as ``"fusion"``, and
    multi-trait targets handled.

    ``seed`` (of the constructor or of :meth:`fit`) also seeds every network the
    search trains (their ``random_state``), so two runs with the same seed and
    ``max_iter`` give the same model; a ``time_budget`` alone stops after however
    many trials fit in the time, which differs from run to run.

    The registration happens in the constructor, so it survives ``clone()`` (and so
    ``cross_validate`` or a search over this object). :meth:`fit` takes a 2-D target
    (one column per trait), trains every trait in one network, scores with
    ``mean_accuracy`` unless ``metric=`` says otherwise, and :meth:`predict` returns
    the 2-D predictions.

    Parameters
    ----------
    **settings
        FLAML's ``AutoML`` settings (``time_budget``, ``max_iter``, ``eval_method``,
        ``n_splits``, ``seed``, ``verbose`` ...).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skpersona.automl import FusionAutoML
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame(rng.normal(size=(60, 4)), columns=["au__a", "au__b", "text__0", "text__1"])
    >>> Y = np.c_[X["au__a"], X["text__0"]] * 0.1 + 0.5
    >>> automl = FusionAutoML(max_iter=2, verbose=0, seed=0).fit(X, Y)
    >>> automl.predict(X).shape
    (60, 2)
    """

    def __init__(self, **settings):
        super().__init__(**settings)
        self.add_learner("fusion", FusionLearner)

    def fit(self, X_train=None, y_train=None, **settings):
        """Search, then refit the best configuration (FLAML's ``AutoML.fit``).

        A 2-D ``y_train`` is passed as :func:`traits_as_rows` with FLAML's label
        preprocessing off; ``task`` defaults to ``"regression"``, ``estimator_list``
        to ``["fusion"]`` and ``metric`` to :func:`flaml_metric` ``("mean_accuracy")``.
        """
        settings.setdefault("task", "regression")
        settings.setdefault("estimator_list", ["fusion"])
        seed = settings.get("seed", self._settings.get("seed"))
        if seed is not None:
            # A constant "domain" is FLAML's way to fix a learner parameter.
            custom_hp = {**(settings.get("custom_hp") or {})}
            fusion_hp = {"random_state": {"domain": int(seed), "init_value": int(seed)},
                         **custom_hp.get("fusion", {})}
            settings["custom_hp"] = {**custom_hp, "fusion": fusion_hp}
        self._n_traits = None
        if y_train is not None and np.ndim(y_train) == 2:
            self._n_traits = np.shape(y_train)[1]
            y_train = traits_as_rows(y_train)
            settings["skip_transform"] = True
            settings.setdefault("metric", flaml_metric("mean_accuracy"))
        super().fit(X_train, y_train, **settings)
        return self

    def predict(self, X, **kwargs):
        """Predictions of the best model: 2-D for a multi-trait target."""
        if getattr(self, "_n_traits", None) is not None:
            return np.asarray(self.model.predict(X))
        return super().predict(X, **kwargs)
