"""Readers of AU files (OpenFace 2.x, py-feat, iMotions) into frame tables."""

import numbers
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._facs import au_label

_OPENFACE_R = re.compile(r"^AU(\d+)_r$")
_OPENFACE_C = re.compile(r"^AU(\d+)_c$")
_AU_COLUMN = re.compile(r"^AU(\d+)$")
_IMOTIONS = re.compile(r"^AU(\d+) Evidence$")
_FAILED = ("drop", "nan", "keep")
_CLOCK = r"(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)"  # py-feat 2.1 writes approx_time as "MM:SS"


def _check_failed(failed):
    if failed not in _FAILED:
        raise ValueError(f"failed must be one of {_FAILED}, got {failed!r}.")


def _check_file(path):
    path = Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"AU file {str(path)!r} does not exist or is not a file.")
    return path


def _finish(table, au_cols, ok, failed, scale, source, path):
    """Apply the failed-frame policy, order columns, set attrs."""
    table = table.copy()
    table["success"] = np.asarray(ok, dtype=bool)
    if failed == "drop":
        table = table.loc[table["success"].to_numpy()].reset_index(drop=True)
    elif failed == "nan":
        table.loc[~table["success"].to_numpy(), au_cols] = np.nan
    meta = [c for c in ("frame", "timestamp", "face_id", "confidence", "success") if c in table]
    rest = [c for c in table.columns if c not in meta and c not in au_cols]
    table = table[meta + au_cols + rest]
    table.attrs = {"au_scale": scale, "source": source}
    if path is not None:
        table.attrs["path"] = str(path)
    return table


def read_openface(path, failed="drop", min_confidence=None):
    """Read an OpenFace 2.x CSV into a frame table.

    OpenFace writes headers with leading spaces, intensities ``AU01_r`` (0-5),
    presence ``AU01_c`` (0/1), ``success`` and ``confidence`` per frame.
    Intensities become ``AU01``, ``AU02``, ... (``attrs["au_scale"] == "0-5"``);
    presence columns become ``AU01_present`` (booleans, AUs that OpenFace only
    classifies, such as AU28, appear there only).

    Parameters
    ----------
    path : str or path-like
        The CSV written by ``FeatureExtraction`` / ``FaceLandmarkVidMulti``.
    failed : {"drop", "nan", "keep"}, default="drop"
        Frames where tracking failed (``success == 0``, or confidence below
        ``min_confidence``): drop them, keep them with NaN intensities, or keep
        them as they are. A boolean ``success`` column flags them either way.
    min_confidence : float or None, default=None
        Also treat frames whose ``confidence`` is below this as failed.

    Returns
    -------
    pandas.DataFrame
        Frame table: ``frame``, ``timestamp`` (s), ``face_id`` (when present),
        ``confidence``, ``success``, the ``AUxx`` intensities, then the
        ``AUxx_present`` columns. Files of OpenFace's image mode
        (``FaceLandmarkImg``: a ``face`` column, no ``frame``) describe one
        image: ``face`` becomes ``face_id`` and every row gets ``frame`` 0.

    Examples
    --------
    >>> import os, feat
    >>> from skpersona.au import read_openface
    >>> path = os.path.join(os.path.dirname(feat.__file__), "tests", "data", "OpenFace_Test.csv")
    >>> table = read_openface(path)
    >>> table.attrs["au_scale"], table.shape[0], "AU12" in table
    ('0-5', 100, True)
    """
    _check_failed(failed)
    path = _check_file(path)
    raw = pd.read_csv(path, skipinitialspace=True)
    raw.columns = [str(c).strip() for c in raw.columns]
    intensity = {c: au_label(int(_OPENFACE_R.match(c).group(1)))
                 for c in raw.columns if _OPENFACE_R.match(c)}
    presence = {c: au_label(int(_OPENFACE_C.match(c).group(1))) + "_present"
                for c in raw.columns if _OPENFACE_C.match(c)}
    if not intensity:
        raise ValueError(
            f"{str(path)!r} has no OpenFace AU intensity columns (AU01_r, ...). Run OpenFace "
            "with -aus, or read py-feat output with read_fex."
        )
    table = pd.DataFrame(index=raw.index)
    if "face" in raw and "face_id" not in raw:  # image mode: "face, confidence, ..."
        raw = raw.rename(columns={"face": "face_id"})
        if "frame" not in raw:
            table["frame"] = np.zeros(len(raw), dtype=np.int64)  # all faces are in one image
    for column in ("frame", "timestamp", "face_id", "confidence"):
        if column in raw:
            table[column] = raw[column].to_numpy()
    au_cols = list(intensity.values())
    for src, dst in intensity.items():
        table[dst] = raw[src].to_numpy(dtype=float)
    for src, dst in presence.items():
        table[dst] = raw[src].to_numpy(dtype=float) > 0.5
    ok = raw["success"].to_numpy(dtype=float) > 0.5 if "success" in raw else np.ones(len(raw), bool)
    if min_confidence is not None and "confidence" in raw:
        ok &= raw["confidence"].to_numpy(dtype=float) >= float(min_confidence)
    return _finish(table, au_cols, ok, failed, "0-5", "openface", path)


def _clock_seconds(values, name="approx_time"):
    """Seconds from py-feat's ``approx_time``: numbers, or "MM:SS" / "HH:MM:SS" strings.

    Empty cells give NaN for their row alone. Returns None when a value is neither a
    number nor a clock (the caller falls back to other columns); raises a ValueError
    for a clock that is no time (seconds from 60 on, or minutes after hours from 60).
    """
    series = pd.Series(values).reset_index(drop=True)
    text = series.astype(str).str.strip()
    missing = series.isna().to_numpy() | (text == "").to_numpy()
    if missing.all():
        return None
    seconds = np.full(len(series), np.nan)
    numbers = pd.to_numeric(series[~missing], errors="coerce")
    if numbers.notna().all():
        seconds[~missing] = numbers.to_numpy(dtype=float)
        return seconds
    given = text[~missing]
    if not given.str.fullmatch(_CLOCK).all():
        return None
    pieces = given.str.extract(_CLOCK)
    hours = pd.to_numeric(pieces[0], errors="coerce")
    minutes, secs = pieces[1].astype(float), pieces[2].astype(float)
    bad = (secs >= 60) | (hours.notna() & (minutes >= 60))
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise ValueError(
            f"{name} {given.iloc[row]!r} (row {given.index[row]}) is not a clock time: "
            "seconds and, after hours, minutes run from 0 to 59. Fix the file, or pass "
            "fps= to compute times from the frame numbers."
        )
    seconds[~missing] = (hours.fillna(0.0) * 3600 + minutes * 60 + secs).to_numpy()
    return seconds


def read_fex(path_or_fex, failed="drop", fps=None):
    """Read py-feat output (a ``Fex`` or a CSV that py-feat wrote) into a frame table.

    py-feat's AU columns (``AU01``, ...) are detection probabilities in [0, 1]
    (``attrs["au_scale"] == "0-1"``). Rows without a detected face (NaN AUs)
    are the failed frames.

    Parameters
    ----------
    path_or_fex : str, path-like, feat.Fex or pandas.DataFrame
        A CSV saved from ``Fex.to_csv`` / ``Detector.detect(save=...)``, or
        the ``Fex`` itself.
    failed : {"drop", "nan", "keep"}, default="drop"
        Rows without a face: drop them or keep them (their AUs are NaN).
    fps : float or None, default=None
        Frame rate of the video, a number (text such as ``"25"`` is refused). When
        given, ``timestamp = frame / fps`` (exact); otherwise it is read from
        ``approx_time``: an empty cell gives NaN for its row only, and a clock time
        that is no time (``"00:75"``) raises a ValueError naming it.

    Returns
    -------
    pandas.DataFrame
        Frame table: ``frame``, ``timestamp`` in seconds (``frame / fps``;
        else py-feat's ``approx_time``, numbers or "MM:SS" strings - py-feat
        2.1 writes whole seconds, so ``attrs["timestamp_resolution"] == 1.0``
        then; else a ``timestamp`` column; none when neither parses),
        ``face_id`` (py-feat's ``Identity`` codes 0, 1, ...; NaN where the
        identity is missing), ``confidence`` (``FaceScore``), ``success``, then
        the ``AUxx`` columns.

    Examples
    --------
    >>> import os, feat
    >>> from skpersona.au import read_fex
    >>> path = os.path.join(os.path.dirname(feat.__file__), "tests", "data", "001.csv")
    >>> table = read_fex(path)
    >>> table.attrs["au_scale"], table.shape[0]
    ('0-1', 40)
    """
    _check_failed(failed)
    path = None
    if isinstance(path_or_fex, pd.DataFrame):
        raw = pd.DataFrame(path_or_fex).copy()
    else:
        path = _check_file(path_or_fex)
        raw = pd.read_csv(path)
    raw.columns = [str(c).strip() for c in raw.columns]
    au_map = {c: au_label(int(_AU_COLUMN.match(c).group(1)))
              for c in raw.columns if _AU_COLUMN.match(c)}
    if not au_map:
        where = repr(str(path)) if path is not None else "The given Fex"
        raise ValueError(
            f"{where} has no AU columns (AU01, AU02, ...). Is it py-feat output? OpenFace "
            "files are read with read_openface."
        )
    if fps is not None and (not isinstance(fps, numbers.Real) or isinstance(fps, bool)
                            or not (np.isfinite(fps) and fps > 0)):
        raise ValueError(f"fps must be a positive number of frames per second, got {fps!r}"
                         + (" (text: pass a number, e.g. fps=25)." if isinstance(fps, str)
                            else "."))
    table = pd.DataFrame(index=raw.index)
    table["frame"] = (raw["frame"].to_numpy() if "frame" in raw else np.arange(len(raw)))
    resolution = None
    if fps is not None:
        table["timestamp"] = table["frame"].to_numpy(dtype=float) / float(fps)
    else:
        for src in ("approx_time", "timestamp"):
            seconds = _clock_seconds(raw[src], src) if src in raw else None
            if seconds is not None:
                table["timestamp"] = seconds
                clock = src == "approx_time" and not pd.api.types.is_numeric_dtype(raw[src])
                whole = clock and np.array_equal(seconds, np.floor(seconds), equal_nan=True)
                resolution = 1.0 if whole else None
                break
    if "Identity" in raw:
        codes = pd.factorize(raw["Identity"])[0]  # -1 where missing
        table["face_id"] = np.where(codes >= 0, codes, np.nan)
    if "FaceScore" in raw:
        table["confidence"] = raw["FaceScore"].to_numpy(dtype=float)
    au_cols = list(au_map.values())
    for src, dst in au_map.items():
        table[dst] = raw[src].to_numpy(dtype=float)
    ok = ~np.isnan(table[au_cols].to_numpy(dtype=float)).all(axis=1)
    if "input" in raw and raw["input"].nunique() == 1:
        table.attrs["input"] = str(raw["input"].iloc[0])
    out = _finish(table, au_cols, ok, failed, "0-1", "py-feat", path)
    if "input" in table.attrs:
        out.attrs["input"] = table.attrs["input"]
    if resolution is not None:
        out.attrs["timestamp_resolution"] = resolution
    return out


def read_imotions(path, failed="drop"):
    """Read an iMotions (Emotient FACET) export into a frame table.

    FACET reports AU *evidence* (log10 odds). It is mapped to a probability
    ``1 / (1 + 10 ** -evidence)``, so ``attrs["au_scale"] == "0-1"`` as for
    py-feat. Rows of other sensors (eye tracking) are dropped; frames without
    a face (``NoOfFaces == 0`` or no evidence) are the failed frames.

    Parameters
    ----------
    path : str or path-like
        The tab-separated export (v5 or v6; ``#`` header lines are skipped).
    failed : {"drop", "nan", "keep"}, default="drop"

    Returns
    -------
    pandas.DataFrame
        Frame table with ``frame``, ``timestamp`` (s), ``success``, ``AUxx``.

    Examples
    --------
    >>> import os, feat
    >>> from skpersona.au import read_imotions
    >>> path = os.path.join(os.path.dirname(feat.__file__), "tests", "data", "iMotions_Test_v6.txt")
    >>> read_imotions(path).attrs["au_scale"]
    '0-1'
    """
    _check_failed(failed)
    path = _check_file(path)
    with open(path, encoding="utf-8", errors="replace") as handle:
        skip = next((i for i, line in enumerate(handle) if "Evidence" in line), None)
    if skip is None:
        raise ValueError(f"{str(path)!r} has no 'AUxx Evidence' columns; is it an iMotions export?")
    raw = pd.read_csv(path, sep="\t", skiprows=skip, low_memory=False)
    raw.columns = [str(c).strip() for c in raw.columns]
    au_map = {c: au_label(int(_IMOTIONS.match(c).group(1)))
              for c in raw.columns if _IMOTIONS.match(c)}
    evidence = raw[list(au_map)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    facial = ~np.isnan(evidence).all(axis=1)
    if "EventSource" in raw:
        # Other sensors' rows (eye tracking, "ET") carry the last face values forward.
        source = raw["EventSource"].astype(str).str.contains("FACET|Emotient|Affectiva")
        if source.any():
            facial = source.to_numpy()
    raw, evidence = raw.loc[facial].reset_index(drop=True), evidence[facial]
    table = pd.DataFrame(index=raw.index)
    table["frame"] = (pd.to_numeric(raw["FrameNo"], errors="coerce").to_numpy()
                      if "FrameNo" in raw else np.arange(len(raw)))
    if "Timestamp" in raw:
        table["timestamp"] = pd.to_numeric(raw["Timestamp"], errors="coerce").to_numpy() / 1000.0
    au_cols = list(au_map.values())
    with np.errstate(over="ignore"):
        table[au_cols] = 1.0 / (1.0 + np.power(10.0, -evidence))
    ok = ~np.isnan(evidence).all(axis=1)
    if "NoOfFaces" in raw:
        ok &= pd.to_numeric(raw["NoOfFaces"], errors="coerce").fillna(0).to_numpy() > 0
    return _finish(table, au_cols, ok, failed, "0-1", "imotions", path)
