import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV

from skpersona.crl import (
    make_mcc_scorer,
    match_latents,
    mcc_scorer,
    mean_correlation_coefficient,
)


@pytest.fixture
def latents():
    return np.random.RandomState(0).normal(size=(300, 3))


def test_mcc_is_one_up_to_permutation_sign_and_scale(latents):
    estimated = np.column_stack([-3 * latents[:, 2], latents[:, 0] + 5, 0.1 * latents[:, 1]])
    assert mean_correlation_coefficient(latents, estimated) == pytest.approx(1.0)
    rows, cols, _ = match_latents(latents, estimated)
    assert dict(zip(rows.tolist(), cols.tolist())) == {0: 1, 1: 2, 2: 0}


def test_spearman_is_invariant_to_monotone_maps_and_pearson_is_not(latents):
    warped = np.exp(2 * latents)
    assert mean_correlation_coefficient(latents, warped, method="spearman") == pytest.approx(1.0)
    assert mean_correlation_coefficient(latents, warped, method="pearson") < 0.9


def test_mcc_of_independent_noise_is_low(latents):
    noise = np.random.RandomState(1).normal(size=latents.shape)
    assert mean_correlation_coefficient(latents, noise) < 0.2


def test_mcc_matches_one_to_one_not_greedily():
    rng = np.random.RandomState(0)
    a, b = rng.normal(size=(2, 500))
    true = np.column_stack([a, b])
    # both estimates correlate best with `a`; a one-to-one matching must use b once
    estimated = np.column_stack([a + 0.1 * rng.normal(size=500), a + 0.5 * b])
    rows, cols, corr = match_latents(true, estimated)
    assert sorted(cols.tolist()) == [0, 1]
    assert mean_correlation_coefficient(true, estimated) == pytest.approx(corr[rows, cols].mean())


def test_extra_learned_latents_are_free_and_missing_ones_count_as_zero(latents):
    extra = np.column_stack([latents, np.random.RandomState(2).normal(size=300)])
    assert mean_correlation_coefficient(latents, extra) == pytest.approx(1.0)
    assert mean_correlation_coefficient(latents, latents[:, :1]) == pytest.approx(1 / 3)


def test_constant_column_counts_as_zero_correlation(latents):
    estimated = latents.copy()
    estimated[:, 0] = 1.0
    assert mean_correlation_coefficient(latents, estimated) == pytest.approx(2 / 3, abs=0.05)


def test_bad_inputs_raise(latents):
    with pytest.raises(ValueError, match="method"):
        mean_correlation_coefficient(latents, latents, method="kendall")
    with pytest.raises(ValueError, match="method"):
        make_mcc_scorer("kendall")
    with pytest.raises(ValueError):
        mean_correlation_coefficient(latents, latents[:10])


def test_scorer_routes_true_latents_through_y_in_a_grid_search(latents):
    X = latents @ np.random.RandomState(3).normal(size=(3, 6))
    search = GridSearchCV(PCA(), {"n_components": [1, 3]}, scoring=mcc_scorer, cv=3)
    search.fit(X, latents)
    # three components of a linear mixing recover more of the latents than one
    assert search.best_params_ == {"n_components": 3}
    assert 0 < search.best_score_ <= 1
    with pytest.raises(ValueError, match="true latents"):
        mcc_scorer(PCA(2).fit(X), X)
    assert "spearman" in repr(make_mcc_scorer("spearman"))
