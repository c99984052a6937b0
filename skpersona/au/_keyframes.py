"""Keyframe selection and windows of frames around each keyframe, in time."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ._facs import au_label
from ._frames import (
    GAP_STEPS,
    as_frame_tables,
    au_columns,
    numeric_column,
    object_column,
    typical_step,
)


def _smooth(times, values, width):
    """Triangular smoothing in time: sum_j values_j * max(0, 1 - |t_i - t_j| / width).

    Prefix sums over the sorted times make it O(n log n) whatever the width, so a
    huge window allocates nothing beyond a few arrays of the video's length.
    """
    t = times - times[0]
    mass = np.concatenate([[0.0], np.cumsum(values)])
    moment = np.concatenate([[0.0], np.cumsum(values * t)])
    lo = np.searchsorted(t, t - width, side="right")
    mid = np.searchsorted(t, t, side="right")
    hi = np.searchsorted(t, t + width, side="left")
    left_mass, left_moment = mass[mid] - mass[lo], moment[mid] - moment[lo]
    right_mass, right_moment = mass[hi] - mass[mid], moment[hi] - moment[mid]
    left = left_mass - (t * left_mass - left_moment) / width
    right = right_mass - (right_moment - t * right_mass) / width
    return np.maximum(left + right, 0.0)


def _separated(times, order, n, distance):
    """Up to n of the candidate rows (in priority order), pairwise more than distance apart."""
    taken = np.zeros(len(times), dtype=bool)
    picks = []
    for idx in order:
        if taken[idx]:
            continue
        picks.append(idx)
        if len(picks) == n:
            break
        lo = np.searchsorted(times, times[idx] - distance, side="left")
        hi = np.searchsorted(times, times[idx] + distance, side="right")
        taken[lo:hi] = True
    return np.sort(np.asarray(picks, dtype=np.int64))


class KeyframeWindows(TransformerMixin, BaseEstimator):
    """Keep windows of frames around keyframes of each video, measured in time.

    As in AU-text fusion for interview videos, the AUs are summarised over
    short windows around the moments where the face changes most, instead of
    every frame. Keyframes are the frames of largest AU activity (Euclidean
    norm of the change of the AU vector since the previous frame, smoothed by
    a triangular kernel the width of a window), kept more than one window
    apart; or frames spread uniformly in time.

    Time is read from the table, not from row positions: the ``frame`` column
    (video frame numbers) or, with ``half_window_seconds``, the ``timestamp``
    column (seconds). Lost tracking is never activity: rows whose AUs are all
    NaN, whose ``success`` is false or whose ``confidence`` is below
    ``min_confidence`` never become keyframes, and no change is measured
    across them or across a jump in time (dropped frames, a step longer than
    1.5 typical steps).

    Parameters
    ----------
    n_keyframes : int, default=5
        Keyframes per video (fewer when the video is short: at most one per
        window length of video).
    half_window : int, default=7
        Video frames kept on each side of a keyframe, counted on the ``frame``
        column (a window spans ``2 * half_window + 1`` frames of video, fewer
        rows when frames were dropped or sampled). Without a ``frame`` column,
        frames are counted on the ``timestamp`` column in units of its typical
        step, else on row positions.
    half_window_seconds : float or None, default=None
        When set, windows are ``keyframe time +- half_window_seconds`` on the
        ``timestamp`` column (seconds) and ``half_window`` is not used; every
        table then needs a ``timestamp`` column.
    method : {"activity", "uniform"}, default="activity"
    aus : list of str or None, default=None
        AUs whose change defines activity; None uses every AU column.
    min_confidence : float or None, default=None
        Rows whose ``confidence`` is below it count as lost tracking; they are
        kept in the windows with ``success`` set to False, so that
        :class:`AUStatistics` skips them too.
    keep : {"windows", "all"}, default="windows"
        ``"windows"``: only the frames of the windows. ``"all"``: every frame,
        those outside the windows with a NaN ``keyframe``: what
        :class:`AUDescriber` needs to report how often an AU shows over all
        tracked frames (windows are chosen for change, so their rates are
        inflated) while it narrates the windows only.

    Notes
    -----
    The output is an (n_videos, 1) object array of frame tables, one per input
    video, holding the kept frames in time order plus a ``keyframe`` column:
    the window each frame belongs to, 0 .. k-1 in temporal order. Windows
    never overlap and never reach outside the video; a video no longer than
    one window is kept whole as window 0. A video with no frame, or with
    tracking lost in every frame, comes out empty (with ``keep="all"``: every
    frame, none in a window). ``attrs`` are kept. A table
    must hold one face (one ``face_id``); keep one first, e.g.
    ``table[table.face_id == 0]``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skpersona.au import KeyframeWindows
    >>> video = pd.DataFrame({"AU12": np.r_[np.zeros(50), np.ones(50)]})
    >>> out = KeyframeWindows(n_keyframes=1, half_window=2).fit_transform([video])
    >>> out.shape, out[0, 0]["AU12"].tolist()
    ((1, 1), [0.0, 0.0, 1.0, 1.0, 1.0])
    >>> timed = video.assign(timestamp=np.arange(100) / 25)  # 25 frames per second
    >>> out = KeyframeWindows(n_keyframes=1, half_window_seconds=0.2).fit_transform([timed])
    >>> out[0, 0]["timestamp"].round(2).tolist()
    [1.8, 1.84, 1.88, 1.92, 1.96, 2.0, 2.04, 2.08, 2.12, 2.16, 2.2]
    """

    _parameter_constraints = {
        "n_keyframes": [Interval(Integral, 1, None, closed="left")],
        "half_window": [Interval(Integral, 0, None, closed="left")],
        "half_window_seconds": [Interval(Real, 0, None, closed="left"), None],
        "method": [StrOptions({"activity", "uniform"})],
        "aus": ["array-like", None],
        "min_confidence": [Interval(Real, None, None, closed="neither"), None],
        "keep": [StrOptions({"windows", "all"})],
    }

    def __init__(self, n_keyframes=5, half_window=7, half_window_seconds=None,
                 method="activity", aus=None, min_confidence=None, keep="windows"):
        self.n_keyframes = n_keyframes
        self.half_window = half_window
        self.half_window_seconds = half_window_seconds
        self.method = method
        self.aus = aus
        self.min_confidence = min_confidence
        self.keep = keep

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters (stateless: ``transform`` also works unfitted).

        Parameters
        ----------
        X : list, Series, 1-column DataFrame or object array of frame tables
        y : ignored

        Returns
        -------
        self
        """
        as_frame_tables(X)
        self.aus_ = self._aus()
        return self

    def _aus(self):
        return None if self.aus is None else [au_label(a) for a in self.aus]

    def _time(self, table, index):
        """Time of each row and the half-width of a window, in the same unit."""
        n = len(table)
        if self.half_window_seconds is not None:
            if "timestamp" not in table:
                raise ValueError(
                    f"Video {index} has no 'timestamp' column, but half_window_seconds="
                    f"{self.half_window_seconds} asks for windows in seconds. Read the file with "
                    "read_openface / read_fex (they give timestamps), or count windows in frames "
                    "with half_window and half_window_seconds=None."
                )
            column, times = "timestamp", numeric_column(table, "timestamp", index)
            half = float(self.half_window_seconds)
        elif "frame" in table:
            column, times = "frame", numeric_column(table, "frame", index)
            half = float(self.half_window)
        elif "timestamp" in table:
            column, times = "timestamp", numeric_column(table, "timestamp", index)
            times = times / typical_step(times)  # in frames
            half = float(self.half_window)
        else:
            return np.arange(n, dtype=float), float(self.half_window)
        if not np.isfinite(times).all() or (np.diff(times) < 0).any():
            raise ValueError(
                f"Video {index}: the {column!r} column must be finite and non-decreasing (rows "
                f"in time order). Sort the table by time (table.sort_values({column!r})) and drop "
                "rows without a time."
            )
        return times, half

    def _lost(self, table, values, index):
        """Rows where tracking failed: all AUs NaN, success false, low confidence."""
        lost = np.isnan(values).all(axis=1) if values.shape[1] else np.zeros(len(table), bool)
        if "success" in table:
            lost |= ~(numeric_column(table, "success", index) > 0.5)
        if self.min_confidence is not None and "confidence" in table:
            lost |= ~(numeric_column(table, "confidence", index) >= self.min_confidence)
        return lost

    def _plan(self, table, index=0):
        """Keyframe rows, the [start, stop) row range of each window, and the lost rows."""
        n = len(table)
        if "face_id" in table and table["face_id"].nunique(dropna=True) > 1:
            raise ValueError(
                f"Video {index} holds several faces (face_id {sorted(table['face_id'].dropna().unique())[:5]}); "
                "keyframes follow one face. Keep one first, e.g. table[table.face_id == 0]."
            )
        aus = self._aus()
        cols = aus if aus is not None else au_columns(table)
        values = table.reindex(columns=cols).to_numpy(dtype=float, na_value=np.nan)
        lost = self._lost(table, values, index)
        empty = np.empty(0, dtype=np.int64)
        if n == 0 or lost.all():
            return empty, empty, empty, lost
        times, half = self._time(table, index)
        step = typical_step(times)
        span = times[-1] - times[0] + step  # the stretch of video the rows cover
        length = 2.0 * half + step  # the stretch one window covers
        ok = np.flatnonzero(~lost)
        if span <= length:  # no longer than a window: keep it whole
            k = 1
        else:
            k = min(self.n_keyframes, max(1, int(np.floor(span / length + 1e-9))))
        if self.method == "uniform":
            centres = times[0] + (np.arange(k) + 0.5) * span / k
            after = np.clip(np.searchsorted(times[ok], centres), 0, len(ok) - 1)
            before = np.maximum(after - 1, 0)
            # the nearer of the two tracked rows around each centre
            near = np.where(np.abs(times[ok][before] - centres)
                            <= np.abs(times[ok][after] - centres), before, after)
            keys = _separated(times, ok[near], k, 2.0 * half)
        else:
            change = np.zeros(n)
            if len(ok) > 1:
                diff = np.diff(values[ok], axis=0)
                norm = np.sqrt(np.nansum(diff * diff, axis=1))
                adjacent = np.diff(times[ok]) <= GAP_STEPS * step  # no gap between the two rows
                change[ok[1:]] = np.where(adjacent, norm, 0.0)
            score = _smooth(times, change, half + step)
            score[lost] = -np.inf  # a lost frame is never a keyframe
            order = np.argsort(-score, kind="stable")[: len(ok)]
            keys = _separated(times, order, k, 2.0 * half)
        if span <= length:
            return keys[:1], np.array([0]), np.array([n]), lost
        starts = np.searchsorted(times, times[keys] - half, side="left")
        stops = np.searchsorted(times, times[keys] + half, side="right")
        starts[1:] = np.maximum(starts[1:], stops[:-1])  # rounding never makes windows overlap
        return keys, starts, stops, lost

    def keyframes(self, table):
        """Row positions of the keyframes of one frame table, in time order."""
        return self._plan(table)[0]

    def transform(self, X):
        """Keep the windows around the keyframes of each video.

        Parameters
        ----------
        X : list, Series, 1-column DataFrame or object array of frame tables

        Returns
        -------
        ndarray of shape (n_videos, 1), dtype=object
            One frame table per video, with a ``keyframe`` column (window id;
            NaN outside the windows with ``keep="all"``).
        """
        tables = as_frame_tables(X)
        out = []
        for i, table in enumerate(tables):
            _, starts, stops, lost = self._plan(table, i)
            rows = [np.arange(a, b) for a, b in zip(starts, stops, strict=True)]
            if self.keep == "all":
                keep = np.arange(len(table))
                part = table.reset_index(drop=True)
                window = np.full(len(table), np.nan)
                for w, r in enumerate(rows):
                    window[r] = w
                part["keyframe"] = window
            else:
                keep = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
                part = table.iloc[keep].reset_index(drop=True)
                part["keyframe"] = np.repeat(np.arange(len(rows), dtype=np.int64),
                                             np.asarray([len(r) for r in rows], dtype=np.int64))
            if self.min_confidence is not None and "confidence" in table:
                part["success"] = ~lost[keep]
            part.attrs = dict(table.attrs)
            out.append(part)
        return object_column(out)

    def get_feature_names_out(self, input_features=None):
        """One output column: ``["frame_table"]``."""
        return np.asarray(["frame_table"], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags
