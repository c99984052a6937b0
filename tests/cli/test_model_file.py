"""The model file ``skpersona fit`` writes: deflate-compressed, read by the same safe loader."""

import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from skpersona import __version__
from skpersona.cli._io import MODEL_FORMAT, UsageError, dump_model, load_model
from skpersona.text import AnswerEmbedder


def _bundle():
    rng = np.random.default_rng(0)
    words = np.array(["team", "plan", "deadline", "talk", "help", "first", "week", "boss"])
    X = pd.DataFrame({q: [" ".join(rng.choice(words, 6)) for _ in range(60)]
                      for q in ("q1", "q2")})
    model = make_pipeline(AnswerEmbedder(TfidfVectorizer(ngram_range=(1, 2)),
                                         columns=["q1", "q2"]), Ridge())
    model.fit(X, rng.normal(size=(60, 2)))
    return X, {"format": MODEL_FORMAT, "format_version": 1, "skpersona_version": __version__,
               "model_name": "answers", "targets": ["a", "b"], "reads": "text",
               "features": None, "text_columns": ["q1", "q2"], "estimator": model}


def test_model_file_is_compressed_and_loads_as_before(tmp_path):
    X, bundle = _bundle()
    dump_model(bundle, tmp_path / "m.skops")
    sio.dump(bundle, tmp_path / "plain.skops")  # how fit wrote it before
    with zipfile.ZipFile(tmp_path / "m.skops") as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    assert (tmp_path / "m.skops").stat().st_size * 3 < (tmp_path / "plain.skops").stat().st_size
    for name in ("m.skops", "plain.skops"):
        loaded = load_model(tmp_path / name)
        np.testing.assert_array_equal(loaded["estimator"].predict(X),
                                      bundle["estimator"].predict(X))


def test_the_unpacked_size_bound_still_applies_to_compressed_files(tmp_path, monkeypatch):
    import skpersona._loading as loading

    _, bundle = _bundle()
    dump_model(bundle, tmp_path / "m.skops")
    with zipfile.ZipFile(tmp_path / "m.skops") as archive:
        unpacked = sum(i.file_size for i in archive.infolist())
    monkeypatch.setattr(loading, "MAX_MODEL_BYTES", unpacked - 1)
    with pytest.raises(UsageError, match="unpacks to"):
        load_model(tmp_path / "m.skops")
