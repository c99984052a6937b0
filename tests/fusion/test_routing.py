"""Grouped cross-validation plus a bias audit under metadata routing, as documented.

The snippet in doc/user_guide/pipelines.rst ("Grouped cross-validation with a bias
audit") is run here exactly as written, so the documentation cannot drift from what
works.
"""

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.model_selection import GroupKFold, cross_validate

from skpersona.fusion import FusionClassifier, FusionRegressor

from ..conftest import REPO_ROOT


def _doc_snippet(title):
    """The first ``code-block:: python`` below the section ``title`` of pipelines.rst."""
    text = Path(REPO_ROOT, "doc", "user_guide", "pipelines.rst").read_text()
    section = text[text.index(f"\n{title}\n"):]
    match = re.search(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", section)
    return textwrap.dedent(match.group(1))


@pytest.mark.slow  # about 35-60 s on the 2-core CI machine
def test_documented_grouped_cv_with_bias_audit_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.setenv("SKPERSONA_CACHE_DIR", str(tmp_path / "cache"))
    code = _doc_snippet("Grouped cross-validation with a bias audit")
    assert "params={\"gender\": gender, \"groups\": groups}" in code
    namespace = {}
    with sklearn.config_context():  # the snippet turns routing on; restore it after
        exec(compile(code, "pipelines.rst", "exec"), namespace)
    result = namespace["result"]
    # cross_validate turns a failed fold into NaN (error_score=nan): none may fail.
    assert np.isfinite(result["test_mean_accuracy"]).all()
    assert np.isfinite(result["test_bias"]).all()
    assert ((result["test_bias"] >= 0) & (result["test_bias"] <= 1)).all()
    # The fused model beats predicting the training mean on every held-out fold.
    y, groups = namespace["y"], namespace["groups"]
    mean_only = [
        1 - np.abs(y.iloc[test] - y.iloc[train].mean()).to_numpy().mean()
        for train, test in GroupKFold(3).split(y, y, groups)
    ]
    assert (result["test_mean_accuracy"] > np.asarray(mean_only)).all()


@pytest.mark.parametrize("Estimator", [FusionRegressor, FusionClassifier])
def test_fit_requests_groups_by_default(Estimator):
    """Under routing, ``groups`` for a grouped splitter reaches fit too (it failed with
    UnsetMetadataPassedError before); the request can still be switched off."""
    assert Estimator().get_metadata_routing().fit.requests["groups"] is True
    with sklearn.config_context(enable_metadata_routing=True):
        off = Estimator().set_fit_request(groups=False)
    assert off.get_metadata_routing().fit.requests["groups"] is False


def test_routed_groups_reach_the_early_stopping_split():
    """With groups routed, the validation split keeps each group on one side: two
    routed fits equal two direct fits with the same groups, and differ from ungrouped."""
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(240, 4)), columns=["au__a", "au__b", "text__0", "text__1"])
    y = X["au__a"] + X["text__0"] + 0.1 * rng.normal(size=240)
    groups = np.repeat(np.arange(40), 6)
    params = dict(early_stopping=True, max_epochs=8, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = cross_validate(FusionRegressor(**params), X, y, cv=GroupKFold(2),
                                params={"groups": groups}, return_estimator=True,
                                error_score="raise")
    for (train, _), est in zip(GroupKFold(2).split(X, y, groups), routed["estimator"]):
        direct = FusionRegressor(**params).fit(X.iloc[train], y.iloc[train], groups[train])
        np.testing.assert_array_equal(est.predict(X), direct.predict(X))
        ungrouped = FusionRegressor(**params).fit(X.iloc[train], y.iloc[train])
        assert not np.array_equal(est.predict(X), ungrouped.predict(X))


def _grouped_data():
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(240, 4)), columns=["au__a", "au__b", "text__0", "text__1"])
    y = X["au__a"] + X["text__0"] + 0.1 * rng.normal(size=240)
    return X, y, np.repeat(np.arange(40), 6)


_ES = dict(early_stopping=True, max_epochs=8, random_state=0)


def _direct(X, y, rows, groups=None):
    """The fold's network fitted directly, with or without the fold's groups."""
    return FusionRegressor(**_ES).fit(X.iloc[rows], y.iloc[rows],
                                      groups=None if groups is None else groups[rows])


def test_groups_reach_fit_in_grouped_cross_validation_and_searches():
    """The documented ways: routing (a pipeline too, and a search's refit), or, without
    routing, params={"groups": g} beside groups=g. Each fold's network equals the one
    fitted directly with the fold's groups."""
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y, groups = _grouped_data()
    folds = list(GroupKFold(2).split(X, y, groups))
    expected = [_direct(X, y, train, groups).predict(X) for train, _ in folds]
    with sklearn.config_context(enable_metadata_routing=True):
        runs = [cross_validate(model, X, y, cv=GroupKFold(2), params={"groups": groups},
                               return_estimator=True, error_score="raise")
                for model in (FusionRegressor(**_ES),
                              make_pipeline(FunctionTransformer(), FusionRegressor(**_ES)))]
        search = GridSearchCV(FusionRegressor(**_ES), {"hidden_size": [64]}, cv=GroupKFold(2),
                              error_score="raise").fit(X, y, groups=groups)
    runs.append(cross_validate(FusionRegressor(**_ES), X, y, cv=GroupKFold(2), groups=groups,
                               params={"groups": groups}, return_estimator=True,
                               error_score="raise"))  # no routing: explicit
    for result in runs:
        for want, est in zip(expected, result["estimator"], strict=True):
            np.testing.assert_array_equal(est.predict(X), want)
    refit = FusionRegressor(**_ES).fit(X, y, groups=groups)
    np.testing.assert_array_equal(search.best_estimator_.predict(X), refit.predict(X))


def test_fit_takes_groups_only_from_its_arguments():
    """No look at the caller: a fold whose fit was given no groups (routing with the
    request switched off, or an unrouted cross_validate that gives groups to the
    splitter only) splits its early-stopping data ungrouped, exactly like a direct fit
    without groups; the old stack inspection grouped them anyway."""
    X, y, groups = _grouped_data()
    folds = list(GroupKFold(2).split(X, y, groups))
    with sklearn.config_context(enable_metadata_routing=True):
        off = cross_validate(FusionRegressor(**_ES).set_fit_request(groups=False), X, y,
                             cv=GroupKFold(2), params={"groups": groups},
                             return_estimator=True, error_score="raise")
    unrouted = cross_validate(FusionRegressor(**_ES), X, y, cv=GroupKFold(2), groups=groups,
                              return_estimator=True, error_score="raise")
    for result in (off, unrouted):
        for (train, _), est in zip(folds, result["estimator"], strict=True):
            np.testing.assert_array_equal(est.predict(X), _direct(X, y, train).predict(X))
            assert not np.array_equal(est.predict(X), _direct(X, y, train, groups).predict(X))


def test_unrouted_params_groups_fail_at_the_splitter_as_documented():
    """The guide's account of params= without routing: the splitter gets no groups."""
    X, y, groups = _grouped_data()
    text = Path(REPO_ROOT, "doc", "user_guide", "pipelines.rst").read_text()
    message = "The 'groups' parameter should not be None"
    assert message in " ".join(text.split())
    with pytest.raises(ValueError, match=re.escape(message)):
        cross_validate(FusionRegressor(max_epochs=1), X, y, cv=GroupKFold(3),
                       params={"groups": groups}, error_score="raise")
