"""Every multi-block model of ``skpersona fit`` uses each of its blocks.

A block the model ignores (an unscaled embedding that one ridge penalty shrinks to
nothing) passes every shape test; only the cross-validated score shows it: dropping a
block the model uses must lower the score noticeably.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_val_predict

from skpersona.cli._models import MODELS, build_model
from skpersona.datasets import make_interviews
from skpersona.metrics import pearson_r_per_trait

# The models that read the AU and text blocks through one ColumnTransformer
# ("semantic" joins the AU description and the answer into one text: one block).
MULTI_BLOCK = [name for name, (reads, _) in MODELS.items()
               if reads == "video+transcript" and name != "semantic"]


@pytest.fixture(scope="module")
def interviews():
    bunch = make_interviews(n_samples=150, random_state=0)
    return bunch.data, bunch.target


def test_multi_block_models_are_listed():
    assert set(MULTI_BLOCK) == {"ridge-multimodal", "fusion"}


@pytest.mark.parametrize("name", MULTI_BLOCK)
def test_each_block_carries_weight(interviews, name):
    X, y = interviews
    model = build_model(name, options={"random_state": 0})
    columns, head = model[0], model[-1]
    assert len(model) == 2, "the model is (ColumnTransformer, head)"
    # The block pipelines are unsupervised (statistics, embedding, scaling): compute
    # them once, so the cross-validation refits only the head (each text embedded once).
    features = clone(columns).set_output(transform="pandas").fit_transform(X)

    def cv_r(prefixes):
        block = features.loc[:, features.columns.str.startswith(prefixes)]
        pred = cross_val_predict(clone(head), block, y,
                                 cv=KFold(5, shuffle=True, random_state=0))
        return float(np.mean(pearson_r_per_trait(y, pred)))

    both = cv_r(("au__", "text__"))
    for block in ("au__", "text__"):
        alone = cv_r(("text__",) if block == "au__" else ("au__",))
        # make_interviews puts openness in words only and neuroticism in the face
        # only: a model using both blocks beats either alone by a wide margin.
        assert both - alone > 0.08, (name, f"without {block}", both, alone)
