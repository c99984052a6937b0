"""skpersona's n_jobs paths under Ray's joblib backend give the sequential results.

``ray.util.joblib.register_ray()`` adds a ``"ray"`` joblib backend, so
``joblib.parallel_backend("ray")`` spreads skpersona's ``n_jobs`` work over a Ray
cluster. These tests start a small local Ray instance (two CPUs, no dashboard), run
the same three paths as tests/test_dask.py, and compare with a run in one process;
the CLI's ``--cluster ray://auto`` runs on the same instance (one start per file).
That the work really ran on Ray is seen from the pool actors the backend starts.
"""

import os

import numpy as np
import pandas as pd
import pytest
import ray  # in the [test] and [ray] extras
from joblib import parallel_backend
from sklearn.base import clone

from skpersona.cli import main
from skpersona.independence import DependencyScreen

from ._tables import dependent_table
from ._workloads import au_grid_search, au_videos


@pytest.fixture(scope="module")
def ray_cluster():
    from ray.util.joblib import register_ray

    # A local instance: no dashboard, no token written to ~/.ray, workers inherit the
    # environment (PYTHONPATH, SKPERSONA_CACHE_DIR).
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    register_ray()
    yield
    ray.shutdown()


def _pool_actors():
    """Number of actors Ray's joblib backend has started (its multiprocessing pool)."""
    from ray._private import state  # the public state API needs the dashboard

    return sum(1 for actor in state.actors().values()
               if actor.get("ActorClassName", "").endswith("PoolActor"))


def test_dependency_screen_on_ray_matches_sequential(ray_cluster):
    table = dependent_table(n=160, seed=0)
    sequential = DependencyScreen(random_state=0, n_jobs=None).fit(table)
    before = _pool_actors()
    with parallel_backend("ray"):
        on_ray = DependencyScreen(random_state=0, n_jobs=-1).fit(table)
    assert _pool_actors() > before
    pd.testing.assert_frame_equal(on_ray.pvalues_, sequential.pvalues_)
    pd.testing.assert_frame_equal(on_ray.adjacency_, sequential.adjacency_)
    assert on_ray.adjacency_.loc["extraversion", "smiles"] == 1.0
    assert on_ray.adjacency_.loc["extraversion", "age"] == 0.0


def test_grid_search_over_au_pipeline_on_ray_matches_sequential(ray_cluster):
    search, X, y = au_grid_search()
    sequential = search.fit(X, y)
    expected = sequential.cv_results_["mean_test_score"].copy()
    before = _pool_actors()
    with parallel_backend("ray"):
        on_ray = clone(search).set_params(n_jobs=-1).fit(X, y)
    assert _pool_actors() > before
    np.testing.assert_allclose(on_ray.cv_results_["mean_test_score"], expected, rtol=1e-10)
    assert on_ray.best_params_ == sequential.best_params_
    np.testing.assert_allclose(on_ray.predict(X), sequential.predict(X), rtol=1e-10)


@pytest.mark.slow  # each Ray worker builds py-feat's detector: about half a minute
def test_au_extraction_on_ray_matches_sequential(ray_cluster, tmp_path):
    """AUExtractor's videos spread over the Ray workers (generated py-feat weights, see
    tests/au/_weights.py: meaningless AUs, py-feat's real code path)."""
    from skpersona.au import AUExtractor

    videos, params = au_videos(tmp_path)
    sequential = AUExtractor(**params).fit_transform(videos)[:, 0]
    before = _pool_actors()
    with parallel_backend("ray"):
        on_ray = AUExtractor(**params, n_jobs=-1).fit_transform(videos)[:, 0]
    assert _pool_actors() > before
    for a, b in zip(on_ray, sequential):
        pd.testing.assert_frame_equal(a, b)
        assert len(a) == 2


def test_cli_screen_on_ray(ray_cluster, tmp_path):
    """``skpersona screen --cluster ray://auto`` uses the caller's Ray session (this
    file's) and leaves it open; its table is the local run's."""
    dependent_table(n=160, seed=0).to_csv(tmp_path / "table.csv", index=False)
    common = [str(tmp_path / "table.csv"), "--random-state", "0", "--no-progress"]
    assert main(["screen", *common, "-o", str(tmp_path / "local.csv")]) == 0
    before = _pool_actors()
    assert main(["screen", *common, "-o", str(tmp_path / "ray.csv"), "--n-jobs", "-1",
                 "--cluster", "ray://auto"]) == 0
    assert _pool_actors() > before
    assert ray.is_initialized()  # the caller's session is left open
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "ray.csv"),
                                  pd.read_csv(tmp_path / "local.csv"))
