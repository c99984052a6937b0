"""``skpersona extract-aus --backend mediapipe``: real faces, the same caching and resume."""

import json
import shutil
from pathlib import Path

import pandas as pd

from skpersona.cli import main

from .conftest import error_line


def test_extract_aus_with_mediapipe_resumes(tmp_path, capsys, feat_videos, mediapipe_model):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(feat_videos / "single_face.mp4", videos / "a.mp4")
    out = tmp_path / "aus.csv"
    argv = ["extract-aus", str(videos), "-o", str(out), "--backend", "mediapipe",
            "--model-path", str(mediapipe_model), "--max-frames", "4", "--max-size", "320",
            "--cache-dir", str(tmp_path / "cache"), "--no-progress"]
    assert main(argv) == 0
    first = pd.read_csv(out)
    assert set(first["video"]) == {"a.mp4"} and len(first) == 4
    assert {"frame", "timestamp", "face_id", "success", "confidence", "face_x", "AU12",
            "mouthSmileLeft", "jawOpen"} <= set(first.columns)
    assert first["success"].all()
    manifest = json.loads(Path(f"{out}.manifest.json").read_text())
    assert manifest["params"]["backend"] == "mediapipe" and manifest["au_scale"] == "0-1"

    # a video without a face is added: only it is extracted, its frames are success False
    shutil.copy(feat_videos / "no_face.mp4", videos / "b.mp4")
    capsys.readouterr()
    assert main(argv) == 0
    assert "1 of 2 videos already in" in capsys.readouterr().out
    second = pd.read_csv(out)
    pd.testing.assert_frame_equal(second[second["video"] == "a.mp4"], first)
    b = second[second["video"] == "b.mp4"]
    assert len(b) == 4 and not b["success"].any() and b["AU12"].isna().all()

    # py-feat's settings on MediaPipe's output are refused (the tables differ)
    py_feat = [a for a in argv if a not in ("--backend", "mediapipe")]
    assert main(py_feat) == 1
    assert "extracted with other settings" in error_line(capsys)
