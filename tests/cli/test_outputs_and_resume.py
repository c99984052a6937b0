"""Output checked before the work, damaged progress files, changed videos, stale
temporaries, bad devices and long errors: each one clear line, nothing half done."""

import json
import os
import shutil
import time

import numpy as np
import pandas as pd
import pytest

from skpersona.cli import main

from .conftest import error_line


def _table(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=80)
    table = pd.DataFrame({"a": x, "b": x + 0.1 * rng.normal(size=80), "c": rng.normal(size=80)})
    table.to_csv(tmp_path / "t.csv", index=False)
    return tmp_path / "t.csv"


def test_unwritable_outputs_are_found_before_the_work(tmp_path, capsys):
    source = _table(tmp_path)
    (tmp_path / "a_file").write_text("not a folder")
    report = tmp_path / "report.csv"
    start = time.monotonic()
    # the heatmap's folder cannot exist: refused before the screen runs and writes the report
    assert main(["screen", str(source), "-o", str(report), "--plot",
                 str(tmp_path / "a_file" / "heat.png"), "--no-progress"]) == 1
    line = error_line(capsys)
    assert line.startswith("skpersona screen: error: cannot write --plot") and "a_file" in line
    assert not report.exists()
    for argv in (["fit", str(source), "--model", "ridge", "--traits", "a",
                  "-o", str(tmp_path / "a_file" / "m.skops")],
                 ["embed", str(source), "--column", "a", "-o", str(tmp_path / "a_file" / "e.csv")],
                 ["screen", str(source), "-o", str(tmp_path / "folder.csv")]):
        (tmp_path / "folder.csv").mkdir(exist_ok=True)  # a folder, not a file
        assert main(argv) == 1
        line = error_line(capsys)
        assert "error: cannot write" in line or "is a folder; name a file" in line
    assert time.monotonic() - start < 30


def test_bogus_device_is_refused_when_the_command_line_is_read(tmp_path, capsys):
    for argv in (["embed", "t.csv", "-o", "e.csv", "--device", "bogus"],
                 ["extract-aus", "v", "-o", "o.csv", "--device", "gpu0"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        assert "is not a device: use cpu, cuda, cuda:N, mps or auto" in capsys.readouterr().err
    args = __import__("skpersona.cli", fromlist=["build_parser"]).build_parser().parse_args(
        ["embed", "t.csv", "-o", "e.csv", "--device", "cuda:1"])
    assert args.device == "cuda:1"


def test_long_errors_are_cut_to_one_readable_line(tmp_path, capsys):
    source = _table(tmp_path)
    many = ",".join(f"missing_column_{i}" for i in range(500))  # a 10 kB message
    assert main(["screen", str(source), "-o", str(tmp_path / "r.csv"), "--columns", many]) == 1
    line = error_line(capsys)
    assert len(line) <= 300 + len("skpersona screen: error: ") and " ... " in line
    assert line.startswith("skpersona screen: error: column 'missing_column_0'")
    assert line.endswith("(its columns: a, b, c).")  # the end of the message is kept too


def test_stale_temporary_files_of_a_killed_run_are_removed(tmp_path):
    source = _table(tmp_path)
    out = tmp_path / "out" / "report.csv"
    out.parent.mkdir()
    stale = out.parent / ".report.csv.k9x2a.tmp"  # what _atomic leaves when killed (-9)
    fresh = out.parent / ".report.csv.live1.tmp"  # another run writing right now
    for path in (stale, fresh):
        path.write_text("half a table")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    assert main(["screen", str(source), "-o", str(out), "--no-progress"]) == 0
    assert out.is_file() and not stale.exists() and fresh.exists()


def _extract_args(videos, out, feat_weights):
    return ["extract-aus", str(videos), "-o", str(out), "--weights-dir", str(feat_weights),
            "--max-frames", "3", "--max-size", "128", "--torch-threads", "1", "--no-progress"]


def test_corrupt_manifest_is_one_clear_line(tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "a.mp4").write_bytes(b"\0" * 10)
    out = tmp_path / "aus.csv"
    out.write_text("video,AU01\n")
    manifest = tmp_path / "aus.csv.manifest.json"
    for damage in ('{"params": {"fps": nul', "[1, 2]"):
        manifest.write_text(damage)
        assert main(_extract_args(videos, out, tmp_path)) == 1
        line = error_line(capsys)
        assert f"progress manifest {manifest}" in line or f"'{manifest}' is unreadable" in line
        assert "--overwrite" in line or "JSONDecodeError" in line


def test_a_video_replaced_before_resume_is_extracted_again(tmp_path, feat_weights,
                                                          feat_videos):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(feat_videos / "single_face.mp4", videos / "a.mp4")
    out = tmp_path / "aus.csv"
    argv = _extract_args(videos, out, feat_weights)
    assert main(argv) == 0
    first = pd.read_csv(out)
    shutil.copy(feat_videos / "no_face.mp4", videos / "a.mp4")  # same name, other content
    assert main(argv) == 0
    resumed = pd.read_csv(out)
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    shutil.copy(feat_videos / "no_face.mp4", fresh_dir / "a.mp4")
    assert main(_extract_args(fresh_dir, tmp_path / "fresh.csv", feat_weights)) == 0
    fresh = pd.read_csv(tmp_path / "fresh.csv")
    pd.testing.assert_frame_equal(resumed, fresh)  # the new video's AUs, not the stale ones
    assert not np.allclose(first.filter(like="AU").to_numpy(), fresh.filter(like="AU").to_numpy())
    entry = json.loads((tmp_path / "aus.csv.manifest.json").read_text())["videos"]["a.mp4"]
    assert entry["stamp"][0] == (videos / "a.mp4").stat().st_size
