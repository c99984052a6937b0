"""Temporal statistics of frame tables: one feature row per video, vectorised."""

import re
import warnings
from numbers import Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._facs import CO_ACTIVATIONS, au_label, co_activation_name
from ._frame_kernel import FIELDS, chunk_statistics
from ._frames import (
    as_frame_tables,
    au_columns,
    resolve_threshold,
    same_columns,
    scale_max,
)

#: Statistics computed by default, one column per AU and statistic.
DEFAULT_STATISTICS = (
    "mean", "std", "p10", "p50", "p90", "max",
    "active_rate", "active_mean", "onsets", "burst_mean",
)
_NAMED = {"mean", "std", "min", "max", "active_rate", "active_mean", "onsets",
          "onset_rate", "burst_mean"}
_AU_NAME = re.compile(r"^AU\d+$")
#: Column added by ``missing="impute"``: 1.0 for a video without any tracked face.
NO_FACE = "no_face"
_PERCENTILE = re.compile(r"^p(\d+(?:\.\d+)?)$")
_CHUNK_ELEMENTS = 1 << 18  # cells per chunk: 2 MiB of float64 stays in the CPU cache


def _check_statistics(statistics):
    stats = [statistics] if isinstance(statistics, str) else list(statistics)
    if not stats:
        raise ValueError("statistics must name at least one statistic.")
    for stat in stats:
        match = _PERCENTILE.match(str(stat))
        if stat not in _NAMED and not (match and 0 <= float(match.group(1)) <= 100):
            raise ValueError(
                f"Unknown statistic {stat!r}. Use {sorted(_NAMED)} or a percentile 'p0'..'p100' "
                "(e.g. 'p90')."
            )
    if len(set(stats)) != len(stats):
        raise ValueError(f"statistics has duplicates: {stats}.")
    return stats


_EXTRAS = ("keyframe", "time", "success")  # per-row columns read besides the AUs


def _layout(columns, aus, index):
    """Positions of the AUs (-1 when absent) and of the extra columns in one column layout."""
    labels = {}
    for pos, column in enumerate(columns):
        if isinstance(column, str) and _AU_NAME.match(column):
            label = au_label(column)
            if label in labels:
                raise ValueError(
                    f"Video {index} has AU {label} twice (columns {columns[labels[label]]!r} and "
                    f"{column!r}). Keep one column per AU (AU6 and AU06 are the same AU)."
                )
            labels[label] = pos
    duplicated = sorted({str(c) for c in columns if list(columns).count(c) > 1}
                        & {"keyframe", "frame", "timestamp", "success"})
    if duplicated:
        raise ValueError(f"Video {index} has duplicate columns {duplicated}; keep one of each.")
    names = list(columns)
    time = "frame" if "frame" in names else "timestamp" if "timestamp" in names else None
    extras = [names.index(c) if c in names else -1 for c in ("keyframe", time, "success")]
    return np.array([labels.get(a, -1) for a in aus]), np.array(extras)


def _as_float(table, positions, index, every=False):
    """The columns at positions (-1: absent, NaN) of a table as one float64 array.

    ``every``: positions are all columns in order (the block is returned as it is).
    """
    block = table.to_numpy()  # a view for one float64 block (the common case)
    if block.dtype != np.float64:
        try:
            block = table.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            block = None
    present = positions >= 0
    if block is None:
        block = np.full((len(table), table.shape[1]), np.nan)
        for pos in np.unique(positions[present]):
            try:
                block[:, pos] = pd.to_numeric(table.iloc[:, pos], errors="raise")
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"Video {index}: column {table.columns[pos]!r} holds non-numeric values "
                    f"({exc}). AU intensities, frame, timestamp, keyframe and success must be "
                    "numbers; convert them with pd.to_numeric or drop the rows."
                ) from exc
    if every:
        return block
    if present.all():
        return block[:, positions]
    out = np.full((block.shape[0], len(positions)), np.nan)
    out[:, present] = block[:, positions[present]]
    return out


def _extract(tables, aus):
    """Each table's (n_frames, n_aus) AU array, and its extra columns when it has any."""
    blocks, extras = [], []
    lengths = np.empty(len(tables), dtype=np.int64)
    layouts = {}  # column tuple -> (positions to read, whether it has extra columns)
    last_columns, layout = None, None
    n_aus = len(aus)
    for i, table in enumerate(tables):
        columns = table.columns
        if not same_columns(columns, last_columns):  # tables usually share one layout
            key = tuple(columns)
            layout = layouts.get(key)
            if layout is None:
                au_pos, extra_pos = _layout(key, aus, i)
                plain = bool((extra_pos < 0).all())
                positions = au_pos if plain else np.concatenate([au_pos, extra_pos])
                every = len(positions) == len(key) and bool(
                    (positions == np.arange(len(key))).all())
                layout = layouts[key] = (positions, plain, every)
            last_columns = columns
        positions, plain, every = layout
        block = _as_float(table, positions, i, every)
        if plain:
            blocks.append(block)
            extras.append(None)
        else:
            blocks.append(block[:, :n_aus])
            extras.append(block[:, n_aus:])
        lengths[i] = block.shape[0]
    return blocks, extras, lengths


def _chunks(lengths, budget):
    """Consecutive runs of videos of at most budget frames in all (at least one video)."""
    ends = np.cumsum(lengths)
    chunks, start = [], 0
    while start < len(lengths):
        done = ends[start - 1] if start else 0
        stop = max(int(np.searchsorted(ends, done + budget, side="right")), start + 1)
        chunks.append(np.arange(start, stop))
        start = stop
    return chunks


def _stacked(parts, n_rows, buffer):
    """(n_rows, total frames) array of per-video (n_i, n_rows) parts, in a reused buffer."""
    total = sum(len(p) for p in parts)
    if buffer.size < n_rows * total:
        buffer = np.empty(n_rows * total)
    out = buffer[:n_rows * total].reshape(n_rows, total)
    np.concatenate([p.T for p in parts], axis=1, out=out)
    return out, buffer


def _raise_if_infinite(raw, data, offsets, videos, aus):
    """Name the first video, AU and row holding an infinite intensity, if any."""
    edges = raw[:, :, [FIELDS.index("min"), FIELDS.index("max")]]
    if not np.isinf(edges).any():
        return
    j, a = np.argwhere(np.isinf(edges).any(axis=2))[0]
    row = int(np.flatnonzero(np.isinf(data[a, offsets[j]:offsets[j + 1]]))[0])
    raise ValueError(
        f"Video {videos[j]}: {aus[a]} is infinite at row {row}. AU intensities must be "
        "finite; mark frames without a face with NaN."
    )


def frame_statistics(tables, aus, statistics=DEFAULT_STATISTICS, thresholds=None,
                     co_activations=(), chunk_elements=None, infer_thresholds=None):
    """Compute per-video statistics of AU columns (the engine of AUStatistics).

    Rows are frames in time order. A ``keyframe`` column (as written by
    :class:`KeyframeWindows`) splits a table into windows; a ``frame`` (else
    ``timestamp``) column shows jumps in time; ``success`` marks lost tracking.
    Frames with NaN intensity or failed tracking are left out of every
    statistic. Onsets and active runs are counted within each window, never
    across its border; a run of active frames ends at a gap of more than
    ``BRIDGED_GAP_FRAMES`` untracked frames (lost tracking or a jump in time), but
    an onset is only counted where the AU is seen turning on: the
    AU inactive at the last tracked frame before, or the first tracked frame
    of a window. Counts are then pooled over the windows of a video.

    The videos are copied, a cache-sized chunk at a time, into one array and
    described by a compiled kernel (``_frame_kernel``): one pass per (video,
    AU) in time order, then a few over its tracked values in the CPU cache;
    percentiles are selected through a histogram, exactly.

    Parameters
    ----------
    tables : list of DataFrame
    aus : list of str
        AU columns, in output order; missing columns give NaN statistics.
    statistics : sequence of str
    thresholds : ndarray of shape (n_videos,)
        Absolute activation threshold of each video (its own scale); NaN
        means: infer the scale from the values (see ``infer_thresholds``).
    co_activations : sequence of tuple of str
        AU combinations whose joint activation rate is added.
    chunk_elements : int
        Cells (frames x AUs) copied and computed at once.
    infer_thresholds : tuple of float or None
        Thresholds on the 0-1 and the 0-5 scale, used for videos whose
        threshold is NaN: the 0-5 one when any finite value exceeds 1.

    Returns
    -------
    ndarray of shape (n_videos, len(aus) * len(statistics) + len(co_activations))
        Columns ordered AU-major (all statistics of the first AU, then the
        next), then the co-activation rates.
    """
    stats = list(statistics)
    n_videos, n_aus, n_stats = len(tables), len(aus), len(stats)
    blocks, extras, lengths = _extract(tables, aus)
    combos = [[aus.index(a) for a in combo] for combo in co_activations]
    quantiles = np.array([float(_PERCENTILE.match(s).group(1)) for s in stats
                          if _PERCENTILE.match(s)])
    raw = np.full((n_videos, n_aus, len(FIELDS) + len(quantiles)), np.nan)
    co_out = np.full((n_videos, len(combos)), np.nan)
    if n_aus == 0:
        return co_out
    need_active = any(s in stats for s in ("active_rate", "active_mean", "onsets",
                                           "onset_rate", "burst_mean")) or combos
    if not need_active:  # no threshold needed: none inferred
        thresholds = np.full(n_videos, np.inf)
    elif thresholds is None:
        thresholds = np.full(n_videos, 0.5)
    thresholds = np.asarray(thresholds, dtype=float)
    infer = np.asarray(infer_thresholds if infer_thresholds is not None else (np.nan, np.nan),
                       dtype=float)
    members = np.full((len(combos), max(map(len, combos), default=0)), -1, dtype=np.int64)
    for k, combo in enumerate(combos):
        members[k, :len(combo)] = combo
    nonempty = np.flatnonzero(lengths > 0)
    budget = max((chunk_elements or _CHUNK_ELEMENTS) // n_aus, 1)
    data_buffer, extra_buffer = np.empty(0), np.empty(0)
    no_extras = np.empty((3, 0))
    for part in _chunks(lengths[nonempty], budget):
        videos = nonempty[part]
        offsets = np.zeros(len(videos) + 1, dtype=np.int64)
        np.cumsum(lengths[videos], out=offsets[1:])
        data, data_buffer = _stacked([blocks[v] for v in videos], n_aus, data_buffer)
        extra = no_extras
        if any(extras[v] is not None for v in videos):
            extra, extra_buffer = _stacked(
                [extras[v] if extras[v] is not None else np.full((lengths[v], 3), np.nan)
                 for v in videos], 3, extra_buffer)
        chunk_raw = np.empty((len(videos), n_aus, raw.shape[2]))
        chunk_co = np.empty((len(videos), len(combos)))
        chunk_statistics(data, offsets, extra, thresholds[videos], infer, quantiles, members,
                         chunk_raw, chunk_co)
        _raise_if_infinite(chunk_raw, data, offsets, videos, aus)
        raw[videos] = chunk_raw
        co_out[videos] = chunk_co
    field = dict(zip(FIELDS, np.moveaxis(raw[:, :, :len(FIELDS)], 2, 0), strict=True))
    count = field["count"]
    safe_count = np.maximum(count, 1)
    res = {
        "mean": field["mean"], "std": field["std"], "min": field["min"], "max": field["max"],
        "active_rate": field["n_active"] / safe_count, "active_mean": field["active_mean"],
        "onsets": field["onsets"], "onset_rate": field["onsets"] / safe_count,
        "burst_mean": np.where(field["runs"] > 0,
                               field["n_active"] / np.maximum(field["runs"], 1), 0.0),
    }
    percentiles = [s for s in stats if _PERCENTILE.match(s)]
    for k, name in enumerate(percentiles):
        res[name] = raw[:, :, len(FIELDS) + k]
    block = np.stack([res[s] for s in stats], axis=2)  # (video, AU, statistic)
    block[~(count > 0)] = np.nan  # never tracked (or no frame at all)
    return np.concatenate([block.reshape(n_videos, n_aus * n_stats), co_out], axis=1)


def _au_sort_key(label):
    return int(label[2:])


class AUStatistics(TransformerMixin, BaseEstimator):
    """Temporal statistics of AU intensities: one feature row per video.

    For each AU: mean, standard deviation, percentiles, maximum, the share of
    frames where it is active (intensity at or above a threshold), the mean
    intensity while active, the number of onsets (inactive -> active
    changes) and the mean burst length in frames; plus the joint activation
    rate of named co-activations (e.g. ``AU06+AU12``, a Duchenne smile).
    A compiled (numba) kernel reads each video once, in cache-sized chunks
    (no Python loop over videos; percentiles are selected exactly, equal to a
    float64 sort), over ten times faster than the same statistics with a
    pandas ``groupby`` (``benchmarks/bench_au_statistics.py``). The first
    call in a new environment compiles the kernel (cached on disk after).

    Parameters
    ----------
    statistics : sequence of str, default=DEFAULT_STATISTICS
        Among ``"mean"``, ``"std"`` (population, ddof=0), ``"min"``,
        ``"max"``, ``"pQ"`` (the Q-th percentile, linear interpolation, e.g.
        ``"p90"``), ``"active_rate"``, ``"active_mean"`` (0 when never
        active), ``"onsets"``, ``"onset_rate"`` (onsets per frame),
        ``"burst_mean"`` (frames per active run, 0 when never active).
    aus : list of str or None, default=None
        AUs to describe (``"AU06"`` or ``6``). None: every AU column seen in
        the tables passed to ``fit``. An AU missing from a table gives NaN.
    threshold : "auto" or float in (0, 1], default="auto"
        Activation threshold. ``"auto"``: 1 on the OpenFace 0-5 scale, 0.5 on
        the 0-1 probability scale (py-feat, iMotions); a number is a fraction
        of each table's scale maximum (0.2 -> 1.0 on 0-5, 0.2 on 0-1).
    co_activations : "default", None or list of tuple of str, default="default"
        AU combinations whose joint activation rate (all active in the same
        frame) becomes a column ``"AU06+AU12_rate"``. ``"default"``: those of
        :data:`CO_ACTIVATIONS` whose AUs are all among ``aus_``.
    au_scale : str or None, default=None
        Intensity scale of every table (``"0-5"`` or ``"0-1"``; any
        ``"<low>-<high>"`` with high > low). None: each table's
        ``attrs["au_scale"]``, inferred from its values when absent (0-5 when
        a value of the described AUs exceeds 1).
    fill_value : float, default=nan
        Replaces NaN statistics (videos without any frame, AUs missing from a
        table). NaN keeps them for a ``SimpleImputer`` or a NaN-aware model.
    missing : {"nan", "impute"}, default="nan"
        ``"impute"``: a video without any tracked frame (no face found, or
        tracking lost throughout; :class:`KeyframeWindows` then gives an empty
        table) gets the mean statistics of the videos seen in ``fit``, and a
        last column ``no_face`` (1.0 for it, else 0.0) tells the model so; a
        warning names such videos. Other NaN statistics (an AU missing from a
        table) get the same means. The models of this package that read AU
        statistics use it, so that one faceless video never stops a fit.

    Notes
    -----
    Rows are frames of one face in time order. Time is respected:

    - a ``keyframe`` column (from :class:`KeyframeWindows`) splits a video into
      windows; onsets and runs are counted within each window, never across
      its border (runs of 3 and 2 active frames in two windows stay two), and
      the counts are then pooled over the windows;
    - frames with NaN intensity or ``success`` false (lost tracking) are left
      out of every statistic, and a jump in the ``frame`` (else ``timestamp``)
      column longer than 1.5 typical steps (dropped frames) is a gap too;
    - a run goes on across a gap of at most two untracked frames (NaN, lost
      tracking or dropped frames: the next tracked frame at most 3.5 typical
      steps later) and ends at a longer one (``burst_mean`` never bridges it);
      :class:`AUDescriber`'s episodes follow the same rule. An onset is only
      counted where the AU is seen turning on: inactive at the last tracked
      frame before (in the same window), or active at the first tracked frame
      of a window. So lost tracking never creates an onset.

    For tables with several faces per frame (``face_id``), keep one face
    first, e.g. ``table[table.face_id == 0]``. AU columns ``AU6`` and ``AU06``
    are the same AU (a table with both is refused); intensities must be
    numbers and finite (NaN marks lost tracking), otherwise ``transform``
    raises an error naming the video and column.

    Attributes
    ----------
    aus_ : list of str
        The AUs described, in output order.
    co_activations_ : list of tuple of str
        The co-activations described.
    statistics_ : list of str
    feature_names_out_ : ndarray of str
        ``"AU06_mean"``, ..., ``"AU06+AU12_rate"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skpersona.au import AUStatistics
    >>> rng = np.random.default_rng(0)
    >>> videos = [pd.DataFrame(rng.uniform(0, 5, (n, 2)), columns=["AU06", "AU12"])
    ...           for n in (30, 45)]
    >>> for v in videos:
    ...     v.attrs["au_scale"] = "0-5"
    >>> stats = AUStatistics(statistics=["mean", "active_rate"]).fit(videos)
    >>> stats.get_feature_names_out().tolist()
    ['AU06_mean', 'AU06_active_rate', 'AU12_mean', 'AU12_active_rate', 'AU06+AU12_rate']
    >>> stats.transform(videos).shape
    (2, 5)
    """

    _parameter_constraints = {
        "statistics": ["array-like", str],
        "aus": ["array-like", None],
        "threshold": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="right")],
        "co_activations": [StrOptions({"default"}), list, tuple, None],
        "au_scale": [str, None],
        "fill_value": [Real],
        "missing": [StrOptions({"nan", "impute"})],
    }

    def __init__(self, statistics=DEFAULT_STATISTICS, aus=None, threshold="auto",
                 co_activations="default", au_scale=None, fill_value=np.nan, missing="nan"):
        self.statistics = statistics
        self.aus = aus
        self.threshold = threshold
        self.co_activations = co_activations
        self.au_scale = au_scale
        self.fill_value = fill_value
        self.missing = missing

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Find the AUs to describe.

        Parameters
        ----------
        X : list, Series, 1-column DataFrame or object array of frame tables
        y : ignored

        Returns
        -------
        self
        """
        tables = as_frame_tables(X)
        self.statistics_ = _check_statistics(self.statistics)
        if self.au_scale is not None:
            scale_max(self.au_scale)
        if self.aus is None:
            seen, last = set(), None
            for table in tables:  # tables usually share one column layout
                if not same_columns(table.columns, last):
                    seen.update(au_label(c) for c in au_columns(table))  # AU6 is AU06
                    last = table.columns
            if not seen:
                raise ValueError(
                    "No AU columns (AU01, AU02, ...) in the frame tables given to fit; pass "
                    "aus=[...] or tables with AU columns."
                )
            self.aus_ = sorted(seen, key=_au_sort_key)
        else:
            self.aus_ = [au_label(a) for a in self.aus]
            if len(set(self.aus_)) != len(self.aus_):
                raise ValueError(f"aus has duplicates: {self.aus_}.")
        if self.co_activations == "default":
            combos = [c for c in CO_ACTIVATIONS if all(a in self.aus_ for a in c)]
        elif self.co_activations is None:
            combos = []
        else:
            combos = []
            for combo in self.co_activations:
                combo = tuple(au_label(a) for a in combo)
                missing = [a for a in combo if a not in self.aus_]
                if missing or len(combo) < 2:
                    raise ValueError(
                        f"Co-activation {combo} needs at least two AUs, all among aus_ "
                        f"(missing: {missing})."
                    )
                combos.append(combo)
        self.co_activations_ = combos
        names = [f"{a}_{s}" for a in self.aus_ for s in self.statistics_]
        names += [f"{co_activation_name(c)}_rate" for c in combos]
        self.feature_names_out_ = np.asarray(names, dtype=object)
        if self.missing == "impute":
            values = self._compute(tables)
            seen = ~np.isnan(values)
            sums = np.where(seen, values, 0.0).sum(axis=0)
            self.fill_values_ = np.where(seen.any(axis=0), sums / np.maximum(seen.sum(axis=0), 1),
                                         0.0)
            self.feature_names_out_ = np.append(self.feature_names_out_, NO_FACE)
        return self

    def _compute(self, tables):
        """The statistics of each table, NaN where undefined."""
        resolved = {}  # scale -> threshold; NaN: infer the scale from the values
        thresholds = np.empty(len(tables))
        for i, table in enumerate(tables):
            scale = self.au_scale or table.attrs.get("au_scale")
            if scale not in resolved:
                try:
                    resolved[scale] = (np.nan if scale is None
                                       else resolve_threshold(self.threshold, str(scale)))
                except ValueError as exc:
                    raise ValueError(f"Video {i}: {exc}") from exc
            thresholds[i] = resolved[scale]
        infer = (resolve_threshold(self.threshold, "0-1"), resolve_threshold(self.threshold, "0-5"))
        return frame_statistics(tables, self.aus_, self.statistics_, thresholds,
                                self.co_activations_, infer_thresholds=infer)

    def _impute(self, out, tables):
        """Training means for NaN statistics, and the no_face column (with a warning)."""
        n_au_columns = len(self.aus_) * len(self.statistics_)
        faceless = np.isnan(out[:, :n_au_columns]).all(axis=1)
        if faceless.any():
            named = [f"{i}" + (f" ({tables[i].attrs['path']!s:.80})"
                               if "path" in getattr(tables[i], "attrs", {}) else "")
                     for i in np.flatnonzero(faceless)]
            shown = ", ".join(named[:10]) + (f" and {len(named) - 10} more" if len(named) > 10
                                             else "")
            warnings.warn(
                f"AUStatistics: {len(named)} of {len(tables)} videos have no tracked face "
                f"(videos {shown}); their AU statistics are the training means, flagged by "
                f"the {NO_FACE!r} column.", UserWarning, stacklevel=3)
        out = np.where(np.isnan(out), self.fill_values_, out)
        return np.column_stack([out, faceless.astype(np.float64)])

    def transform(self, X):
        """Compute the statistics of each frame table.

        Parameters
        ----------
        X : list, Series, 1-column DataFrame or object array of frame tables

        Returns
        -------
        ndarray of shape (n_videos, n_features_out)
        """
        check_is_fitted(self, "feature_names_out_")
        tables = as_frame_tables(X)
        out = self._compute(tables)
        if self.missing == "impute":
            return self._impute(out, tables)
        if not np.isnan(self.fill_value):
            out = np.where(np.isnan(out), self.fill_value, out)
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns (``"AU06_mean"``, ..., ``"AU06+AU12_rate"``)."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.allow_nan = True
        tags.requires_fit = True
        return tags
