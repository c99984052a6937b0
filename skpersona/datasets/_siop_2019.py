"""The 2019 SIOP Machine Learning Competition: written interview answers and the Big Five."""

import os

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._base import _require_files, get_data_home

_SUBDIR = "siop_2019"
_FILE = "siop_2019_train_dev.csv"
_ID = "Respondent_ID"
_SPLIT_COLUMN = "Dataset"
_SPLITS = {"train": ("Train",), "dev": ("Dev",), "train_dev": ("Train", "Dev")}
#: The five answer columns, in the order of the questionnaire.
ANSWER_COLUMNS = [f"open_ended_{i}" for i in range(1, 6)]
#: The trait columns as the competition names them, and the trait each one measures.
TARGET_TRAITS = {
    "E_Scale_score": "extraversion",
    "A_Scale_score": "agreeableness",
    "O_Scale_score": "openness",
    "C_Scale_score": "conscientiousness",
    "N_Scale_score": "neuroticism",
}
#: The trait each question was written to elicit (the competition's design).
QUESTION_TRAITS = {
    "open_ended_1": "agreeableness",
    "open_ended_2": "conscientiousness",
    "open_ended_3": "extraversion",
    "open_ended_4": "neuroticism",
    "open_ended_5": "openness",
}
#: The situation each question puts to the respondent. Summaries of the situations
#: as the answers describe them: the release does not ship the items' exact wording.
QUESTIONS = {
    "open_ended_1": "A colleague has asked for the same vacation week as you, and only one "
                    "of you can take it. What would you do?",
    "open_ended_2": "Your boss has given you a project with a deadline, and tends to add "
                    "last-minute work. How would you handle the project?",
    "open_ended_3": "You are invited to an event with one of your largest clients where you "
                    "will hardly know anyone, and your colleague is not going. Would you go?",
    "open_ended_4": "Your manager has given you negative feedback that you think is not "
                    "justified. How would you react?",
    "open_ended_5": "You are asked to learn about another country's culture (Norway) for "
                    "work, possibly with travel. Would you find this enjoyable?",
}


def _describe(split, n):
    questions = "\n".join(
        f"- {column} (designed for {QUESTION_TRAITS[column]}): {QUESTIONS[column]}"
        for column in ANSWER_COLUMNS
    )
    return (
        f"2019 SIOP Machine Learning Competition, split {split!r}: {n} respondents who "
        "wrote answers (about 54 words each) to five open-ended situational judgement "
        "items, and their self-reported Big Five (BFI-2 scale means, 1-5: "
        f"{', '.join(f'{k} = {v}' for k, v in TARGET_TRAITS.items())}).\n\n"
        "Questions (situation summaries; the release does not include the exact "
        f"wording) and the trait each was designed to elicit:\n{questions}\n\n"
        "The competition's score is the mean Pearson r over the five traits on a private "
        "test split of 300 respondents, held out here: the four winning teams reached "
        "0.260, 0.248, 0.233 and 0.229 there. Tune on Train (cross-validation), report on "
        "Dev.\n\nCite: Thompson, I., Koenig, N., & Liu, M. (2019). The 2019 SIOP Machine "
        "Learning Competition. 34th annual SIOP conference, Austin, TX. Research use."
    )


def _read(path):
    """The competition table, every column as text; one error naming the file if unreadable."""
    try:
        # Answers and ids stay text: "NA" or "None" in an answer is what was written.
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:  # EmptyDataError too
        raise ValueError(f"{os.fspath(path)} is not a readable SIOP 2019 table "
                         f"({type(exc).__name__}: {exc!s:.200}).") from exc


def _check(table, path):
    """Columns present, ids unique and given, splits known, scores numbers in 1-5."""
    expected = [_ID, *ANSWER_COLUMNS, *TARGET_TRAITS, _SPLIT_COLUMN]
    missing = [c for c in expected if c not in table.columns]
    if missing:
        raise ValueError(f"{os.fspath(path)} has no column {', '.join(missing)} (its columns: "
                         f"{', '.join(map(str, table.columns[:12]))}); it is damaged or not "
                         "the SIOP 2019 table.")
    ids = table[_ID].str.strip()
    if (ids == "").any():
        rows = np.flatnonzero(ids == "")[:5].tolist()
        raise ValueError(f"{os.fspath(path)}: {int((ids == '').sum())} row(s) have no "
                         f"{_ID} (rows {rows}).")
    duplicated = ids[ids.duplicated()].unique().tolist()
    if duplicated:
        raise ValueError(f"{os.fspath(path)} lists {len(duplicated)} respondent id(s) twice: "
                         f"{duplicated[:5]}.")
    unknown = sorted(set(table[_SPLIT_COLUMN]) - {"Train", "Dev", "Test"})
    if unknown:
        raise ValueError(f"{os.fspath(path)}: column {_SPLIT_COLUMN!r} holds {unknown[:5]}; "
                         "expected 'Train' or 'Dev'.")


def _scores(table, path):
    scores = table[list(TARGET_TRAITS)].apply(pd.to_numeric, errors="coerce")
    bad = scores.isna() | (scores < 1) | (scores > 5)
    if bad.any().any():
        row, column = np.argwhere(bad.to_numpy())[0]
        raise ValueError(
            f"{os.fspath(path)}: {int(bad.sum().sum())} trait score(s) are missing, not "
            f"numbers, or outside the 1-5 scale (first: row {row}, column "
            f"{list(TARGET_TRAITS)[column]!r}, value {table.iloc[row][list(TARGET_TRAITS)[column]]!r})."
        )
    return scores.astype(float)


def load_siop_2019(data_home=None, *, split="train", as_frame=True):
    """Load the 2019 SIOP Machine Learning Competition data (interview answers, Big Five).

    1,388 respondents (Train 1,088, Dev 300) answered five open-ended questions about job
    situations, each written to elicit one trait, and filled in the BFI-2: the text side
    of an asynchronous video interview, labelled by the respondent's own questionnaire.
    Reads ``<data_home>/siop_2019/siop_2019_train_dev.csv``.

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        Folder holding ``siop_2019/``; see :func:`get_data_home`.
    split : {"train", "dev", "train_dev"}, default="train"
        The competition's training respondents, its public-leaderboard (dev) respondents,
        or both (in the file's order). The private test split is held out on purpose.
    as_frame : bool, default=True
        Return ``data`` and ``target`` as pandas objects (indexed by the respondent id);
        False gives an object array of answers and a float array of scores.

    Returns
    -------
    Bunch
        ``data``: the five answers (``open_ended_1`` ... ``open_ended_5``), DataFrame
        indexed by ``Respondent_ID`` (str), or an (n, 5) object array;
        ``target``: the BFI-2 scale means (1-5), columns ``E_Scale_score``,
        ``A_Scale_score``, ``O_Scale_score``, ``C_Scale_score``, ``N_Scale_score``;
        ``frame``: the table as in the file (``Respondent_ID``, answers, scores,
        ``Dataset``; None when ``as_frame=False``); ``ids``: the respondent ids (str);
        ``dataset``: ``"Train"`` or ``"Dev"`` per row; ``feature_names``,
        ``target_names``; ``target_traits``: ``{target column: trait}``;
        ``questions``: ``{answer column: situation}``; ``question_traits``:
        ``{answer column: trait it targets}``; ``DESCR``.

    Raises
    ------
    FileNotFoundError
        When the file is not in ``data_home``.
    ValueError
        Naming the file, when it is empty, truncated or of another structure (a column
        missing), lists a respondent twice or without an id, has an unknown split, or a
        trait score that is missing or outside 1-5.

    Examples
    --------
    >>> from skpersona.datasets import load_siop_2019
    >>> siop = load_siop_2019()  # doctest: +SKIP
    >>> siop.data.shape, siop.target.shape  # doctest: +SKIP
    ((1088, 5), (1088, 5))
    >>> siop.question_traits["open_ended_3"]  # doctest: +SKIP
    'extraversion'
    """
    if split not in _SPLITS:
        raise ValueError(
            f"split must be one of {tuple(_SPLITS)}, got {split!r}. The competition's "
            "private test split is held out for independent evaluation and is not loaded."
        )
    folder = get_data_home(data_home) / _SUBDIR
    _require_files(folder, [_FILE], "SIOP 2019",
                   "Get it from github.com/izk8/2019_SIOP_Machine_Learning_Winners "
                   "(full_data/, Train and Dev rows).")
    path = folder / _FILE
    table = _read(path)
    _check(table, path)
    table = table[table[_SPLIT_COLUMN].isin(_SPLITS[split])].reset_index(drop=True)
    table[_ID] = table[_ID].str.strip()
    scores = _scores(table, path)
    frame = table[[_ID, *ANSWER_COLUMNS]].copy()
    frame[list(TARGET_TRAITS)] = scores
    frame[_SPLIT_COLUMN] = table[_SPLIT_COLUMN]
    data = frame.set_index(_ID)[ANSWER_COLUMNS]
    target = frame.set_index(_ID)[list(TARGET_TRAITS)]
    return Bunch(
        data=data if as_frame else data.to_numpy(dtype=object),
        target=target if as_frame else target.to_numpy(dtype=float),
        frame=frame if as_frame else None,
        ids=frame[_ID].to_numpy(dtype=object),
        dataset=frame[_SPLIT_COLUMN].to_numpy(dtype=object),
        feature_names=list(ANSWER_COLUMNS),
        target_names=list(TARGET_TRAITS),
        target_traits=dict(TARGET_TRAITS),
        questions=dict(QUESTIONS),
        question_traits=dict(QUESTION_TRAITS),
        DESCR=_describe(split, len(frame)),
    )
