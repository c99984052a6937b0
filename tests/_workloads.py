"""The ``n_jobs`` workloads that tests/test_dask.py and tests/test_ray.py run on a cluster."""

import shutil
from pathlib import Path

from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skpersona.au import AUStatistics
from skpersona.datasets import make_interviews
from skpersona.metrics import get_scorer


def au_grid_search():
    """A grid search over an AU pipeline (sequential) and the interviews it is fitted on."""
    bunch = make_interviews(n_samples=60, n_frames=40, random_state=0)
    search = GridSearchCV(
        make_pipeline(AUStatistics(), StandardScaler(), Ridge()),
        {"austatistics__statistics": [("mean",), ("mean", "std", "p90")],
         "ridge__alpha": [1.0, 100.0]},
        cv=KFold(3, shuffle=True, random_state=0), scoring=get_scorer("mean_accuracy"),
        n_jobs=None,
    )
    return search, bunch.data["video"], bunch.target


def au_videos(tmp_path):
    """Four short videos (two with a face) and AUExtractor settings with generated py-feat
    weights (tests/au/_weights.py: meaningless AUs, py-feat's real code path)."""
    import feat

    from tests.au._weights import make_multitask, make_retinaface

    weights = tmp_path / "hub"
    make_retinaface(weights, faces=True)
    make_multitask(weights)
    data = Path(feat.__file__).parent / "tests" / "data"
    videos = []
    for i, name in enumerate(["single_face.mp4", "no_face.mp4"] * 2):
        videos.append(tmp_path / f"v{i}.mp4")
        shutil.copy(data / name, videos[-1])
    return videos, dict(weights_dir=weights, max_frames=2, max_size=128, torch_threads=1)
