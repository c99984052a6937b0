"""Keyframe selection and windows of frames around each keyframe."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ._facs import au_label
from ._frames import as_frame_tables, au_columns, object_column


def _activity(values):
    """Per-frame AU change: Euclidean norm of the difference to the previous frame."""
    filled = np.where(np.isnan(values), 0.0, values)
    change = np.zeros(len(values))
    if len(values) > 1:
        diff = np.diff(filled, axis=0)
        change[1:] = np.sqrt((diff * diff).sum(axis=1))
    return change


def _peaks(score, n, min_distance):
    """Up to n frame indices of the highest scores, at least min_distance apart."""
    order = np.argsort(-score, kind="stable")
    taken = np.zeros(len(score), dtype=bool)
    picks = []
    for idx in order:
        if taken[idx]:
            continue
        picks.append(idx)
        if len(picks) == n:
            break
        taken[max(0, idx - min_distance + 1): idx + min_distance] = True
    return np.sort(np.asarray(picks, dtype=np.int64))


class KeyframeWindows(TransformerMixin, BaseEstimator):
    """Keep windows of frames around keyframes of each video.

    As in AU-text fusion for interview videos, the AUs are summarised over
    short windows around the moments where the face changes most, instead of
    every frame. Keyframes are the frames of largest AU activity change
    (Euclidean norm of the frame-to-frame difference of the AU vector,
    smoothed by a triangular kernel the width of a window), kept at least one window apart; or frames
    spread uniformly.

    Parameters
    ----------
    n_keyframes : int, default=5
        Keyframes per video (fewer when the video is short).
    half_window : int, default=7
        Frames kept on each side of a keyframe (a window has
        ``2 * half_window + 1`` frames).
    method : {"activity", "uniform"}, default="activity"
    aus : list of str or None, default=None
        AUs whose change defines activity; None uses every AU column.

    Notes
    -----
    The output is an (n_videos, 1) object array of frame tables, one per input
    video, holding the kept frames in time order plus a ``keyframe`` column
    (0 .. n_keyframes-1, the window each frame belongs to). ``attrs`` are kept.
    A video with no frame stays empty.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skpersona.au import KeyframeWindows
    >>> video = pd.DataFrame({"AU12": np.r_[np.zeros(50), np.ones(50)]})
    >>> out = KeyframeWindows(n_keyframes=1, half_window=2).fit_transform([video])
    >>> out.shape, out[0, 0]["AU12"].tolist()
    ((1, 1), [0.0, 0.0, 1.0, 1.0, 1.0])
    """

    _parameter_constraints = {
        "n_keyframes": [Interval(Integral, 1, None, closed="left")],
        "half_window": [Interval(Integral, 0, None, closed="left")],
        "method": [StrOptions({"activity", "uniform"})],
        "aus": ["array-like", None],
    }

    def __init__(self, n_keyframes=5, half_window=7, method="activity", aus=None):
        self.n_keyframes = n_keyframes
        self.half_window = half_window
        self.method = method
        self.aus = aus

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

    def keyframes(self, table):
        """Row positions of the keyframes of one frame table."""
        n = len(table)
        if n == 0:
            return np.empty(0, dtype=np.int64)
        width = 2 * self.half_window + 1
        k = min(self.n_keyframes, max(1, n // width))
        if self.method == "uniform":
            centres = (np.arange(k) + 0.5) * n / k
            return np.unique(np.floor(centres).astype(np.int64))
        aus = self._aus()
        cols = aus if aus is not None else au_columns(table)
        values = table.reindex(columns=cols).to_numpy(dtype=float, na_value=np.nan)
        score = _activity(values)
        if width > 1:  # triangular smoothing: sustained change wins, peaks stay centred
            kernel = self.half_window + 1.0 - np.abs(np.arange(-self.half_window,
                                                               self.half_window + 1))
            score = np.convolve(score, kernel / kernel.sum(), mode="same")
        return _peaks(score, k, width)

    def transform(self, X):
        """Keep the windows around the keyframes of each video.

        Parameters
        ----------
        X : list, Series, 1-column DataFrame or object array of frame tables

        Returns
        -------
        ndarray of shape (n_videos, 1), dtype=object
            One frame table per video.
        """
        tables = as_frame_tables(X)
        out = []
        for table in tables:
            keys = self.keyframes(table)
            n = len(table)
            owner = np.full(n, -1, dtype=np.int64)
            # Later windows never overwrite earlier ones (they are one window apart).
            for w, key in enumerate(keys[::-1]):
                lo, hi = max(0, key - self.half_window), min(n, key + self.half_window + 1)
                owner[lo:hi] = len(keys) - 1 - w
            keep = np.flatnonzero(owner >= 0)
            part = table.iloc[keep].reset_index(drop=True)
            part["keyframe"] = owner[keep]
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
