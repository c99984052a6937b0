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
