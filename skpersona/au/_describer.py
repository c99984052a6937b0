"""Natural-language descriptions of facial behaviour from AUs."""

import re
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ._activity import (
    au_activity,
    described_aus,
    episodes,
    frame_clock,
    is_probability,
    segments_of,
    windows_of,
)
from ._facs import AU_NAMES, CO_ACTIVATIONS, au_label, au_name, co_activation_name
from ._frames import as_frame_tables, object_column, resolve_threshold, scale_max, table_scale

_DETAIL = {"low": 3, "medium": 6, "high": None, "sequence": None, "full": 6}
_RATE = re.compile(r"^(AU\d+)_active_rate$")
_NO_FACE = "No face was detected in the video."


def _check_present(tables, aus):
    """Refuse ``aus`` that no table has, while the tables have others (else every
    description would read "No face was detected")."""
    if aus is None:
        return
    have = set().union(*(described_aus(t) for t in tables)) if tables else set()
    if have and not have & set(aus):
        raise ValueError(
            f"aus={aus} names no AU of the frame tables, which have "
            f"{', '.join(sorted(have, key=lambda a: int(a[2:])))}. Choose among those."
        )


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


def _clock(table):
    """Per-row time labels: seconds from ``timestamp``, else frame numbers."""
    n = len(table)
    if "timestamp" in table.columns:
        stamps = pd.to_numeric(table["timestamp"], errors="coerce").to_numpy(dtype=float)
        if np.isfinite(stamps).all():
            # Enough decimals to tell frames apart (0.1 s at 15 fps, 0.001 s at 1 kHz).
            steps = np.diff(np.unique(stamps))
            step = float(np.median(steps)) if steps.size else 1.0
            decimals = int(min(3, max(1, np.ceil(-np.log10(step) - 1e-9))))
            return [f"{t:.{decimals}f} s" for t in stamps], "s"
    if "frame" in table.columns:
        frames = pd.to_numeric(table["frame"], errors="coerce").to_numpy(dtype=float)
        if np.isfinite(frames).all():
            return [f"frame {f:.0f}" for f in frames], "frame"
    return [f"frame {i}" for i in range(n)], "frame"


def _span(labels, first, last, unit):
    """"0.4-1.3 s" or "frames 6-20" for the rows first..last."""
    if unit == "s":
        return f"{labels[first][:-2]}-{labels[last]}"
    return f"frames {labels[first][6:]}-{labels[last][6:]}"


class AUDescriber(TransformerMixin, BaseEstimator):
    """Describe each video's facial behaviour in English, from its AUs.

    Two kinds of text, chosen by ``detail``:

    - a **static summary** (``"low"``, ``"medium"``, ``"high"``): each active AU
      with its FACS name, how often it shows (share of frames where it is
      active) and how strongly, ordered from the most frequent; named
      co-activations follow (e.g. AU06+AU12, a Duchenne smile);
    - the **sequence** (``"sequence"``; ``"full"`` is the medium summary
      followed by the sequence): per keyframe window, in temporal order, which
      actions start, peak and end, with their times.

    An AU is *active* in a frame where the detector's own presence output
    says so (OpenFace's ``AUxx_c``, read as the boolean ``AUxx_present``
    column by :func:`read_openface`), else where its value reaches the
    activation threshold. Frames where the value is missing (tracking loss)
    are neither active nor inactive. Gaps follow the rule of
    :class:`AUStatistics`' runs: an action goes on across a gap of at most
    two untracked frames (missing values, or frames missing from the table
    by its ``frame``, else ``timestamp``, column) and ends at a longer gap
    (the description then says where it ends and, if it is active again
    after the gap, that it starts again).

    Wording follows the scale (``attrs["au_scale"]``): on the OpenFace 0-5
    scale values are *intensities* (weak, moderate, strong: the position of
    the value between the threshold and 5, in thirds); on the 0-1 scale
    (py-feat, iMotions) they are *detection probabilities* and are reported as
    such, never as intensities.

    The text is deterministic (same table, same text), so it can be embedded
    and cached. Sequence template, one sentence per window::

        Window {i} of {k} ({start}-{end}): the {name} ({AUxx}) {events}; ...

    ``{events}`` joins, in order: ``starts at {t}`` (``starts {n} times, first
    at {t}`` for several episodes) or ``is active from the start``; ``peaks at
    {v} of 5 ({weak|moderate|strong}) at {t}`` on the 0-5 scale, ``peaks at
    detection probability {p} at {t}`` on the 0-1 scale (no peak for AUs with
    presence only); ``ends at {t}`` or ``is still active at the end``. AUs are
    listed by the time of their first active frame (then by AU number); times
    are seconds from ``timestamp``, else frame numbers. A window without
    active AU reads ``Window {i} of {k} ({start}-{end}): no action unit is
    active.``; one without tracked frames ``... : the face is not tracked.``.
    Windows are the ``keyframe`` groups of :class:`KeyframeWindows` output;
    any other table is one window (``Over the video ({start}-{end}): ...``).

    Parameters
    ----------
    detail : {"low", "medium", "high", "sequence", "full"}, default="medium"
        ``"low"``: one sentence naming the three most frequent AUs.
        ``"medium"``: up to six AUs with frequency and strength, and the
        co-activations. ``"high"``: every active AU, also with the number of
        episodes and their mean length in frames. ``"sequence"``: the
        per-window sequence (template above). ``"full"``: the medium summary,
        then the sequence.
    aus : list of str or None, default=None
        AUs that may be mentioned (e.g. ``AUSelector().selected_aus_``);
        None: all.
    threshold : "auto" or float in (0, 1], default="auto"
        Activation threshold relative to ``attrs["au_scale"]`` (see
        :class:`AUStatistics`), for AUs without a presence column.
    min_rate : float in [0, 1), default=0.05
        In summaries, AUs and co-activations active in a smaller share of
        frames are not mentioned (the sequence mentions every active AU).
    co_activations : "default", None or list of tuple of str, default="default"
        Co-activations that may be mentioned in summaries; ``"default"`` uses
        :data:`CO_ACTIVATIONS`.
    au_scale : str or None, default=None
        Scale of the values; None reads ``attrs["au_scale"]`` (inferred from
        the values when absent).
    max_aus : int or None, default=None
        At most this many AUs per summary or per window (the most active
        first); None: 3 (low), 6 (medium, full's summary), all otherwise.

    Notes
    -----
    Input is per-video frame tables (list, Series, 1-column DataFrame or
    object array), or, for the summaries, the output of
    :class:`AUStatistics` as a DataFrame (``set_output(transform="pandas")``)
    with at least the ``AUxx_active_rate`` columns (``AUxx_active_mean``,
    ``AUxx_onsets``, ``AUxx_burst_mean`` and ``AUxx+AUyy_rate`` are used when
    present; statistics carry no presence output, so on them activity is the
    threshold's). From frame tables the summary reports rates over every
    tracked frame of the table and counts episodes within each keyframe
    window (or stretch of frames between windows), never across two; the
    sequence narrates the windows only. So a table from
    ``KeyframeWindows(keep="all")`` gives rates over the whole video and the
    sequence of its windows (windows alone, chosen for change, would inflate
    the rates).
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
    >>> video["timestamp"] = np.arange(10) / 10
    >>> print(AUDescriber(detail="sequence").fit_transform([video])[0, 0])
    Over the video (0.0-0.9 s): the lip corner puller (AU12) starts at 0.6 s, peaks at 4.0 \
of 5 (strong) at 0.6 s and is still active at the end; the cheek raiser (AU06) starts at \
0.8 s, peaks at 4.0 of 5 (strong) at 0.8 s and is still active at the end.
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
        elif self.detail in ("sequence", "full"):
            raise ValueError(
                f"detail={self.detail!r} describes the AU sequence and needs frame tables; "
                "AUStatistics output only supports the summaries ('low', 'medium', 'high')."
            )
        self.aus_, self.co_activations_ = self._settings()
        return self

    def _settings(self):
        aus = None if self.aus is None else [au_label(a) for a in self.aus]
        unknown = [a for a in aus or [] if int(a[2:]) not in AU_NAMES]
        if unknown:
            raise ValueError(
                f"aus: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a FACS "
                f"action unit; known: {', '.join(au_label(n) for n in sorted(AU_NAMES))}."
            )
        if self.co_activations == "default":
            combos = list(CO_ACTIVATIONS)
        elif self.co_activations is None:
            combos = []
        else:
            combos = [tuple(au_label(a) for a in c) for c in self.co_activations]
        return aus, combos

    # -- static summary ------------------------------------------------------------

    def _table_statistics(self, table, aus, combos, scale):
        """Summary statistics of one table over all its tracked frames, episodes counted
        per window (and per stretch between windows)."""
        values, valid, active = au_activity(table, aus, self.threshold, scale)
        row = {}
        n_valid = valid.sum(axis=0)
        n_active = active.sum(axis=0)
        windows = segments_of(table)
        clock, limit = frame_clock(table)
        for j, au in enumerate(aus):
            if n_valid[j] == 0:
                row[f"{au}_active_rate"] = np.nan
                continue
            runs = sum(len(episodes(active[w, j], valid[w, j], clock[w], limit))
                       for w in windows)
            row[f"{au}_active_rate"] = n_active[j] / n_valid[j]
            on = values[active[:, j], j]
            on = on[~np.isnan(on)]
            row[f"{au}_active_mean"] = float(on.mean()) if on.size else (
                np.nan if n_active[j] else 0.0)
            row[f"{au}_onsets"] = float(runs)
            row[f"{au}_burst_mean"] = n_active[j] / runs if runs else 0.0
        for combo in combos:
            members = [aus.index(a) for a in combo]
            joint_valid = valid[:, members].all(axis=1)
            if joint_valid.any():
                joint = active[:, members].all(axis=1) & joint_valid
                row[f"{co_activation_name(combo)}_rate"] = joint.sum() / joint_valid.sum()
        return row

    def _statistics(self, X, aus_allowed, combos_allowed):
        """A DataFrame of summary statistics and the scale of each row."""
        if _is_statistics(X):
            stats = X.reset_index(drop=True)
            scale = self.au_scale or X.attrs.get("au_scale")
            if scale is None:
                cols = [c for c in stats.columns if str(c).endswith(("_active_mean", "_max"))]
                top = np.nanmax(stats[cols].to_numpy(dtype=float)) if cols else 0.0
                scale = "0-5" if top > 1.0 else "0-1"
            return stats, [scale] * len(stats)
        tables = as_frame_tables(X)
        _check_present(tables, aus_allowed)
        scales = [self.au_scale or table_scale(t) for t in tables]
        rows = []
        for table, scale in zip(tables, scales):
            aus = [a for a in described_aus(table) if aus_allowed is None or a in aus_allowed]
            combos = [c for c in combos_allowed if all(a in aus for a in c)]
            rows.append(self._table_statistics(table, aus, combos, scale))
        return pd.DataFrame(rows, index=range(len(tables))), scales

    def _level(self, value, scale):
        """weak / moderate / strong: the position of an intensity above the threshold."""
        top = scale_max(scale)
        thr = resolve_threshold(self.threshold, scale)
        position = (value - thr) / max(top - thr, 1e-12)
        if position < 1 / 3:
            return "weak"
        if position < 2 / 3:
            return "moderate"
        return "strong"

    def _strength(self, active_mean, scale):
        """How strongly an AU shows while active, in words true to the scale."""
        if is_probability(scale):
            return f"with a mean detection probability of {active_mean:.2f}"
        return "mostly " + {"weak": "weakly", "moderate": "moderately",
                            "strong": "strongly"}[self._level(active_mean, scale)]

    def _summary(self, row, scale, aus_allowed, combos_allowed):
        rates = {}
        for column, value in row.items():
            match = _RATE.match(str(column))
            if match and (aus_allowed is None or match.group(1) in aus_allowed):
                rates[match.group(1)] = value
        if not rates or all(np.isnan(v) for v in rates.values()):
            return _NO_FACE
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
                text += f", {self._strength(mean, scale)}"
            onsets, burst = row.get(f"{a}_onsets", np.nan), row.get(f"{a}_burst_mean", np.nan)
            if self.detail == "high" and not np.isnan(onsets) and onsets > 0:
                episodes_ = "episode" if onsets == 1 else "episodes"
                text += f", in {onsets:.0f} {episodes_} of {burst:.1f} frames on average"
            sentences.append(text + ".")
        mentioned = {a for a, _ in active} if self.detail != "high" else set(rates)
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

    # -- sequence ------------------------------------------------------------------

    def _au_events(self, au, values, valid, active, labels, scale, clock, limit):
        """(first active row, phrase) of one AU in one window, or None when inactive."""
        runs = episodes(active, valid, clock, limit)
        if not runs:
            return None
        rows = np.flatnonzero(valid)
        first_valid, last_valid = rows[0], rows[-1]
        parts = []
        starts = [s for s, _ in runs if s != first_valid]
        if runs[0][0] == first_valid:
            parts.append("is active from the start")
            if starts:
                parts.append(f"starts again at {labels[starts[0]]}" if len(starts) == 1 else
                             f"starts {len(starts)} more times, first at {labels[starts[0]]}")
        elif len(starts) == 1:
            parts.append(f"starts at {labels[starts[0]]}")
        else:
            parts.append(f"starts {len(starts)} times, first at {labels[starts[0]]}")
        on = np.where(active, values, np.nan)
        if np.isfinite(on).any():
            peak = int(np.nanargmax(on))
            value = on[peak]
            if is_probability(scale):
                parts.append(f"peaks at detection probability {value:.2f} at {labels[peak]}")
            else:
                parts.append(f"peaks at {value:.1f} of {scale_max(scale):g} "
                             f"({self._level(value, scale)}) at {labels[peak]}")
        last = runs[-1][1]
        if last == last_valid:
            parts.append("is still active at the end")
        else:
            after = rows[np.searchsorted(rows, last) + 1]
            parts.append(f"ends at {labels[after]}")
        return runs[0][0], f"the {au_name(au)} ({au}) {_join(parts)}"

    def _sequence(self, table, scale, aus_allowed):
        if len(table) == 0:
            return _NO_FACE
        aus = [a for a in described_aus(table) if aus_allowed is None or a in aus_allowed]
        values, valid, active = au_activity(table, aus, self.threshold, scale)
        if not valid.any():
            return _NO_FACE
        labels, unit = _clock(table)
        clock, limit = frame_clock(table)
        windows = windows_of(table)
        sentences = []
        for i, rows in enumerate(windows):
            if len(windows) == 1 and "keyframe" not in table.columns:
                head = f"Over the video ({_span(labels, rows[0], rows[-1], unit)})"
            else:
                head = (f"Window {i + 1} of {len(windows)} "
                        f"({_span(labels, rows[0], rows[-1], unit)})")
            if not valid[rows].any():
                sentences.append(f"{head}: the face is not tracked.")
                continue
            window_labels = [labels[r] for r in rows]
            events = []
            for j, au in enumerate(aus):
                found = self._au_events(au, values[rows, j], valid[rows, j], active[rows, j],
                                        window_labels, scale, clock[rows], limit)
                if found is not None:
                    events.append((found[0], -int(active[rows, j].sum()), int(au[2:]), found[1]))
            if self.max_aus:  # keep the most active AUs, then restore temporal order
                events = sorted(events, key=lambda e: (e[1], e[2]))[: self.max_aus]
            events.sort(key=lambda e: (e[0], e[2]))
            if events:
                sentences.append(f"{head}: " + "; ".join(e[3] for e in events) + ".")
            else:
                sentences.append(f"{head}: no action unit is active.")
        return " ".join(sentences)

    def transform(self, X):
        """Describe each video.

        Parameters
        ----------
        X : frame tables, or an AUStatistics DataFrame (summaries only)

        Returns
        -------
        ndarray of shape (n_videos, 1), dtype=object
            One English description per video.
        """
        aus, combos = self._settings()  # stateless: works unfitted too
        texts = []
        if self.detail in ("sequence", "full"):
            if _is_statistics(X):
                raise ValueError(f"detail={self.detail!r} needs frame tables, not statistics.")
            tables = as_frame_tables(X)
            _check_present(tables, aus)
            texts = [self._sequence(t, self.au_scale or table_scale(t), aus) for t in tables]
        if self.detail != "sequence":
            stats, scales = self._statistics(X, aus, combos)
            summaries = [self._summary(row, scale, aus, combos)
                         for row, scale in zip(stats.to_dict("records"), scales)]
            if stats.shape[1] == 0:
                summaries = [_NO_FACE] * len(scales)
            texts = (summaries if not texts else
                     [s if t == _NO_FACE else f"{s} {t}" for s, t in zip(summaries, texts)])
        return object_column(texts)

    def get_feature_names_out(self, input_features=None):
        """One output column: ``["au_description"]``."""
        return np.asarray(["au_description"], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags
