"""The scikit-learn API contract of the text estimators, where the common checks
(numeric 2-D data only) cannot reach: the data-free checks run directly, plus clone,
pickle, fitted state and set_output by hand."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks as ec
from sklearn.utils.validation import check_is_fitted

from skpersona.text import (
    AnswerEmbedder,
    AUTextComposer,
    FineTunedTextRegressor,
    LLMTraitRater,
    TextEmbedder,
)
from skpersona.utils import all_estimators

ESTIMATORS = [TextEmbedder(), AnswerEmbedder(), AUTextComposer(), LLMTraitRater(),
              FineTunedTextRegressor()]
DATA_FREE_CHECKS = [
    ec.check_no_attributes_set_in_init,
    ec.check_parameters_default_constructible,
    ec.check_get_params_invariance,
    ec.check_set_params,
    ec.check_estimator_cloneable,
    ec.check_estimator_repr,
    ec.check_estimator_tags_renamed,
    ec.check_valid_tag_types,
    ec.check_mixin_order,
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
def test_data_free_common_checks(estimator, check):
    check(type(estimator).__name__, clone(estimator))


def test_every_text_estimator_is_covered():
    text = {name for name, cls in all_estimators() if cls.__module__.startswith("skpersona.text")}
    assert text == {type(e).__name__ for e in ESTIMATORS}


def _inputs(estimator):
    if isinstance(estimator, AUTextComposer):
        return pd.DataFrame({"au_description": ["AU12 often."], "transcript": ["Hi."]})
    return ["Hello there."]


@pytest.mark.parametrize("estimator", [AUTextComposer(), LLMTraitRater()],
                         ids=lambda e: type(e).__name__)
def test_fit_state_pickle_and_tags(estimator):
    X = _inputs(estimator)
    with pytest.raises(NotFittedError):
        estimator.get_feature_names_out()
    fitted = clone(estimator).fit(X)
    check_is_fitted(fitted)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.get_feature_names_out(),
                                  fitted.get_feature_names_out())
    tags = fitted.__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert clone(fitted).get_params() == estimator.get_params()


def test_composer_set_output_pandas():
    X = _inputs(AUTextComposer()).set_axis([7])
    out = AUTextComposer().set_output(transform="pandas").fit_transform(X)
    assert list(out.columns) == ["text"] and list(out.index) == [7]


def test_invalid_parameters_are_reported_in_fit():
    with pytest.raises(ValueError, match="batch_size"):
        TextEmbedder(batch_size=0).fit(["x"])
    with pytest.raises(ValueError, match="missing"):
        AUTextComposer(missing="skip").fit(_inputs(AUTextComposer()))
    with pytest.raises(ValueError, match="timeout"):
        LLMTraitRater(timeout=0).fit(["x"])


def test_skops_round_trip():
    import skops.io as sio
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    texts = ["I love parties.", "I stay home.", "I plan everything."]
    pipe = make_pipeline(TextEmbedder(), Ridge()).fit(texts, [0.9, 0.2, 0.6])
    blob = sio.dumps(pipe)
    assert len(blob) < 100_000  # no weights inside
    untrusted = sio.get_untrusted_types(data=blob)
    assert untrusted == ["skpersona.text._embedder.TextEmbedder"]
    restored = sio.loads(blob, trusted=untrusted)
    np.testing.assert_allclose(restored.predict(texts), pipe.predict(texts), atol=1e-6)
    for est in (AUTextComposer(), LLMTraitRater()):
        fitted = clone(est).fit(_inputs(est))
        blob = sio.dumps(fitted)
        again = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
        assert repr(again) == repr(fitted)
        np.testing.assert_array_equal(again.get_feature_names_out(), fitted.get_feature_names_out())
