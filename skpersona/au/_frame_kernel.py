"""The compiled (numba) kernel behind AUStatistics: every statistic of a video in one pass.

Each (video, AU) row is read once in time order: tracked values are copied to a
scratch buffer while counts, minimum, maximum, activations, onsets and runs are
updated; the sums, the variance and the percentiles then work on that buffer,
which stays in the CPU cache. Percentiles select, rather than sort: a histogram
of the row over its minimum..maximum finds the bin of each asked rank, and only
that bin's few values are sorted (exact: bins are monotone in value).
"""

import numpy as np
from numba import njit

from ._frames import GAP_STEPS

#: Fields of the kernel's output, per (video, AU), before the percentiles.
FIELDS = ("count", "min", "max", "mean", "std", "n_active", "active_mean", "onsets", "runs")
_COUNT, _MIN, _MAX, _MEAN, _STD, _N_ACTIVE, _ACTIVE_MEAN, _ONSETS, _RUNS = range(len(FIELDS))
_SMALL = 24  # bins holding at most this many values are sorted by insertion


@njit(cache=True, nogil=True)
def _segments(data, extras, start, n, bounds, fresh):
    """Split one video into segments that a run of active frames cannot cross.

    ``extras`` rows: keyframe (window id), time (frame or timestamp), success, NaN where
    a table has no such column; (3, 0) when no table has any. Frames whose success is
    not NaN and <= 0.5 (lost tracking) become NaN in data: they are no data. A segment
    starts at a new window (the window id changes) and at a jump in time longer than
    GAP_STEPS typical steps (the median positive step) or backwards. Writes the segment
    starts then n to bounds, whether each segment starts a window to fresh, and returns
    the number of segments.
    """
    bounds[0] = 0
    fresh[0] = True
    if extras.shape[1] == 0:
        bounds[1] = n
        return 1
    time = extras[1, start:start + n]
    steps = np.empty(max(n - 1, 0))
    n_positive = 0
    for f in range(n):
        success = extras[2, start + f]
        if success <= 0.5:  # False for NaN: no success column
            data[:, start + f] = np.nan
        if f and time[f] - time[f - 1] > 0:
            steps[n_positive] = time[f] - time[f - 1]
            n_positive += 1
    typical = np.inf
    if n_positive:
        positive = np.sort(steps[:n_positive])
        mid = n_positive - 1
        typical = (positive[mid // 2] + positive[(mid + 1) // 2]) / 2
    n_segments = 1
    for f in range(1, n):
        w0, w1 = extras[0, start + f - 1], extras[0, start + f]
        new_window = w1 != w0 and not (w1 != w1 and w0 != w0)
        step = time[f] - time[f - 1]
        if new_window or step > GAP_STEPS * typical or step < 0:
            bounds[n_segments] = f
            fresh[n_segments] = new_window
            n_segments += 1
    bounds[n_segments] = n
    return n_segments


@njit(cache=True, nogil=True)
def _scan(data, a, start, bounds, fresh, n_segments, thr, vals):
    """One AU of one video in time order, segment by segment (see _segments).

    Copies the tracked (non-NaN) values to vals and returns their number, the active
    ones, the onsets and the runs. A run is a stretch of active frames within a
    segment. An onset is a tracked active frame whose window has no tracked frame
    before it, or whose last tracked frame before it (looking through lost frames and
    jumps in time) was inactive. No branch on the values: NaN and activations come
    unannounced, a mispredicted branch costs more than the work.
    """
    m = n_active = onsets = runs = 0
    last = 0  # the AU was active at the last tracked frame of this window
    for k in range(n_segments):
        if fresh[k]:
            last = 0
        first = m
        previous = 0
        for f in range(bounds[k], bounds[k + 1]):
            x = data[a, start + f]
            vals[m] = x
            m += x == x
            on = np.int64(x >= thr)  # False for NaN
            runs += on & (previous ^ 1)
            previous = on
        for i in range(first, m):  # onsets: over the tracked values only
            on = np.int64(vals[i] >= thr)
            n_active += on
            onsets += on & (last ^ 1)
            last = on
    return m, n_active, onsets, runs


@njit(cache=True, nogil=True)
def _sort_small(a):
    """Insertion sort (few values)."""
    for i in range(1, a.size):
        x = a[i]
        j = i - 1
        while j >= 0 and a[j] > x:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = x


@njit(cache=True, nogil=True)
def rank_scratch(width, n_ranks):
    """Work arrays of ranks_of for rows of up to width values and n_ranks ranks: the
    histogram, the bin of each value, a cursor per bin (-1: not needed), the values of
    the needed bins, the needed bins."""
    n_bins = 16
    while 4 * n_bins < width and n_bins < 4096:
        n_bins *= 2
    return (np.empty(n_bins, dtype=np.int64), np.empty(width, dtype=np.int64),
            np.full(n_bins, -1, dtype=np.int64), np.empty(width),
            np.empty(n_ranks, dtype=np.int64))


@njit(cache=True, nogil=True)
def ranks_of(vals, m, low, high, n_low, n_high, ranks, out, scratch):
    """Values at ranks of vals[:m] sorted, written to out; exact.

    Ranks below the copies of the minimum hold the minimum (above m - copies of the
    maximum: the maximum). The others are found in a histogram of the row:
    bin = floor((x - low) * scale) is monotone in x (each rounding is), so the bins
    in sorted order are the values in sorted order: a rank's value is among its bin's,
    and only those are sorted, in place at their ranks. Spans too large or too small
    for a finite scale sort the whole row instead.
    """
    hist, bins, cursor, picked, needed = scratch
    pending = False
    for k in range(ranks.size):
        if ranks[k] < n_low:
            out[k] = low
        elif ranks[k] >= m - n_high:
            out[k] = high
        else:
            pending = True
            out[k] = np.nan
    if not pending:
        return
    n_bins = 16  # about 4 values a bin: short walks over the bins, tiny sorts in them
    while 4 * n_bins < m and n_bins < hist.size:
        n_bins *= 2
    span = high - low
    scale = n_bins / span
    if not (np.isfinite(span) and np.isfinite(scale) and scale > 0):
        picked[:m] = np.sort(vals[:m])
        for k in range(ranks.size):
            if out[k] != out[k]:
                out[k] = picked[ranks[k]]
        return
    hist[:n_bins] = 0
    top = n_bins - 1
    for i in range(m):
        b = min(int((vals[i] - low) * scale), top)
        bins[i] = b
        hist[b] += 1
    # The bin of each rank, walking the bins (once when ranks ascend); cursor[bin]: the
    # rank of its first value, where its values go in picked (-1: a bin not needed).
    b, before, n_needed = 0, 0, 0
    for k in range(ranks.size):
        if out[k] == out[k]:
            continue
        r = ranks[k]
        if r < before:
            b, before = 0, 0
        while before + hist[b] <= r:
            before += hist[b]
            b += 1
        if cursor[b] < 0:
            cursor[b] = before
            needed[n_needed] = b
            n_needed += 1
    for i in range(m):
        c = cursor[bins[i]]
        if c >= 0:
            picked[c] = vals[i]
            cursor[bins[i]] = c + 1
    for j in range(n_needed):
        b = needed[j]
        stop = cursor[b]
        first = stop - hist[b]
        if hist[b] <= _SMALL:
            _sort_small(picked[first:stop])
        else:
            picked[first:stop] = np.sort(picked[first:stop])
        cursor[b] = -1
    for k in range(ranks.size):
        if out[k] != out[k]:
            out[k] = picked[ranks[k]]


@njit(cache=True, nogil=True)
def _moments(vals, m, thr):
    """Minimum, maximum, sum and sum of the values >= thr of vals[:m] (m > 0).

    Four partial results side by side: a single one would wait on each step in turn.
    """
    l0 = l1 = l2 = l3 = h0 = h1 = h2 = h3 = vals[0]
    t0 = t1 = t2 = t3 = a0 = a1 = a2 = a3 = 0.0
    stop = m - m % 4
    for i in range(0, stop, 4):
        x0, x1, x2, x3 = vals[i], vals[i + 1], vals[i + 2], vals[i + 3]
        l0, l1, l2, l3 = min(l0, x0), min(l1, x1), min(l2, x2), min(l3, x3)
        h0, h1, h2, h3 = max(h0, x0), max(h1, x1), max(h2, x2), max(h3, x3)
        t0, t1, t2, t3 = t0 + x0, t1 + x1, t2 + x2, t3 + x3
        # no branch: activations are unpredictable
        a0, a1 = a0 + x0 * (x0 >= thr), a1 + x1 * (x1 >= thr)
        a2, a3 = a2 + x2 * (x2 >= thr), a3 + x3 * (x3 >= thr)
    for i in range(stop, m):
        x0 = vals[i]
        l0, h0, t0, a0 = min(l0, x0), max(h0, x0), t0 + x0, a0 + x0 * (x0 >= thr)
    return (min(min(l0, l1), min(l2, l3)), max(max(h0, h1), max(h2, h3)),
            (t0 + t1) + (t2 + t3), (a0 + a1) + (a2 + a3))


@njit(cache=True, nogil=True)
def _spread(vals, m, mean, low, high):
    """Sum of (x - mean)^2 over vals[:m], and the copies of its minimum and maximum."""
    s0 = s1 = s2 = s3 = 0.0
    n_low = n_high = 0
    stop = m - m % 4
    for i in range(0, stop, 4):
        x0, x1, x2, x3 = vals[i], vals[i + 1], vals[i + 2], vals[i + 3]
        d0, d1, d2, d3 = x0 - mean, x1 - mean, x2 - mean, x3 - mean
        s0, s1, s2, s3 = s0 + d0 * d0, s1 + d1 * d1, s2 + d2 * d2, s3 + d3 * d3
        n_low += (x0 == low) + (x1 == low) + (x2 == low) + (x3 == low)
        n_high += (x0 == high) + (x1 == high) + (x2 == high) + (x3 == high)
    for i in range(stop, m):
        d0 = vals[i] - mean
        s0 += d0 * d0
        n_low += vals[i] == low
        n_high += vals[i] == high
    return (s0 + s1) + (s2 + s3), n_low, n_high


@njit(cache=True, nogil=True)
def chunk_statistics(data, offsets, extras, thresholds, infer, quantiles, combos, out, co_out):
    """Statistics of consecutive videos whose frames are concatenated in data.

    Parameters
    ----------
    data : ndarray of shape (n_aus, n_frames)
        The AU values of the videos, one after the other along axis 1.
    offsets : ndarray of int64, shape (n_videos + 1,)
        Video v is data[:, offsets[v]:offsets[v + 1]] (at least one frame).
    extras : ndarray of shape (3, n_frames) or (3, 0)
        Keyframe, time and success columns (NaN where absent); (3, 0): none at all.
    thresholds : ndarray of shape (n_videos,)
        Activation threshold of each video; NaN: ``infer[1]`` when a value of the
        video exceeds 1 (0-5 scale), else ``infer[0]``.
    infer : ndarray of shape (2,)
    quantiles : ndarray of float64
        Percentiles (0..100) computed after the FIELDS, linear interpolation.
    combos : ndarray of int64, shape (n_combos, max_size)
        AU indices of each co-activation, padded with -1.
    out : ndarray of shape (n_videos, n_aus, len(FIELDS) + len(quantiles))
    co_out : ndarray of shape (n_videos, n_combos)
        Joint activation rate over the frames where all AUs of a combination are
        tracked (NaN when there are none).
    """
    n_aus = data.shape[0]
    n_videos = offsets.size - 1
    width = 1
    for v in range(n_videos):
        width = max(width, offsets[v + 1] - offsets[v])
    bounds = np.empty(width + 1, dtype=np.int64)
    fresh = np.empty(width, dtype=np.bool_)
    vals = np.empty(width)
    nq = quantiles.size
    scratch = rank_scratch(width, 2 * nq)
    ranks = np.empty(2 * nq, dtype=np.int64)  # the rank below and above each percentile
    at = np.empty(2 * nq)
    base = len(FIELDS)
    for v in range(n_videos):
        start = offsets[v]
        n = offsets[v + 1] - start
        thr = thresholds[v]
        if thr != thr:  # the scale from the values (lost frames too): 0-5 when any exceeds 1
            thr = infer[1] if np.any(data[:, start:start + n] > 1.0) else infer[0]
        n_segments = _segments(data, extras, start, n, bounds, fresh)
        for a in range(n_aus):
            row = out[v, a]
            m, n_active, onsets, runs = _scan(data, a, start, bounds, fresh, n_segments, thr,
                                              vals)
            row[_COUNT] = m
            if m == 0:
                continue
            # Two passes over the tracked values (in the CPU cache): sums, then deviations.
            low, high, total, total_active = _moments(vals, m, thr)
            mean = total / m
            square, n_low, n_high = _spread(vals, m, mean, low, high)
            row[_MIN] = low
            row[_MAX] = high
            row[_MEAN] = mean
            row[_STD] = np.sqrt(square / m)
            row[_N_ACTIVE] = n_active
            row[_ACTIVE_MEAN] = total_active / n_active if n_active else 0.0
            row[_ONSETS] = onsets
            row[_RUNS] = runs
            if nq == 0:
                continue
            for k in range(nq):
                r = int(np.floor(quantiles[k] / 100.0 * (m - 1)))
                ranks[2 * k] = r
                ranks[2 * k + 1] = min(r + 1, m - 1)
            ranks_of(vals, m, low, high, n_low, n_high, ranks, at, scratch)
            for k in range(nq):
                position = quantiles[k] / 100.0 * (m - 1)
                v_low, v_high = at[2 * k], at[2 * k + 1]
                row[base + k] = v_low + (position - ranks[2 * k]) * (v_high - v_low)
        for c in range(combos.shape[0]):  # frames where all are tracked, all active
            joint_tracked = joint_active = 0
            for f in range(start, start + n):
                all_tracked = all_active = True
                for i in range(combos.shape[1]):
                    if combos[c, i] >= 0:
                        x = data[combos[c, i], f]
                        all_tracked &= x == x
                        all_active &= x >= thr
                joint_tracked += all_tracked
                joint_active += all_active
            co_out[v, c] = joint_active / joint_tracked if joint_tracked else np.nan
