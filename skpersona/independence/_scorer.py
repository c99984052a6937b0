"""Scorers that test a fitted model's predictions or residuals for independence."""

from functools import partial

import numpy as np
import pandas as pd
from sklearn.metrics._scorer import _BaseScorer, _cached_call

from ._encoding import as_block, check_not_identifier
from ._test import METHODS, independence_test

_TARGETS = ("predictions", "residuals")
_AGAINST = ("metadata", "X", "features")
_RESPONSES = ("pvalue", "neg_statistic")


def _no_score_func(y_true, y_pred):  # pragma: no cover - placeholder for _BaseScorer
    raise NotImplementedError


def _directly_testable(X):
    """Whether every column of ``X`` is a number or a (few-level) category.

    A multimodal sample table is not: its ``video`` cells hold frame tables and its
    ``transcript`` cells free text, one distinct value per row.
    """
    try:
        block = as_block(X, "X")
        for column in block.columns:
            check_not_identifier(block[column], column, "X")
    except (TypeError, ValueError):
        return False
    return True


def _final_step_input(estimator, X):
    """What the final step of a pipeline sees: ``pipeline[:-1].transform(X)``."""
    steps = getattr(estimator, "steps", None)
    if not steps or len(steps) < 2:
        return None
    return estimator[:-1].transform(X)


class IndependenceScorer(_BaseScorer):
    """Scorer built by :func:`make_independence_scorer` (see there)."""

    def __init__(
        self,
        *,
        method="auto",
        target="predictions",
        against="metadata",
        metadata="sensitive",
        given_target=False,
        response="pvalue",
        random_state=None,
        test_options=None,
        groups=None,
    ):
        super().__init__(_no_score_func, sign=1, kwargs={}, response_method="predict")
        self.method = method
        self.target = target
        self.against = against
        self.metadata = metadata
        self.given_target = given_target
        self.response = response
        self.random_state = random_state
        self.test_options = dict(test_options or {})
        self.groups = groups

    def __repr__(self):
        return (
            f"make_independence_scorer(method={self.method!r}, target={self.target!r}, "
            f"against={self.against!r}, metadata={self.metadata!r}, "
            f"given_target={self.given_target!r}, response={self.response!r}"
            + (f", groups={self.groups!r})" if self.groups is not None else ")")
        )

    def _get_metadata_request(self):
        from sklearn.utils.metadata_routing import MetadataRequest, get_routing_for_object

        if hasattr(self, "_metadata_request"):
            return get_routing_for_object(self._metadata_request)
        return MetadataRequest(owner=self)

    def __call__(self, estimator, X, y_true=None, **kwargs):
        """Score ``estimator`` on ``X``: greater means closer to independence.

        Parameters
        ----------
        estimator : fitted estimator with ``predict``
        X : array-like of shape (n_samples, n_features)
        y_true : array-like or None
            Needed for ``target="residuals"`` and ``given_target=True``.
        **kwargs
            The routed metadata, e.g. ``sensitive=gender`` (its name is the
            ``metadata`` parameter).
        """
        return self._score(partial(_cached_call, None), estimator, X, y_true, **kwargs)

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        y_pred = method_caller(estimator, "predict", X)
        if self.target == "residuals":
            if y_true is None:
                raise ValueError("target='residuals' needs y_true; the scorer got y=None.")
            truth = np.asarray(y_true, dtype=float)
            pred = np.asarray(y_pred, dtype=float)
            tested = truth.reshape(pred.shape) - pred
        else:
            tested = y_pred
        if self.against in ("X", "features"):
            other = X
            if self.against == "features" or not _directly_testable(X):
                other = _final_step_input(estimator, X)
                if other is None:
                    raise ValueError(
                        f"against={self.against!r}: X holds columns that cannot be tested "
                        "directly (cells that are tables or free text, or identifiers) and "
                        "the estimator is not a Pipeline whose earlier steps turn them into "
                        "features. Pass numeric features, or score a Pipeline."
                    )
        else:
            if self.metadata not in kwargs or kwargs[self.metadata] is None:
                raise ValueError(
                    f"The independence scorer tests against the metadata {self.metadata!r}, "
                    "which it did not receive. Enable routing with "
                    "sklearn.set_config(enable_metadata_routing=True), request it with "
                    f"scorer.set_score_request({self.metadata}=True) and pass it, e.g. "
                    f"cross_validate(..., params={{{self.metadata!r}: values}})."
                )
            other = kwargs[self.metadata]
        other = other.reset_index(drop=True) if isinstance(other, pd.Series | pd.DataFrame) else other
        z = None
        if self.given_target:
            if y_true is None:
                raise ValueError("given_target=True needs y_true; the scorer got y=None.")
            z = y_true.reset_index(drop=True) if isinstance(y_true, pd.Series | pd.DataFrame) else y_true
        groups = None
        if self.groups is not None:
            if self.groups not in kwargs or kwargs[self.groups] is None:
                raise ValueError(
                    f"The independence scorer tests by the groups in metadata {self.groups!r}, "
                    "which it did not receive. Request it with scorer.set_score_request("
                    f"{self.groups}=True) (routing enabled) and pass it, e.g. "
                    f"cross_validate(..., params={{{self.groups!r}: video_ids}})."
                )
            groups = kwargs[self.groups]
        result = independence_test(
            tested,
            other,
            z,
            method=self.method,
            random_state=self.random_state,
            groups=groups,
            **self.test_options,
        )
        if self.response == "pvalue":
            return result.pvalue
        return -result.statistic


def make_independence_scorer(
    method="auto",
    *,
    target="predictions",
    against="metadata",
    metadata="sensitive",
    given_target=False,
    response="pvalue",
    random_state=None,
    groups=None,
    **test_options,
):
    """Make a scorer that tests a model's predictions or residuals for independence.

    The scorer runs :func:`independence_test` on the held-out fold. Greater is
    better, as scikit-learn expects: with ``response="pvalue"`` (default) the score
    is the p-value of the test, high when no dependence is found; with
    ``response="neg_statistic"`` it is minus the test statistic.

    Parameters
    ----------
    method : str, default="auto"
        Any method of :func:`independence_test`.
    target : {"predictions", "residuals"}, default="predictions"
        Test ``estimator.predict(X)`` or ``y_true - estimator.predict(X)``.
    against : {"metadata", "X", "features"}, default="metadata"
        Test against a variable routed as metadata (e.g. a protected attribute such
        as gender: a bias audit) or against the inputs ``X`` (residual independence,
        a check that the model left no structure in ``X`` unexplained). When ``X``
        cannot be tested as it is (a multimodal sample table, whose ``video`` cells
        are frame tables and ``transcript`` cells free text) and the estimator is a
        :class:`~sklearn.pipeline.Pipeline`, ``"X"`` tests against the features the
        pipeline's final step receives, ``pipeline[:-1].transform(X)``;
        ``"features"`` always does.
    metadata : str, default="sensitive"
        Name of the routed metadata. Request it with
        ``scorer.set_score_request(sensitive=True)`` (or
        ``set_score_request(sensitive="gender")`` to route a parameter called
        ``gender``) after ``sklearn.set_config(enable_metadata_routing=True)``.
    given_target : bool, default=False
        Condition on ``y_true``: tests ``prediction _||_ attribute | y`` (the
        "separation" / equalised-odds criterion) instead of marginal independence
        ("independence" / demographic parity).
    response : {"pvalue", "neg_statistic"}, default="pvalue"
        What the scorer returns.
    random_state : int or None, default=None
        Seeds randomised tests.
    groups : str or None, default=None
        Name of a routed metadata that holds a group label per sample (e.g.
        ``"groups"``: the source video of each clip). The test then runs on one row
        per group of the held-out fold (``groups`` of :func:`independence_test`), as
        it must when a person contributes several rows. Request it with the
        attribute: ``scorer.set_score_request(sensitive=True, groups=True)``; the
        same ``groups`` reach a ``GroupKFold`` splitter.
    **test_options
        More options for :func:`independence_test` (``n_permutations``, ...).

    Returns
    -------
    IndependenceScorer
        A callable ``scorer(estimator, X, y, **metadata)`` with ``set_score_request``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skpersona.independence import make_independence_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = X[:, 0] + X[:, 1] ** 2
    >>> model = LinearRegression().fit(X, y)
    >>> scorer = make_independence_scorer("kci", target="residuals", against="X")
    >>> scorer(model, X, y) < 0.01  # the residuals still depend on X[:, 1]
    True
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}.")
    for name, value, allowed in (
        ("target", target, _TARGETS),
        ("against", against, _AGAINST),
        ("response", response, _RESPONSES),
    ):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}.")
    if not isinstance(metadata, str) or not metadata.isidentifier():
        raise ValueError(f"metadata must be a parameter name (a Python identifier), got {metadata!r}.")
    if groups is not None and (not isinstance(groups, str) or not groups.isidentifier()
                               or groups == metadata):
        raise ValueError(
            "groups must be the name of a routed metadata (a Python identifier other than "
            f"metadata={metadata!r}), got {groups!r}."
        )
    return IndependenceScorer(
        method=method,
        target=target,
        against=against,
        metadata=metadata,
        given_target=bool(given_target),
        response=response,
        random_state=random_state,
        test_options=test_options,
        groups=groups,
    )
