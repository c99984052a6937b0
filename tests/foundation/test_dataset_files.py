"""Real-data loaders on damaged or crafted files: clear errors naming the file, no big
allocations. The good files are copies of the real ones in ../shared/data."""

import pickle
import shutil
import struct
import time
import tracemalloc

import numpy as np
import pytest

from skpersona import BIG_FIVE
from skpersona.datasets import load_first_impressions, load_youtube_personality

FI = "first_impressions_v2"
YT = "youtube_personality"


@pytest.fixture
def fi_home(tmp_path, shared_data):
    shutil.copytree(shared_data / FI, tmp_path / FI)
    return tmp_path


@pytest.fixture
def yt_home(tmp_path, shared_data):
    shutil.copytree(shared_data / YT, tmp_path / YT)
    return tmp_path


def _void_scalar_pickle(size):
    """Allowed globals only (numpy scalar + dtype); asks numpy for a ``size``-byte void."""
    kind = f"V{size}".encode()
    return (b"\x80\x02cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\nX"
            + struct.pack("<I", len(kind)) + kind + b"\x89\x88\x87R\x85R.")


def test_a_crafted_void_dtype_fails_fast_without_allocating(fi_home):
    path = fi_home / FI / "annotation_validation.pkl"
    path.write_bytes(_void_scalar_pickle(600_000_000))  # 600 MB asked for by 66 bytes
    tracemalloc.start()
    start = time.monotonic()
    with pytest.raises(ValueError, match=f"{path} is not a readable First Impressions pickle.*"
                       "refusing numpy dtype 'V600000000'"):
        load_first_impressions(fi_home, split="validation")
    elapsed = time.monotonic() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0 and peak < 50e6


def test_a_text_scalar_whose_state_claims_a_huge_size_is_refused(fi_home):
    path = fi_home / FI / "annotation_validation.pkl"
    # dtype('U1') whose pickled state sets the item size to 2.4 GB, then a 1-char scalar
    blob = (b"\x80\x02cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\nX\x02\x00\x00\x00U1"
            b"\x89\x88\x87R(K\x03X\x01\x00\x00\x00<NNNJ" + struct.pack("<i", 2_400_000_000 // 2)
            + b"K\x04K\x08tbX\x01\x00\x00\x00x\x86R.")
    path.write_bytes(blob)
    with pytest.raises(ValueError, match="only numbers and short text"):
        load_first_impressions(fi_home, split="validation")


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_truncated_or_empty_first_impressions_pickles_name_the_file(fi_home, damage):
    for name in ("annotation_validation.pkl", "transcription_validation.pkl"):
        path = fi_home / FI / name
        good = path.read_bytes()
        path.write_bytes(b"" if damage == "empty" else good[: len(good) // 2])
        with pytest.raises(ValueError, match=f"{path} is not a readable First Impressions"):
            load_first_impressions(fi_home, split="validation")
        path.write_bytes(good)


def _labels(fi_home):
    path = fi_home / FI / "annotation_validation.pkl"
    labels = load_first_impressions(fi_home, split="validation")  # the real clips
    ids = labels.data["video_id"].tolist()
    plain = {t: dict(zip(ids, labels.target[t].astype(float))) for t in BIG_FIVE}
    return path, plain


@pytest.mark.parametrize("bad,match", [
    (np.nan, r"1 'openness' score\(s\) are NaN or outside \[0, 1\]"),
    (1.5, r"1 'openness' score\(s\) are NaN or outside \[0, 1\]"),
    ("high", "'openness' has a score that is not a number"),
])
def test_nan_or_out_of_range_labels_are_refused(fi_home, bad, match):
    path, plain = _labels(fi_home)
    first = next(iter(plain["openness"]))
    plain["openness"][first] = bad
    path.write_bytes(pickle.dumps(plain, protocol=2))
    with pytest.raises(ValueError, match=f"{path}: {match}"):
        load_first_impressions(fi_home, split="validation")


def test_wrong_structure_or_mismatched_clips_are_refused(fi_home):
    path, plain = _labels(fi_home)
    path.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(ValueError, match=f"{path} does not hold the expected trait dict"):
        load_first_impressions(fi_home, split="validation")
    plain["neuroticism"].pop(next(iter(plain["neuroticism"])))
    path.write_bytes(pickle.dumps(plain, protocol=2))
    with pytest.raises(ValueError, match="'neuroticism' scores other clips"):
        load_first_impressions(fi_home, split="validation")
    (fi_home / FI / "transcription_validation.pkl").write_bytes(pickle.dumps("text"))
    with pytest.raises(ValueError):
        load_first_impressions(fi_home, split="validation")


def _transcripts(fi_home, value_of):
    """Write a transcription pickle giving each validation clip ``value_of(i)``."""
    path = fi_home / FI / "transcription_validation.pkl"
    ids = sorted(pickle.loads((fi_home / FI / "annotation_validation.pkl").read_bytes(),
                              encoding="latin1")["extraversion"])
    path.write_bytes(pickle.dumps({v: value_of(i) for i, v in enumerate(ids)}, protocol=2))
    return path


def _doubling(make, depth):
    """``depth`` levels of a container holding its predecessor twice: memo references make
    the pickle a few bytes a level, its text 2 ** depth times longer."""
    value = "twelve chars"
    for _ in range(depth):
        value = make((value, value))
    return value


@pytest.mark.parametrize("make, match", [
    (list, "refusing opcode EMPTY_LIST"),  # a 1 KB one once built 1e11 characters
    (tuple, "nested deeper than 2"),
    (lambda pair: {"k": pair[0], "j": pair[1]}, "nested deeper than 2"),
])
def test_exponential_memo_structures_are_refused_before_they_are_built(fi_home, make, match):
    path = _transcripts(fi_home, lambda i: _doubling(make, 20) if i == 0 else "text")
    assert path.stat().st_size < 200_000  # old code: a 12 MB transcript out of 300 bytes
    tracemalloc.start()
    with pytest.raises(ValueError, match=f"{path} is not a readable First Impressions "
                       f"pickle.*{match}"):
        load_first_impressions(fi_home, split="validation")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50e6


@pytest.mark.parametrize("value_of, match", [
    (lambda i: {"not": "text"} if i == 3 else "text", "is a dict, not text"),
    (lambda i: 42 if i == 3 else "text", "is a int, not text"),
    (lambda i: 1.5 if i == 3 else "text", "is a float, not text"),
    (lambda i: "x" * 20_000 if i == 3 else "text", "has 20,000 characters, more than"),
])
def test_transcripts_must_be_text_of_bounded_size(fi_home, value_of, match):
    path = _transcripts(fi_home, value_of)
    with pytest.raises(ValueError, match=f"{path}: the transcript of .*{match}"):
        load_first_impressions(fi_home, split="validation")


def test_one_text_repeated_by_reference_cannot_outgrow_the_file(fi_home):
    long = "a long transcript " * 500  # 9,000 characters, pickled once, referenced 2,000 times
    path = _transcripts(fi_home, lambda i: long)
    assert path.stat().st_size < 100_000
    with pytest.raises(ValueError, match="add up to more characters than the file holds"):
        load_first_impressions(fi_home, split="validation")


def test_youtube_personality_damaged_files_name_the_file(yt_home):
    folder = yt_home / YT
    scores = folder / "YouTube-Personality-Personality_impression_scores_train.csv"
    good = scores.read_text()
    scores.write_text("")
    with pytest.raises(ValueError, match=f"{scores} is not a readable YouTube Personality"):
        load_youtube_personality(yt_home)
    scores.write_text(good.replace("VLOG1 4.9", "VLOG1 NaN", 1))
    with pytest.raises(ValueError, match=f"{scores}: 1 impression score"):
        load_youtube_personality(yt_home)
    scores.write_text(good.replace("VLOG1 4.9", "VLOG1 9.9", 1))
    with pytest.raises(ValueError, match="outside the 1-7 scale"):
        load_youtube_personality(yt_home)
    lines = good.splitlines()
    scores.write_text("\n".join([*lines, lines[1]]) + "\n")
    with pytest.raises(ValueError, match=f"{scores} lists 1 vlog id\\(s\\) twice: \\['VLOG1'\\]"):
        load_youtube_personality(yt_home)
    scores.write_text(good.replace("Extr", "Extraversion", 1))
    with pytest.raises(ValueError, match="has no column Extr"):
        load_youtube_personality(yt_home)


def test_youtube_transcripts_stay_literal_text(yt_home):
    path = yt_home / YT / "transcripts.csv"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].split(",", 1)[0] + ",None"
    lines[2] = lines[2].split(",", 1)[0] + ",NA"
    path.write_text("\n".join(lines) + "\n")
    data = load_youtube_personality(yt_home).data
    assert data["transcript"].iloc[:2].tolist() == ["None", "NA"]  # not "" or NaN
