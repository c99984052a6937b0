"""Common-check instances for skpersona.text.

The text estimators take strings (texts, or columns of AU descriptions and
transcripts), so they declare ``input_tags.two_d_array = False`` and
``input_tags.string = True``; scikit-learn's common checks only generate numeric
2-D data and skip such estimators. Their API contract (default construction,
get/set_params, clone, repr, no work in ``__init__``, pickling, fitted state,
Pipeline and GridSearchCV) is tested by hand in ``tests/text/test_api.py``,
which runs the data-free common checks on them directly.
"""

from skpersona.text import (
    AnswerEmbedder,
    AUTextComposer,
    FineTunedTextRegressor,
    LLMTraitRater,
    TextEmbedder,
)

INSTANCES = [
    TextEmbedder(),
    AnswerEmbedder(),
    AUTextComposer(),
    LLMTraitRater(),
    FineTunedTextRegressor(),
]

EXPECTED_FAILED_CHECKS = {}
