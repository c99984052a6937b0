"""The documentation builds with warnings as errors, gallery examples included."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOC = REPO_ROOT / "doc"


@pytest.mark.slow(seconds=170)  # sphinx and every gallery example: about 170 s of CPU
def test_docs_build_without_warnings(tmp_path):
    html = tmp_path / "html"
    # Every gallery script runs in this build, also where an earlier build left its output
    # (in a fresh clone and in place alike): the test times and checks the same work.
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", MPLBACKEND="Agg",
               SKPERSONA_DOCS_RUN_ALL_EXAMPLES="1")
    # Threads: conftest.py gives each pytest-xdist worker its share of the cores, and the
    # build inherits it (with two threads per process on busy cores the threads wait on
    # each other: a 2,886-row eigendecomposition took 35 s against 18 s with one).
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOC), str(html)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )
    assert result.returncode == 0, f"sphinx failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"

    for page in ("index", "install", "cli", "api", "user_guide/index",
                 "user_guide/scaling_out", "auto_examples/index", "architecture",
                 "research/crl_notes"):
        assert (html / f"{page}.html").is_file(), page

    # Every public name of every subpackage present has its own API page.
    sys.path.insert(0, str(DOC))
    try:
        api = importlib.import_module("_api")
    finally:
        sys.path.remove(str(DOC))
    n_pages = 0
    for module, _, _, groups in api.api_sections():
        for name in groups["class"] + groups["function"]:
            page = html / "generated" / f"{module.__name__}.{name}.html"
            assert page.is_file(), f"no API page for {module.__name__}.{name}"
            n_pages += 1
    assert n_pages >= 10

    # Every gallery script ran and drew at least one figure.
    for script in sorted((REPO_ROOT / "examples").glob("plot_*.py")):
        page = html / "auto_examples" / f"{script.stem}.html"
        assert page.is_file(), f"gallery page missing for {script.name}"
        images = list((html / "_images").glob(f"sphx_glr_{script.stem}_[0-9][0-9][0-9].png"))
        assert images, f"{script.name} drew no figure"
