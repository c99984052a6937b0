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
