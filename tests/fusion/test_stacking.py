"""StackedRegressor: per-target stacking weights learnt on out-of-fold predictions."""

import pickle

import numpy as np
import pytest
from sklearn.compose import make_column_transformer
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline

from skpersona.fusion import StackedRegressor


def _view(columns):
    return make_pipeline(make_column_transformer(("passthrough", columns)), Ridge(1.0))


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.c_[X[:, 0] + X[:, 1], X[:, 2] - X[:, 3], X[:, 0] + X[:, 2]]
    return X, y + 0.3 * rng.normal(size=y.shape)


def test_each_target_weighs_the_view_that_predicts_it():
    X, y = _data()
    stack = StackedRegressor([("a", _view([0, 1])), ("b", _view([2, 3])),
                              ("mean", DummyRegressor())]).fit(X, y)
    w = stack.weights_
    assert w.shape == (3, 3) and (w >= 0).all()
    assert w[0, 0] > 0.9 and w[0, 1] < 0.2  # target 0 lives in columns 0, 1
    assert w[1, 1] > 0.9 and w[1, 0] < 0.2  # target 1 in columns 2, 3
    assert w[2, 0] > 0.3 and w[2, 1] > 0.3  # target 2 needs both views
    # better than either view alone on new rows, for the target that needs both
    X_new, y_new = _data(seed=1)
    err = [np.mean((m.predict(X_new)[:, 2] - y_new[:, 2]) ** 2)
           for m in (stack, _view([0, 1]).fit(X, y), _view([2, 3]).fit(X, y))]
    assert err[0] < 0.6 * min(err[1:])


def test_weights_are_the_least_squares_fit_of_out_of_fold_predictions():
    X, y = _data()
    views = [("a", _view([0, 1])), ("b", _view([2, 3]))]
    stack = StackedRegressor(views, cv=4, positive=False, random_state=3).fit(X, y)
    folds = KFold(4, shuffle=True, random_state=3)
    oof = [cross_val_predict(v, X, y, cv=folds) for _, v in views]
    for t in range(3):
        head = LinearRegression().fit(np.c_[oof[0][:, t], oof[1][:, t]], y[:, t])
        np.testing.assert_allclose(stack.weights_[t], head.coef_, rtol=1e-8)
        np.testing.assert_allclose(stack.intercept_[t], head.intercept_, rtol=1e-8)
    full = [v.fit(X, y).predict(X) for _, v in views]
    expected = full[0] * stack.weights_[:, 0] + full[1] * stack.weights_[:, 1] + stack.intercept_
    np.testing.assert_allclose(stack.predict(X), expected, rtol=1e-8)
    again = pickle.loads(pickle.dumps(stack))
    np.testing.assert_allclose(again.predict(X), stack.predict(X))
    assert list(stack.named_estimators_) == ["a", "b"]


@pytest.mark.parametrize(("estimators", "match"), [
    ([], "non-empty list"), ([Ridge()], "non-empty list"),
    ([("a", Ridge()), ("a", Ridge())], "unique"),
])
def test_bad_estimators(estimators, match):
    X, y = _data(30)
    with pytest.raises(ValueError, match=match):
        StackedRegressor(estimators).fit(X, y)


def _candidates(n_candidates=60, copies=3, seed=0):
    """Each candidate's row repeated ``copies`` times (several interviews with the same
    features and traits): trait = signal in column 0 + the candidate's own noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_candidates, 4))
    y = np.c_[X[:, 0], -X[:, 0]] + rng.normal(size=(n_candidates, 2))
    rows = np.repeat(np.arange(n_candidates), copies)
    return X[rows], y[rows], rows


def _memo_and_view():
    from sklearn.neighbors import KNeighborsRegressor

    # 1-NN memorises candidates; the ridge on column 0 generalises to new ones.
    return [("memo", KNeighborsRegressor(1)), ("view", _view([0]))]


def test_grouped_out_of_fold_predictions_do_not_leak_duplicated_candidates():
    X, y, groups = _candidates()
    X_new, y_new, _ = _candidates(seed=1)
    ungrouped = StackedRegressor(_memo_and_view(), cv=5).fit(X, y)
    grouped = StackedRegressor(_memo_and_view(), cv=5).fit(X, y, groups=groups)
    # Plain K-fold: a candidate's copy sits in the training folds, 1-NN predicts it
    # exactly out of fold and takes the weight; grouped folds see through it.
    assert (ungrouped.weights_[:, 0] > 0.8).all()
    assert (grouped.weights_[:, 0] < grouped.weights_[:, 1]).all()
    err = [np.mean((m.predict(X_new) - y_new) ** 2) for m in (grouped, ungrouped)]
    assert err[0] < 0.8 * err[1]
    # The weights are the least-squares fit of GroupKFold's out-of-fold predictions.
    from sklearn.model_selection import GroupKFold

    folds = list(GroupKFold(5, shuffle=True, random_state=0).split(X, y, groups))
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
    oof = [cross_val_predict(v, X, y, cv=folds) for _, v in _memo_and_view()]
    for t in range(2):
        head = LinearRegression(positive=True).fit(np.c_[oof[0][:, t], oof[1][:, t]], y[:, t])
        np.testing.assert_allclose(grouped.weights_[t], head.coef_, rtol=1e-8, atol=1e-12)


def test_groups_are_routed_to_the_stack_in_a_grouped_cross_validation():
    import sklearn
    from sklearn.model_selection import GroupKFold, cross_validate

    X, y, groups = _candidates(30)
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(StackedRegressor(_memo_and_view(), cv=3), X, y,
                                cv=GroupKFold(3), params={"groups": groups},
                                return_estimator=True, error_score="raise")
    for (train, _), stack in zip(GroupKFold(3).split(X, y, groups), result["estimator"],
                                 strict=True):
        direct = StackedRegressor(_memo_and_view(), cv=3).fit(X[train], y[train],
                                                               groups=groups[train])
        np.testing.assert_allclose(stack.weights_, direct.weights_, rtol=1e-10)


@pytest.mark.parametrize(("groups", "match"), [
    (np.zeros(10), "need at least 5 groups, got 1"), (np.arange(9), "one label per row")])
def test_bad_groups(groups, match):
    X, y = _data(10)
    with pytest.raises(ValueError, match=match):
        StackedRegressor([("a", Ridge())]).fit(X, y, groups=groups)
