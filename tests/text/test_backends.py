"""TextEmbedder's ONNX Runtime / int8 / OpenVINO backends against the torch path (real model)."""

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from skpersona.datasets import load_first_impressions
from skpersona.text import TextEmbedder
from skpersona.text._backends import export_root

TEXTS = [
    "I love meeting new people and going to parties.",
    "I prefer quiet evenings with a good book.",
    "",
    "Deadlines stress me out and I worry a lot. " * 40,  # longer than 256 tokens: chunked
]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    return tmp_path_factory.mktemp("text-cache")


@pytest.fixture(scope="module")
def reference():
    return TextEmbedder(device="cpu").fit(TEXTS).transform(TEXTS)


def _cosine(a, b):
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_float_backends_match_torch(backend, exports, reference):
    out = TextEmbedder(backend=backend, cache_dir=exports).fit(TEXTS).transform(TEXTS)
    assert out.shape == reference.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, reference, atol=2e-5)
    assert np.max(1 - _cosine(out, reference)) < 1e-6
    # the export is kept in the cache folder, keyed by the model's content
    assert len(list((exports / "exported-models").rglob("model.onnx"))) == 1


def test_int8_is_close_and_separate_in_the_cache(exports, reference, monkeypatch):
    emb = TextEmbedder(backend="onnx-int8", cache_dir=exports).fit(TEXTS)
    out = emb.transform(TEXTS)
    only_here = ["A sentence that only this test embeds."]
    emb.transform(only_here)
    cos = _cosine(out, reference)
    # quantised weights: close to, but not equal to, the float model
    assert np.min(cos) > 0.95 and np.max(np.abs(out - reference)) > 1e-4
    # its embeddings are cached under their own keys: a torch embedder does not see them,
    # and the int8 embedder does not see the float backends' ones
    def fail(self, texts):
        raise AssertionError("cache miss")

    monkeypatch.setattr(TextEmbedder, "_compute", fail)
    np.testing.assert_array_equal(clone(emb).fit(TEXTS).transform(TEXTS), out)
    for other in ("torch", "onnx"):
        with pytest.raises(AssertionError, match="cache miss"):
            clone(emb).set_params(backend=other).fit(TEXTS).transform(only_here)


def test_corrupt_export_is_made_again(tmp_path, reference):
    emb = TextEmbedder(backend="onnx", cache_dir=tmp_path)
    from skpersona.text._backends import exported_model_path
    from skpersona.text._models import load_model, model_identity

    torch_model = load_model("all-MiniLM-L6-v2", "cpu")
    path = exported_model_path(torch_model, model_identity("all-MiniLM-L6-v2"), "onnx", tmp_path)
    path.write_bytes(b"not an onnx model")
    again = exported_model_path(torch_model, model_identity("all-MiniLM-L6-v2"), "onnx", tmp_path)
    assert again == path and path.stat().st_size > 1_000_000
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp left
    np.testing.assert_allclose(emb.fit(TEXTS).transform(TEXTS[:2]), reference[:2], atol=2e-5)


def test_backend_errors_and_default_location(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="runs on the CPU"):
        TextEmbedder(backend="onnx", device="cuda").fit(TEXTS)
    with pytest.raises(ValueError, match="backend"):
        TextEmbedder(backend="tensorrt").fit(TEXTS)
    monkeypatch.setenv("SKPERSONA_CACHE_DIR", str(tmp_path))  # the default cache folder
    assert export_root() == tmp_path / "exported-models"
    assert export_root("~/x") == export_root("~/x").expanduser()


@pytest.mark.slow
def test_int8_keeps_first_impressions_accuracy(exports):
    """TextEmbedder -> RidgeCV on 300 FI training clips, scored on 150 validation clips."""
    from sklearn.linear_model import RidgeCV

    from skpersona.metrics import mean_accuracy_score

    train = load_first_impressions(split="training")
    valid = load_first_impressions(split="validation")
    X_tr, y_tr = train.data["transcript"][:300], train.target[:300]
    X_va, y_va = valid.data["transcript"][:150], valid.target[:150]
    scores = {}
    for backend in ("torch", "onnx-int8"):
        # torch's embeddings in the run's default cache (conftest.py), where README's
        # snippet and tests/test_cli.py leave most of these 300 clips; int8 beside its export
        cache = "auto" if backend == "torch" else exports
        emb = TextEmbedder(backend=backend, cache_dir=cache).fit(X_tr)
        head = RidgeCV(alphas=np.logspace(-1, 4, 11)).fit(emb.transform(X_tr), y_tr)
        scores[backend] = mean_accuracy_score(y_va, head.predict(emb.transform(X_va)))
    assert abs(scores["onnx-int8"] - scores["torch"]) < 0.002


_RACE = """
import sys, time
from pathlib import Path
from skpersona.text._backends import exported_model_path
from skpersona.text._models import load_model, model_identity

folder, me = Path(sys.argv[1]), sys.argv[2]
model = load_model("all-MiniLM-L6-v2", "cpu")
(folder / f"ready-{me}").touch()
while len(list(folder.glob("ready-*"))) < 2:  # start both exports at the same moment
    time.sleep(0.001)
print(exported_model_path(model, model_identity("all-MiniLM-L6-v2"), "onnx-int8", folder))
"""


@pytest.mark.slow  # two processes load the model: 2 minutes on 2 shared cores
def test_two_processes_make_the_first_int8_export_at_once(tmp_path):
    """Both succeed (quantize_dynamic's '-inferred' file once made 3 runs in 4 crash)."""
    from skpersona.text._backends import exported_model_path
    from skpersona.text._models import load_model, model_identity

    # the float export exists, as when a second process starts on a warm cache
    exported_model_path(load_model("all-MiniLM-L6-v2", "cpu"),
                        model_identity("all-MiniLM-L6-v2"), "onnx", tmp_path)
    runs = [subprocess.Popen([sys.executable, "-c", _RACE, str(tmp_path), str(i)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (_, err) in zip(runs, outputs):
        assert run.returncode == 0, err[-2000:]
    paths = {out.strip() for out, _ in outputs}
    assert len(paths) == 1
    folder = Path(paths.pop()).parent
    assert sorted(p.name for p in folder.iterdir()) == ["model.onnx",
                                                        "model_qint8_per_channel.onnx"]


@pytest.fixture
def fresh_models():
    from skpersona.text import clear_model_cache

    clear_model_cache()  # loaded backends are kept per process; export again here
    yield
    clear_model_cache()


@pytest.mark.parametrize("off", ["cache_dir=None", "SKPERSONA_CACHE_DIR=off"])
def test_no_cache_keeps_no_export(off, tmp_path, monkeypatch, reference, fresh_models):
    cache, scratch = tmp_path / "cache", tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("SKPERSONA_CACHE_DIR", "off" if "=off" in off else str(cache))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    emb = TextEmbedder(backend="onnx", cache_dir=None if "None" in off else "auto")
    np.testing.assert_allclose(emb.fit(TEXTS).transform(TEXTS[:2]), reference[:2], atol=2e-5)
    assert not cache.exists() and not list(scratch.iterdir())
