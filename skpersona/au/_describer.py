"""Natural-language descriptions of facial behaviour from AUs."""

import re
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ._facs import CO_ACTIVATIONS, au_label, au_name, co_activation_name
from ._frames import (
    as_frame_tables,
    au_columns,
    object_column,
    resolve_threshold,
    scale_max,
    table_scale,
)
from ._statistics import AUStatistics

_DETAIL = {"low": 3, "medium": 6, "high": None}
_STATS = ["active_rate", "active_mean", "onsets", "burst_mean"]
_RATE = re.compile(r"^(AU\d+)_active_rate$")
_CO_RATE = re.compile(r"^(AU\d+(?:\+AU\d+)+)_rate$")


def _percent(rate):
    pct = 100.0 * rate
    if 0 < pct < 1:
        return "under 1%"
    return f"{pct:.0f}%"


def _join(words):
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _is_statistics(X):
    return isinstance(X, pd.DataFrame) and any(_RATE.match(str(c)) for c in X.columns)


class AUDescriber(TransformerMixin, BaseEstimator):
    """Describe each video's facial behaviour in English, from its AUs.

    Each active AU is named with its FACS name, how often it shows (share of
    frames at or above the activation threshold) and how strongly (the mean
    intensity while active, placed between the threshold and the top of the
    scale: weakly, moderately, strongly), ordered from the most frequent;
    named co-activations follow (e.g. AU06+AU12, a Duchenne smile). The text
    is deterministic, so it can be embedded and cached.

    Parameters
    ----------
    detail : {"low", "medium", "high"}, default="medium"
        ``"low"``: one sentence naming the three most frequent AUs.
        ``"medium"``: up to six AUs with frequency and strength, and the
        co-activations. ``"high"``: every active AU, also with the number of
        episodes and their mean length in frames.
    aus : list of str or None, default=None
        AUs that may be mentioned (e.g. ``AUSelector().selected_aus_``);
        None: all.
    threshold : "auto" or float in (0, 1], default="auto"
        Activation threshold relative to ``attrs["au_scale"]`` (see
        :class:`AUStatistics`).
    min_rate : float in [0, 1), default=0.05
        AUs and co-activations active in a smaller share of frames are not
        mentioned.
    co_activations : "default", None or list of tuple of str, default="default"
        Co-activations that may be mentioned; ``"default"`` uses
        :data:`CO_ACTIVATIONS`.
    au_scale : str or None, default=None
        Scale of the intensities; None reads ``attrs["au_scale"]`` (inferred
        from the values when absent).

    Notes
    -----
    Input is per-video frame tables (list, Series, 1-column DataFrame or
    object array), or the output of :class:`AUStatistics` as a DataFrame
    (``set_output(transform="pandas")``) with at least the
    ``AUxx_active_rate`` columns (``AUxx_active_mean``, ``AUxx_onsets``,
    ``AUxx_burst_mean`` and ``AUxx+AUyy_rate`` are used when present).
    Output: an (n_videos, 1) object array of strings.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skpersona.au import AUDescriber
    >>> video = pd.DataFrame({"AU06": np.r_[np.zeros(8), np.full(2, 4.0)],
    ...                       "AU12": np.r_[np.zeros(6), np.full(4, 4.0)]})
    >>> video.attrs["au_scale"] = "0-5"
    >>> print(AUDescriber().fit_transform([video])[0, 0])
    The lip corner puller (AU12) appears in 40% of frames, mostly strongly. The cheek raiser \
(AU06) appears in 20% of frames, mostly strongly. The cheek raiser and lip corner puller \
(AU06+AU12, a Duchenne smile) co-occur in 20% of frames.
    """

    _parameter_constraints = {
        "detail": [StrOptions(set(_DETAIL))],
        "aus": ["array-like", None],
        "threshold": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="right")],
        "min_rate": [Interval(Real, 0, 1, closed="left")],
        "co_activations": [StrOptions({"default"}), list, tuple, None],
        "au_scale": [str, None],
        "max_aus": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, detail="medium", aus=None, threshold="auto", min_rate=0.05,
                 co_activations="default", au_scale=None, max_aus=None):
        self.detail = detail
        self.aus = aus
        self.threshold = threshold
        self.min_rate = min_rate
        self.co_activations = co_activations
        self.au_scale = au_scale
        self.max_aus = max_aus

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters and the input (stateless: ``transform`` works unfitted).

        Parameters
        ----------
        X : frame tables, or an AUStatistics DataFrame
        y : ignored

        Returns
        -------
        self
        """
        if not _is_statistics(X):
            as_frame_tables(X)
        self.aus_, self.co_activations_ = self._settings()
        return self

    def _settings(self):
        aus = None if self.aus is None else [au_label(a) for a in self.aus]
        if self.co_activations == "default":
            combos = list(CO_ACTIVATIONS)
        elif self.co_activations is None:
            combos = []
        else:
            combos = [tuple(au_label(a) for a in c) for c in self.co_activations]
        return aus, combos

    def _statistics(self, X, aus_allowed, combos_allowed):
        """A DataFrame of statistics and the scale of each row."""
        if _is_statistics(X):
            stats = X.reset_index(drop=True)
            scale = self.au_scale or X.attrs.get("au_scale")
            if scale is None:
                cols = [c for c in stats.columns if str(c).endswith(("_active_mean", "_max"))]
                top = np.nanmax(stats[cols].to_numpy(dtype=float)) if cols else 0.0
                scale = "0-5" if top > 1.0 else "0-1"
            return stats, [scale] * len(stats)
        tables = as_frame_tables(X)
        scales = [self.au_scale or table_scale(t) for t in tables]
        present = sorted({c for t in tables for c in au_columns(t)}, key=lambda a: int(a[2:]))
        aus = [a for a in present if aus_allowed is None or a in aus_allowed]
        if not aus:
            return pd.DataFrame(index=range(len(tables))), scales
        combos = [c for c in combos_allowed if all(a in aus for a in c)]
        stats = AUStatistics(statistics=_STATS, aus=aus, threshold=self.threshold,
                             co_activations=combos or None, au_scale=self.au_scale)
        values = stats.fit(tables).transform(tables)
        return pd.DataFrame(values, columns=stats.get_feature_names_out()), scales

    def _strength(self, active_mean, scale):
        top = scale_max(scale)
        thr = resolve_threshold(self.threshold, scale)
        position = (active_mean - thr) / max(top - thr, 1e-12)
        if position < 1 / 3:
            return "weakly"
        if position < 2 / 3:
            return "moderately"
        return "strongly"

    def _describe(self, row, scale, aus_allowed, combos_allowed):
        rates = {}
        for column, value in row.items():
            match = _RATE.match(str(column))
            if match and (aus_allowed is None or match.group(1) in aus_allowed):
                rates[match.group(1)] = value
        if not rates or all(np.isnan(v) for v in rates.values()):
            return "No face was detected in the video."
        active = [(a, r) for a, r in rates.items() if not np.isnan(r) and r >= self.min_rate
                  and r > 0]
        active.sort(key=lambda item: (-item[1], int(item[0][2:])))
        if not active:
            return (f"The face stays mostly neutral: no action unit is active in "
                    f"{_percent(self.min_rate)} of frames or more.")
        limit = self.max_aus or _DETAIL[self.detail]
        active = active[:limit] if limit else active
        if self.detail == "low":
            parts = [f"the {au_name(a)} ({a}, {_percent(r)} of frames)" for a, r in active]
            return f"Most frequent: {_join(parts)}."
        sentences = []
        for a, r in active:
            text = f"The {au_name(a)} ({a}) appears in {_percent(r)} of frames"
            mean = row.get(f"{a}_active_mean", np.nan)
            if not np.isnan(mean):
                text += f", mostly {self._strength(mean, scale)}"
            onsets, burst = row.get(f"{a}_onsets", np.nan), row.get(f"{a}_burst_mean", np.nan)
            if self.detail == "high" and not np.isnan(onsets) and onsets > 0:
                episodes = "episode" if onsets == 1 else "episodes"
                text += f", in {onsets:.0f} {episodes} of {burst:.1f} frames on average"
            sentences.append(text + ".")
        mentioned = {a for a, _ in active} if self.detail == "medium" else set(rates)
        for combo in combos_allowed:
            rate = row.get(f"{co_activation_name(combo)}_rate", np.nan)
            if np.isnan(rate) or rate < self.min_rate or rate <= 0:
                continue
            if not all(a in mentioned for a in combo):
                continue
            names = _join(au_name(a) for a in combo)
            label = CO_ACTIVATIONS.get(combo)
            tag = co_activation_name(combo) + (f", {label}" if label else "")
            sentences.append(f"The {names} ({tag}) co-occur in {_percent(rate)} of frames.")
        return " ".join(sentences)

    def transform(self, X):
        """Describe each video.

        Parameters
        ----------
        X : frame tables, or an AUStatistics DataFrame

        Returns
        -------
        ndarray of shape (n_videos, 1), dtype=object
            One English description per video.
        """
        aus, combos = self._settings()  # stateless: works unfitted too
        stats, scales = self._statistics(X, aus, combos)
        texts = [self._describe(row, scale, aus, combos)
                 for row, scale in zip(stats.to_dict("records"), scales)]
        if stats.shape[1] == 0:
            texts = ["No face was detected in the video."] * len(scales)
        return object_column(texts)

    def get_feature_names_out(self, input_features=None):
        """One output column: ``["au_description"]``."""
        return np.asarray(["au_description"], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags
