"""``skpersona fit --text COL,COL,...`` and ``predict`` on interview answers (SIOP 2019 rows)."""

import numpy as np
import pandas as pd
import pytest

from skpersona.cli import main
from skpersona.cli._io import load_model

from .conftest import error_line

ANSWERS = [f"open_ended_{i}" for i in range(1, 6)]
TRAITS = ["E_Scale_score", "A_Scale_score", "O_Scale_score", "C_Scale_score", "N_Scale_score"]


@pytest.fixture(scope="module")
def siop_rows(tmp_path_factory):
    from tests.conftest import SHARED_DATA

    source = SHARED_DATA / "siop_2019" / "siop_2019_train_dev.csv"
    if not source.is_file():
        pytest.fail(f"{source} is missing: the tests read the shared data (never skipped).")
    table = pd.read_csv(source, dtype={"Respondent_ID": str}, keep_default_na=False).head(20)
    folder = tmp_path_factory.mktemp("siop")
    table.to_csv(folder / "train.csv", index=False)
    return folder, table


def test_fit_several_text_columns_then_predict_under_the_target_names(siop_rows, capsys):
    folder, table = siop_rows
    model = folder / "m.skops"
    assert main(["fit", str(folder / "train.csv"), "--text", ",".join(ANSWERS), "--traits",
                 ",".join(TRAITS), "--id-columns", "Respondent_ID,Dataset", "--cache-dir",
                 str(folder / "cache"), "-o", str(model)]) == 0
    assert "answers model of E_Scale_score" in capsys.readouterr().out  # the default
    bundle = load_model(model)
    assert bundle["model_name"] == "answers" and bundle["text_columns"] == ANSWERS
    assert bundle["targets"] == TRAITS
    names = bundle["estimator"][0].get_feature_names_out()
    assert {n.split("__")[1] for n in names} == set(ANSWERS)  # blocks named by question

    # predict reads the same columns, wherever they are, and writes ids and target names
    shuffled = table[table.columns[::-1]].drop(columns=TRAITS)
    shuffled["Respondent_ID"] = shuffled["Respondent_ID"].str.zfill(12)  # "0..." stays text
    shuffled.to_csv(folder / "new.csv", index=False)
    assert main(["predict", str(model), str(folder / "new.csv"), "--id-columns",
                 "Respondent_ID", "-o", str(folder / "p.csv")]) == 0
    pred = pd.read_csv(folder / "p.csv", dtype={"Respondent_ID": str})
    assert list(pred.columns) == ["Respondent_ID", *TRAITS]
    assert pred["Respondent_ID"].tolist() == shuffled["Respondent_ID"].tolist()
    assert pred["Respondent_ID"].str.startswith("0").all()
    direct = bundle["estimator"].predict(table[ANSWERS])
    np.testing.assert_allclose(pred[TRAITS].to_numpy(), direct, rtol=1e-5, atol=1e-6)
    assert direct.shape == (20, 5) and np.isfinite(direct).all()
    # the words of all answers and each answer's meaning: six ridges, stacked per trait
    stack = bundle["estimator"][-1]
    assert list(stack.named_estimators_) == ["lexical", *(f"semantic_{c}" for c in ANSWERS)]
    assert stack.weights_.shape == (5, 6)


def test_answer_column_errors_are_one_line(siop_rows, capsys):
    folder, table = siop_rows
    model = folder / "small.skops"
    train = str(folder / "train.csv")
    assert main(["fit", train, "--text", "open_ended_1,open_ended_2", "--model", "answers",
                 "--traits", "E_Scale_score", "--cache-dir", str(folder / "cache"),
                 "-o", str(model)]) == 0
    table.drop(columns="open_ended_2").to_csv(folder / "less.csv", index=False)
    cases = [
        (["predict", str(model), str(folder / "less.csv"), "-o", str(folder / "p.csv")],
         "text column 'open_ended_2' not in"),
        (["fit", train, "--text", "open_ended_1,open_ended_9", "--traits", "E_Scale_score",
          "-o", str(model)], "text column 'open_ended_9' not in"),
        (["fit", train, "--text", "open_ended_1,open_ended_2", "--model", "ridge-text",
          "--traits", "E_Scale_score", "-o", str(model)], "use --model answers for several"),
        (["fit", train, "--text", "open_ended_1", "--traits", "E_Scale_score,Dataset",
          "-o", str(model)], "trait column(s) 'Dataset' of"),
    ]
    for argv, message in cases:
        assert main(argv) == 1, argv
        assert message in error_line(capsys), argv
