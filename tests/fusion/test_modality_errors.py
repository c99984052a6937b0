"""Modalities that name missing columns, or columns that half have a prefix: clear errors."""

import numpy as np
import pandas as pd
import pytest

from skpersona.fusion import FusionRegressor
from skpersona.utils import modality_columns


def _frame(columns, n=40):
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(n, len(columns))), columns=columns), rng.normal(size=n)


def test_modalities_naming_missing_columns_are_refused():
    X, y = _frame(["au__a", "au__b", "text__0", "text__1"])
    with pytest.raises(ValueError, match=r"Modality 'text' names columns that X does not have: "
                       r"text__9 \(X's columns: au__a, au__b, text__0, text__1\)"):
        FusionRegressor(modalities={"au": ["au__a", "au__b"], "text": ["text__0", "text__9"]},
                        max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="prefix 'txt__', which no column of X starts with"):
        FusionRegressor(modalities={"au": "au__", "text": "txt__"}, max_epochs=1).fit(X, y)


def test_column_names_select_their_columns():
    blocks = modality_columns(["x", "y", "z"], {"one": ["z", "x"], "two": ["y"]})
    assert blocks["one"].tolist() == [0, 2] and blocks["two"].tolist() == [1]


def test_mixed_prefixed_and_plain_columns_are_not_silently_one_modality():
    X, y = _frame(["au__a", "au__b", "text__0", "age"])
    with pytest.raises(ValueError, match=r"Some columns have a modality prefix and 1 do not "
                       r"\(age\)"):
        FusionRegressor(fusion="gated", max_epochs=1).fit(X, y)
    # early fusion has one block anyway: the plain column simply joins it
    FusionRegressor(fusion="early", max_epochs=1).fit(X, y)
    # explicit modalities still win
    FusionRegressor(modalities={"au": "au__", "rest": ["text__0", "age"]}, max_epochs=1).fit(X, y)
