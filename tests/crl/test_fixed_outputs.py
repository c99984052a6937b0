"""The outputs of fixed, fitted latent models: a refactoring must leave them unchanged.

The expected values were computed by the code before ``crl/_estimators.py`` was split
into modules (single-threaded torch, as ``n_threads=1`` runs). They are compared to 1e-5,
not bit for bit, so that another CPU's float rounding does not fail the test; on the
machine that computed them the outputs agreed bit for bit.
"""

import numpy as np
import pytest

from skpersona.crl import BetaVAE, MultimodalCRL
from skpersona.datasets import make_multimodal_causal

TINY = dict(hidden_size=8, n_hidden_layers=1, max_epochs=4, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def data():
    return make_multimodal_causal(n_samples=150, n_features=4, random_state=0).data


def test_searched_model_is_unchanged(data):
    # two orders x two restarts x two warm-up schedules, restarts chosen by noise
    # independence, orders by residual independence, then the DAG search and refit
    est = MultimodalCRL(n_init=2, **TINY).fit(data)
    np.testing.assert_allclose(
        est.transform(data)[:3],
        [
            [1.719537, 2.882054, -1.705158, -2.102744, 1.496116],
            [0.016238, -0.166997, -0.502131, -0.442151, 0.512856],
            [-0.599401, 0.292955, -0.632751, -1.156568, 1.248864],
        ],
        atol=1e-5,
    )
    np.testing.assert_allclose(
        est.adjacency_.to_numpy(),
        [
            [0.000000, 0.000000, 0.000000, 0.000000, 0.000000],
            [0.000000, 0.000000, 0.000000, 0.384192, 0.000000],
            [0.000000, 0.000000, 0.000000, 1.536877, 0.000000],
            [0.000000, 0.000000, 0.000000, 0.000000, 1.131243],
            [0.836590, 0.000000, 0.000000, 0.000000, 0.000000],
        ],
        atol=1e-5,
    )
    assert est.modality_order_ == ["1", "2"]
    assert est.shared_warmup_ == 0
    assert est.dag_search_ == {
        "order": ["z1_2", "z2_1", "z2_2", "s_1", "z1_1"],
        "edges": [("z1_2", "z2_2"), ("z2_1", "z2_2"), ("z2_2", "s_1"), ("s_1", "z1_1")],
    }
    # order_dependence floors each p-value at 1e-10 (issue 26): 134.5626 / 144.3723 before
    assert est.order_dependence_ == pytest.approx({"1 > 2": 131.5254, "2 > 1": 141.0898}, abs=1e-3)
    assert est.order_scores_ == pytest.approx({"1 > 2": -27.9348, "2 > 1": -27.9332}, abs=1e-3)
    np.testing.assert_allclose(
        est.restart_dependence_, [[10.9939, 8.1807], [10.9725, 8.1784]], atol=1e-3
    )
    assert est.n_epochs_ == 4
    assert est.selection_loss_ == pytest.approx(33.458241, abs=1e-4)
    assert est.score(data) == pytest.approx(-45.231377, abs=1e-4)


def test_plain_model_is_unchanged(data):
    # without the graph stage: orders chosen by the noise dependence of their own SCM
    est = MultimodalCRL(refine_graph=False, **TINY).fit(data)
    np.testing.assert_allclose(
        est.transform(data)[:3],
        [
            [0.118821, -0.411156, -0.213720, -0.400184, -0.132204],
            [0.040194, -0.474966, -0.240918, -0.136671, -0.207545],
            [0.123743, -0.388187, -0.270681, -0.183552, -0.245636],
        ],
        atol=1e-5,
    )
    np.testing.assert_allclose(
        est.adjacency_.to_numpy(),
        [
            [0.000000, 0.005514, 0.000000, 0.000000, 0.000684],
            [0.005275, 0.000000, 0.000000, 0.000000, 0.001364],
            [0.000884, 0.000610, 0.000000, 0.002815, 0.000242],
            [0.000433, 0.003128, 0.002109, 0.000000, 0.001711],
            [0.001715, 0.000772, 0.001071, 0.000406, 0.000000],
        ],
        atol=1e-5,
    )
    assert est.modality_order_ == ["2", "1"]
    assert est.dag_search_ is None
    assert est.order_dependence_ == pytest.approx({"1 > 2": 10.9939, "2 > 1": 10.9725}, abs=1e-3)
    assert est.selection_loss_ == pytest.approx(24.828659, abs=1e-4)
    assert est.score(data) == pytest.approx(-27.34062, abs=1e-4)


def test_beta_vae_is_unchanged(data):
    est = BetaVAE(n_components=2, **TINY).fit(data)
    np.testing.assert_allclose(
        est.transform(data)[:3],
        [
            [0.275457, 0.413373],
            [0.354020, -0.340015],
            [0.006699, 0.153963],
        ],
        atol=1e-5,
    )
    assert est.n_epochs_ == 4
    assert est.selection_loss_ == pytest.approx(26.852497, abs=1e-4)
    assert est.score(data) == pytest.approx(-28.238296, abs=1e-4)
