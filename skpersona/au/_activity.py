"""Per-frame AU activity of one frame table: detector presence, else a threshold.

The AU-to-language description needs, per AU and frame, whether the AU is
*active*. Detectors that classify presence apart from intensity (OpenFace's
``AUxx_c``, read as ``AUxx_present``) are trusted for that; otherwise an AU is
active where its value reaches the activation threshold of the table's scale.
Frames whose AU value is missing (tracking loss, ``success == False``) are
*invalid*: never active, never inactive. An episode goes on across a gap of at most
``BRIDGED_GAP_FRAMES`` (2) untracked frames (invalid rows, or frames missing from the
table by its ``frame`` / ``timestamp`` column) and ends at a longer one: the rule of
:class:`AUStatistics`' runs.
"""

import re

import numpy as np
import pandas as pd

from ._frames import BRIDGED_GAP_FRAMES, GAP_STEPS, au_columns, resolve_threshold, typical_step

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


def segments_of(table):
    """Row positions of each stretch of equal ``keyframe`` (a window, or frames between
    windows), in temporal order; a table without windows is one stretch."""
    n = len(table)
    if "keyframe" not in table.columns or n == 0:
        return [np.arange(n)]
    ids = table["keyframe"].to_numpy(dtype=float, na_value=np.nan)
    ids = np.where(np.isnan(ids), -1.0, ids)
    cuts = np.flatnonzero(np.diff(ids) != 0) + 1
    return np.split(np.arange(n), cuts)


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
        elif has_value:  # a value on a frame whose tracking failed is no data (as in AUStatistics)
            valid[:, j] = ~np.isnan(values[:, j]) & tracked
            active[:, j] = valid[:, j] & (values[:, j] >= thr)
    return values, valid, active


def frame_clock(table):
    """Each row's time (``frame``, else ``timestamp``, else row positions, as AUStatistics
    reads it) and the longest step an episode crosses (BRIDGED_GAP_FRAMES untracked
    frames: BRIDGED_GAP_FRAMES + GAP_STEPS typical steps)."""
    for column in ("frame", "timestamp"):
        if column in table.columns:
            clock = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
            if len(clock) and np.isfinite(clock).all():
                return clock, (BRIDGED_GAP_FRAMES + GAP_STEPS) * typical_step(clock)
            break
    return np.arange(len(table), dtype=float), BRIDGED_GAP_FRAMES + GAP_STEPS


def episodes(active, valid, clock=None, limit=np.inf):
    """Runs of activity over the valid frames of one window, as (first, last) row positions.

    Invalid frames are skipped: an AU active before and after a short tracking gap
    is one episode; a step longer than ``limit`` on ``clock`` (row times) between two
    valid frames ends it.
    """
    rows = np.flatnonzero(valid)
    clock = np.arange(len(valid), dtype=float) if clock is None else clock
    runs = []
    start = prev = None
    last = None
    for r in rows:
        if start is not None and clock[r] - clock[last] > limit:  # a long gap ends it
            runs.append((start, prev))
            start = None
        last = r
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
