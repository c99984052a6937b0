"""TextEmbedder's default on-disk cache in the user cache folder, and quiet model loading.

Every test points ``$SKPERSONA_CACHE_DIR`` (or ``$XDG_CACHE_HOME``) at its own temporary
folder; the suite never writes to the real ~/.cache (see the root conftest.py).
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import make_pipeline

from skpersona.datasets import make_interviews
from skpersona.metrics import SCORERS
from skpersona.text import TextEmbedder
from skpersona.utils import cache_info, clear_cache, default_cache_dir

from ..conftest import REPO_ROOT

TEXTS = ["I love parties.", "I prefer quiet evenings.", "I plan carefully.", "I worry a lot."]


@pytest.fixture
def cache_root(tmp_path, monkeypatch):
    monkeypatch.setenv("SKPERSONA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _count_computed(monkeypatch):
    """Record how many texts really go through the model (a spy on the real method)."""
    computed = []
    original = TextEmbedder._compute

    def spy(self, texts):
        computed.extend(texts)
        return original(self, texts)

    monkeypatch.setattr(TextEmbedder, "_compute", spy)
    return computed


def test_default_caches_in_the_user_cache_folder(cache_root, monkeypatch):
    emb = TextEmbedder()
    assert emb.get_params()["cache_dir"] == "auto"  # stored unchanged, resolved per call
    first = emb.fit(TEXTS).transform(TEXTS)
    assert len(list((cache_root / "embeddings").rglob("*.npz"))) == len(TEXTS)
    computed = _count_computed(monkeypatch)
    again = clone(emb).fit(TEXTS).transform(TEXTS[::-1])
    assert computed == []  # every text came from the cache
    np.testing.assert_array_equal(again, first[::-1])
    info = cache_info("embeddings")
    assert info["path"] == str(cache_root / "embeddings") and info["n_entries"] == 4
    assert 4 * 1536 < info["size_bytes"] < 4 * 2500  # 384 float32 + the .npz header


def test_cross_validation_embeds_each_text_once(cache_root, monkeypatch):
    """The issue's scenario: a default TextEmbedder in a pipeline, five folds, then a
    second "trial" with another head: 40 distinct texts are embedded 40 times, not
    once per fold and trial."""
    bunch = make_interviews(n_samples=40, n_frames=5, random_state=0)
    computed = _count_computed(monkeypatch)
    for alpha in (1.0, 10.0):
        cross_validate(make_pipeline(TextEmbedder(), Ridge(alpha=alpha)),
                       bunch.data["transcript"], bunch.target, cv=KFold(5),
                       scoring=SCORERS["mean_accuracy"], error_score="raise")
    assert sorted(computed) == sorted(set(bunch.data["transcript"]))


def test_environment_moves_or_disables_the_default(tmp_path, monkeypatch):
    monkeypatch.delenv("SKPERSONA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert default_cache_dir("embeddings") == tmp_path / "xdg" / "skpersona" / "embeddings"
        TextEmbedder().fit(TEXTS).transform(TEXTS[:1])
        assert len(list((tmp_path / "xdg").rglob("*.npz"))) == 1
    monkeypatch.setenv("SKPERSONA_CACHE_DIR", "off")
    assert default_cache_dir("embeddings") is None
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    TextEmbedder().fit(TEXTS).transform(TEXTS)
    for explicit_off in (None, False):
        monkeypatch.setenv("SKPERSONA_CACHE_DIR", str(tmp_path / "moved"))
        TextEmbedder(cache_dir=explicit_off).fit(TEXTS).transform(TEXTS)
    assert not (tmp_path / "moved").exists() and not (tmp_path / "home").exists()
    monkeypatch.setenv("SKPERSONA_CACHE_DIR", "~/elsewhere")
    TextEmbedder(cache_dir=True).fit(TEXTS).transform(TEXTS[:2])
    assert len(list((tmp_path / "home" / "elsewhere").rglob("*.npz"))) == 2


def test_clear_cache_removes_only_cache_entries(cache_root):
    TextEmbedder().fit(TEXTS).transform(TEXTS)
    foreign = cache_root / "embeddings" / "ab" / "notes.txt"
    foreign.parent.mkdir(parents=True, exist_ok=True)
    foreign.write_text("not skpersona's")
    (cache_root / "keep.npz").write_bytes(b"a user's file at the top")
    removed = clear_cache()
    assert removed["n_entries"] == len(TEXTS) and removed["size_bytes"] > 0
    assert cache_info()["n_entries"] == 0
    assert foreign.read_text() == "not skpersona's" and (cache_root / "keep.npz").exists()
    assert [p.name for p in (cache_root / "embeddings").iterdir()] == ["ab"]  # empties gone


def test_unwritable_default_cache_warns_and_still_embeds(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SKPERSONA_CACHE_DIR", str(blocker / "sub"))  # cannot be a folder
    reference = TextEmbedder(cache_dir=None).fit(TEXTS).transform(TEXTS)
    with pytest.warns(RuntimeWarning, match="not cached.*SKPERSONA_CACHE_DIR"):
        out = TextEmbedder().fit(TEXTS).transform(TEXTS)
    np.testing.assert_array_equal(out, reference)
    with pytest.raises(OSError):  # a folder the user chose is no convenience: it fails
        TextEmbedder(cache_dir=blocker / "sub").fit(TEXTS).transform(TEXTS)


_LOAD = """
import sys
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from skpersona.text import TextEmbedder
texts = ["I love parties.", "I prefer quiet evenings.", "I plan carefully.", "I worry."] * 2
verbose = sys.argv[1] == "1"
pipe = make_pipeline(TextEmbedder(cache_dir=None, verbose=verbose), Ridge())
cross_val_score(pipe, texts, [0.1, 0.9, 0.5, 0.3] * 2, cv=2, n_jobs=2 if not verbose else None)
from transformers.utils import logging
print("bars", logging.is_progress_bar_enabled(), "verbosity", logging.get_verbosity())
"""


@pytest.mark.parametrize("verbose", [pytest.param(False, marks=pytest.mark.slow), True])
def test_loading_prints_no_progress_unless_verbose(verbose, tmp_path):
    """verbose=False: no "Loading weights" bar from the main process nor the two joblib
    workers (slow: each worker loads torch and the model); verbose=True shows it. transformers' own switches are left as they were."""
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_LOAD), str(int(verbose))],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert ("Loading weights" in run.stderr) is verbose, run.stderr[-2000:]
    assert "bars True verbosity 30" in run.stdout


def test_cache_clear_deletes_only_what_skpersona_wrote(cache_root, tmp_path):
    from skpersona.cli import main

    TextEmbedder().fit(TEXTS).transform(TEXTS)
    users = cache_root / "ab" / "notes.tmp"  # a user's file in a 2-hex folder: once deleted
    users.parent.mkdir(parents=True)
    users.write_text("mine")
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / ("cd" + "0" * 62 + ".npz")  # named like an entry, out of the cache
    victim.write_bytes(b"not skpersona's")
    (cache_root / "embeddings" / "cd").symlink_to(outside, target_is_directory=True)
    linked = cache_root / "embeddings" / "ef"
    linked.mkdir(exist_ok=True)
    (linked / victim.name.replace("cd", "ef", 1)).symlink_to(victim)  # a linked entry
    misplaced = cache_root / "embeddings" / "12" / ("34" + "0" * 62 + ".npz")  # wrong shard
    misplaced.parent.mkdir(exist_ok=True)
    misplaced.write_bytes(b"a user's")
    assert main(["cache", "clear"]) == 0
    assert cache_info()["n_entries"] == 0
    assert users.read_text() == "mine" and victim.read_bytes() == b"not skpersona's"
    assert misplaced.exists() and (cache_root / "embeddings" / "cd").is_symlink()
