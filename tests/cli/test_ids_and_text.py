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


def _with_ids(tmp_path, n=40):
    table = _train(tmp_path, n).drop(columns="video_id")
    rng = np.random.default_rng(1)
    table.insert(0, "VideoID", rng.permutation(n) + 5000)  # numeric ids
    table.insert(1, "userid", rng.integers(10**6, 10**7, size=n))
    table.insert(2, "participant", np.repeat(np.arange(n // 4), 4))
    table.insert(3, "row", rng.permutation(n) + 1)  # a row number under a plain name
    table["code"] = rng.normal(size=n)  # an id the user names (--id-columns)
    table.to_csv(tmp_path / "ids.csv", index=False)
    return table


def test_fit_leaves_id_like_columns_out_and_says_so(tmp_path, capsys):
    _with_ids(tmp_path)
    model = tmp_path / "m.skops"
    assert main(["fit", str(tmp_path / "ids.csv"), "--model", "ridge", "--id-columns", "code",
                 "-o", str(model)]) == 0
    assert load_model(model)["features"] == ["f1", "f2", "f3"]
    said = capsys.readouterr().out
    assert ("id columns not used as features: code (--id-columns), VideoID (its name), userid "
            "(its name), participant (its name), row (distinct consecutive integers).") in said
    # named features are used as given
    assert main(["fit", str(tmp_path / "ids.csv"), "--model", "ridge", "--features",
                 "f1,row", "-o", str(model)]) == 0
    assert load_model(model)["features"] == ["f1", "row"]


def test_screen_leaves_id_columns_out_and_says_so(tmp_path, capsys):
    table = _with_ids(tmp_path, n=60)
    table[["f1", "f2", "VideoID", "userid", "participant", "row", "code"]].to_csv(
        tmp_path / "screen.csv", index=False)
    report = tmp_path / "report.csv"
    assert main(["screen", str(tmp_path / "screen.csv"), "--id-columns", "code", "--tests",
                 "fisherz", "-o", str(report)]) == 0
    pairs = pd.read_csv(report)[["x", "y"]]
    assert set(pairs.to_numpy().ravel()) == {"f1", "f2"}
    assert "id columns not used as variables of the screen: code (--id-columns), VideoID" \
        in capsys.readouterr().out
