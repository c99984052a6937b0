"""Independence tests in loops: IndependenceTester against causal-learn's CIT, and PC runs.

Per-call time of ``IndependenceTester`` (data given once, caches kept) against
causal-learn's ``CIT`` objects on the same data and the same distinct ``(x, y, S)``
triples (no cache hits on either side), with the largest p-value difference; then
causal-learn's ``pc`` with its own tests against ``pc`` with skpersona's tests
(``register_causallearn``), same graph required, best of k runs each.

Data (nothing is downloaded):

* discrete: causal-learn's own PC benchmark file ``data_discrete_10.txt`` (10,000 x 20,
  copied gzipped into ``tests/data/causallearn/`` with the graph causal-learn's PC
  returns on it);
* continuous: linear-Gaussian data over causal-learn's ``graph.10.txt`` (20 nodes, 30
  edges), drawn with causal-learn's generator ``simulate_linear_continuous_data``
  (``tests/utils_simulate_data.py``; reproduced here draw for draw, seed 42), because its
  1.5 MB ``data_linear_10.txt`` is not copied.

``python benchmarks/bench_independence_loops.py [--quick]`` (quick: about a minute).
"""

import argparse
import gzip
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "causallearn"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def load_discrete():
    with gzip.open(DATA / "data_discrete_10.txt.gz") as handle:
        data = np.loadtxt(handle, skiprows=1)
    expected = np.loadtxt(DATA / "discrete_10_pc_chisq_0.05_stable_0_-1.txt")
    return data, expected


def graph_edges(path=DATA / "graph.10.txt"):
    """``(parent, child)`` 0-based pairs of a causal-learn ``graph.*.txt`` file."""
    lines = Path(path).read_text().splitlines()
    nodes = lines[1].split(";")
    edges = []
    for line in lines[lines.index("Graph Edges:") + 1 :]:
        if "-->" in line:
            a, b = line.split(". ", 1)[1].split(" --> ")
            edges.append((nodes.index(a.strip()), nodes.index(b.strip())))
    return len(nodes), edges


def simulate_linear(n_samples, seed=42):
    """causal-learn's ``simulate_linear_continuous_data`` (Gaussian noise, weights
    U(0.5, 0.9), half negative), same draws for the same seed, over ``graph.10.txt``."""
    n_nodes, edges = graph_edges()
    rs = np.random.RandomState(seed)  # causal-learn seeds the legacy global generator
    adjacency = np.zeros((n_nodes, n_nodes))
    adjacency[tuple(zip(*edges))] = 1
    adjacency = adjacency.T
    weights = rs.uniform(0.5, 0.9, (n_nodes, n_nodes))
    flip = rs.choice(np.arange(weights.size), replace=False, size=int(weights.size * 0.5))
    weights[np.unravel_index(flip, weights.shape)] *= -1.0
    mixing = np.linalg.inv(np.eye(n_nodes) - adjacency * weights)
    noise = rs.normal(0, 1, (n_nodes, n_samples))
    return (mixing @ noise).T


def triples(n_vars, count, max_cond, seed=0):
    """Distinct ``(x, y, S)`` with ``x < y`` and ``|S| <= max_cond``."""
    rng = np.random.default_rng(seed)
    seen, out = set(), []
    while len(out) < count:
        x, y = sorted(rng.choice(n_vars, 2, replace=False).tolist())
        rest = [k for k in range(n_vars) if k not in (x, y)]
        size = int(rng.integers(0, max_cond + 1))
        cond = sorted(rng.choice(rest, size, replace=False).tolist())
        key = (x, y, tuple(cond))
        if key not in seen:
            seen.add(key)
            out.append((x, y, cond))
    return out


def per_call(method, data, calls, **kwargs):
    """(setup s, per-call s and p-values) for causal-learn's CIT and ours."""
    from causallearn.utils.cit import CIT

    from skpersona.independence import IndependenceTester

    out = {}
    for side in ("causal-learn", "skpersona"):
        start = time.perf_counter()
        if side == "causal-learn":
            tester = CIT(data, "chisq" if method == "chi2" else method, **kwargs)
        else:
            tester = IndependenceTester(data, method, **kwargs)
        setup = time.perf_counter() - start
        start = time.perf_counter()
        pvalues = np.array([tester(x, y, s) for x, y, s in calls])
        out[side] = (setup, (time.perf_counter() - start) / len(calls), pvalues)
    return out


def speed_table(quick):
    discrete, _ = load_discrete()
    continuous = simulate_linear(10_000)
    rows = []
    plan = [
        ("fisherz", continuous, (1_000, 10_000), 300 if quick else 1000, 3),
        ("chi2", discrete, (1_000, 10_000), 200 if quick else 600, 3),
        ("gsq", discrete, (1_000, 10_000), 200 if quick else 600, 3),
        ("kci", continuous, (1_000,), 4 if quick else 8, 0),
        ("kci", continuous, (300,) if quick else (500,), 2 if quick else 4, 1),
    ]
    for method, data, sizes, count, max_cond in plan:
        for n in sizes:
            log(f"per call: {method} n={n} ({count} calls, |S| <= {max_cond})")
            calls = triples(data.shape[1], count, max_cond, seed=n)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = per_call(method, data[:n], calls)
            (s_ref, t_ref, p_ref), (s_our, t_our, p_our) = res["causal-learn"], res["skpersona"]
            rows.append(
                f"| {method} | {n:,} | {count} | 0-{max_cond} | {s_ref * 1e3:.1f} | "
                f"{s_our * 1e3:.1f} | {_fmt(t_ref)} | {_fmt(t_our)} | {t_our / t_ref:.2f} | "
                f"{np.max(np.abs(p_ref - p_our)):.1e} |"
            )
    print("### Per call: IndependenceTester against causal-learn's CIT\n")
    print(
        "Distinct `(x, y, S)` triples, so neither side's p-value cache helps; setup is "
        "building the object (ours also checks and encodes every column; its Fisher-z "
        "correlation matrix is built on the first call and counted in the per-call "
        "mean). Ratio = ours / causal-learn (below 1: we are faster).\n"
    )
    print(
        "| test | n | calls | \\|S\\| | causal-learn setup (ms) | ours setup (ms) | "
        "causal-learn per call | ours per call | ratio | max \\|p difference\\| |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(
        "\nKCI at n = 10,000 is not run: every dense kernel matrix takes 0.8 GB and the "
        "conditional test O(n^3) time on either side (use `method='rcit'` or the large-n "
        "kernel test there).\n"
    )


def _fmt(seconds):
    return f"{seconds * 1e6:.0f} µs" if seconds < 0.01 else f"{seconds:.2f} s"


def best_of(k, func, *args, **kwargs):
    times, result = [], None
    for _ in range(k):
        start = time.perf_counter()
        result = func(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return min(times), result


def pc_table(quick):
    from causallearn.search.ConstraintBased.PC import pc

    from skpersona.independence import register_causallearn

    repeats = 2 if quick else 5
    discrete, expected = load_discrete()
    continuous = simulate_linear(10_000)
    rows = []
    runs = [
        ("causal-learn `data_discrete_10.txt` (10,000 x 20)", discrete, "chisq",
         (True, 0, -1)),
        ("causal-learn `data_discrete_10.txt` (10,000 x 20)", discrete, "gsq", (True, 0, -1)),
        ("linear-Gaussian over `graph.10.txt` (10,000 x 20)", continuous, "fisherz", ()),
    ]
    for label, data, method, args in runs:
        log(f"pc: {method} on {label} (best of {repeats})")
        ours = register_causallearn(method)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_ref, g_ref = best_of(repeats, pc, data, 0.05, method, *args, show_progress=False)
            t_our, g_our = best_of(repeats, pc, data, 0.05, ours, *args, show_progress=False)
        same = bool(np.array_equal(g_ref.G.graph, g_our.G.graph))
        stored = ""
        if method in ("chisq", "gsq"):
            stored = "yes" if np.array_equal(g_our.G.graph, expected) else "NO"
        n_edges = int(np.count_nonzero(np.triu((g_our.G.graph != 0) | (g_our.G.graph.T != 0))))
        rows.append(
            f"| {label} | {method} | {t_ref:.3f} | {t_our:.3f} | {t_our / t_ref:.2f} | "
            f"{'yes' if same else 'NO'} | {stored or '-'} | {n_edges} |"
        )
    print("### PC: causal-learn's tests against skpersona's, same graph\n")
    print(
        f"`pc(data, 0.05, test)` with causal-learn's test name against "
        f"`pc(data, 0.05, register_causallearn(test))`, best of {repeats} runs each; "
        "'stored graph' compares with the result file causal-learn's own TestPC checks.\n"
    )
    print(
        "| data | test | causal-learn (s) | skpersona (s) | ratio | same graph | "
        "stored graph | edges |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and repeats")
    args = parser.parse_args(argv)
    speed_table(args.quick)
    pc_table(args.quick)


if __name__ == "__main__":
    main()
