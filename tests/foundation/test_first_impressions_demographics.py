"""First Impressions with per-clip gender and ethnicity (issue 30)."""

import shutil

import pandas as pd
import pytest

from skpersona.datasets import load_first_impressions

FI = "first_impressions_v2"
CSV = "eth_gender_annotations_dev.csv"


@pytest.fixture
def fi_home(tmp_path, shared_data):
    shutil.copytree(shared_data / FI, tmp_path / FI)
    return tmp_path


@pytest.mark.parametrize("split", ["training", "validation"])
def test_demographics_are_named_categories_keyed_by_clip(shared_data, split):
    fi = load_first_impressions(shared_data, split=split, demographics=True)
    data = fi.data
    assert data["gender"].cat.categories.tolist() == ["male", "female"]
    assert data["ethnicity"].cat.categories.tolist() == ["Asian", "Caucasian",
                                                         "African-American"]
    assert data[["gender", "ethnicity"]].notna().all().all()
    # keyed by clip: every clip's value is the CSV's row of that clip, decoded
    raw = pd.read_csv(shared_data / FI / CSV, sep=";").set_index("VideoName")
    codes = raw.loc[data["video_id"]]
    assert (codes["Gender"].map({1: "male", 2: "female"}).to_numpy()
            == data["gender"].astype(str).to_numpy()).all()
    assert (codes["Ethnicity"].map({1: "Asian", 2: "Caucasian", 3: "African-American"})
            .to_numpy() == data["ethnicity"].astype(str).to_numpy()).all()
    # the groups are the source videos, the part of the clip name before the first dot
    assert (fi.groups == data["video_id"].str.split(".").str[0].to_numpy()).all()
    assert list(load_first_impressions(shared_data, split=split).data.columns) == [
        "video_id", "youtube_id", "transcript"]


def test_both_splits_cover_the_release_counts(shared_data):
    both = pd.concat([load_first_impressions(shared_data, split=s, demographics=True).data
                      for s in ("training", "validation")])
    assert both["gender"].value_counts().to_dict() == {"female": 4350, "male": 3650}
    assert both["ethnicity"].value_counts().to_dict() == {
        "Caucasian": 6870, "African-American": 847, "Asian": 283}
    assert both["youtube_id"].nunique() == 2886


def test_missing_demographics_file_names_it_and_where(fi_home):
    (fi_home / FI / CSV).unlink()
    load_first_impressions(fi_home, split="validation")  # not needed without demographics
    with pytest.raises(FileNotFoundError, match=CSV) as info:
        load_first_impressions(fi_home, split="validation", demographics=True)
    assert str(fi_home / FI) in str(info.value) and "demographics=False" in str(info.value)


@pytest.mark.parametrize("damage, match", [
    (lambda t: t.assign(Gender=t.Gender.replace(2, 7)), r"'Gender' holds \['7'\]"),
    (lambda t: t.drop(columns="Ethnicity"), "lacks the column"),
    (lambda t: t.iloc[10:], "no gender and ethnicity for"),
    (lambda t: pd.concat([t, t.iloc[:1].assign(Gender=3 - t.Gender.iloc[0])]),
     "listed twice with different values"),
])
def test_damaged_demographics_are_refused(fi_home, damage, match):
    path = fi_home / FI / CSV
    table = pd.read_csv(path, sep=";")
    damage(table).to_csv(path, sep=";", index=False)
    with pytest.raises(ValueError, match=match):
        load_first_impressions(fi_home, split="training", demographics=True)


def test_an_oversized_demographics_file_is_refused_before_parsing(fi_home):
    path = fi_home / FI / CSV
    with open(path, "ab") as handle:
        handle.write(b"x" * (5 << 20))
    with pytest.raises(ValueError, match="bytes, more than"):
        load_first_impressions(fi_home, split="validation", demographics=True)
