"""The CLI's long jobs on a cluster given by address (--cluster), and ``skpersona cache``.

A local dask.distributed cluster (two worker processes) stands in for a real one: the
command connects to its scheduler by address, as it would to a remote one. The Ray
form (``--cluster ray://auto``) is tested in tests/test_ray.py, on that file's Ray
session (one local Ray instance per file is started, not one per test).
"""

import logging

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster, get_task_stream

from skpersona.cli import main
from skpersona.datasets import make_interviews

from ._tables import dependent_table


@pytest.fixture(scope="module")
def scheduler():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    with Client(cluster) as client:
        yield cluster.scheduler_address, client
    cluster.close()


def _error_line(capsys):
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_screen_on_a_dask_cluster_by_address(scheduler, tmp_path):
    address, client = scheduler
    dependent_table(n=160, seed=0).to_csv(tmp_path / "table.csv", index=False)
    common = [str(tmp_path / "table.csv"), "--random-state", "0", "--no-progress"]
    assert main(["screen", *common, "-o", str(tmp_path / "local.csv")]) == 0
    with get_task_stream(client) as stream:
        assert main(["screen", *common, "-o", str(tmp_path / "dask.csv"), "--n-jobs", "-1",
                     "--cluster", address.replace("tcp://", "dask://")]) == 0
    assert len({task["worker"] for task in stream.data}) == 2  # both workers tested pairs
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "dask.csv"),
                                  pd.read_csv(tmp_path / "local.csv"))


@pytest.mark.slow  # each Dask worker loads the text model
def test_embed_on_a_dask_cluster_by_address(scheduler, tmp_path):
    from skpersona.text import TextEmbedder

    address, client = scheduler
    bunch = make_interviews(n_samples=12, n_frames=5, random_state=0)
    # Texts no other test embeds, so the workers compute them (not the default cache).
    texts = [f"{t} (clip {i} of the cluster test)" for i, t in enumerate(bunch.data["transcript"])]
    pd.DataFrame({"id": range(12), "transcript": texts}).to_csv(tmp_path / "texts.csv",
                                                                index=False)
    with get_task_stream(client) as stream:
        assert main(["embed", str(tmp_path / "texts.csv"), "--no-progress", "--chunk-size", "3",
                     "-o", str(tmp_path / "dask.parquet"), "--n-jobs", "-1",
                     "--cluster", address]) == 0
    assert len(stream.data) >= 4  # one task per chunk of three texts
    on_dask = pd.read_parquet(tmp_path / "dask.parquet")
    assert on_dask["id"].astype(int).tolist() == list(range(12))
    expected = TextEmbedder(cache_dir=None).fit_transform(texts)
    np.testing.assert_allclose(on_dask.iloc[:, 1:].to_numpy(dtype=float), expected,
                               rtol=1e-5, atol=1e-6)


def test_bad_cluster_address_names_the_forms(tmp_path, capsys):
    dependent_table(n=40, seed=0).to_csv(tmp_path / "table.csv", index=False)
    for address in ("spark://host:7077", "scheduler:8786", "dask://"):
        assert main(["screen", str(tmp_path / "table.csv"), "-o", str(tmp_path / "r.csv"),
                     "--cluster", address]) == 1
        assert "give dask://HOST:PORT" in _error_line(capsys)


def test_cache_info_and_clear(tmp_path, monkeypatch, capsys):
    from skpersona.text import TextEmbedder

    monkeypatch.setenv("SKPERSONA_CACHE_DIR", str(tmp_path / "cache"))
    TextEmbedder().fit(["a"]).transform(["one text", "another text"])
    assert main(["cache", "info"]) == 0
    assert f"{tmp_path / 'cache'}: 2 entries" in capsys.readouterr().out
    assert main(["cache", "clear", "--kind", "embeddings"]) == 0
    assert "removed 2 entries" in capsys.readouterr().out
    assert main(["cache", "info"]) == 0
    assert ": 0 entries" in capsys.readouterr().out
    monkeypatch.setenv("SKPERSONA_CACHE_DIR", "off")
    assert main(["cache", "clear"]) == 0
    assert "switched off" in capsys.readouterr().out
