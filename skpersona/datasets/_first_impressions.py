"""ChaLearn LAP First Impressions V2: labels and transcripts."""

import io
import pickle

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..traits import BIG_FIVE
from ._base import _require_files, get_data_home

_SPLITS = ("training", "validation")
_SUBDIR = "first_impressions_v2"


try:  # numpy >= 2 moved the scalar constructor that numpy 1.x pickles reference
    from numpy._core.multiarray import scalar as _numpy_scalar
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import scalar as _numpy_scalar


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that builds only plain containers and numpy scalars.

    The official label files are Python 2 pickles of dicts of numpy floats; any
    other global in the stream is refused, so a tampered file cannot run code.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            if name == "dtype":
                return np.dtype
            return _numpy_scalar
        raise pickle.UnpicklingError(
            f"Refusing to load {module}.{name}: the First Impressions files hold only "
            "dicts of numbers and strings."
        )


def _safe_load(path, encoding):
    with open(path, "rb") as handle:
        return _RestrictedUnpickler(io.BytesIO(handle.read()), encoding=encoding).load()


def load_first_impressions(data_home=None, split="training"):
    """Load the ChaLearn First Impressions V2 labels and transcripts.

    Reads the official pickles safely (a restricted unpickler that only allows
    numpy scalars): ``annotation_<split>.pkl`` and ``transcription_<split>.pkl``
    under ``<data_home>/first_impressions_v2/``.

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        Folder holding ``first_impressions_v2/``; see :func:`get_data_home`.
    split : {"training", "validation"}, default="training"
        Which official split to load. The test split is held out on purpose.

    Returns
    -------
    Bunch
        ``data``: DataFrame with ``video_id`` (``"<youtube_id>.<clip>.mp4"``),
        ``youtube_id`` and ``transcript`` (str; empty for the few clips without one);
        ``target``: DataFrame of the Big Five in [0, 1], columns in
        :data:`~skpersona.BIG_FIVE` order; ``interview``: Series, the
        "invite to interview" score; ``groups``: ndarray of YouTube ids (the same
        source video appears in several clips, so group cross-validation by it);
        ``feature_names``, ``target_names``, ``DESCR``.

    Raises
    ------
    FileNotFoundError
        When the pickles are not in ``data_home``.

    Examples
    --------
    >>> from skpersona.datasets import load_first_impressions
    >>> fi = load_first_impressions(split="validation")  # doctest: +SKIP
    >>> fi.target.shape  # doctest: +SKIP
    (2000, 5)
    """
    if split not in _SPLITS:
        raise ValueError(
            f"split must be one of {_SPLITS}, got {split!r}. The official test split is "
            "held out for independent evaluation and is not loaded by skpersona."
        )
    folder = get_data_home(data_home) / _SUBDIR
    names = [f"annotation_{split}.pkl", f"transcription_{split}.pkl"]
    _require_files(
        folder,
        names,
        "First Impressions V2",
        "Get the official ChaLearn LAP release (annotation and transcription pickles).",
    )
    labels = _safe_load(folder / names[0], encoding="latin1")
    transcripts = _safe_load(folder / names[1], encoding="ASCII")
    if not isinstance(labels, dict) or not set(BIG_FIVE) <= set(labels):
        raise ValueError(f"{folder / names[0]} does not hold the expected trait dict.")
    video_ids = sorted(labels["extraversion"])
    target = pd.DataFrame(
        {trait: [float(labels[trait][v]) for v in video_ids] for trait in BIG_FIVE},
        index=pd.RangeIndex(len(video_ids)),
    )
    interview = pd.Series(
        [float(labels["interview"][v]) for v in video_ids], name="interview"
    ) if "interview" in labels else None
    text = [transcripts.get(v) for v in video_ids]
    text = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in text]
    youtube_ids = [v.split(".", 1)[0] for v in video_ids]
    data = pd.DataFrame({"video_id": video_ids, "youtube_id": youtube_ids, "transcript": text})
    return Bunch(
        data=data,
        target=target,
        interview=interview,
        groups=np.asarray(youtube_ids, dtype=object),
        feature_names=list(data.columns),
        target_names=list(BIG_FIVE),
        DESCR=(
            f"ChaLearn LAP First Impressions V2, {split} split: {len(data)} clips of 15 s "
            "from YouTube, Big Five impressions in [0, 1] from crowd annotation, and "
            "transcripts. Non-commercial research use."
        ),
    )
