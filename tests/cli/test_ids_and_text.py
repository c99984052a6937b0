"""The command reads ids and text as text, and never uses an id column as a feature."""

import numpy as np
import pandas as pd

from skpersona.cli import main
from skpersona.cli._io import load_model
from skpersona.text import TextEmbedder
from skpersona.traits import BIG_FIVE


def _train(tmp_path, n=40):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    table = pd.DataFrame(X, columns=["f1", "f2", "f3"])
    table.insert(0, "video_id", [f"{i + 7:03d}" for i in range(n)])  # 007, 008, ...
    table[list(BIG_FIVE)] = 1 / (1 + np.exp(-X @ rng.normal(size=(3, 5))))
    table.to_csv(tmp_path / "train.csv", index=False)
    return table


def test_fit_never_uses_an_id_column_as_a_feature_and_predict_keeps_ids(tmp_path):
    table = _train(tmp_path)
    model = tmp_path / "m.skops"
    assert main(["fit", str(tmp_path / "train.csv"), "--model", "ridge", "-o", str(model)]) == 0
    assert load_model(model)["features"] == ["f1", "f2", "f3"]  # not video_id
    table.drop(columns=list(BIG_FIVE)).to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(model), str(tmp_path / "new.csv"), "-o",
                 str(tmp_path / "pred.csv")]) == 0
    pred = pd.read_csv(tmp_path / "pred.csv", dtype={"video_id": str})
    assert pred["video_id"].tolist() == table["video_id"].tolist()  # "007", not 7
    assert pred["video_id"].iloc[0] == "007"


def test_embed_keeps_literal_none_na_null_and_leading_zeros(tmp_path):
    texts = ["None", "NA", "null", "", "I like people."]
    pd.DataFrame({"video_id": ["007", "008", "009", "010", "011"], "transcript": texts}).to_csv(
        tmp_path / "t.csv", index=False)
    out = tmp_path / "e.csv"
    assert main(["embed", str(tmp_path / "t.csv"), "-o", str(out), "--no-progress"]) == 0
    result = pd.read_csv(out, dtype={"video_id": str})
    assert result["video_id"].tolist() == ["007", "008", "009", "010", "011"]
    expected = TextEmbedder().fit_transform(texts)
    np.testing.assert_allclose(result.filter(like="text__").to_numpy(), expected, atol=1e-5)
    # "None" is a word, embedded as such, not the empty text
    assert not np.allclose(expected[0], expected[3], atol=1e-3)
