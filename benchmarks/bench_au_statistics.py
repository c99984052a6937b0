"""AUStatistics against a plain pandas groupby computing the same statistics.

Run ``python benchmarks/bench_au_statistics.py`` (1,000 and 10,000 videos of
225-675 frames, 20 AUs, 1% NaN cells) or add ``--quick`` (1,000 videos only).
Both sides start from the same list of per-video frame tables and compute, per
video and AU: mean, std (ddof=0), 10th/50th/90th percentiles, max, activation
rate (>= 1 on the 0-5 scale) and onset count (a NaN frame neither starts nor
ends an activation: the state is carried over it, as AUStatistics documents).
The results are checked to agree (rtol 1e-9) before the timings are printed.
Markdown goes to stdout, progress to stderr.
"""

import argparse
import platform
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
    """The reference: one long table, groupby video."""
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
    # The state seen last (NaN frames carry it): an onset is a change to active from it.
    state = active.astype(float).where(long.notna())
    previous = state.groupby(level="video").ffill().groupby(level="video").shift(1)
    parts["onsets"] = (active & previous.ne(1.0)).groupby(level="video").sum().astype(float)
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


def measure(n_videos, repeat):
    """Seconds of pandas and of AUStatistics on the same tables (best of repeat runs)."""
    tables, aus = make_tables(n_videos, 450, 20)
    print(f"{n_videos} videos: timing ...", file=sys.stderr)
    t_ours, ours = best_of(lambda: with_skpersona(tables), repeat)
    t_pandas, ref = best_of(lambda: with_pandas(tables, aus), repeat)
    np.testing.assert_allclose(ours, ref.to_numpy(), rtol=1e-9, atol=1e-9)
    return n_videos, sum(len(t) for t in tables), len(aus), t_pandas, t_ours


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 videos only")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    rows = [measure(n, args.repeat) for n in ([1_000] if args.quick else [1_000, 10_000])]
    print(f"{rows[0][2]} AUs x {len(STATS)} statistics ({', '.join(STATS)}) per video; "
          f"225-675 frames a video, 1% NaN cells; best of {args.repeat} runs; results agree "
          f"(rtol 1e-9). {platform.machine()}, Python {platform.python_version()}, numpy "
          f"{np.__version__}, pandas {pd.__version__}.")
    print()
    print("| videos | frames | pandas groupby (s, reference) | AUStatistics (s) | speed-up |")
    print("|---:|---:|---:|---:|---:|")
    for n_videos, n_frames, _, t_pandas, t_ours in rows:
        print(f"| {n_videos:,} | {n_frames:,} | {t_pandas:.2f} | {t_ours:.2f} | "
              f"{t_pandas / t_ours:.1f}x |")


if __name__ == "__main__":
    main()
