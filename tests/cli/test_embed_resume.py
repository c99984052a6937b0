"""``skpersona embed --cache-dir`` saves as it goes: Ctrl-C keeps the work done."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from skpersona.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]


def _default_sigint():
    # pytest-xdist's workers ignore SIGINT and a child inherits that (Python then installs no
    # KeyboardInterrupt handler): give the child the default a user's shell gives it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow  # a subprocess loading torch and the model: about a minute on 2 cores
def test_interrupted_embed_keeps_its_cache_and_the_same_command_resumes(tmp_path):
    texts = [f"Sentence number {i} about meeting people and quiet evenings." for i in range(300)]
    pd.DataFrame({"video_id": [f"{i:05d}" for i in range(300)], "transcript": texts}).to_csv(
        tmp_path / "t.csv", index=False)
    cache = tmp_path / "cache"
    argv = ["embed", str(tmp_path / "t.csv"), "-o", str(tmp_path / "e.csv"), "--cache-dir",
            str(cache), "--chunk-size", "32", "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS="1")
    process = subprocess.Popen([sys.executable, "-m", "skpersona.cli", *argv], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=_default_sigint)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(list(cache.rglob("*.npz"))) < 32:
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err.decode()
    assert "interrupted" in err.decode()
    kept = {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")}
    assert 32 <= len(kept) < 300  # the chunks done before Ctrl-C (was 0: all at the end)
    assert not (tmp_path / "e.csv").exists()

    assert main(argv) == 0
    assert len(list(cache.rglob("*.npz"))) == 300
    assert all(p.stat().st_mtime_ns == m for p, m in kept.items())  # reused, not redone
    out = pd.read_csv(tmp_path / "e.csv", dtype={"video_id": str})
    assert len(out) == 300 and out["video_id"].iloc[0] == "00000"
