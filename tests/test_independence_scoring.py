"""Score functions in feature selection, and independence scorers with metadata routing."""

from functools import partial

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.feature_selection import SelectFdr, SelectKBest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures

from skpersona.independence import (
    chi2_independence_score,
    fisherz_score,
    gsq_independence_score,
    hsic_score,
    kci_score,
    make_independence_scorer,
    rcit_score,
)


@pytest.fixture
def nonlinear_features():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    y = np.sin(2 * X[:, 1]) + X[:, 4] ** 2 + 0.2 * rng.normal(size=200)
    return X, y


@pytest.mark.parametrize(
    "score_func", [kci_score, hsic_score, partial(rcit_score, random_state=0)]
)
def test_selectkbest_finds_nonlinear_features(score_func, nonlinear_features):
    X, y = nonlinear_features
    selector = SelectKBest(score_func, k=2).fit(X, y)
    assert sorted(selector.get_support(indices=True).tolist()) == [1, 4]


def test_selectfdr_with_pvalues(nonlinear_features):
    X, y = nonlinear_features
    selector = SelectFdr(kci_score, alpha=0.01).fit(X, y)
    assert sorted(selector.get_support(indices=True).tolist()) == [1, 4]
    assert selector.pvalues_.shape == (6,)
    _, p_lin = fisherz_score(X, y)
    assert p_lin.shape == (6,) and np.all((p_lin >= 0) & (p_lin <= 1))


@pytest.mark.parametrize("score_func", [chi2_independence_score, gsq_independence_score])
def test_discrete_scores(score_func):
    rng = np.random.default_rng(1)
    y = rng.choice(["a", "b", "c"], size=400)
    codes = pd.Series(y).map({"a": 0, "b": 1, "c": 2}).to_numpy()
    X = pd.DataFrame(
        {
            "related": (codes + rng.integers(0, 2, size=400)),
            "noise": rng.integers(0, 4, size=400),
        }
    )
    scores, pvalues = score_func(X, y)
    assert pvalues[0] < 1e-6 and pvalues[1] > 1e-3
    assert scores[0] > scores[1]


def test_constant_feature_scores_zero_with_warning(nonlinear_features):
    X, y = nonlinear_features
    X = X.copy()
    X[:, 0] = 3.0
    with pytest.warns(UserWarning, match="constant"):
        scores, pvalues = hsic_score(X, y)
    assert scores[0] == 0 and pvalues[0] == 1
    n_jobs_scores, _ = kci_score(X[:, 1:], y, n_jobs=2)
    assert np.allclose(n_jobs_scores, kci_score(X[:, 1:], y)[0])


@pytest.fixture
def biased_hiring():
    """Trait ratings where one feature is a proxy of gender."""
    rng = np.random.default_rng(2)
    n = 400
    gender = rng.choice(["female", "male"], size=n)
    proxy = (gender == "male").astype(float) + 0.3 * rng.normal(size=n)
    skill = rng.normal(size=n)
    y = skill + 0.1 * rng.normal(size=n)
    X_fair = np.column_stack([skill, rng.normal(size=n)])
    X_biased = np.column_stack([skill, proxy])
    y_biased = y + 1.5 * (gender == "male")
    return X_fair, X_biased, y, y_biased, gender


def test_metadata_routed_bias_audit_in_cross_validate(biased_hiring):
    X_fair, X_biased, y, y_biased, gender = biased_hiring
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_independence_scorer("kci", metadata="gender").set_score_request(gender=True)
        cv = KFold(4, shuffle=True, random_state=0)
        model = LinearRegression().set_fit_request(sample_weight=False)
        fair = cross_validate(
            model, X_fair, y, cv=cv, scoring={"indep": scorer}, params={"gender": gender}
        )
        biased = cross_validate(
            model, X_biased, y_biased, cv=cv, scoring={"indep": scorer},
            params={"gender": gender},
        )
    assert np.median(fair["test_indep"]) > 0.05
    assert np.all(biased["test_indep"] < 1e-2)
    # Separation: given the (biased) target, predictions still depend on gender through
    # the proxy only as much as the target does; the score is a valid p-value in [0, 1].
    with sklearn.config_context(enable_metadata_routing=True):
        sep = make_independence_scorer("kci", metadata="gender", given_target=True)
        sep.set_score_request(gender=True)
        out = cross_validate(
            LinearRegression(), X_biased, y_biased, cv=cv, scoring=sep, params={"gender": gender}
        )
    assert np.all((out["test_score"] >= 0) & (out["test_score"] <= 1))


def test_alias_routing_and_gridsearch(biased_hiring):
    _, X_biased, _, y_biased, gender = biased_hiring
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_independence_scorer("fisherz", response="neg_statistic")
        scorer.set_score_request(sensitive="gender")
        search = GridSearchCV(
            LogisticRegression(),
            {"C": [1e-4, 10.0]},
            scoring=scorer,
            cv=3,
        )
        labels = (y_biased > np.median(y_biased)).astype(int)
        search.fit(X_biased, labels, gender=(gender == "male").astype(float))
    # Strong regularisation shrinks the use of the gender proxy: less dependence wins.
    assert search.best_params_ == {"C": 1e-4}
    assert np.all(search.cv_results_["mean_test_score"] <= 0)


def test_residual_independence_against_inputs():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 2))
    y = X[:, 0] + np.sin(2 * X[:, 1]) + 0.1 * rng.normal(size=300)
    scorer = make_independence_scorer("kci", target="residuals", against="X")
    linear = LinearRegression().fit(X, y)
    flexible = make_pipeline(PolynomialFeatures(7), LinearRegression()).fit(X, y)
    assert scorer(linear, X, y) < 1e-3
    assert scorer(flexible, X, y) > scorer(linear, X, y)
    scores = cross_validate(LinearRegression(), X, y, scoring=scorer, cv=3)["test_score"]
    assert np.all(scores < 0.01)


def test_scorer_errors():
    X = np.random.default_rng(4).normal(size=(50, 2))
    model = LinearRegression().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="set_score_request"):
        make_independence_scorer()(model, X, X[:, 0])
    with pytest.raises(ValueError, match="target must be"):
        make_independence_scorer(target="both")
    with pytest.raises(ValueError, match="method must be"):
        make_independence_scorer("magic")
    assert "make_independence_scorer" in repr(make_independence_scorer())


def test_scorer_pickles_with_its_request():
    import pickle

    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_independence_scorer("hsic", metadata="gender").set_score_request(gender=True)
        restored = pickle.loads(pickle.dumps(scorer))
        assert restored.get_metadata_routing().score.requests == {"gender": True}
    X = np.random.default_rng(5).normal(size=(60, 2))
    model = LinearRegression().fit(X, X[:, 0])
    assert 0.0 <= restored(model, X, X[:, 0], gender=X[:, 1] > 0) <= 1.0


def test_residual_scorer_on_a_pipeline_over_the_sample_table():
    """Issue 14 item 6: against="X" on the multimodal sample table used to raise
    TypeError: unhashable type: 'DataFrame' (its video cells are frame tables)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, cross_validate
    from sklearn.pipeline import make_pipeline

    from skpersona.au import AUStatistics
    from skpersona.datasets import make_interviews

    data = make_interviews(n_samples=80, n_frames=30, random_state=0)

    def pipeline(model):
        features = ColumnTransformer([("au", AUStatistics(statistics=("mean",)), "video")])
        return make_pipeline(features, model).fit(data.data, data.target)

    scorer = make_independence_scorer("hsic", target="residuals", against="X")
    ridge, dummy = pipeline(Ridge()), pipeline(DummyRegressor())
    # The constant model leaves the face-visible traits in its residuals.
    assert scorer(dummy, data.data, data.target) < 1e-3
    assert scorer(ridge, data.data, data.target) > 0.05
    features = make_independence_scorer("hsic", target="residuals", against="features")
    assert features(ridge, data.data, data.target) == scorer(ridge, data.data, data.target)
    scores = cross_validate(
        ridge, data.data, data.target, cv=KFold(3), scoring={"residual_independence": scorer}
    )["test_residual_independence"]
    assert np.all((scores >= 0) & (scores <= 1))
    with pytest.raises(ValueError, match="cannot be tested directly"):
        scorer(DummyRegressor().fit(data.data, data.target), data.data, data.target)
