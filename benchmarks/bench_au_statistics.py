"""AUStatistics against a plain pandas groupby computing the same statistics.

Run ``python benchmarks/bench_au_statistics.py`` (10,000 videos x 450 frames x
20 AUs) or add ``--quick`` (1,000 videos). Both sides start from the same list
of per-video frame tables and compute, per video and AU: mean, std (ddof=0),
10th/50th/90th percentiles, max, activation rate (>= 1 on the 0-5 scale) and
onset count. The results are checked to agree before timing is reported.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skpersona.au import AUStatistics  # noqa: E402

STATS = ["mean", "std", "p10", "p50", "p90", "max", "active_rate", "onsets"]


def make_tables(n_videos, n_frames, n_aus, seed=0):
    rng = np.random.default_rng(seed)
    aus = [f"AU{i:02d}" for i in range(1, n_aus + 1)]
    tables = []
    for _ in range(n_videos):
        n = int(rng.integers(n_frames // 2, n_frames * 3 // 2))  # variable lengths
        values = np.clip(rng.normal(0.8, 1.2, (n, n_aus)), 0, 5)
        values[rng.random((n, n_aus)) < 0.01] = np.nan  # a few failed frames
        table = pd.DataFrame(values, columns=aus)
        table.attrs["au_scale"] = "0-5"
        tables.append(table)
    return tables, aus


def with_pandas(tables, aus, threshold=1.0):
    long = pd.concat(tables, keys=range(len(tables)), names=["video", "row"])
    long = long.reset_index(level="row", drop=True)
    grouped = long.groupby(level="video")
    parts = {
        "mean": grouped.mean(),
        "std": grouped.std(ddof=0),
        "p10": grouped.quantile(0.10),
        "p50": grouped.quantile(0.50),
        "p90": grouped.quantile(0.90),
        "max": grouped.max(),
    }
    active = long.ge(threshold)
    counts = grouped.count()
    parts["active_rate"] = active.groupby(level="video").sum() / counts
    previous = active.groupby(level="video").shift(1, fill_value=False)
    parts["onsets"] = (active & ~previous).groupby(level="video").sum().astype(float)
    columns = {f"{a}_{s}": parts[s][a].to_numpy() for a in aus for s in STATS}
    return pd.DataFrame(columns)


def with_skpersona(tables):
    stats = AUStatistics(statistics=STATS, co_activations=None)
    return stats.fit(tables).transform(tables)


def best_of(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 videos instead of 10,000")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    n_videos = 1_000 if args.quick else 10_000
    tables, aus = make_tables(n_videos, 450, 20)
    n_frames = sum(len(t) for t in tables)
    t_ours, ours = best_of(lambda: with_skpersona(tables), args.repeat)
    t_pandas, ref = best_of(lambda: with_pandas(tables, aus), args.repeat)
    np.testing.assert_allclose(ours, ref.to_numpy(), rtol=1e-9, atol=1e-9)
    print(f"{n_videos} videos, {n_frames} frames, {len(aus)} AUs, {len(STATS)} statistics "
          f"per AU (results agree)")
    print(f"{'method':<32}{'seconds':>10}{'ratio':>10}")
    print(f"{'pandas groupby (reference)':<32}{t_pandas:>10.2f}{1.0:>10.2f}")
    print(f"{'AUStatistics':<32}{t_ours:>10.2f}{t_pandas / t_ours:>10.2f}")


if __name__ == "__main__":
    main()
