"""Temporal statistics of frame tables: one feature row per video, vectorised."""

import re
from numbers import Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._facs import CO_ACTIVATIONS, au_label, co_activation_name
from ._frames import (
    GAP_STEPS,
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
_PERCENTILE = re.compile(r"^p(\d+(?:\.\d+)?)$")
_CHUNK_ELEMENTS = 1 << 18  # padded cells per chunk: 2 MiB of float64 stays in the CPU cache


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
    """Group videos (sorted by length) so each padded chunk holds <= budget cells."""
    order = np.argsort(lengths, kind="stable")
    sizes = np.maximum(lengths[order], 1)
    chunks, start, n = [], 0, len(order)
    while start < n:
        # Sorted lengths: the chunk's padded size is its count times its last length.
        count = np.arange(1, n - start + 1)
        fits = np.flatnonzero(count * sizes[start:] <= budget)
        stop = start + (int(fits[-1]) + 1 if fits.size else 1)
        chunks.append(order[start:stop])
        start = stop
    return chunks


def _count(mask):
    """True cells of a boolean array along its last axis, as int64.

    Summing the bytes as uint16 (or int64 for very long rows) is several times
    faster than ``mask.sum``, which converts every cell to int64 first.
    """
    dtype = np.uint16 if mask.shape[-1] < 1 << 16 else np.int64
    return np.add.reduce(mask.view(np.uint8), axis=-1, dtype=dtype).astype(np.int64)


class _Buffers:
    """Scratch arrays reused from chunk to chunk.

    Large temporaries allocated afresh for every chunk cost page faults (about as much
    as the arithmetic on them); the chunk computation writes into these instead.
    """

    def __init__(self):
        self._store = {}

    def __call__(self, name, shape, dtype=np.float64):
        size = int(np.prod(shape))
        buf = self._store.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self._store[name] = np.empty(max(size, 1), dtype=dtype)
        return buf[:size].reshape(shape)


def _padded(parts, lengths, width, fill=np.nan, out=None):
    """Stack per-video (n_i, c) arrays into a (c, n_videos, width) array, padded with fill.

    One ``np.concatenate`` of each block (transposed, so that frames are contiguous)
    followed by a view of a filler block, so the padded cube is written in one pass.
    """
    n_cols = parts[0].shape[1]
    filler = np.full((n_cols, width), fill)
    pieces = []
    for part, length in zip(parts, lengths.tolist(), strict=True):  # views only, no copy
        pieces.append(part.T)
        if length < width:
            pieces.append(filler[:, : width - length])
    flat = None if out is None else out.reshape(n_cols, len(parts) * width)
    return np.concatenate(pieces, axis=1, out=flat).reshape(n_cols, len(parts), width)


def _row_flags(extras, lengths, width):
    """Per-frame tracking, window starts and run breaks of a chunk, from its extra columns.

    Returns ``ok`` (tracking succeeded; padding is not ok), ``window_start`` (the frame
    where each frame's window begins), ``new_window`` (the first frame of a window) and
    ``cut`` (a run of active frames cannot continue into this frame: first frame of a
    window, or a jump in time), each of shape (n_videos, width); or None when no table
    of the chunk has extra columns.
    """
    n, frames = len(lengths), np.arange(width)
    if all(e is None for e in extras):
        return None
    parts = [e if e is not None else np.full((ln, 3), np.nan)
             for e, ln in zip(extras, lengths, strict=True)]
    window, time, success = _padded(parts, lengths, width)
    inside = frames[None, :] < lengths[:, None]
    ok = (np.isnan(success) | (success > 0.5)) & inside
    new_window = np.ones((n, width), dtype=bool)
    new_window[:, 1:] = (window[:, 1:] != window[:, :-1]) & ~(
        np.isnan(window[:, 1:]) & np.isnan(window[:, :-1]))
    window_start = np.maximum.accumulate(np.where(new_window, frames, 0), axis=1)
    cut = new_window.copy()
    new_window[~inside] = False
    if width > 1:
        steps = np.diff(time, axis=1)
        positive = np.where(steps > 0, steps, np.inf)  # typical step: median of positive steps
        positive.sort(axis=1)
        n_positive = np.isfinite(positive).sum(axis=1)
        mid = np.maximum(n_positive - 1, 0)
        lo = np.take_along_axis(positive, (mid // 2)[:, None], axis=1)[:, 0]
        hi = np.take_along_axis(positive, ((mid + 1) // 2)[:, None], axis=1)[:, 0]
        typical = np.where(n_positive > 0, (lo + hi) / 2, np.inf)
        cut[:, 1:] |= (steps > GAP_STEPS * typical[:, None]) | (steps < 0)
    return ok, window_start, new_window, cut


def _ranked(cube, invalid, low, top_value, count, ranks, buf):
    """Values at ranks (AU, video, k) of each (AU, video) row of cube sorted, exactly.

    Ranks must lie below the row's count of valid values (or be 0 for an empty row).
    numpy sorts 32-bit integers several times faster than float64, so the sort runs on
    uint32 keys: a monotone quantisation of each row to 2^k bins (its minimum to its
    maximum), then the frame index. Only the keys at the asked ranks are read back. A
    key alone in its bin holds the value of that rank; so do the row minimum and maximum
    (known exactly, with their number of copies). Rows where an asked rank falls among
    other values of its bin (ties, or distinct values closer than a bin) are read in
    key order and, where that order is wrong, sorted again as float64.
    """
    n_aus, n, width = cube.shape
    index_bits = max(int(width - 1).bit_length(), 1)
    bin_bits = 32 - index_bits
    if bin_bits < 12:  # very long videos: too few bins, sort the values themselves
        return np.take_along_axis(np.sort(cube, axis=2), ranks, axis=2)
    top = (1 << bin_bits) - 1  # bins 0..top-1 for values, top for NaN and padding
    # Bins are float32 (x - low) * scale, truncated: each rounded step is monotone, so
    # the order of bins is the order of values. The three roundings add at most a relative
    # 2e-7 to (top - 2) * (1 - 2^-20), so every value's bin stays below top - 1 (no clamp
    # pass needed). Spans beyond float64, or tinier than 1/scale can hold, give one bin:
    # those rows are read exactly below.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        span = top_value - low
        room = (top - 2.0) * (1.0 - 2.0 ** -20)
        scale = np.where(span > 0, room / np.where(span > 0, span, 1.0), 0.0)
    scale[~np.isfinite(scale)] = 0.0
    base = np.where(np.isfinite(low), low, 0.0)
    # float32 (half the memory traffic) unless the values are too large for it
    moderate = max(np.abs(base).max(initial=0.0), scale.max(initial=0.0),
                   np.abs(top_value[np.isfinite(top_value)]).max(initial=0.0)) < 1e30
    kind = np.float32 if moderate else np.float64
    q = np.subtract(cube, base[:, :, None], out=buf("q", cube.shape, kind), casting="same_kind")
    keys = buf("keys", cube.shape, np.uint32)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN cells: set just below
        np.multiply(q, scale[:, :, None].astype(kind), out=keys, casting="unsafe")
    np.copyto(keys, top, where=invalid)
    keys <<= np.uint32(index_bits)
    keys |= np.arange(width, dtype=np.uint32)
    keys.sort(axis=2)
    shift, frame_bits = np.uint32(index_bits), np.uint32((1 << index_bits) - 1)
    k = ranks.shape[2]
    near = np.take_along_axis(keys, np.concatenate(
        [np.maximum(ranks - 1, 0), ranks, np.minimum(ranks + 1, width - 1)], axis=2), axis=2)
    at = near[:, :, k:2 * k]
    bins = at >> shift
    # The cell after the last valid one is padding or NaN: its bin (top) is no value's.
    alone = (((ranks == 0) | (near[:, :, :k] >> shift != bins))
             & ((ranks == width - 1) | (near[:, :, 2 * k:] >> shift != bins)))
    values = np.take_along_axis(cube, (at & frame_bits).astype(np.intp), axis=2)
    if alone.all():
        return values
    # Ties at the row minimum or maximum (0 and 5 of clipped intensities) are common:
    # those ranks hold the minimum (maximum), counted where some rank needs it.
    unsure = ~alone
    for edge, below in ((low, True), (top_value, False)):
        if not unsure.any():
            break
        n_edge = _count(np.equal(cube, edge[:, :, None], out=buf("same", cube.shape, bool)))
        known = (ranks < n_edge[:, :, None]) if below else (
            ranks >= (count - n_edge)[:, :, None])
        values = np.where(known, edge[:, :, None], values)
        unsure &= ~known
    a, j = np.nonzero(unsure.any(axis=2))
    if a.size:
        rows = cube[a, j]
        ordered = np.take_along_axis(rows, (keys[a, j] & frame_bits).astype(np.intp), axis=1)
        wrong = (ordered[:, 1:] < ordered[:, :-1]).any(axis=1)
        if wrong.any():
            ordered[wrong] = np.sort(rows[wrong], axis=1)
        values[a, j] = np.take_along_axis(ordered, ranks[a, j], axis=1)
    return values


def _chunk_statistics(cube, flags, lengths, thresholds, stats, percentiles, combos, aus,
                      videos, buf):
    """Statistics of one chunk: cube (AU, video, frame) padded with NaN."""
    shape = cube.shape
    if flags is not None:
        ok, window_start, new_window, cut = flags
        np.copyto(cube, np.nan, where=~ok[None])  # lost tracking (and padding) is no data
    invalid = np.isnan(cube, out=buf("invalid", shape, bool))
    count = shape[2] - _count(invalid)
    has = count > 0
    safe_count = np.where(has, count, 1)
    top = np.fmax.reduce(cube, axis=2)  # fmax/fmin skip NaN
    low = np.fmin.reduce(cube, axis=2)
    if np.isinf(top).any() or np.isinf(low).any():
        a, j = np.argwhere(np.isinf(top) | np.isinf(low))[0]
        row = int(np.flatnonzero(np.isinf(cube[a, j]))[0])
        raise ValueError(
            f"Video {videos[j]}: {aus[a]} is infinite at row {row}. AU intensities must be "
            "finite; mark frames without a face with NaN."
        )
    res = {"max": top, "min": low}
    if percentiles:
        positions = np.stack([q / 100.0 * (safe_count - 1) for q in percentiles.values()], axis=2)
        rank = np.floor(positions).astype(np.intp)
        ranks = np.concatenate([rank, np.minimum(rank + 1, safe_count[:, :, None] - 1)], axis=2)
        values = _ranked(cube, invalid, low, top, count, ranks, buf)
        k = len(percentiles)
        v_low, v_high = values[:, :, :k], values[:, :, k:]
        mixed = v_low + (positions - rank) * (v_high - v_low)
        for i, name in enumerate(percentiles):
            res[name] = mixed[:, :, i]
    if thresholds is not None:
        active = np.greater_equal(cube, thresholds[None, :, None],
                                  out=buf("active", shape, bool))  # False on NaN
    # From here the cube holds x - min of its row, 0 where untracked (the cube is ours).
    # Sums of these give the variance by the shifted one-pass formula, exact enough:
    # (mean - min)^2 <= 2 n var, so the relative error stays below 4 n eps.
    base = np.where(has, low, 0.0)
    shifted = np.subtract(cube, base[:, :, None], out=cube)
    np.copyto(shifted, 0.0, where=invalid)
    mean_shift = shifted.sum(axis=2) / safe_count
    res["mean"] = base + mean_shift
    if "std" in stats:
        square = np.einsum("ijk,ijk->ij", shifted, shifted) / safe_count
        res["std"] = np.sqrt(np.maximum(square - mean_shift * mean_shift, 0.0))
    co = np.full((len(lengths), len(combos)), np.nan)
    if thresholds is not None:
        n_active = _count(active)
        # An onset: active where the frame before was not, or at the start of a window.
        onset = buf("onset", shape, bool)
        onset[:, :, 0] = active[:, :, 0]
        np.greater(active[:, :, 1:], active[:, :, :-1], out=onset[:, :, 1:])
        if flags is not None:
            onset |= active & new_window[None]
        # A run also starts after a jump in time; onsets look through it (and through
        # lost frames, below), runs do not.
        onsets = _count(onset)
        n_runs = _count(onset | (active & cut[None])) if flags is not None else onsets.copy()
        # Onsets right after lost frames are only onsets if the AU was off at the last
        # tracked frame of the window: few frames, looked up by walking back over the gap.
        after_gap = np.logical_and(onset[:, :, 1:], invalid[:, :, :-1],
                                   out=buf("after_gap", (shape[0], shape[1], shape[2] - 1), bool))
        if flags is not None:
            after_gap &= ~new_window[None, :, 1:]
        a, j, f = np.unravel_index(np.flatnonzero(after_gap), after_gap.shape)
        if a.size:
            first = window_start[j, f + 1] if flags is not None else np.zeros_like(f)
            pending = np.ones(a.size, dtype=bool)
            spurious = np.zeros(a.size, dtype=bool)
            while pending.any():
                f = f - 1
                pending &= f >= first
                seen = pending & ~invalid[a, j, np.maximum(f, 0)]
                spurious |= seen & active[a, j, np.maximum(f, 0)]
                pending &= ~seen
            np.subtract.at(onsets, (a[spurious], j[spurious]), 1)
        res["active_rate"] = n_active / safe_count
        if "active_mean" in stats:
            kept = np.multiply(shifted, active, out=buf("kept", shape)).sum(axis=2)
            res["active_mean"] = np.where(n_active > 0, base + kept / np.maximum(n_active, 1),
                                          0.0)
        res["onsets"] = onsets.astype(float)
        res["onset_rate"] = onsets / safe_count
        res["burst_mean"] = np.where(n_runs > 0, n_active / np.maximum(n_runs, 1), 0.0)
        for k, members in enumerate(combos):
            joint_valid = (~invalid[members].any(axis=0)).sum(axis=1)
            joint = active[members].all(axis=0).sum(axis=1)
            co[:, k] = np.where(joint_valid > 0, joint / np.maximum(joint_valid, 1), np.nan)
    block = np.stack([res[s] for s in stats], axis=2)  # (AU, video, statistic)
    block[~has] = np.nan
    return block.transpose(1, 0, 2), co


def frame_statistics(tables, aus, statistics=DEFAULT_STATISTICS, thresholds=None,
                     co_activations=(), chunk_elements=None, infer_thresholds=None):
    """Compute per-video statistics of AU columns (the engine of AUStatistics).

    Rows are frames in time order. A ``keyframe`` column (as written by
    :class:`KeyframeWindows`) splits a table into windows; a ``frame`` (else
    ``timestamp``) column shows jumps in time; ``success`` marks lost tracking.
    Frames with NaN intensity or failed tracking are left out of every
    statistic. Onsets and active runs are counted within each window, never
    across its border; a run of active frames ends at lost tracking or a jump
    in time, but an onset is only counted where the AU is seen turning on: the
    AU inactive at the last tracked frame before, or the first tracked frame
    of a window. Counts are then pooled over the windows of a video.

    All videos of a chunk are computed together on their concatenated rows
    (segment reductions, no Python loop over videos); percentiles sort int32
    keys (see ``_ranked``) and agree exactly with a float64 sort.

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
        Cells (frames x AUs, padded to the longest video) computed at once.
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
    if thresholds is None:
        thresholds = np.full(n_videos, 0.5)
    thresholds = np.asarray(thresholds, dtype=float)
    combos = [[aus.index(a) for a in combo] for combo in co_activations]
    out = np.full((n_videos, n_aus, n_stats), np.nan)
    co_out = np.full((n_videos, len(combos)), np.nan)
    percentiles = {s: float(_PERCENTILE.match(s).group(1)) for s in stats if _PERCENTILE.match(s)}
    need_active = any(s in stats for s in ("active_rate", "active_mean", "onsets",
                                           "onset_rate", "burst_mean")) or combos
    if n_aus == 0:
        return np.concatenate([out.reshape(n_videos, 0), co_out], axis=1)
    nonempty = np.flatnonzero(lengths > 0)
    budget = max((chunk_elements or _CHUNK_ELEMENTS) // n_aus, 1)
    buf = _Buffers()
    for part in _chunks(lengths[nonempty], budget):
        videos = nonempty[part]
        width = int(lengths[videos].max())
        # (AU, video, frame), NaN-padded: every statistic reduces along contiguous frames.
        cube = _padded([blocks[v] for v in videos], lengths[videos], width,
                       out=buf("cube", (n_aus, len(videos) * width)))
        flags = _row_flags([extras[v] for v in videos], lengths[videos], width)
        thr = None
        if need_active:
            thr = thresholds[videos]
            if infer_thresholds is not None and np.isnan(thr).any():
                above = np.fmax.reduce(cube.reshape(n_aus, len(videos), -1), axis=(0, 2)) > 1.0
                thr = np.where(np.isnan(thr), np.where(above, infer_thresholds[1],
                                                       infer_thresholds[0]), thr)
        block, co = _chunk_statistics(cube, flags, lengths[videos], thr, stats, percentiles,
                                      combos, aus, videos, buf)
        out[videos] = block
        co_out[videos] = co
    return np.concatenate([out.reshape(n_videos, n_aus * n_stats), co_out], axis=1)


def _au_sort_key(label):
    return int(label[2:])


class AUStatistics(TransformerMixin, BaseEstimator):
    """Temporal statistics of AU intensities: one feature row per video.

    For each AU: mean, standard deviation, percentiles, maximum, the share of
    frames where it is active (intensity at or above a threshold), the mean
    intensity while active, the number of onsets (inactive -> active
    changes) and the mean burst length in frames; plus the joint activation
    rate of named co-activations (e.g. ``AU06+AU12``, a Duchenne smile).
    Videos of any length are computed together on cache-sized, padded chunks
    (no Python loop over videos; percentiles sort int32 keys and agree exactly
    with a float64 sort), several times faster than the same statistics with
    a pandas ``groupby`` (``benchmarks/bench_au_statistics.py``).

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
    - a gap ends a run (``burst_mean`` never bridges it), but an onset is only
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
    }

    def __init__(self, statistics=DEFAULT_STATISTICS, aus=None, threshold="auto",
                 co_activations="default", au_scale=None, fill_value=np.nan):
        self.statistics = statistics
        self.aus = aus
        self.threshold = threshold
        self.co_activations = co_activations
        self.au_scale = au_scale
        self.fill_value = fill_value

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
        return self

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
        out = frame_statistics(tables, self.aus_, self.statistics_, thresholds,
                               self.co_activations_, infer_thresholds=infer)
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
