"""load_siop_2019 on the real table in ../shared/data, and on damaged copies of it."""

import numpy as np
import pandas as pd
import pytest

from skpersona.datasets import load_siop_2019

SUB = "siop_2019"
FILE = "siop_2019_train_dev.csv"
TARGETS = ["E_Scale_score", "A_Scale_score", "O_Scale_score", "C_Scale_score",
           "N_Scale_score"]
ANSWERS = [f"open_ended_{i}" for i in range(1, 6)]


@pytest.mark.parametrize(("split", "n"), [("train", 1088), ("dev", 300), ("train_dev", 1388)])
def test_shapes_ids_and_description(shared_data, split, n):
    siop = load_siop_2019(shared_data, split=split)
    assert siop.data.shape == (n, 5) and siop.target.shape == (n, 5)
    assert list(siop.data.columns) == ANSWERS == siop.feature_names
    assert list(siop.target.columns) == TARGETS == siop.target_names
    assert siop.frame.shape == (n, 12)
    # ids are text (11 digits), the index of data and target, and unique
    assert all(isinstance(i, str) and len(i) == 11 for i in siop.ids)
    assert siop.data.index.tolist() == siop.ids.tolist() == siop.frame["Respondent_ID"].tolist()
    assert pd.api.types.is_string_dtype(siop.frame["Respondent_ID"])
    assert siop.data.index.is_unique
    expected = {"train": {"Train"}, "dev": {"Dev"}, "train_dev": {"Train", "Dev"}}[split]
    assert set(siop.dataset) == expected
    assert siop.target.dtypes.eq(float).all()
    assert siop.target.to_numpy().min() >= 1 and siop.target.to_numpy().max() <= 5
    assert siop.question_traits["open_ended_1"] == "agreeableness"
    assert siop.question_traits["open_ended_5"] == "openness"
    for column in ANSWERS:  # every question and its trait in the description
        assert column in siop.DESCR and siop.questions[column] in siop.DESCR
    assert "0.260" in siop.DESCR


def test_splits_partition_the_file_and_as_frame_false(shared_data):
    train = load_siop_2019(shared_data, split="train")
    dev = load_siop_2019(shared_data, split="dev")
    assert not set(train.ids) & set(dev.ids)
    raw = load_siop_2019(shared_data, split="dev", as_frame=False)
    assert raw.data.shape == (300, 5) and raw.data.dtype == object
    assert raw.target.dtype == float and raw.frame is None
    np.testing.assert_array_equal(raw.target, dev.target.to_numpy())
    assert raw.data[0, 0] == dev.data.iloc[0, 0]


def test_the_test_split_is_refused(shared_data):
    with pytest.raises(ValueError, match="private test split is held out"):
        load_siop_2019(shared_data, split="test")


@pytest.fixture
def home(tmp_path, shared_data):
    (tmp_path / SUB).mkdir()
    table = pd.read_csv(shared_data / SUB / FILE, dtype=str, keep_default_na=False)
    return tmp_path, table.iloc[:40].copy()


def _write(home, table):
    folder, _ = home
    table.to_csv(folder / SUB / FILE, index=False)
    return folder


def test_missing_file_says_where(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"SIOP 2019: missing {FILE}.*data_home"):
        load_siop_2019(tmp_path)


def test_literal_na_answers_and_leading_zero_ids_stay_text(home):
    folder, table = home
    table.loc[0, "Respondent_ID"] = "00012"
    table.loc[0, "open_ended_2"] = "NA"
    siop = load_siop_2019(_write(home, table))
    assert siop.ids[0] == "00012"
    assert siop.data.iloc[0]["open_ended_2"] == "NA"


@pytest.mark.parametrize(("damage", "match"), [
    (lambda t: t.drop(columns="N_Scale_score"), "no column N_Scale_score.*damaged"),
    (lambda t: t.assign(C_Scale_score=["x"] + list(t.C_Scale_score[1:])),
     "1 trait score.*row 0, column 'C_Scale_score', value 'x'"),
    (lambda t: t.assign(E_Scale_score=["7.5"] + list(t.E_Scale_score[1:])), "outside the 1-5"),
    (lambda t: pd.concat([t, t.iloc[:1]]), "lists 1 respondent id.*twice"),
    (lambda t: t.assign(Respondent_ID=[""] + list(t.Respondent_ID[1:])), "have no Respondent_ID"),
    (lambda t: t.assign(Dataset=["Validation"] + list(t.Dataset[1:])), "'Validation'"),
])
def test_damaged_table_names_the_file(home, damage, match):
    folder = _write(home, damage(home[1]))
    with pytest.raises(ValueError, match=match) as info:
        load_siop_2019(folder)
    assert str(folder / SUB / FILE) in str(info.value)


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00garbage\x00\xff" * 10,
                                     b'Respondent_ID,open_ended_1\n1,"unterminated'])
def test_empty_binary_or_truncated_file(home, content):
    folder, _ = home
    (folder / SUB / FILE).write_bytes(content)
    with pytest.raises(ValueError, match=f"{FILE}.*(not a readable SIOP 2019 table|no column)"):
        load_siop_2019(folder)


def test_test_rows_in_a_full_file_are_never_returned(home):
    folder, table = home
    test_rows = table.iloc[:3].assign(
        Respondent_ID=["t1", "t2", "t3"], Dataset="Test",
        **{c: "" for c in TARGETS})  # the competition's file has no scores for them
    siop = load_siop_2019(_write(home, pd.concat([table, test_rows])), split="train_dev")
    assert not {"t1", "t2", "t3"} & set(siop.ids) and len(siop.ids) == len(table)
