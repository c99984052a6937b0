"""skpersona's n_jobs paths under a local dask.distributed cluster give the sequential results.

Every ``n_jobs`` in skpersona goes through joblib, so ``joblib.parallel_backend("dask")``
spreads the work over a Dask cluster; these tests run two such paths on a local
cluster of two single-threaded worker processes and compare with a run in one process.
"""

import logging

import numpy as np
import pandas as pd
import pytest
from distributed import get_task_stream  # in the [test] and [dask] extras
from joblib import parallel_backend
from sklearn.base import clone

from skpersona.independence import DependencyScreen

from ._tables import dependent_table
from ._workloads import au_grid_search, au_videos


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    with Client(cluster) as client:
        yield client
    cluster.close()




def test_dependency_screen_on_dask_matches_sequential(client):
    table = dependent_table(n=160, seed=0)
    sequential = DependencyScreen(random_state=0, n_jobs=None).fit(table)
    with get_task_stream(client) as stream, parallel_backend("dask"):
        on_dask = DependencyScreen(random_state=0, n_jobs=-1).fit(table)
    # The pairs really ran as tasks on both of the cluster's workers.
    assert len(stream.data) >= 2
    assert len({task["worker"] for task in stream.data}) == 2
    pd.testing.assert_frame_equal(on_dask.pvalues_, sequential.pvalues_)
    pd.testing.assert_frame_equal(on_dask.adjacency_, sequential.adjacency_)
    assert on_dask.adjacency_.loc["extraversion", "smiles"] == 1.0
    assert on_dask.adjacency_.loc["gender", "agreeableness"] == 1.0
    assert on_dask.adjacency_.loc["extraversion", "age"] == 0.0


def test_grid_search_over_au_pipeline_on_dask_matches_sequential(client):
    search, X, y = au_grid_search()
    sequential = search.fit(X, y)
    expected = sequential.cv_results_["mean_test_score"].copy()
    with get_task_stream(client) as stream, parallel_backend("dask"):
        on_dask = clone(search).set_params(n_jobs=-1).fit(X, y)
    assert len(stream.data) >= 2
    np.testing.assert_allclose(on_dask.cv_results_["mean_test_score"], expected, rtol=1e-10)
    assert on_dask.best_params_ == sequential.best_params_
    np.testing.assert_allclose(on_dask.predict(X), sequential.predict(X), rtol=1e-10)


@pytest.mark.slow  # each worker builds py-feat's detector: about half a minute
def test_au_extraction_on_dask_matches_sequential(client, tmp_path):
    """AUExtractor's videos spread over the workers (generated py-feat weights, see
    tests/au/_weights.py: meaningless AUs, py-feat's real code path)."""
    from skpersona.au import AUExtractor

    videos, params = au_videos(tmp_path)
    sequential = AUExtractor(**params).fit_transform(videos)[:, 0]
    with get_task_stream(client) as stream, parallel_backend("dask"):
        on_dask = AUExtractor(**params, n_jobs=-1).fit_transform(videos)[:, 0]
    assert len({task["worker"] for task in stream.data}) == 2
    for a, b in zip(on_dask, sequential):
        pd.testing.assert_frame_equal(a, b)
        assert len(a) == 2
