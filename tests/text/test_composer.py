"""AUTextComposer, and the AU-text semantic fusion pipeline end to end."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline

from skpersona.au import AUDescriber
from skpersona.datasets import make_interviews
from skpersona.metrics import mean_accuracy_score
from skpersona.text import AUTextComposer, TextEmbedder

X = pd.DataFrame({
    "au_description": ["The lip corner puller (AU12) appears in 40% of frames.", None],
    "transcript": ["I enjoy working in teams.", "I like quiet work."],
    "question": ["Why this job?", "Tell us about yourself."],
})


def test_default_template():
    out = AUTextComposer().fit_transform(X)
    assert out.shape == (2, 1) and out.dtype == object
    assert out[0, 0] == ("Facial behaviour: The lip corner puller (AU12) appears in 40% of "
                         "frames.\nAnswer: I enjoy working in teams.")
    assert out[1, 0] == "Answer: I like quiet work."  # missing="omit" drops the line
    assert AUTextComposer().fit(X).get_feature_names_out().tolist() == ["text"]


def test_include_parts_and_missing_rules():
    only_words = AUTextComposer(include=["transcript"]).fit_transform(X)
    assert only_words[:, 0].tolist() == ["Answer: I enjoy working in teams.",
                                         "Answer: I like quiet work."]
    only_face = AUTextComposer(include=("au",)).fit_transform(X)
    assert only_face[0, 0].startswith("Facial behaviour: The lip") and only_face[1, 0] == ""
    empty = AUTextComposer(missing="empty").fit_transform(X)
    assert empty[1, 0] == "Facial behaviour: \nAnswer: I like quiet work."
    with pytest.raises(ValueError, match="Row 1 has no {au}"):
        AUTextComposer(missing="error").fit_transform(X)
    with pytest.raises(ValueError, match="not placeholders"):
        AUTextComposer(include=["face"]).fit(X)


def test_custom_template_with_extra_columns_and_static_lines():
    template = "Interview answer.\nQ: {question}\nA: {transcript}\nFace: {au}"
    out = AUTextComposer(template=template).fit_transform(X)
    assert out[1, 0] == "Interview answer.\nQ: Tell us about yourself.\nA: I like quiet work."
    with pytest.raises(ValueError, match="plain names"):
        AUTextComposer(template="{au:>10}").fit(X)
    with pytest.raises(ValueError, match="no placeholder"):
        AUTextComposer(template="static").fit(X)
    with pytest.raises(ValueError, match="'speech'"):
        AUTextComposer(transcript_column="speech").fit(X)


def test_column_transformer_outputs():
    prefixed = X.rename(columns={"au_description": "au__au_description",
                                 "transcript": "words__transcript"})
    ref = AUTextComposer().fit_transform(X)
    np.testing.assert_array_equal(AUTextComposer().fit_transform(prefixed), ref)
    array = X[["au_description", "transcript"]].to_numpy(dtype=object)
    np.testing.assert_array_equal(AUTextComposer().fit_transform(array), ref)
    with pytest.raises(ValueError, match="one column per template placeholder"):
        AUTextComposer().fit(X.to_numpy(dtype=object))
    with pytest.raises(TypeError, match="Row 0"):
        AUTextComposer().fit_transform(pd.DataFrame({"au_description": [3], "transcript": ["x"]}))


def _preprocess(include=None):
    routes = ColumnTransformer(
        [("au", AUDescriber(), ["video"]), ("words", "passthrough", ["transcript"])]
    ).set_output(transform="pandas")
    return make_pipeline(routes, AUTextComposer(include=include))


@pytest.mark.slow
def test_semantic_fusion_end_to_end(tmp_path):
    """video -> AUDescriber, transcript passthrough -> composer -> embedder -> ridge."""
    bunch = make_interviews(n_samples=120, n_frames=60, random_state=0)
    composed = _preprocess().fit_transform(bunch.data)
    assert composed[0, 0].startswith("Facial behaviour: The ")
    assert composed[0, 0].split("\nAnswer: ")[1] == bunch.data["transcript"][0]

    fusion = make_pipeline(_preprocess(), TextEmbedder(cache_dir=tmp_path),
                           RidgeCV(alphas=np.logspace(-2, 3, 11)))
    cv = KFold(4, shuffle=True, random_state=0)
    pred = cross_val_predict(fusion, bunch.data, bunch.target, cv=cv)
    base = cross_val_predict(DummyRegressor(), bunch.data, bunch.target, cv=cv)
    ours = mean_accuracy_score(bunch.target, pred)
    reference = mean_accuracy_score(bunch.target, base)
    assert pred.shape == (120, 5)
    assert ours > reference + 0.005, (ours, reference)
    # fitted on everything, the fusion pipeline predicts new interviews
    new = make_interviews(n_samples=5, n_frames=60, random_state=1)
    assert fusion.fit(bunch.data, bunch.target).predict(new.data).shape == (5, 5)
