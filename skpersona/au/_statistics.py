"""Temporal statistics of frame tables: one feature row per video, vectorised."""

import re
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._facs import CO_ACTIVATIONS, au_label, co_activation_name
from ._frames import as_frame_tables, au_columns, resolve_threshold, table_scale

#: Statistics computed by default, one column per AU and statistic.
DEFAULT_STATISTICS = (
    "mean", "std", "p10", "p50", "p90", "max",
    "active_rate", "active_mean", "onsets", "burst_mean",
)
_NAMED = {"mean", "std", "min", "max", "active_rate", "active_mean", "onsets",
          "onset_rate", "burst_mean"}
_PERCENTILE = re.compile(r"^p(\d+(?:\.\d+)?)$")
_CHUNK_ELEMENTS = 1 << 22  # padded cells per chunk (about 32 MiB of float64)


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


def _blocks(tables, aus):
    """The (n_frames, n_aus) float array of each table (views where possible)."""
    blocks, lengths = [], np.empty(len(tables), dtype=np.int64)
    layouts = {}  # column tuple -> positions of the AUs (-1 when absent)
    for i, table in enumerate(tables):
        key = tuple(table.columns)
        positions = layouts.get(key)
        if positions is None:
            positions = layouts[key] = table.columns.get_indexer(aus)
        if (positions >= 0).all():
            try:  # one numeric block: avoids pandas' per-call column lookup
                block = table.to_numpy(dtype=np.float64, na_value=np.nan)
                if block.shape[1] != len(positions) or (positions != np.arange(len(positions))).any():
                    block = block[:, positions]
            except (TypeError, ValueError):
                block = table.iloc[:, positions].to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            block = table.reindex(columns=aus).to_numpy(dtype=np.float64, na_value=np.nan)
        blocks.append(block)
        lengths[i] = block.shape[0]
    return blocks, lengths


def _chunks(lengths, budget):
    """Group videos (sorted by length) so each padded chunk holds <= budget cells."""
    order = np.argsort(lengths, kind="stable")
    chunks, start = [], 0
    n = len(order)
    while start < n:
        stop = start + 1
        while stop < n and (stop + 1 - start) * max(lengths[order[stop]], 1) <= budget:
            stop += 1
        chunks.append(order[start:stop])
        start = stop
    return chunks


def frame_statistics(tables, aus, statistics=DEFAULT_STATISTICS, thresholds=None,
                     co_activations=(), chunk_elements=_CHUNK_ELEMENTS):
    """Compute per-video statistics of AU columns (the engine of AUStatistics).

    Parameters
    ----------
    tables : list of DataFrame
    aus : list of str
        AU columns, in output order; missing columns give NaN statistics.
    statistics : sequence of str
    thresholds : ndarray of shape (n_videos,)
        Absolute activation threshold of each video (its own scale).
    co_activations : sequence of tuple of str
        AU combinations whose joint activation rate is added.

    Returns
    -------
    ndarray of shape (n_videos, len(aus) * len(statistics) + len(co_activations))
        Columns ordered AU-major (all statistics of the first AU, then the
        next), then the co-activation rates.
    """
    stats = list(statistics)
    n_videos, n_aus, n_stats = len(tables), len(aus), len(stats)
    blocks, lengths = _blocks(tables, aus)
    if thresholds is None:
        thresholds = np.full(n_videos, 0.5)
    thresholds = np.asarray(thresholds, dtype=float)
    combos = [[aus.index(a) for a in combo] for combo in co_activations]
    out = np.full((n_videos, n_aus, n_stats), np.nan)
    co_out = np.full((n_videos, len(combos)), np.nan)
    percentiles = {s: float(_PERCENTILE.match(s).group(1)) for s in stats if _PERCENTILE.match(s)}
    need_active = any(s in stats for s in ("active_rate", "active_mean", "onsets",
                                           "onset_rate", "burst_mean")) or combos
    budget = max(chunk_elements // max(n_aus, 1), 1)
    for chunk in _chunks(lengths, budget):
        n_c = len(chunk)
        max_len = int(lengths[chunk].max()) if n_c else 0
        if max_len == 0:
            continue
        # Padded cube (video, AU, frame); NaN marks padding and missing values.
        cube = np.full((n_c, n_aus, max_len), np.nan)
        for j, video in enumerate(chunk):
            cube[j, :, : lengths[video]] = blocks[video].T
        valid = ~np.isnan(cube)
        count = valid.sum(axis=2)
        has = count > 0
        safe_count = np.where(has, count, 1)
        filled = np.where(valid, cube, 0.0)
        mean = filled.sum(axis=2) / safe_count
        res = {}
        if "mean" in stats:
            res["mean"] = mean
        if "std" in stats:
            dev = filled - mean[:, :, None]
            dev[~valid] = 0.0
            res["std"] = np.sqrt(np.einsum("ijk,ijk->ij", dev, dev) / safe_count)
            del dev
        if "max" in stats:  # fmax/fmin skip NaN
            res["max"] = np.fmax.reduce(cube, axis=2)
        if "min" in stats:
            res["min"] = np.fmin.reduce(cube, axis=2)
        if percentiles:
            ordered = np.sort(cube, axis=2)  # NaN sorts last
            for name, q in percentiles.items():
                position = q / 100.0 * (safe_count - 1)
                low = np.floor(position).astype(np.int64)
                high = np.minimum(low + 1, safe_count - 1)
                frac = position - low
                v_low = np.take_along_axis(ordered, low[:, :, None], axis=2)[:, :, 0]
                v_high = np.take_along_axis(ordered, high[:, :, None], axis=2)[:, :, 0]
                res[name] = v_low + frac * (v_high - v_low)
        if need_active:
            thr = thresholds[chunk][:, None, None]
            active = cube >= thr  # False on NaN
            n_active = active.sum(axis=2)
            onsets = (active[:, :, :1]).sum(axis=2) + (active[:, :, 1:] & ~active[:, :, :-1]).sum(axis=2)
            if "active_rate" in stats:
                res["active_rate"] = n_active / safe_count
            if "active_mean" in stats:
                res["active_mean"] = np.where(
                    n_active > 0, np.where(active, filled, 0.0).sum(axis=2) / np.maximum(n_active, 1), 0.0)
            if "onsets" in stats:
                res["onsets"] = onsets.astype(float)
            if "onset_rate" in stats:
                res["onset_rate"] = onsets / safe_count
            if "burst_mean" in stats:
                res["burst_mean"] = np.where(onsets > 0, n_active / np.maximum(onsets, 1), 0.0)
            for k, members in enumerate(combos):
                joint_valid = valid[:, members, :].all(axis=1)
                joint = active[:, members, :].all(axis=1)
                n_valid = joint_valid.sum(axis=1)
                co_out[chunk, k] = np.where(n_valid > 0, joint.sum(axis=1) / np.maximum(n_valid, 1),
                                            np.nan)
        block = np.stack([res[s] for s in stats], axis=2)
        block[~has] = np.nan
        out[chunk] = block
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
    Videos of any length are computed together on a padded array in chunks
    (no Python loop over videos), so 10,000 videos of 450 frames and 20 AUs
    take a few seconds.

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
        Intensity scale of every table (``"0-5"`` or ``"0-1"``). None: each
        table's ``attrs["au_scale"]``, inferred from its values when absent.
    fill_value : float, default=nan
        Replaces NaN statistics (videos without any frame, AUs missing from a
        table). NaN keeps them for a ``SimpleImputer`` or a NaN-aware model.

    Notes
    -----
    Rows are taken as consecutive frames of one face (onsets and bursts follow
    row order). For tables with several faces per frame (``face_id``), keep
    one face first, e.g. ``table[table.face_id == 0]``.

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
        if self.aus is None:
            seen = {c for t in tables for c in au_columns(t)}
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
        thresholds = np.array([
            resolve_threshold(self.threshold, self.au_scale or table_scale(t)) for t in tables
        ])
        out = frame_statistics(tables, self.aus_, self.statistics_, thresholds,
                               self.co_activations_)
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
