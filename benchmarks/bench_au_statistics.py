"""AUStatistics against a plain pandas groupby computing the same statistics.

Run ``python benchmarks/bench_au_statistics.py`` (1,000 and 10,000 videos of
225-675 frames, 20 AUs, 1% NaN cells) or add ``--quick`` (1,000 videos only).
Both sides start from the same list of per-video frame tables and compute, per
video and AU: mean, std (ddof=0), 10th/50th/90th percentiles, max, activation
rate (>= 1 on the 0-5 scale) and onset count (a NaN frame neither starts nor
ends an activation: the state is carried over it, as AUStatistics documents).
The results are checked to agree (rtol 1e-9) before the timings are printed.
AUStatistics runs its compiled (numba) kernel on one thread; the table times
warm calls (best of ``--repeat``). The kernel's one-off cost is timed apart, in
fresh processes: compiling it (an empty numba cache) and loading it from the
on-disk cache (every later process); ``--no-compile`` skips that.
Markdown goes to stdout, progress to stderr.
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skpersona.au import AUStatistics  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
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


def timed(fn):
    """fn's result, wall-clock seconds and CPU seconds of this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


_FIRST_CALL = """
import time
import numpy as np, pandas as pd
from skpersona.au import AUStatistics
table = pd.DataFrame(np.random.default_rng(0).uniform(0, 5, (450, 20)),
                     columns=[f"AU{i:02d}" for i in range(1, 21)])
start = time.perf_counter()
AUStatistics().fit([table]).transform([table])
print(time.perf_counter() - start)
"""


def first_calls():
    """Seconds of a first AUStatistics call in a fresh process: compiling, then cached."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
        times = []
        for step in ("compiling the kernel", "loading it from the cache"):
            print(f"first call, {step} ...", file=sys.stderr)
            done = subprocess.run([sys.executable, "-c", _FIRST_CALL], env=env, check=True,
                                  capture_output=True, text=True)
            times.append(float(done.stdout.split()[-1]))
    return times


def measure(n_videos, repeat):
    """Best wall-clock and CPU seconds of pandas and of AUStatistics on the same tables.

    The two alternate, run by run, so that both meet the same load on a shared machine.
    """
    tables, aus = make_tables(n_videos, 450, 20)
    print(f"{n_videos} videos: timing ...", file=sys.stderr)
    with_skpersona(tables[:1])  # the compiled kernel is loaded once per process, not timed
    best = {"pandas": [np.inf, np.inf], "ours": [np.inf, np.inf]}
    for _ in range(repeat):
        ours, wall, cpu = timed(lambda: with_skpersona(tables))
        best["ours"] = [min(best["ours"][0], wall), min(best["ours"][1], cpu)]
        ref, wall, cpu = timed(lambda: with_pandas(tables, aus))
        best["pandas"] = [min(best["pandas"][0], wall), min(best["pandas"][1], cpu)]
        np.testing.assert_allclose(ours, ref.to_numpy(), rtol=1e-9, atol=1e-9)
    return n_videos, sum(len(t) for t in tables), len(aus), best["pandas"], best["ours"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 videos only")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip timing the kernel's compilation in fresh processes")
    args = parser.parse_args()
    import numba

    rows = [measure(n, args.repeat) for n in ([1_000] if args.quick else [1_000, 10_000])]
    compile_s, cached_s = (None, None) if args.no_compile else first_calls()
    print(f"{rows[0][2]} AUs x {len(STATS)} statistics ({', '.join(STATS)}) per video; "
          f"225-675 frames a video, 1% NaN cells; best of {args.repeat} warm runs, alternating; results "
          f"agree (rtol 1e-9). {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"numba {numba.__version__}; load average {os.getloadavg()[0]:.1f} at the end.")
    print()
    print("| videos | frames | pandas groupby: wall s (CPU s), reference | AUStatistics, numba "
          "kernel, 1 thread: wall s (CPU s) | speed-up: wall (CPU) |")
    print("|---:|---:|---:|---:|---:|")
    for n_videos, n_frames, _, (w_pandas, c_pandas), (w_ours, c_ours) in rows:
        print(f"| {n_videos:,} | {n_frames:,} | {w_pandas:.2f} ({c_pandas:.2f}) | {w_ours:.2f} "
              f"({c_ours:.2f}) | {w_pandas / w_ours:.1f}x ({c_pandas / c_ours:.1f}x) |")
    if compile_s is not None:
        print()
        print(f"Not in the table: the first AUStatistics call of a fresh process (one video) "
              f"takes {compile_s:.1f} s when it compiles the kernel (empty numba cache: once "
              f"per installation) and {cached_s:.2f} s when it loads it from numba's on-disk "
              "cache (every later process).")


if __name__ == "__main__":
    main()
