"""Frame-table helpers shared by the AU transformers."""

import numbers
import re

import numpy as np
import pandas as pd

_AU_COLUMN = re.compile(r"^AU\d+$")

#: A time step longer than this many typical steps is a gap (frames dropped or lost).
GAP_STEPS = 1.5

#: A run of activity (an episode) goes on across at most this many untracked frames (lost
#: tracking, a missing value, frames missing from the table): the next tracked frame is
#: then at most BRIDGED_GAP_FRAMES + GAP_STEPS typical steps after the last one. A longer
#: gap ends it. AUStatistics (runs, burst_mean) and AUDescriber (episodes) both follow it.
BRIDGED_GAP_FRAMES = 2

#: Conventional activation thresholds per intensity scale (``threshold="auto"``).
AUTO_THRESHOLDS = {"0-5": 1.0, "0-1": 0.5}


def au_columns(table):
    """AU intensity columns of a frame table, in their order."""
    return [c for c in table.columns if isinstance(c, str) and _AU_COLUMN.match(c)]


def scale_max(scale):
    """Upper end of an intensity scale string such as ``"0-5"``.

    The scale must read ``"<low>-<high>"`` with finite numbers and ``high > low``
    (``"0-0"`` or ``"5-0"`` are refused: no threshold can be placed on them).
    """
    try:
        low, high = (float(part) for part in str(scale).split("-"))
    except ValueError:
        low = high = None
    if low is None or not (np.isfinite(low) and np.isfinite(high) and high > low):
        raise ValueError(
            f"Invalid AU intensity scale {scale!r}: expected '<low>-<high>' with high > low, "
            "like '0-5' (OpenFace) or '0-1' (py-feat), in au_scale or frame_table.attrs['au_scale']."
        )
    return high


def table_scale(table, default=None):
    """Intensity scale of a frame table: ``attrs['au_scale']``, else inferred.

    Without the attribute, values above 1 mean the OpenFace 0-5 scale, else 0-1.
    """
    scale = table.attrs.get("au_scale") if hasattr(table, "attrs") else None
    if scale is not None:
        return str(scale)
    if default is not None:
        return default
    cols = au_columns(table)
    if cols and len(table):
        values = table[cols].to_numpy(dtype=float, na_value=np.nan)
        if np.nanmax(np.where(np.isfinite(values), values, -np.inf), initial=0.0) > 1.0:
            return "0-5"
    return "0-1"


def resolve_threshold(threshold, scale):
    """Absolute activation threshold for one scale.

    ``"auto"`` gives the conventional threshold of the scale (1 on 0-5, 0.5 on
    0-1); a number is a fraction of the scale's maximum.
    """
    if isinstance(threshold, str):
        if threshold != "auto":
            raise ValueError(f"threshold must be 'auto' or a number in (0, 1], got {threshold!r}.")
        if scale in AUTO_THRESHOLDS:
            return AUTO_THRESHOLDS[scale]
        return 0.2 * scale_max(scale)
    return float(threshold) * scale_max(scale)


def as_frame_tables(X, what="frame tables"):
    """Turn the accepted per-sample containers into a list of frame tables.

    Accepts a list or tuple, a pandas Series, a one-column DataFrame (what a
    ``ColumnTransformer`` passes), or a 1-D or (n, 1) object array whose items
    are frame-table DataFrames. An empty item (None, NaN, "": an interview answer
    without video) is an empty frame table, read as a video without a face.
    """
    from ._answers import is_missing_video, missing_video

    items = [missing_video(f"item {i}: no video") if is_missing_video(item) else item
             for i, item in enumerate(as_items(X, what=what))]
    for i, item in enumerate(items):
        if not isinstance(item, pd.DataFrame):
            raise TypeError(
                f"Item {i} of X is a {type(item).__name__}, not a frame table. Each sample "
                "must be a pandas DataFrame with AU columns (AU01, AU02, ...); read files with "
                "skpersona.au.read_openface / read_fex or extract them with AUExtractor."
            )
    return items


def as_items(X, what="samples"):
    """List the per-sample objects in X (list, Series, 1-column DataFrame, object array)."""
    if isinstance(X, pd.DataFrame):
        if au_columns(X) and X.shape[1] > 1 and not _holds_objects(X):
            raise TypeError(
                f"X looks like a single frame table (it has AU columns). Pass {what} as a "
                "list (or Series) of frame tables, one per video: e.g. [table]."
            )
        if X.shape[1] != 1:
            raise ValueError(
                f"X must hold one column of {what}, got a DataFrame with columns "
                f"{list(X.columns)[:5]}. Select the column first (e.g. X[['video']]) or route "
                "it with a ColumnTransformer."
            )
        return list(X.iloc[:, 0])
    if isinstance(X, pd.Series):
        return list(X)
    if isinstance(X, np.ndarray):
        if X.ndim == 2 and X.shape[1] == 1:
            return list(X[:, 0])
        if X.ndim == 1:
            return list(X)
        raise ValueError(
            f"X must be 1-D or (n, 1) when it holds {what}, got an array of shape {X.shape}."
        )
    if isinstance(X, list | tuple):
        return list(X)
    if isinstance(X, str | numbers.Number) or hasattr(X, "__fspath__"):
        raise TypeError(f"X must be a list of {what}, got a single {type(X).__name__}; wrap it in a list.")
    try:
        return list(X)
    except TypeError as exc:
        raise TypeError(f"X must be a list-like of {what}, got {type(X).__name__}.") from exc


def _holds_objects(df):
    return any(df[c].dtype == object and len(df) and isinstance(df[c].iloc[0], pd.DataFrame)
               for c in df.columns)


def object_column(items):
    """An (n, 1) object array holding ``items``."""
    out = np.empty((len(items), 1), dtype=object)
    for i, item in enumerate(items):
        out[i, 0] = item
    return out


def typical_step(times):
    """Median positive step of a non-decreasing time axis (1.0 when it has none)."""
    steps = np.diff(times)
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else 1.0


def numeric_column(table, column, index=None):
    """A table column as float64, with an error naming the video and column if it is not numeric."""
    try:
        return np.asarray(pd.to_numeric(table[column], errors="raise"), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        where = "" if index is None else f"Video {index}: "
        raise ValueError(
            f"{where}column {column!r} must be numeric ({exc}). Convert it with "
            f"pd.to_numeric(table[{column!r}]) or drop the column."
        ) from exc


def same_columns(a, b):
    """Whether two column Indexes hold the same labels, cheaply.

    Checked once per table on hot paths: pandas 3 string Indexes are compared in Arrow
    (about 2 us instead of 20 us for ``Index.equals``).
    """
    if a is b:
        return True
    if b is None:
        return False
    try:
        return bool(a._values._pa_array.equals(b._values._pa_array))
    except AttributeError:  # object or numeric Index, older pandas
        return bool(a.equals(b))
