"""The compiled (numba) kernel behind AUStatistics: each video read once, in time order.

Per video, its extra columns split it into segments (windows, jumps in time) and lost
frames become NaN. Per (video, AU), one pass in time order copies the tracked values
to a scratch buffer and counts runs; the moments (with activations and onsets), the
deviations and a histogram then come from that buffer, which stays in the CPU cache.
Percentiles are selected, not sorted: the histogram, monotone in value, gives the
bin of each asked rank, and only that bin's few values are sorted: exact, equal to a
full sort. Loops are unrolled by four and free of branches on the values where that
matters (partial sums side by side; NaN and activations are unpredictable).
"""

import numpy as np
from numba import njit

from ._frames import BRIDGED_GAP_FRAMES, GAP_STEPS

# No slice assignments below: numba compiles an error message with array shapes for each,
# which more than doubles the compile time.

#: Fields of the kernel's output, per (video, AU), before the percentiles.
FIELDS = ("count", "min", "max", "mean", "std", "n_active", "active_mean", "onsets", "runs")
_COUNT, _MIN, _MAX, _MEAN, _STD, _N_ACTIVE, _ACTIVE_MEAN, _ONSETS, _RUNS = range(len(FIELDS))
_SMALL = 24  # at most this many values are sorted by insertion


@njit(cache=True, nogil=True)
def _segments(data, extras, start, n, bounds, fresh, scratch, clock):
    """Split one video into segments that a run of active frames cannot cross.

    ``extras`` rows: keyframe (window id), time (frame or timestamp), success, NaN where
    a table has no such column; (3, 0) when no table has any. Frames whose success is
    not NaN and <= 0.5 (lost tracking) become NaN in data: they are no data. Writes each
    frame's time to clock (row positions when the video has no finite time), and
    returns the number of segments and the longest step a run crosses: a gap of at
    most BRIDGED_GAP_FRAMES untracked frames, i.e. BRIDGED_GAP_FRAMES + GAP_STEPS
    typical steps (the median positive step). A segment starts at a new window (the
    window id changes) and at a longer jump in time or a backwards one. Writes the
    segment starts then n to bounds, whether each segment starts a window to fresh
    (scratch: see rank_scratch).
    """
    bounds[0] = 0
    fresh[0] = True
    limit = BRIDGED_GAP_FRAMES + GAP_STEPS  # in rows, without a time axis
    timed = extras.shape[1] > 0
    for f in range(n):
        timed = timed and extras[1, start + f] == extras[1, start + f]
    for f in range(n):
        clock[f] = extras[1, start + f] if timed else f
    if extras.shape[1] == 0:
        bounds[1] = n
        return 1, limit
    time = clock
    steps = np.empty(max(n - 1, 0))
    middle_at = np.empty(2)
    n_positive = np.int64(0)
    for f in range(n):
        success = extras[2, start + f]
        if success <= 0.5:  # False for NaN: no success column
            for a in range(data.shape[0]):
                data[a, start + f] = np.nan
        if f and time[f] - time[f - 1] > 0:
            steps[n_positive] = time[f] - time[f - 1]
            n_positive += 1
    typical = np.inf
    if n_positive:  # the median step, selected like a percentile (usually all steps are 1)
        low, high = _moments(steps, n_positive, np.inf)[:2]
        n_bins, scale = histogram_bins(n_positive, low, high, scratch[0].size)
        _, n_low, n_high = spread(steps, n_positive, 0.0, low, high, n_bins, scale, scratch)
        mid = n_positive - 1
        middle = np.array([mid // 2, (mid + 1) // 2])
        ranks_of(steps, n_positive, low, high, n_low, n_high, n_bins, scale, middle, middle_at,
                 scratch)
        typical = (middle_at[0] + middle_at[1]) / 2
    if timed and n_positive:
        limit = (BRIDGED_GAP_FRAMES + GAP_STEPS) * typical
    n_segments = 1
    for f in range(1, n):
        w0, w1 = extras[0, start + f - 1], extras[0, start + f]
        new_window = w1 != w0 and not (w1 != w1 and w0 != w0)
        step = time[f] - time[f - 1]
        if new_window or step > limit or step < 0:
            bounds[n_segments] = f
            fresh[n_segments] = new_window
            n_segments += 1
    bounds[n_segments] = n
    return n_segments, limit


@njit(cache=True, nogil=True)
def _scan(data, a, start, bounds, n_segments, thr, vals, firsts, clock, limit):
    """One AU of one video in time order, segment by segment (see _segments).

    Copies the tracked (non-NaN) values to vals, the index there of each segment's
    first one to firsts (then their number), and returns their number and the runs: a
    run is a stretch of active frames within a segment, which goes on across untracked
    (NaN) frames while the time since the last tracked frame is at most limit. No
    branch on the values: NaN and activations come unannounced, a mispredicted branch
    costs more than the work.
    """
    m = runs = 0
    for k in range(n_segments):
        firsts[k] = m
        previous = 0
        last = clock[bounds[k]]
        for f in range(bounds[k], bounds[k + 1]):
            x = data[a, start + f]
            vals[m] = x
            tracked = np.int64(x == x)
            m += tracked
            on = np.int64(x >= thr)  # False for NaN
            previous *= np.int64(clock[f] - last <= limit)  # a longer gap ended the run
            runs += on & (previous ^ 1)
            previous = on | (previous * (1 - tracked))  # an untracked frame keeps it
            last = clock[f] if tracked else last
    firsts[n_segments] = m
    return m, runs


@njit(cache=True, nogil=True)
def _window_onsets(vals, firsts, fresh, n_segments, thr):
    """Onsets to add to _moments' changes at segment starts that follow a new window.

    _moments counts an active value after an inactive one (or first); an onset is an
    active tracked frame after an inactive tracked frame of the same window, or the
    first tracked frame of a window: where a window began since the value before, an
    active value after an active one is an onset too.
    """
    extra = 0
    new_window = False  # a window began since the last tracked value
    for k in range(1, n_segments):
        new_window |= fresh[k]
        i = firsts[k]
        if i < firsts[k + 1]:  # the segment has tracked values
            if new_window and i > 0 and vals[i] >= thr and vals[i - 1] >= thr:
                extra += 1
            new_window = False
    return extra


@njit(cache=True, nogil=True)
def _sort(a):
    """Sort a 1-D float array without NaN in place: insertion for a few values, else
    heapsort (O(n log n) always; numba's np.sort would triple the kernel's compile time)."""
    n = a.size
    if n <= _SMALL:
        for i in range(1, n):
            x = a[i]
            j = i - 1
            while j >= 0 and a[j] > x:
                a[j + 1] = a[j]
                j -= 1
            a[j + 1] = x
        return
    for root in range(n // 2 - 1, -1, -1):
        _sift_down(a, root, n)
    for end in range(n - 1, 0, -1):
        a[0], a[end] = a[end], a[0]
        _sift_down(a, 0, end)


@njit(cache=True, nogil=True)
def _sift_down(a, root, n):
    """Restore the max-heap a[:n] below root."""
    x = a[root]
    while True:
        child = 2 * root + 1
        if child >= n:
            break
        if child + 1 < n and a[child + 1] > a[child]:
            child += 1
        if a[child] <= x:
            break
        a[root] = a[child]
        root = child
    a[root] = x


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
def ranks_of(vals, m, low, high, n_low, n_high, n_bins, scale, ranks, out, scratch):
    """Values at ranks of vals[:m] sorted, written to out; exact.

    Ranks below the copies of the minimum hold the minimum (above m - copies of the
    maximum: the maximum). The others are found in the histogram that ``spread`` made:
    bin = floor((x - low) * scale) is monotone in x (each rounding is), so the bins
    in sorted order are the values in sorted order: a rank's value is among its bin's,
    and only those are sorted, in place at their ranks. Without a histogram
    (n_bins == 0: see histogram_bins) the whole row is sorted instead.
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
    if n_bins == 0:
        for i in range(m):
            picked[i] = vals[i]
        _sort(picked[:m])
        for k in range(ranks.size):
            if out[k] != out[k]:
                out[k] = picked[ranks[k]]
        return
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
        _sort(picked[first:stop])
        cursor[b] = -1
    for k in range(ranks.size):
        if out[k] != out[k]:
            out[k] = picked[ranks[k]]


@njit(cache=True, nogil=True)
def _moments(vals, m, thr):
    """Of vals[:m] (m > 0): minimum, maximum, sum, sum and number of the values >= thr
    (active), and the active values after an inactive one (or first).

    Four partial results side by side: a single one would wait on each step in turn.
    """
    l0 = l1 = l2 = l3 = h0 = h1 = h2 = h3 = vals[0]
    t0 = t1 = t2 = t3 = a0 = a1 = a2 = a3 = 0.0
    n_active = changes = previous = 0
    stop = m - m % 4
    for i in range(0, stop, 4):
        x0, x1, x2, x3 = vals[i], vals[i + 1], vals[i + 2], vals[i + 3]
        # no branch: activations are unpredictable
        o0, o1 = np.int64(x0 >= thr), np.int64(x1 >= thr)
        o2, o3 = np.int64(x2 >= thr), np.int64(x3 >= thr)
        l0, l1, l2, l3 = min(l0, x0), min(l1, x1), min(l2, x2), min(l3, x3)
        h0, h1, h2, h3 = max(h0, x0), max(h1, x1), max(h2, x2), max(h3, x3)
        t0, t1, t2, t3 = t0 + x0, t1 + x1, t2 + x2, t3 + x3
        a0, a1, a2, a3 = a0 + x0 * o0, a1 + x1 * o1, a2 + x2 * o2, a3 + x3 * o3
        n_active += o0 + o1 + o2 + o3
        changes += ((o0 & (previous ^ 1)) + (o1 & (o0 ^ 1)) + (o2 & (o1 ^ 1))
                    + (o3 & (o2 ^ 1)))
        previous = o3
    for i in range(stop, m):
        x0 = vals[i]
        o0 = np.int64(x0 >= thr)
        l0, h0, t0, a0 = min(l0, x0), max(h0, x0), t0 + x0, a0 + x0 * o0
        n_active += o0
        changes += o0 & (previous ^ 1)
        previous = o0
    return (min(min(l0, l1), min(l2, l3)), max(max(h0, h1), max(h2, h3)),
            (t0 + t1) + (t2 + t3), (a0 + a1) + (a2 + a3), n_active, changes)


@njit(cache=True, nogil=True)
def histogram_bins(m, low, high, max_bins):
    """Number of bins and scale of the histogram of a row of m values in [low, high].

    About 4 values a bin (short walks over the bins, tiny sorts in them); 0 bins where
    the span is too large or too small for a finite scale (ranks_of then sorts the row).
    """
    n_bins = 16
    while 4 * n_bins < m and n_bins < max_bins:
        n_bins *= 2
    span = high - low
    if not (np.isfinite(span) and span > 0):
        return 0, 0.0
    scale = n_bins / span
    return (n_bins, scale) if np.isfinite(scale) and scale > 0 else (0, 0.0)


@njit(cache=True, nogil=True)
def spread(vals, m, mean, low, high, n_bins, scale, scratch):
    """Sum of (x - mean)^2 over vals[:m] and the copies of its minimum and maximum; with
    n_bins > 0, also the histogram for ranks_of (bin = floor((x - low) * scale))."""
    hist, bins = scratch[0], scratch[1]
    s0 = s1 = s2 = s3 = 0.0
    n_low = n_high = 0
    top = n_bins - 1
    for b in range(n_bins):
        hist[b] = 0
    stop = m - m % 4
    for i in range(0, stop, 4):
        x0, x1, x2, x3 = vals[i], vals[i + 1], vals[i + 2], vals[i + 3]
        d0, d1, d2, d3 = x0 - mean, x1 - mean, x2 - mean, x3 - mean
        s0, s1, s2, s3 = s0 + d0 * d0, s1 + d1 * d1, s2 + d2 * d2, s3 + d3 * d3
        n_low += (x0 == low) + (x1 == low) + (x2 == low) + (x3 == low)
        n_high += (x0 == high) + (x1 == high) + (x2 == high) + (x3 == high)
        if n_bins:
            for j in range(i, i + 4):
                b = min(int((vals[j] - low) * scale), top)
                bins[j] = b
                hist[b] += 1
    for i in range(stop, m):
        d0 = vals[i] - mean
        s0 += d0 * d0
        n_low += vals[i] == low
        n_high += vals[i] == high
        if n_bins:
            b = min(int((vals[i] - low) * scale), top)
            bins[i] = b
            hist[b] += 1
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
    firsts = np.empty(width + 1, dtype=np.int64)
    vals = np.empty(width)
    clock = np.empty(width)
    nq = quantiles.size
    scratch = rank_scratch(width, max(2 * nq, 2))  # 2: the median step of _segments
    ranks = np.empty(2 * nq, dtype=np.int64)  # the rank below and above each percentile
    at = np.empty(2 * nq)
    base = len(FIELDS)
    for v in range(n_videos):
        start = offsets[v]
        n = offsets[v + 1] - start
        thr = thresholds[v]
        if thr != thr:  # the scale from the values (lost frames too): 0-5 when any exceeds 1
            above = False
            for a in range(n_aus):
                for f in range(start, start + n):
                    above |= data[a, f] > 1.0
            thr = infer[1] if above else infer[0]
        n_segments, limit = _segments(data, extras, start, n, bounds, fresh, scratch, clock)
        for a in range(n_aus):
            row = out[v, a]
            m, runs = _scan(data, a, start, bounds, n_segments, thr, vals, firsts, clock,
                            limit)
            row[_COUNT] = m
            if m == 0:
                continue
            # Two passes over the tracked values (in the CPU cache): sums, then deviations.
            low, high, total, total_active, n_active, onsets = _moments(vals, m, thr)
            onsets += _window_onsets(vals, firsts, fresh, n_segments, thr)
            mean = total / m
            n_bins, scale = histogram_bins(m, low, high, scratch[0].size) if nq else (0, 0.0)
            square, n_low, n_high = spread(vals, m, mean, low, high, n_bins, scale, scratch)
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
            ranks_of(vals, m, low, high, n_low, n_high, n_bins, scale, ranks, at, scratch)
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
