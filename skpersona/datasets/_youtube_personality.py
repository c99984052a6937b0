"""The YouTube Personality vlog corpus (Biel and Gatica-Perez)."""

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
    transcripts = pd.read_csv(folder / _FILES["transcripts"])
    transcripts.columns = ["file", "transcript"]
    transcripts["vlog_id"] = transcripts["file"].str.replace(".txt", "", regex=False)
    transcripts = transcripts.set_index("vlog_id")["transcript"].fillna("").astype(str)

    def read_space_separated(key):
        return pd.read_csv(folder / _FILES[key], sep=r"\s+").set_index("vlogId")

    scores = read_space_separated("scores").rename(columns=_TRAITS)
    cues = read_space_separated("cues")
    gender = read_space_separated("gender")["gender"]
    data = pd.concat([transcripts, gender, cues], axis=1)
    data.index.name = "vlog_id"
    scores.index.name = "vlog_id"
    return Bunch(
        data=data,
        target=scores[list(_TRAITS.values())].astype(float),
        cue_names=list(cues.columns),
        DESCR=(
            "YouTube Personality (Biel & Gatica-Perez): 404 conversational vlogs with "
            "manual transcripts, gender, 25 nonverbal cues, and Big Five impressions "
            "(1-7) for 324 of them. Idiap research terms, non-commercial."
        ),
    )
