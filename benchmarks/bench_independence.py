"""Independence tests: calibration, power, agreement with causal-learn, speed, full screen.

``python benchmarks/bench_independence.py`` runs calibration, power and agreement
(about 8 minutes on 2 cores; ``--quick``: about 3); speed and the full screen are in
``benchmarks/bench_independence_speed.py``. ``--only`` picks parts among
calibration, power, agreement, speed, screen.

* calibration: rejection rate at alpha = 0.05 under (conditional) independence over
  many simulated data sets, with a 95% binomial interval;
* power: rejection rate on a zero-correlation nonlinear dependence
  ``y = a (x^2 - 1) + noise`` as the strength ``a`` grows;
* agreement: our p-values against causal-learn's on the same data (KCI
  unconditional and conditional, Fisher-z, chi-square, G-square);
* speed: our KCI against causal-learn's ``KCI_UInd`` / ``KCI_CInd`` at n = 500,
  1,000, 2,000, and ``method="auto"`` (RCIT above 1,000 rows);
* screen: ``DependencyScreen`` on a 10,000 x 20 mixed table on 2 cores.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skpersona.independence import DependencyScreen, independence_test  # noqa: E402


def _wilson(k, n, z=1.96):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _null_data(kind, n, rng):
    """Independent (given z) pairs with non-Gaussian marginals."""
    if kind == "discrete":
        z = rng.integers(0, 3, size=n)
        x = (z + rng.integers(0, 3, size=n)) % 4
        y = (z * 2 + rng.integers(0, 2, size=n)) % 3
        return x, y, z
    z = rng.normal(size=n)
    x = np.tanh(z) + 0.5 * rng.exponential(size=n)
    y = z**2 / 2 + 0.5 * rng.uniform(-1, 1, size=n)
    return x, y, z


def calibration(quick):
    reps = 60 if quick else 150
    n = 200
    specs = [
        ("kci", "continuous", False, reps),
        ("kci", "continuous", True, reps),
        ("rcit", "continuous", False, reps),
        ("rcit", "continuous", True, reps),
        ("fastkci", "continuous", False, 6 if quick else 12),
        ("fisherz", "continuous", False, reps),
        ("hsic", "continuous", False, reps),
        ("hsic_perm", "continuous", False, reps // 2),
        ("hsic_rff", "continuous", False, reps),
        ("chi2", "discrete", False, reps),
        ("chi2", "discrete", True, reps),
        ("gsq", "discrete", False, reps),
        ("gsq", "discrete", True, reps),
    ]
    rows = []
    for method, kind, conditional, r in specs:
        rng = np.random.default_rng(0)
        pvalues = []
        start = time.perf_counter()
        for i in range(r):
            x, y, z = _null_data(kind, n, rng)
            if not conditional:
                # independent marginals: fresh z for x and y
                x2, _, _ = _null_data(kind, n, rng)
                x = x2
            opts = {"n_permutations": 200} if method == "hsic_perm" else {}
            opts.update({"J": 2} if method == "fastkci" else {})
            res = independence_test(
                x, y, z if conditional else None, method=method, random_state=i, **opts
            )
            pvalues.append(res.pvalue)
        pvalues = np.asarray(pvalues)
        k = int((pvalues < 0.05).sum())
        lo, hi = _wilson(k, r)
        rows.append(
            {
                "method": method,
                "data": kind,
                "conditional": conditional,
                "n": n,
                "datasets": r,
                "rejection@0.05": k / r,
                "95% CI": f"[{lo:.3f}, {hi:.3f}]",
                "s/test": (time.perf_counter() - start) / r,
            }
        )
    return pd.DataFrame(rows)


def power(quick):
    reps = 30 if quick else 80
    n = 200
    strengths = [0.0, 0.1, 0.2, 0.3, 0.5]
    methods = ["kci", "rcit", "hsic", "hsic_rff", "fisherz"]
    table = pd.DataFrame(index=strengths, columns=methods, dtype=float)
    for a in strengths:
        for method in methods:
            rng = np.random.default_rng(1)
            hits = 0
            for i in range(reps):
                x = rng.normal(size=n)
                y = a * (x**2 - 1) + rng.normal(size=n)
                hits += independence_test(x, y, method=method, random_state=i).pvalue < 0.05
            table.loc[a, method] = hits / reps
    table.index.name = "strength a"
    return table


def agreement(quick):
    from causallearn.utils.cit import CIT
    from causallearn.utils.KCI.KCI import KCI_CInd, KCI_UInd

    reps = 8 if quick else 20
    diffs = {k: [] for k in ["kci", "kci | z", "fisherz | z", "chi2 | z", "gsq | z"]}
    for i in range(reps):
        rng = np.random.default_rng(100 + i)
        n = 300
        x, y, z = _null_data("continuous", n, rng)
        y = y + 0.15 * np.sin(3 * x)  # weak dependence: p-values spread over (0, 1)
        ours = independence_test(x, y, method="kci").pvalue
        ref = KCI_UInd().compute_pvalue(x[:, None], y[:, None])[0]
        diffs["kci"].append(abs(ours - ref))
        ours = independence_test(x, y, z, method="kci").pvalue
        ref = KCI_CInd().compute_pvalue(x[:, None], y[:, None], z[:, None])[0]
        diffs["kci | z"].append(abs(ours - ref))
        cit = CIT(np.column_stack([x, y, z]), "fisherz")
        diffs["fisherz | z"].append(
            abs(independence_test(x, y, z, method="fisherz").pvalue - cit(0, 1, [2]))
        )
        xd, yd, zd = _null_data("discrete", 500, rng)
        yd = np.where(rng.random(500) < 0.1, xd % 3, yd)
        for method, name in (("chi2", "chisq"), ("gsq", "gsq")):
            cit = CIT(np.column_stack([xd, yd, zd]), name)
            ours = independence_test(xd, yd, zd, method=method).pvalue
            diffs[f"{method} | z"].append(abs(ours - cit(0, 1, [2])))
    return pd.DataFrame(
        {
            "test": list(diffs),
            "datasets": reps,
            "max |p - p_causallearn|": [max(v) for v in diffs.values()],
            "mean |p - p_causallearn|": [float(np.mean(v)) for v in diffs.values()],
        }
    )


def _time(fn, repeat):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def speed(quick):
    from causallearn.utils.KCI.KCI import KCI_CInd, KCI_UInd

    sizes = [500, 1000] if quick else [500, 1000, 2000]
    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        x, y, z = _null_data("continuous", n, rng)
        X, Y, Z = x[:, None], y[:, None], z[:, None]
        repeat = 3 if n <= 1000 else 1
        t_ref_u = _time(lambda: KCI_UInd().compute_pvalue(X, Y), repeat)  # noqa: B023
        t_our_u = _time(lambda: independence_test(x, y, method="kci"), repeat)  # noqa: B023
        t_ref_c = _time(lambda: KCI_CInd().compute_pvalue(X, Y, Z), repeat)  # noqa: B023
        t_our_c = _time(lambda: independence_test(x, y, z, method="kci"), repeat)  # noqa: B023
        t_auto_c = _time(
            lambda: independence_test(x, y, z, random_state=0), repeat  # noqa: B023
        )
        auto = independence_test(x, y, z, random_state=0).method
        rows.append(
            {
                "n": n,
                "causal-learn KCI_UInd s": t_ref_u,
                "ours kci s": t_our_u,
                "speed-up uncond.": t_ref_u / t_our_u,
                "causal-learn KCI_CInd s": t_ref_c,
                "ours kci|z s": t_our_c,
                "speed-up cond.": t_ref_c / t_our_c,
                "auto|z picks": auto,
                "auto|z s": t_auto_c,
                "speed-up auto vs CInd": t_ref_c / t_auto_c,
            }
        )
    return pd.DataFrame(rows)


def screen(quick):
    n = 3000 if quick else 10_000
    rng = np.random.default_rng(7)
    cols = {}
    latent = rng.normal(size=(n, 4))
    for j in range(14):
        base = latent[:, j % 4]
        f = [np.sin, np.tanh, np.square, lambda v: v][j % 4]
        cols[f"c{j}"] = f(base) * (j < 8) + rng.normal(size=n)
    cols["gender"] = np.where(latent[:, 0] + rng.normal(size=n) > 0, "f", "m")
    cols["country"] = rng.choice(["de", "fr", "it", "es"], size=n)
    cols["language"] = np.where(rng.random(n) < 0.7, cols["country"], "en")
    for r in range(3):
        rating = np.clip(np.round(2 + latent[:, 1] + rng.normal(size=n)), 1, 3)
        rating[rng.random(n) < 0.15] = 0
        cols[f"rating{r}"] = rating
    df = pd.DataFrame(cols)
    truth = {frozenset(p) for p in [("c0", "c4"), ("c1", "c5"), ("c2", "c6"), ("c3", "c7"),
                                    ("gender", "c0"), ("gender", "c4"), ("country", "language")]}
    for r in range(3):
        truth |= {frozenset((f"rating{r}", c)) for c in ("c1", "c5")}
        truth |= {frozenset((f"rating{r}", f"rating{q}")) for q in range(r + 1, 3)}
    start = time.perf_counter()
    fitted = DependencyScreen(n_jobs=2, random_state=0).fit(df)
    elapsed = time.perf_counter() - start
    table = fitted.pvalues_
    found = {
        frozenset((r.x, r.y))
        for r in fitted.agreement_.itertuples()
        if r.decision == "dependent"
    }
    return pd.DataFrame(
        [
            {
                "rows": n,
                "variables": df.shape[1],
                "pairs": fitted.agreement_.shape[0],
                "tests": len(table),
                "methods": ",".join(sorted(table.method.unique())),
                "failed": int((table.status == "failed").sum()),
                "edges": int(np.nansum(fitted.adjacency_.to_numpy()) // 2),
                "true edges found": f"{len(found & truth)}/{len(truth)}",
                "false edges": len(found - truth),
                "mean agreement": round(float(fitted.agreement_.agreement.mean()), 3),
                "seconds (n_jobs=2)": round(elapsed, 1),
            }
        ]
    )


PARTS = {
    "calibration": calibration,
    "power": power,
    "agreement": agreement,
    "speed": speed,
    "screen": screen,
}


def main(argv=None, default_parts=("calibration", "power", "agreement")):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer data sets and sizes")
    parser.add_argument("--only", default=",".join(default_parts), help="comma-separated parts")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(f"cores: {os.cpu_count()}, quick: {args.quick}")
    for name in args.only.split(","):
        start = time.perf_counter()
        result = PARTS[name](args.quick)
        print(f"\n## {name} ({time.perf_counter() - start:.0f} s)")
        print(result.to_string(float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
