"""A model file whose stored network arguments outgrow its weights is refused before
anything is allocated (``hidden_size=40000`` would be gigabytes)."""

import time

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from skpersona.crl import BetaVAE, MultimodalCRL
from skpersona.datasets import make_multimodal_causal
from skpersona.fusion import FusionClassifier, FusionRegressor

FAST = dict(hidden_size=8, n_hidden_layers=1, max_epochs=2, batch_size=64, random_state=0)


def _table(n=60):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n, 6)),
                     columns=[f"au__{i}" for i in range(3)] + [f"text__{i}" for i in range(3)])
    return X, rng.normal(size=(n, 2))


def _inflate(est, attribute, key="hidden_size"):
    blob = sio.dumps(est)  # a good file, then the same estimator claiming a huge network
    trusted = sio.get_untrusted_types(data=blob)
    sio.loads(blob, trusted=trusted)
    assert key in getattr(est, attribute)
    getattr(est, attribute)[key] = 40_000
    return sio.dumps(est), trusted


@pytest.mark.parametrize("make", [
    lambda: FusionRegressor(fusion="attention", hidden_size=8, n_heads=2, max_epochs=2),
    lambda: FusionClassifier(fusion="gated", hidden_size=8, max_epochs=2),
])
def test_fusion_file_claiming_a_huge_network_is_refused_quickly(make):
    X, y = _table()
    est = make().fit(X, y if isinstance(make(), FusionRegressor) else (y[:, 0] > 0).astype(int))
    blob, trusted = _inflate(est, "_module_kwargs")
    start = time.monotonic()
    with pytest.raises(ValueError, match="arguments do not match its weights.*arguments say "
                       r"\(.*40000"):
        sio.loads(blob, trusted=trusted)
    assert time.monotonic() - start < 2.0


@pytest.mark.parametrize("make", [lambda: MultimodalCRL(**FAST),
                                  lambda: BetaVAE(n_components=3, **FAST)])
def test_crl_file_claiming_a_huge_network_is_refused_quickly(make):
    data = make_multimodal_causal(n_samples=120, n_features=6, random_state=0)
    blob, trusted = _inflate(make().fit(data.data), "_module_args", "hidden")
    start = time.monotonic()
    with pytest.raises(ValueError, match="arguments do not match its weights.*40000"):
        sio.loads(blob, trusted=trusted)
    assert time.monotonic() - start < 2.0


def test_predict_refuses_an_inflated_model_file_in_one_line(tmp_path, capsys):
    from sklearn.pipeline import make_pipeline

    from skpersona import __version__
    from skpersona.cli import main
    from skpersona.cli._io import MODEL_FORMAT, dump_model

    X, y = _table()
    model = make_pipeline(FusionRegressor(hidden_size=8, max_epochs=2)).fit(X, y)
    model[-1]._module_kwargs["hidden_size"] = 40_000
    dump_model({"format": MODEL_FORMAT, "format_version": 1, "skpersona_version": __version__,
                "model_name": "fusion", "targets": ["a", "b"], "reads": "features",
                "features": list(X.columns), "estimator": model}, tmp_path / "m.skops")
    X.to_csv(tmp_path / "new.csv", index=False)
    start = time.monotonic()
    assert main(["predict", str(tmp_path / "m.skops"), str(tmp_path / "new.csv"), "-o",
                 str(tmp_path / "p.csv")]) == 1
    assert time.monotonic() - start < 5.0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "arguments do not match its weights" in err[0]


def test_predict_refuses_a_model_file_that_unpacks_to_too_much(tmp_path, capsys, monkeypatch):
    import zipfile

    from skpersona import _loading
    from skpersona.cli import main

    # a crafted member: 64 MB of zeros deflated to ~64 kB (a zip bomb in small)
    path = tmp_path / "bomb.skops"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", "{}")
        archive.writestr("big.npy", b"\0" * (64 << 20))
    assert path.stat().st_size < 1 << 20
    monkeypatch.setattr(_loading, "MAX_MODEL_BYTES", 32 << 20)
    pd.DataFrame({"a": [1.0]}).to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(path), str(tmp_path / "new.csv"), "-o",
                 str(tmp_path / "p.csv")]) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "unpacks to 0.1 GiB, more than a model needs" in line
