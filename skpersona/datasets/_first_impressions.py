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


def _checked_dtype(spec, *args):
    """``numpy.dtype`` for the unpickler: only the kinds of numbers and text."""
    if not isinstance(spec, str) or len(spec) > 8 or spec[:1] not in _KINDS:
        raise pickle.UnpicklingError(
            f"refusing numpy dtype {spec!r}: the First Impressions files hold only numbers "
            "and text."
        )
    return np.dtype(spec, *args)


def _checked_scalar(dtype, data=None):
    """A numpy scalar, checked before numpy allocates anything.

    A dtype's pickled state can still set its item size (numpy allocates that
    much for the scalar), so the kind, the size and the stored bytes must agree.
    """
    if (not isinstance(dtype, np.dtype) or dtype.kind not in _KINDS or dtype.fields is not None
            or dtype.subdtype is not None or dtype.itemsize > _MAX_ITEMSIZE[dtype.kind]):
        raise pickle.UnpicklingError(
            f"refusing a numpy scalar of dtype {dtype!r}: only numbers and short text expected."
        )
    if not isinstance(data, bytes | str) or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError(f"a numpy scalar's data does not match its dtype {dtype!r}.")
    return _numpy_scalar(dtype, data)


_KINDS = "biufU"  # bool, integers, floats, unicode text
_MAX_ITEMSIZE = {"b": 1, "i": 8, "u": 8, "f": 16, "U": 4 << 16}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that builds only plain containers and numpy scalars of numbers or text.

    The official label files are Python 2 pickles of dicts of numpy floats; any
    other global in the stream is refused, so a tampered file cannot run code, and
    the numpy scalars are checked before numpy allocates them.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "scalar"): _checked_scalar,
        ("numpy._core.multiarray", "scalar"): _checked_scalar,
        ("numpy", "dtype"): _checked_dtype,
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        raise pickle.UnpicklingError(
            f"Refusing to load {module}.{name}: the First Impressions files hold only "
            "dicts of numbers and strings."
        )


def _safe_load(path, encoding):
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        return _RestrictedUnpickler(io.BytesIO(raw), encoding=encoding).load()
    except Exception as exc:  # truncated, empty, tampered: one clear error naming the file
        raise ValueError(
            f"{path} is not a readable First Impressions pickle ({type(exc).__name__}: "
            f"{exc!s:.200}); get the official ChaLearn LAP release again."
        ) from exc


def _check_labels(labels, path):
    """The label dict: every trait a {video id: number in [0, 1]} over the same clips."""
    if not isinstance(labels, dict) or not set(BIG_FIVE) <= set(labels):
        raise ValueError(f"{path} does not hold the expected trait dict (keys {BIG_FIVE}).")
    keys = None
    for trait in [*BIG_FIVE, *(["interview"] if "interview" in labels else [])]:
        scores = labels[trait]
        if not isinstance(scores, dict) or not scores:
            raise ValueError(f"{path}: {trait!r} is not a non-empty dict of clip scores.")
        if not all(isinstance(k, str) for k in scores):
            raise ValueError(f"{path}: {trait!r} has clip ids that are not strings.")
        if keys is None:
            keys = set(scores)
        elif set(scores) != keys:
            raise ValueError(f"{path}: {trait!r} scores other clips than 'extraversion'.")
        try:
            values = np.asarray([float(v) for v in scores.values()])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {trait!r} has a score that is not a number.") from exc
        bad = ~np.isfinite(values) | (values < 0) | (values > 1)
        if bad.any():
            raise ValueError(f"{path}: {int(bad.sum())} {trait!r} score(s) are NaN or outside "
                             "[0, 1].")


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
    ValueError
        Naming the file, when a pickle is truncated, empty or tampered with
        (anything but dicts of numbers and text is refused before it is built),
        or its labels are not the same clips for every trait in [0, 1].

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
    _check_labels(labels, folder / names[0])
    if not isinstance(transcripts, dict):
        raise ValueError(f"{folder / names[1]} does not hold a dict of transcripts.")
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
