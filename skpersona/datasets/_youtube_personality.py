"""The YouTube Personality vlog corpus (Biel and Gatica-Perez)."""

import os

import pandas as pd
from sklearn.utils import Bunch

from ._base import _require_files, get_data_home

_SUBDIR = "youtube_personality"
_FILES = {
    "transcripts": "transcripts.csv",
    "scores": "YouTube-Personality-Personality_impression_scores_train.csv",
    "cues": "YouTube-Personality-audiovisual_features.csv",
    "gender": "YouTube-Personality-gender.csv",
}
# The corpus' trait codes; "Emot" is emotional stability, the reverse of neuroticism.
_TRAITS = {
    "Extr": "extraversion",
    "Agr": "agreeableness",
    "Cons": "conscientiousness",
    "Emot": "emotional_stability",
    "Open": "openness",
}


def _read(path, **kwargs):
    """A CSV of the corpus; a file that cannot be read is one error naming it."""
    try:
        return pd.read_csv(path, **kwargs)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:  # EmptyDataError too
        raise ValueError(f"{os.fspath(path)} is not a readable YouTube Personality table "
                         f"({type(exc).__name__}: {exc!s:.200}).") from exc


def _no_duplicates(ids, path):
    duplicated = ids[ids.duplicated()].unique().tolist()
    if duplicated:
        raise ValueError(f"{os.fspath(path)} lists {len(duplicated)} vlog id(s) twice: "
                         f"{duplicated[:5]}.")


def load_youtube_personality(data_home=None):
    """Load the YouTube Personality corpus: transcripts, impressions, gender, cues.

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        Folder holding ``youtube_personality/``; see :func:`get_data_home`.

    Returns
    -------
    Bunch
        ``data``: DataFrame indexed by ``vlog_id`` (404 vlogs) with ``transcript``,
        ``gender`` and the 25 nonverbal cues; ``target``: DataFrame of the Big Five
        impression scores on the 1-7 scale for the 324 vlogs that have them
        (``extraversion``, ``agreeableness``, ``conscientiousness``,
        ``emotional_stability``, ``openness``); ``cue_names``; ``DESCR``.

    Raises
    ------
    FileNotFoundError
        When a file of the corpus is not in ``data_home``.
    ValueError
        Naming the file, when one is empty, truncated or of another structure,
        lists a vlog twice, or has an impression score that is missing or outside
        1-7.

    Examples
    --------
    >>> from skpersona.datasets import load_youtube_personality
    >>> yt = load_youtube_personality()  # doctest: +SKIP
    >>> yt.target.shape  # doctest: +SKIP
    (324, 5)
    """
    folder = get_data_home(data_home) / _SUBDIR
    _require_files(
        folder, list(_FILES.values()), "YouTube Personality", "Get it from Idiap (research terms)."
    )
    path = folder / _FILES["transcripts"]
    # Text and ids stay text: "None" or "NA" in a transcript is what was said.
    transcripts = _read(path, dtype=str, keep_default_na=False)
    if transcripts.shape[1] != 2:
        raise ValueError(f"{path} must have two columns (file name, transcript); it has "
                         f"{transcripts.shape[1]}.")
    transcripts.columns = ["file", "transcript"]
    transcripts["vlog_id"] = transcripts["file"].str.replace(".txt", "", regex=False)
    _no_duplicates(transcripts["vlog_id"], path)
    transcripts = transcripts.set_index("vlog_id")["transcript"]

    def read_space_separated(key, columns=()):
        path = folder / _FILES[key]
        table = _read(path, sep=r"\s+", dtype={"vlogId": str})
        missing = [c for c in ("vlogId", *columns) if c not in table.columns]
        if missing:
            raise ValueError(f"{path} has no column {', '.join(missing)} (its columns: "
                             f"{', '.join(map(str, table.columns[:10]))}).")
        _no_duplicates(table["vlogId"], path)
        return table.set_index("vlogId")

    path = folder / _FILES["scores"]
    scores = read_space_separated("scores", _TRAITS).rename(columns=_TRAITS)
    target = scores[list(_TRAITS.values())].apply(pd.to_numeric, errors="coerce")
    bad = target.isna() | (target < 1) | (target > 7)
    if bad.any().any():
        raise ValueError(f"{path}: {int(bad.sum().sum())} impression score(s) are missing, not "
                         "numbers, or outside the 1-7 scale.")
    cues = read_space_separated("cues")
    gender = read_space_separated("gender", ["gender"])["gender"]
    data = pd.concat([transcripts, gender, cues], axis=1)
    data.index.name = "vlog_id"
    target.index.name = "vlog_id"
    return Bunch(
        data=data,
        target=target.astype(float),
        cue_names=list(cues.columns),
        DESCR=(
            "YouTube Personality (Biel & Gatica-Perez): 404 conversational vlogs with "
            "manual transcripts, gender, 25 nonverbal cues, and Big Five impressions "
            "(1-7) for 324 of them. Idiap research terms, non-commercial."
        ),
    )
