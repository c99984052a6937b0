"""Per-frame AU activity of one frame table: detector presence, else a threshold.

The AU-to-language description needs, per AU and frame, whether the AU is
*active*. Detectors that classify presence apart from intensity (OpenFace's
``AUxx_c``, read as ``AUxx_present``) are trusted for that; otherwise an AU is
active where its value reaches the activation threshold of the table's scale.
Frames whose AU value is missing (tracking loss, ``success == False``) are
*invalid*: never active, never inactive, and they do not break an episode.
"""

import re

import numpy as np

from ._frames import au_columns, resolve_threshold

#: Suffix of presence columns in frame tables (``AU04_present``, booleans).
PRESENCE_SUFFIX = "_present"
_PRESENCE = re.compile(r"^(AU\d+)" + PRESENCE_SUFFIX + "$")


def presence_columns(table):
    """``{AU: presence column}`` of a frame table (e.g. ``{"AU04": "AU04_present"}``)."""
    out = {}
    for column in table.columns:
        match = _PRESENCE.match(str(column))
        if match:
            out[match.group(1)] = column
    return out


def described_aus(table):
    """AUs a table says something about: intensity or presence columns, by AU number."""
    aus = set(au_columns(table)) | set(presence_columns(table))
    return sorted(aus, key=lambda a: int(a[2:]))


def is_probability(scale):
    """Whether values on ``scale`` are detection probabilities (``"0-1"``), not intensities."""
    return str(scale) == "0-1"


def windows_of(table):
    """Row positions of each window of a table, in temporal order.

    Tables from :class:`KeyframeWindows` carry a ``keyframe`` column (window id,
    0 .. k-1 in temporal order); any other table is one window.
    """
    n = len(table)
    if "keyframe" not in table.columns or n == 0:
        return [np.arange(n)]
    ids = table["keyframe"].to_numpy()
    ids = np.where(np.isnan(ids.astype(float)), -1, ids).astype(np.int64)
    order = sorted({int(i) for i in ids if i >= 0})
    return [np.flatnonzero(ids == w) for w in order]


def au_activity(table, aus, threshold, scale):
    """Values, validity and activity of ``aus`` in one table.

    Returns
    -------
    values : ndarray of shape (n_frames, n_aus)
        Intensities or probabilities (NaN where missing or where the AU has
        only a presence column).
    valid : ndarray of bool, same shape
        The frame says something about the AU.
    active : ndarray of bool, same shape
        Valid and present (presence column) or at/above the threshold.
    """
    n = len(table)
    presence = presence_columns(table)
    thr = resolve_threshold(threshold, scale)
    values = np.full((n, len(aus)), np.nan)
    valid = np.zeros((n, len(aus)), dtype=bool)
    active = np.zeros((n, len(aus)), dtype=bool)
    tracked = np.ones(n, dtype=bool)
    if "success" in table.columns:
        tracked = table["success"].fillna(False).to_numpy(dtype=bool)
    for j, au in enumerate(aus):
        has_value = au in table.columns
        if has_value:
            values[:, j] = table[au].to_numpy(dtype=float, na_value=np.nan)
        if au in presence:
            flag = table[presence[au]]
            known = flag.notna().to_numpy() & tracked
            if has_value:
                known &= ~np.isnan(values[:, j])
            valid[:, j] = known
            active[:, j] = known & flag.fillna(False).to_numpy(dtype=bool)
        elif has_value:
            valid[:, j] = ~np.isnan(values[:, j])
            active[:, j] = valid[:, j] & (values[:, j] >= thr)
    return values, valid, active


def episodes(active, valid):
    """Runs of activity over the valid frames of one window, as (first, last) row positions.

    Invalid frames are skipped: an AU active before and after a tracking gap is
    one episode.
    """
    rows = np.flatnonzero(valid)
    runs = []
    start = prev = None
    for r in rows:
        if active[r]:
            if start is None:
                start = r
            prev = r
        elif start is not None:
            runs.append((start, prev))
            start = None
    if start is not None:
        runs.append((start, prev))
    return runs
