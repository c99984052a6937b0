"""AnswerEmbedder: one embedder per answer column, per-question features named by question."""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skpersona.text import AnswerEmbedder, TextEmbedder

ANSWERS = {
    "q1": ["I would talk to my colleague first.", "I keep my week, I booked it.",
           "We could split the week.", "", "I give it up, family matters less."],
    "q2": ["I start the project at once.", "I wait for the deadline.", None,
           "I plan every step.", "I ask my boss what matters most."],
}
QUESTIONS = {"q1": "A colleague wants your vacation week.", "q2": "Your boss adds work."}


def _table():
    table = pd.DataFrame(ANSWERS)
    table.insert(0, "Respondent_ID", [f"{i:05d}" for i in range(len(table))])
    table["score"] = np.arange(len(table), dtype=float)
    return table


def test_each_block_is_the_embedding_of_its_column_and_named_by_question():
    table = _table()
    answers = AnswerEmbedder(TextEmbedder(cache_dir=None), columns=["q1", "q2"]).fit(table)
    out = answers.transform(table)
    assert out.shape == (5, 768) and out.dtype == np.float32
    single = TextEmbedder(cache_dir=None).fit(ANSWERS["q1"])
    np.testing.assert_allclose(out[:, :384], single.transform(ANSWERS["q1"]), atol=1e-6)
    np.testing.assert_allclose(out[:, 384:], single.transform(ANSWERS["q2"]), atol=1e-6)
    names = answers.get_feature_names_out()
    assert names[0] == "q1__emb_0" and names[383] == "q1__emb_383" and names[384] == "q2__emb_0"
    assert len(names) == out.shape[1]
    assert answers.n_features_in_ == 4
    assert answers.feature_names_in_.tolist() == ["Respondent_ID", "q1", "q2", "score"]


def test_question_context_is_embedded_with_the_answer_and_blank_answers_stay_blank():
    table = _table()
    embedder = TextEmbedder(cache_dir=None, empty="zeros")
    context = AnswerEmbedder(embedder, columns=["q1", "q2"], questions=QUESTIONS).fit(table)
    out = context.transform(table)
    expected = embedder.fit(["x"]).transform([f"{QUESTIONS['q1']}\n{ANSWERS['q1'][0]}"])
    np.testing.assert_allclose(out[0, :384], expected[0], atol=1e-6)
    assert not np.allclose(out[:, :384], embedder.transform(ANSWERS["q1"]), atol=1e-3)
    assert np.all(out[3, :384] == 0) and np.all(out[2, 384:] == 0)  # "" and None: no text


def test_lexical_blocks_are_sparse_tfidf_per_answer():
    table = _table()
    lexical = AnswerEmbedder(TfidfVectorizer(), columns=["q1", "q2"]).fit(table)
    out = lexical.transform(table)
    assert sp.issparse(out) and out.format == "csr"
    names = lexical.get_feature_names_out()
    assert "q1__colleague" in names and "q2__deadline" in names
    # "week" is in q1 only: the q2 block has no column for it
    assert "q2__week" not in names
    q1 = TfidfVectorizer().fit(table["q1"].fillna(""))
    np.testing.assert_allclose(out[:, : len(q1.vocabulary_)].toarray(),
                               q1.transform(table["q1"].fillna("")).toarray())


def test_default_columns_array_input_and_pandas_output():
    table = _table()[["q1", "q2"]].fillna("")
    by_name = AnswerEmbedder(TfidfVectorizer()).fit(table)
    assert by_name.columns_ == ["q1", "q2"]
    by_position = AnswerEmbedder(TfidfVectorizer(), columns=[0, 1]).fit(table.to_numpy())
    np.testing.assert_allclose(by_position.transform(table.to_numpy()).toarray(),
                               by_name.transform(table).toarray())
    assert by_position.get_feature_names_out()[0].startswith("0__")
    dense = AnswerEmbedder(TextEmbedder(cache_dir=None)).set_output(transform="pandas")
    frame = dense.fit_transform(table.set_axis(list("abcde")))
    assert list(frame.index) == list("abcde") and frame.columns[384] == "q2__emb_0"


def test_clone_pickle_and_grid_search():
    table, y = _table(), np.array([0.1, 0.9, 0.5, 0.3, 0.7])
    answers = AnswerEmbedder(TfidfVectorizer(), columns=["q1", "q2"], questions=QUESTIONS)
    assert clone(answers).get_params()["columns"] == ["q1", "q2"]
    fitted = clone(answers).fit(table)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(restored.transform(table).toarray(),
                               fitted.transform(table).toarray())
    search = GridSearchCV(
        make_pipeline(answers, Ridge()),
        {"answerembedder__embedder__ngram_range": [(1, 1), (1, 2)],
         "answerembedder__columns": [["q1"], ["q1", "q2"]]}, cv=2,
    ).fit(table, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_[0]
    assert best.columns_ == search.best_params_["answerembedder__columns"]
    assert all(name.split("__")[0] in best.columns_ for name in best.get_feature_names_out())


@pytest.mark.parametrize(("kwargs", "X", "error", "match"), [
    ({"columns": ["q3"]}, _table(), ValueError, r"answer column\(s\) \['q3'\] not in X"),
    ({"columns": ["q1", "q1"]}, _table(), ValueError, "names a column twice"),
    ({"columns": ["q1", "q2"], "questions": {"q1": "?"}}, _table(), ValueError,
     r"no question for answer column\(s\) \['q2'\]"),
    ({"columns": ["q1"], "questions": {"q1": "?"}, "question_template": "{answer}"}, _table(),
     ValueError, "must contain"),
    ({}, _table()["q1"], ValueError, "a single column; use TextEmbedder"),
    ({"columns": [5]}, np.array([["a", "b"]], dtype=object), ValueError, "columns 0..1"),
    ({"columns": ["q1"]}, _table().assign(q1=[1, 2, 3, 4, 5]), TypeError,
     "Row 0 of answer column 'q1' is a int"),
    ({"embedder": "tfidf"}, _table(), ValueError, "embedder"),
])
def test_bad_input_is_reported(kwargs, X, error, match):
    with pytest.raises(error, match=match):
        AnswerEmbedder(**{"embedder": TfidfVectorizer(), **kwargs}).fit(X)


def test_transform_needs_the_fitted_answer_columns():
    fitted = AnswerEmbedder(TfidfVectorizer(), columns=["q1", "q2"]).fit(_table())
    with pytest.raises(ValueError, match=r"\['q2'\] not in X"):
        fitted.transform(_table().drop(columns="q2"))


_words = st.lists(st.sampled_from(["I", "would", "talk", "wait", "plan", "boss", "week"]),
                  min_size=1, max_size=6).map(" ".join)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=st.lists(st.tuples(_words, _words), min_size=2, max_size=6),
       extra=st.lists(st.one_of(_words, st.floats(allow_nan=True), st.integers()),
                      min_size=0, max_size=3),
       order=st.randoms(use_true_random=False))
def test_features_do_not_depend_on_the_order_of_unrelated_columns(answers, extra, order):
    table = pd.DataFrame(answers, columns=["q1", "q2"])
    for i, value in enumerate(extra):  # unrelated columns: ids, numbers, other texts
        table[f"other_{i}"] = [value] * len(table)
    shuffled = table[order.sample(list(table.columns), k=table.shape[1])]
    model = AnswerEmbedder(TfidfVectorizer(token_pattern=r"\S+"), columns=["q1", "q2"])
    reference = model.fit(table[["q1", "q2"]]).transform(table[["q1", "q2"]]).toarray()
    names = model.get_feature_names_out()
    again = clone(model).fit(shuffled)
    np.testing.assert_array_equal(again.transform(shuffled).toarray(), reference)
    np.testing.assert_array_equal(again.get_feature_names_out(), names)
    # and a model fitted on one column order transforms another order the same way
    np.testing.assert_array_equal(model.transform(shuffled).toarray(), reference)


# -- persistence: the vocabularies as arrays (issue 28: the answers model was 74 MB) -----

def _siop_answers(n=300):
    from skpersona.datasets import load_siop_2019

    data = load_siop_2019(split="train")  # real answers: a realistic vocabulary
    return data.data.iloc[:n], data.target.to_numpy()[:n]


def _lexical():
    return AnswerEmbedder(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                          columns=["open_ended_1", "open_ended_2"])


def _dump_with_dicts(estimator, path):
    """The file as written before the vocabularies were packed."""
    import skops.io as sio
    from sklearn.base import BaseEstimator

    packed = AnswerEmbedder.__getstate__
    AnswerEmbedder.__getstate__ = BaseEstimator.__getstate__
    try:
        sio.dump(estimator, path)
    finally:
        AnswerEmbedder.__getstate__ = packed


def test_saved_vocabularies_are_arrays_and_outputs_survive_the_round_trip(tmp_path):
    import skops.io as sio

    import skpersona

    X, y = _siop_answers()
    model = make_pipeline(_lexical(), Ridge()).fit(X, y)
    sio.dump(model, tmp_path / "new.skops")
    _dump_with_dicts(model, tmp_path / "old.skops")
    # the terms are two arrays per column, not one JSON entry per term
    assert (tmp_path / "new.skops").stat().st_size * 3 < (tmp_path / "old.skops").stat().st_size
    for name in ("new.skops", "old.skops"):  # files written before this change still load
        loaded = skpersona.load(tmp_path / name)
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        before, after = model[0], loaded[0]
        assert (after.transform(X) != before.transform(X)).nnz == 0
        np.testing.assert_array_equal(after.get_feature_names_out(),
                                      before.get_feature_names_out())
        for a, b in zip(after.embedders_, before.embedders_, strict=True):
            assert a.vocabulary_ == b.vocabulary_
    # pickles too; the model in memory keeps its vocabularies
    again = pickle.loads(pickle.dumps(model[0]))
    assert again.embedders_[0].vocabulary_ == model[0].embedders_[0].vocabulary_
    assert "vocabulary_" in vars(model[0].embedders_[0])
    assert "_vocabularies" not in vars(model[0])


@pytest.mark.parametrize("damage, match", [
    (lambda p: [p[0]], "do not match its answer columns"),
    (lambda p: [(p[0][0], p[0][1] + 1), p[1]], "offsets do not cut its bytes"),
    (lambda p: [(p[0][0].astype(np.int64), p[0][1]), p[1]], "offsets do not cut its bytes"),
    (lambda p: [(np.full(4, 0xFF, np.uint8), np.array([2, 4])), p[1]], "not UTF-8"),
    (lambda p: [(np.frombuffer(b"abab", np.uint8).copy(), np.array([2, 4])), p[1]],
     "a term twice"),
    (lambda p: [("terms", p[0][1]), p[1]], "not two 1-D arrays"),
])
def test_a_damaged_packed_vocabulary_is_refused_with_a_clear_message(tmp_path, damage, match):
    import skops.io as sio

    import skpersona
    from skpersona._loading import ModelFileError

    fitted = _lexical().fit(_siop_answers(40)[0])
    state = fitted.__getstate__()
    state["_vocabularies"] = damage(state["_vocabularies"])
    crafted = AnswerEmbedder.__new__(AnswerEmbedder)
    crafted.__dict__.update(state)  # a file holding that state, written as it is
    _dump_with_dicts(crafted, tmp_path / "bad.skops")
    with pytest.raises(ModelFileError, match=f"AnswerEmbedder in the model file is damaged: "
                       f".*{match}"):
        skpersona.load(tmp_path / "bad.skops")
    with pytest.raises(ModelFileError, match=match):
        sio.load(tmp_path / "bad.skops", trusted=sio.get_untrusted_types(
            file=tmp_path / "bad.skops"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=30, unique=True))
def test_any_vocabulary_packs_and_unpacks_exactly(terms):
    from skpersona.text._answers import _pack_vocabulary, _unpack_vocabulary

    vocabulary = {t: i for i, t in enumerate(reversed(terms))}
    assert _unpack_vocabulary(_pack_vocabulary(vocabulary)) == vocabulary
