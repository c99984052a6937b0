"""ChaLearn LAP First Impressions V2: labels and transcripts."""

import io
import os
import pickle
import pickletools

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


_MARK = object()
_ATOMS = {
    "NONE", "NEWTRUE", "NEWFALSE", "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1",
    "LONG4", "FLOAT", "BINFLOAT", "STRING", "BINSTRING", "SHORT_BINSTRING", "BINBYTES",
    "SHORT_BINBYTES", "BINBYTES8", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
    "BINUNICODE8", "GLOBAL",
}
# Deepest nesting of dicts and tuples: labels are {trait: {clip: number}}, numpy scalars
# are built from (dtype, bytes) and a dtype's state tuple.
_MAX_DEPTH = 2


def _check_structure(raw):
    """Refuse, before anything is built, what the format never holds (one linear pass).

    Only dicts, tuples, atoms and the allowed globals' calls; no lists or sets; dicts and
    tuples nested at most :data:`_MAX_DEPTH` deep and dict keys atoms. Memo references
    can then share objects but not build a structure whose text or hash grows
    exponentially with the file (nested lists of memo references did: 1 KB gave 1e11
    characters).
    """
    stack, memo = [], {}

    def to_mark():
        items = []
        while (item := stack.pop()) is not _MARK:
            items.append(item)
        return items[::-1]

    def keyed(items, depth=1):
        if any(items[0::2]):
            raise pickle.UnpicklingError("a dict key is not a number or a string.")
        return max([depth, *(1 + v for v in items[1::2])])

    for op, arg, pos in pickletools.genops(raw):
        name = op.name
        if name in _ATOMS:
            stack.append(0)
        elif name == "MARK":
            stack.append(_MARK)
        elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
            memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo[arg])
        elif name in ("EMPTY_DICT", "EMPTY_TUPLE"):
            stack.append(1)
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            items = [stack.pop() for _ in range(int(name[-1]))]
            stack.append(1 + max(items))
        elif name == "TUPLE":
            stack.append(1 + max(to_mark(), default=0))
        elif name == "DICT":
            stack.append(keyed(to_mark()))
        elif name == "SETITEM":
            value, key = stack.pop(), stack.pop()
            stack[-1] = keyed([key, value], stack[-1])
        elif name == "SETITEMS":
            items = to_mark()
            stack[-1] = keyed(items, stack[-1])
        elif name in ("REDUCE", "STACK_GLOBAL"):  # the allowed calls return scalars
            del stack[-2:]
            stack.append(0)
        elif name == "BUILD":  # a dtype's state
            stack.pop()
        elif name == "POP":
            stack.pop()
        elif name not in ("PROTO", "FRAME", "STOP"):
            raise pickle.UnpicklingError(
                f"refusing opcode {name} at byte {pos}: the First Impressions files hold "
                "only dicts of numbers and text (no lists, sets or objects)."
            )
        if stack and stack[-1] is not _MARK and stack[-1] > _MAX_DEPTH:
            raise pickle.UnpicklingError(
                f"containers nested deeper than {_MAX_DEPTH} at byte {pos}: the First "
                "Impressions files hold only dicts of numbers and text."
            )


def _safe_load(path, encoding):
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        _check_structure(raw)
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


#: Per-clip demographic annotations of the training and validation clips (``;``-separated).
DEMOGRAPHICS_FILE = "eth_gender_annotations_dev.csv"
#: The release's codes (its own conversion script): named categories, never codes.
_GENDER = {1: "male", 2: "female"}
_ETHNICITY = {1: "Asian", 2: "Caucasian", 3: "African-American"}
#: 8,000 rows of about 36 bytes; anything far larger is not this file.
_MAX_DEMOGRAPHICS_BYTES = 4 << 20


def _read_demographics(folder, video_ids):
    """``gender`` and ``ethnicity`` of ``video_ids``, named categories, from the CSV.

    The file is untrusted: its size, columns, codes and coverage are checked, and a
    clip listed twice with different values is refused.
    """
    path = folder / DEMOGRAPHICS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"First Impressions demographics: missing {DEMOGRAPHICS_FILE} in {folder}. It "
            "holds the per-clip gender and ethnicity of the training and validation clips "
            "(the ChaLearn release's eth_gender_annotations_dev.csv, ';'-separated, columns "
            "VideoName;YouTubeID;Ethnicity;Gender); put it beside the label pickles, or "
            "load with demographics=False."
        )
    if path.stat().st_size > _MAX_DEMOGRAPHICS_BYTES:
        raise ValueError(
            f"{path} is {path.stat().st_size:,} bytes, more than the "
            f"{_MAX_DEMOGRAPHICS_BYTES:,} an annotation table of 8,000 clips takes."
        )
    try:
        table = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise ValueError(f"{path} is not a readable ';'-separated table: {exc!s:.200}") from exc
    needed = ["VideoName", "Ethnicity", "Gender"]
    absent = [c for c in needed if c not in table.columns]
    if absent:
        raise ValueError(f"{path} lacks the column(s) {absent}; expected VideoName;YouTubeID;"
                         "Ethnicity;Gender.")
    coded = {}
    for column, names in (("Gender", _GENDER), ("Ethnicity", _ETHNICITY)):
        codes = table[column].str.strip()
        bad = sorted(set(codes) - {str(k) for k in names})[:5]
        if bad:
            raise ValueError(f"{path}: column {column!r} holds {bad}; the codes are "
                             f"{sorted(names)} ({', '.join(names.values())}).")
        coded[column] = codes.map({str(k): v for k, v in names.items()})
    table = pd.DataFrame({"video_id": table["VideoName"].str.strip(), **coded})
    table = table.drop_duplicates()
    if table["video_id"].duplicated().any():
        clash = table.loc[table["video_id"].duplicated(), "video_id"].iloc[0]
        raise ValueError(f"{path}: clip {clash!r} is listed twice with different values.")
    table = table.set_index("video_id")
    lacking = [v for v in video_ids if v not in table.index]
    if lacking:
        raise ValueError(f"{path} has no gender and ethnicity for {len(lacking)} clip(s), "
                         f"e.g. {lacking[0]!r}.")
    rows = table.loc[list(video_ids)]
    return (
        pd.Categorical(rows["Gender"], categories=list(_GENDER.values())),
        pd.Categorical(rows["Ethnicity"], categories=list(_ETHNICITY.values())),
    )


#: Longest transcript accepted (characters): the official ones, of 15-s clips, have at
#: most 415.
MAX_TRANSCRIPT_CHARS = 10_000


def _check_transcripts(transcripts, video_ids, path):
    """The transcript (str, "" where missing) of each clip, each and all of bounded size.

    A transcript must be text of at most :data:`MAX_TRANSCRIPT_CHARS` characters, and
    all of them together no more than twice the file's size: memo references let a
    small file name one text many times, never make it hold more than it stores.
    """
    if not isinstance(transcripts, dict):
        raise ValueError(f"{path} does not hold a dict of transcripts.")
    text, total = [], 0
    budget = 2 * os.path.getsize(path)
    for v in video_ids:
        t = transcripts.get(v)
        if t is None or (isinstance(t, float) and np.isnan(t)):
            t = ""
        if not isinstance(t, str):
            raise ValueError(f"{path}: the transcript of {v!r} is a {type(t).__name__}, not "
                             "text; get the official ChaLearn LAP release again.")
        if len(t) > MAX_TRANSCRIPT_CHARS:
            raise ValueError(f"{path}: the transcript of {v!r} has {len(t):,} characters, "
                             f"more than the {MAX_TRANSCRIPT_CHARS:,} a 15-s clip can hold.")
        total += len(t)
        if total > budget:
            raise ValueError(f"{path}: the transcripts add up to more characters than the "
                             "file holds (one text repeated through pickle references).")
        text.append(t)
    return text


def load_first_impressions(data_home=None, split="training", *, demographics=False):
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
    demographics : bool, default=False
        Add each clip's ``gender`` (``"male"``, ``"female"``) and ``ethnicity``
        (``"Asian"``, ``"Caucasian"``, ``"African-American"``) to ``data``, as pandas
        categoricals, from ``eth_gender_annotations_dev.csv`` beside the pickles
        (joined by clip; the release's per-clip values are kept, so the six source
        videos coded differently on different clips stay so). The annotations are
        *apparent* gender and ethnicity, coded by annotators. Clips of one source video
        share a person: test them by ``groups`` (see :func:`independence_test`'s
        ``groups``).

    Returns
    -------
    Bunch
        ``data``: DataFrame with ``video_id`` (``"<youtube_id>.<clip>.mp4"``),
        ``youtube_id`` and ``transcript`` (str; empty for the few clips without one),
        and with ``demographics=True`` ``gender`` and ``ethnicity`` (categoricals);
        ``target``: DataFrame of the Big Five in [0, 1], columns in
        :data:`~skpersona.BIG_FIVE` order; ``interview``: Series, the
        "invite to interview" score; ``groups``: ndarray of YouTube ids (the same
        source video appears in several clips, so group cross-validation by it);
        ``feature_names``, ``target_names``, ``DESCR``.

    Raises
    ------
    FileNotFoundError
        When the pickles (or, with ``demographics=True``, the annotation CSV) are not
        in ``data_home``; the message names the file and the folder it belongs in.
    ValueError
        Naming the file, when a pickle is truncated, empty or tampered with
        (anything but dicts of numbers and text is refused before it is built),
        or its labels are not the same clips for every trait in [0, 1]; or when the
        demographics CSV is too large, lacks a column, holds unknown codes or misses a
        clip.

    Examples
    --------
    >>> from skpersona.datasets import load_first_impressions
    >>> fi = load_first_impressions(split="validation")  # doctest: +SKIP
    >>> fi.target.shape  # doctest: +SKIP
    (2000, 5)
    >>> fi = load_first_impressions(split="validation", demographics=True)  # doctest: +SKIP
    >>> fi.data["gender"].cat.categories.tolist()  # doctest: +SKIP
    ['male', 'female']
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
    video_ids = sorted(labels["extraversion"])
    target = pd.DataFrame(
        {trait: [float(labels[trait][v]) for v in video_ids] for trait in BIG_FIVE},
        index=pd.RangeIndex(len(video_ids)),
    )
    interview = pd.Series(
        [float(labels["interview"][v]) for v in video_ids], name="interview"
    ) if "interview" in labels else None
    text = _check_transcripts(transcripts, video_ids, folder / names[1])
    youtube_ids = [v.split(".", 1)[0] for v in video_ids]
    data = pd.DataFrame({"video_id": video_ids, "youtube_id": youtube_ids, "transcript": text})
    if demographics:
        data["gender"], data["ethnicity"] = _read_demographics(folder, video_ids)
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
