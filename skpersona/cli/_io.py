"""Files of the ``skpersona`` command: tables, frame files, model files."""

import glob
import json
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv",
                  ".flv"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
MODEL_FORMAT = "skpersona-model"
_AU_COLUMN = re.compile(r"^AU\d{2}$")


class UsageError(Exception):
    """A mistake of the user's: reported as one line, without a traceback."""


def table_format(path, what="table"):
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise UsageError(
            f"{what} {os.fspath(path)!r} has an unknown suffix {suffix!r}: use one of "
            f"{', '.join(sorted(TABLE_SUFFIXES))}."
        )
    return TABLE_SUFFIXES[suffix]


def _need_pyarrow(path):
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"reading or writing Parquet ({os.fspath(path)!r}) needs pyarrow: "
            "pip install 'skpersona[parquet]', or use a .csv file."
        ) from exc


# What pandas reads as missing in a CSV by default; text and id columns keep them as text.
_NA_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
              "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
#: Columns that always hold text: the sample table's text and path columns.
TEXT_COLUMNS = ("transcript", "video", "file", "path")


# Words that name an identifier, alone or before "id" (userid, VideoID, participant_no).
_ID_WORDS = {"id", "ids", "uid", "uuid", "guid", "pid", "sid", "key", "index", "participant",
             "subject", "respondent", "speaker", "user", "username", "person", "vlog", "video",
             "clip", "session", "sample", "item", "record", "rater", "annotator", "row"}
# A name made of these words only, one of them naming an identifier (participant_no).
_ID_TOKENS = {"id", "ids", "uid", "uuid", "guid", "participant", "respondent", "subject",
              "speaker", "user", "username", "person"}
_ID_SUFFIXES = {"no", "nr", "num", "number", "code", "name", "key", "index", "idx"}


def is_id_column(name):
    """An identifier column by its name.

    ``id``, ``*_id``, ``*Id``, ``*ID`` (video_id, vlogId, VideoID), an identifier word
    glued to "id" (userid, videoid), or a word that names who or what a row is
    and nothing else (participant, Subject_No, username); pandas' unnamed index
    ("Unnamed: 0"). ``subject_age`` is no id.
    """
    name = str(name)
    lower = name.lower()
    if lower == "id" or lower.endswith("_id") or name.endswith("Id") or (
            name.endswith("ID") and not name[-3:-2].isupper()):  # VideoID, not AU_VALID
        return True
    if lower.startswith("unnamed:") or (lower.endswith("id") and lower[:-2].strip("_- ")
                                        in _ID_WORDS):
        return True
    words = [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", name)]
    return any(w in _ID_TOKENS for w in words) and all(
        w in _ID_TOKENS or w in _ID_SUFFIXES or w.isdigit() for w in words)


def id_columns(table, given=()):
    """The columns of ``table`` that identify rows, each with why: ``{name: reason}``.

    ``given`` (``--id-columns``), names that read as ids (:func:`is_id_column`), and
    integer columns of distinct values that run through a range with no gap (a row
    number: 1..n, 1001..1000+n in any order).
    """
    found = {c: "--id-columns" for c in given if c in table.columns}
    for c in table.columns:
        if c in found:
            continue
        if is_id_column(c):
            found[c] = "its name"
            continue
        values = table[c]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        v = values.to_numpy(dtype=float, na_value=np.nan)
        if len(v) >= 10 and np.isfinite(v).all() and (v == np.round(v)).all() \
                and len(np.unique(v)) == len(v) and v.max() - v.min() == len(v) - 1:
            found[c] = "distinct consecutive integers"
    return found


def say_excluded(excluded, what):
    """One line naming the id columns left out of ``what`` and why."""
    if excluded:
        listed = ", ".join(f"{c} ({why})" for c, why in excluded.items())
        from ._common import _say

        _say(f"id columns not used as {what}: {listed}.")


def read_table(path, what="table", text_columns=()):
    """Read a CSV, TSV or Parquet file into a DataFrame (one clear error if it cannot).

    Id columns (:func:`is_id_column`), :data:`TEXT_COLUMNS` and ``text_columns`` are
    read from a CSV as text, exactly: "007" stays "007", and "None", "NA" or "null"
    stay those words (an empty cell is ""); other columns are parsed as pandas does.
    ``text_columns=True`` reads every column as text.
    """
    path = Path(path)
    kind = table_format(path, what)
    if not path.is_file():
        raise UsageError(f"{what} {os.fspath(path)!r} does not exist.")
    try:
        if kind == "parquet":
            _need_pyarrow(path)
            return pd.read_parquet(path)
        sep = "\t" if kind == "tsv" else ","
        header = pd.read_csv(path, sep=sep, nrows=0).columns
        text = {c for c in header if text_columns is True or is_id_column(c)
                or c in TEXT_COLUMNS or c in set(text_columns)}
        return pd.read_csv(path, sep=sep, dtype={c: str for c in text}, keep_default_na=False,
                           na_values={c: [] if c in text else _NA_VALUES for c in header})
    except UsageError:
        raise
    except Exception as exc:
        raise UsageError(f"cannot read {what} {os.fspath(path)!r}: {exc}") from exc


_STALE_TMP_SECONDS = 60.0


def remove_stale_temporaries(path):
    """Delete ``.NAME.*.tmp`` files beside ``path`` left by a killed run (kill -9).

    Only those untouched for a minute: a temporary file being written now is fresh.
    """
    path = Path(path)
    now = time.time()
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if now - tmp.stat().st_mtime > _STALE_TMP_SECONDS:
                tmp.unlink()
        except OSError:
            pass


def check_writable(path, what="output", folder=False):
    """Fail now, before the work, when ``path`` cannot be written (one clear error).

    Creates the missing parent folders (as the write would) and tries a temporary
    file there; removes temporary files a killed run left beside ``path``.
    """
    path = Path(path)
    target = path if folder else path.parent
    if path.is_dir() and not folder:
        raise UsageError(f"{what} {os.fspath(path)!r} is a folder; name a file.")
    try:
        target.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".skpersona-probe.", suffix=".tmp", dir=target)
        os.close(fd)
        os.remove(probe)
        if not folder and path.exists() and not os.access(path, os.W_OK):
            raise PermissionError(f"{os.fspath(path)!r} is read-only")
    except OSError as exc:
        raise UsageError(f"cannot write {what} {os.fspath(path)!r} ({exc.strerror or exc}); "
                         "choose a writable place.") from exc
    if not folder:
        remove_stale_temporaries(path)
    return path


def read_json(path, what):
    """A JSON file, or one clear error naming it."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{what} {os.fspath(path)!r} is unreadable ({type(exc).__name__}: "
                         f"{exc})") from exc


def _atomic(path, write):
    """Write through a temporary file in the same folder, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_table(table, path, what="output"):
    """Write a DataFrame as CSV, TSV or Parquet (by suffix), atomically."""
    kind = table_format(path, what)
    if kind == "parquet":
        _need_pyarrow(path)
        return _atomic(path, lambda tmp: table.to_parquet(tmp, index=False))
    sep = "\t" if kind == "tsv" else ","
    return _atomic(path, lambda tmp: table.to_csv(tmp, index=False, sep=sep))


def write_json(data, path):
    def write(tmp):
        with open(tmp, "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=True, default=str)

    return _atomic(path, write)


def find_videos(inputs, recursive=False, images=False):
    """Expand folders into their video files: ``{key: path}``, keys relative to the folder."""
    suffixes = VIDEO_SUFFIXES | (IMAGE_SUFFIXES if images else set())
    found = {}
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            walk = item.rglob("*") if recursive else item.glob("*")
            files = sorted(p for p in walk if p.is_file() and p.suffix.lower() in suffixes)
            pairs = [(p.relative_to(item).as_posix(), p) for p in files]
        elif item.is_file():
            pairs = [(item.name, item)]
        else:
            raise UsageError(f"{os.fspath(item)!r} is neither a video file nor a folder.")
        for key, path in pairs:
            if key in found and found[key] != path:
                raise UsageError(
                    f"two inputs are both named {key!r} ({found[key]} and {path}); "
                    "pass their common parent folder instead."
                )
            found[key] = path
    return found


def frame_tables_from_file(path):
    """Read an ``extract-aus`` output into ``{video key: frame table}``."""
    table = read_table(path, "frames file")
    if "video" not in table.columns:
        raise UsageError(
            f"frames file {os.fspath(path)!r} has no 'video' column; write it with "
            "`skpersona extract-aus`."
        )
    from ..au._frames import table_scale

    scale = table.attrs.get("au_scale")
    manifest = Path(f"{path}.manifest.json")
    if scale is None and manifest.is_file():
        try:
            scale = json.loads(manifest.read_text()).get("au_scale")
        except (OSError, ValueError, AttributeError):
            import warnings

            warnings.warn(f"{manifest} is unreadable; the AU scale is read from the values.",
                          RuntimeWarning, stacklevel=2)
    attrs = {"au_scale": scale or table_scale(table)}
    tables = {}
    for key, part in table.groupby("video", sort=False):
        part = part.drop(columns="video").reset_index(drop=True)
        part.attrs = dict(attrs, video=str(key))
        tables[str(key)] = part
    return tables


def _read_frame_table_file(path):
    from ..au import read_openface
    from ..au._frames import table_scale

    head = read_table(path, "frame table")
    columns = [str(c).strip() for c in head.columns]
    if any(re.match(r"^AU\d{2}_r$", c) for c in columns):
        return read_openface(path)
    if not any(_AU_COLUMN.match(c) for c in columns):
        raise UsageError(
            f"frame table {os.fspath(path)!r} has no AU01, AU02, ... columns (nor OpenFace's "
            "AU01_r ...)."
        )
    head.attrs.setdefault("au_scale", table_scale(head))
    return head


def resolve_videos(values, *, frames=None, base_dir=None, column="video"):
    """Turn a video column into what the AU pipeline takes.

    Each value is looked up in ``frames`` (an ``extract-aus`` output) when one is
    given, by its full key, then its file name, then its stem; otherwise a path to a
    ``.csv``/``.parquet`` frame table is read, and a path to a video or image stays
    a path (the model then extracts AUs itself). An empty cell is an answer without
    video: :func:`skpersona.au.missing_video`, read by the AU models as a video
    without a face (training means, a ``no_face`` column and a warning).
    """
    from ..au import missing_video
    from ..au._answers import is_missing_video

    values = list(values)
    out = []
    missing = [i for i, v in enumerate(values) if is_missing_video(v)]
    for i in missing:
        values[i] = missing_video(f"row {i}: no video in {column!r}")
    if frames is not None:
        by_name, by_stem = {}, {}
        for key in frames:
            by_name.setdefault(Path(key).name, key)
            by_stem.setdefault(Path(key).stem, key)
        for value in values:
            if isinstance(value, pd.DataFrame):
                out.append(value)
                continue
            text = str(value)
            key = (text if text in frames else by_name.get(Path(text).name)
                   or by_stem.get(Path(text).stem))
            if key is None:
                raise UsageError(
                    f"video {text!r} is not in the frames file; run `skpersona extract-aus` "
                    "on it first (or drop --frames to extract AUs from the video itself)."
                )
            out.append(frames[key])
        return out
    for value in values:
        if isinstance(value, pd.DataFrame):
            out.append(value)
            continue
        path = Path(str(value))
        if not path.is_absolute() and not path.exists() and base_dir is not None:
            path = Path(base_dir) / path
        if path.suffix.lower() in TABLE_SUFFIXES:
            out.append(_read_frame_table_file(path))
        else:
            if not path.is_file():
                raise UsageError(f"video {str(value)!r} does not exist (looked for {path}).")
            out.append(os.fspath(path))
    return out


def dump_model(bundle, path):
    """Write a model bundle as a skops file, deflate-compressed.

    skops writes every parameter, name and list entry as a verbose JSON node (the
    SIOP answers model's schema is tens of MB of column names and indices); deflate
    shrinks that about tenfold. ``skops.io.load`` and :func:`skpersona.load` read
    compressed and uncompressed files alike, and the loader bounds the unpacked size.
    """
    import zipfile

    import skops.io as sio

    return _atomic(path, lambda tmp: sio.dump(bundle, tmp, compression=zipfile.ZIP_DEFLATED,
                                              compresslevel=6))


def load_model(path, trust=(), *, allow=None):
    """Load a model file written by ``skpersona fit`` with :func:`skpersona.load`.

    Only known types are built (``trust``: more), and every capability of the
    estimators is the user's (``allow``: what the ``--allow-...`` flags name).
    """
    from .._loading import ModelFileError, load
    from ..utils import UnsafeModelError

    try:
        bundle = load(path, allow=allow, trusted=trust)
    except ModelFileError as exc:
        hint = (" If you trust the file, pass --trust TYPE for each." if exc.untrusted
                else " Write one with `skpersona fit`." if "not a skops" in str(exc) else "")
        raise UsageError(f"{exc}{hint}") from exc
    except UnsafeModelError as exc:
        if not exc.risks:
            raise UsageError(str(exc)) from exc
        from ..utils._file_safety import describe_risks

        raise UsageError(
            f"model file {os.fspath(path)!r} asks for {describe_risks(exc.risks)}. A model "
            f"file may not choose where data goes, what is downloaded or run code; if you trust it, allow this by "
            f"name: {' '.join(exc.flags)}"
        ) from exc
    if not isinstance(bundle, dict) or bundle.get("format") != MODEL_FORMAT:
        raise UsageError(f"{os.fspath(path)!r} was not written by `skpersona fit`.")
    return bundle
