"""KCI speed against causal-learn, and the random-feature KCI at n = 100,000.

``python benchmarks/bench_kci.py [--quick] [--only exact|large] [--sets ...]``
(quick: a few minutes on 2 busy cores; the full large-n part: about 15 minutes, most of
it the 2,000 + 2,000 null sets at n = 1,000 and the conditional tests at n = 100,000).

* exact: ``independence_test(method="kci")`` against causal-learn's ``KCI_UInd`` /
  ``KCI_CInd`` (defaults, gamma null) on the same data, warm, best of 3 batches of
  calls lasting >= 0.2 s each (conditional: one call), with the largest p-value
  difference;
* large n: ``method="kci_rff"`` (random-feature KCI, our implementation) and
  causal-learn's RIT / RCIT as the reference in the same run: the rejection rate at
  alpha = 0.05 over many independent null data sets per n (``--sets``; the reference
  on ``--reference-share`` of them) with its 95% Wilson interval and whether that lies
  inside [0.03, 0.07]; seconds per test at n = 100,000 (one BLAS thread each); power on
  a weak dependence at n = 1,000 against exact KCI and RIT / RCIT;
* nonlinear z (part of ``--only large``): two null designs with a 3-D ``z`` acting
  nonlinearly at n = 20,000, ``kci_rff`` against causal-learn's RCIT, and power on
  ``y + 0.1 cos(2x)``.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_independence import _null_data, _time, _wilson  # noqa: E402

from skpersona.independence import independence_test  # noqa: E402


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def _per_call(fn, repeat=3, batch_s=0.2):
    """Seconds per call, best of ``repeat`` batches of calls lasting >= ``batch_s`` each
    (as ``timeit``: a millisecond call timed alone measures the scheduler on busy cores)."""
    fn()  # warm
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - start >= batch_s or number >= 1000:
            break
        number *= 2
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def _pair(n, rng, conditional):
    """Null data: x, y independent (given z when conditional), non-Gaussian marginals."""
    x, y, z = _null_data("continuous", n, rng)
    if not conditional:
        x = _null_data("continuous", n, rng)[0]
    return x, y, z


def _dependent(n, rng, conditional, strength):
    x, y, z = _pair(n, rng, conditional)
    return x, y + strength * np.cos(2 * x), z


def exact(quick):
    from causallearn.utils.KCI.KCI import KCI_CInd, KCI_UInd

    rows = []
    for n in (500, 1000, 2000):
        _log(f"exact KCI n={n}")
        rng = np.random.default_rng(n)
        diffs_u, diffs_c, pvalues = [], [], []
        for i in range(4):  # null and weak dependence: p-values spread over (0, 1)
            x, y, _ = _dependent(n, rng, False, 0.02 * i)
            X, Y = x[:, None], y[:, None]
            ref = KCI_UInd().compute_pvalue(X, Y)[0]
            diffs_u.append(abs(independence_test(x, y, method="kci").pvalue - ref))
            pvalues.append(ref)
        t_ref = _per_call(lambda: KCI_UInd().compute_pvalue(X, Y))  # noqa: B023
        t_our = _per_call(lambda: independence_test(x, y, method="kci"))  # noqa: B023
        row = {
            "n": n,
            "causal-learn KCI_UInd s": t_ref,
            "kci s": t_our,
            "speed-up": t_ref / t_our,
            "max abs p diff": max(diffs_u),
            "p range": f"{min(pvalues):.2g}-{max(pvalues):.2g}",
        }
        if not quick or n == 500:
            x, y, z = _dependent(n, rng, True, 0.1)  # independent given z, plus a little
            X, Y, Z = x[:, None], y[:, None], z[:, None]
            ref = KCI_CInd().compute_pvalue(X, Y, Z)
            t_ref_c = _time(lambda: KCI_CInd().compute_pvalue(X, Y, Z), 1)  # noqa: B023
            t_our_c = _time(lambda: independence_test(x, y, z, method="kci"), 1)  # noqa: B023
            diffs_c.append(abs(independence_test(x, y, z, method="kci").pvalue - ref[0]))
            row.update(
                {
                    "KCI_CInd s": t_ref_c,
                    "kci given z s": t_our_c,
                    "speed-up given z": t_ref_c / t_our_c,
                    "abs p diff given z": diffs_c[0],
                }
            )
        rows.append(row)
    return rows


def _causallearn_rcit(x, y, z):
    from causallearn.utils.RCIT.RCIT import RCIT, RIT

    if z is None:
        return RIT().compute_pvalue(x[:, None], y[:, None])[0]
    return RCIT().compute_pvalue(x[:, None], y[:, None], z[:, None])[0]


def _ours(x, y, z, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the large-n conditional warning: measured here
        return independence_test(x, y, z, method="kci_rff", random_state=seed).pvalue


def _reference(x, y, z, seed):
    np.random.seed(seed)  # noqa: NPY002 - causal-learn draws from the global state
    return _causallearn_rcit(x, y, z)


def _exact_kci(x, y, z, seed):
    return independence_test(x, y, z, method="kci").pvalue


TESTS = {"kci_rff (ours)": _ours, "causal-learn RIT/RCIT": _reference}


def _rejections(run, n, reps, conditional, seed, strength=0.0):
    """p-values of ``run`` on ``reps`` data sets (null when ``strength`` is 0)."""
    rng = np.random.default_rng(seed)
    pvalues, times = [], []
    for i in range(reps):
        x, y, z = _dependent(n, rng, conditional, strength)
        start = time.perf_counter()
        pvalues.append(run(x, y, z if conditional else None, i))
        times.append(time.perf_counter() - start)
    return np.asarray(pvalues), times


def _type_one(pvalues):
    k, r = int((pvalues < 0.05).sum()), len(pvalues)
    lo, hi = _wilson(k, r)
    return {
        "null sets": r,
        "rejected": k,
        "type-I [95% Wilson]": f"{k / r:.3f} [{lo:.3f}, {hi:.3f}]",
        "interval inside [0.03, 0.07]": "yes" if 0.03 <= lo and hi <= 0.07 else "no",
    }


def large_n(sets, reference_share):
    """Type-I at alpha = 0.05 over ``sets[n]`` null data sets per size (the causal-learn
    reference on ``reference_share`` of them), seconds per test, power at n = 1,000."""
    calibration, speed = [], []
    for conditional in (False, True):
        for n, reps in sets.items():
            for name, run in TESTS.items():
                r = reps if name == "kci_rff (ours)" else max(2, int(reps * reference_share))
                if conditional:  # given z costs more: a third of the sets above n = 1,000
                    r = r if n <= 1000 else max(2, r // 3)
                _log(f"type-I: {name}, n={n}, given z={conditional}, {r} sets")
                p, times = _rejections(run, n, r, conditional, seed=n + conditional)
                calibration.append({
                    "test": name, "given z": "yes" if conditional else "no", "n": f"{n:,}",
                    **_type_one(p), "s/test (median)": float(np.median(times)),
                })
                if n == max(sets):
                    speed.append((name, conditional, float(np.median(times)), max(times)))
    power = []
    for conditional in (False, True):
        row = {"given z": "yes" if conditional else "no"}
        for name, run in {**TESTS, "kci (exact)": _exact_kci}.items():
            _log(f"power: {name}, given z={conditional}")
            p, _ = _rejections(run, 1000, 50, conditional, 2, strength=0.15)
            row[name] = f"{(p < 0.05).mean():.2f}"
        power.append(row)
    rows = []
    for conditional in (False, True):
        ours = [s for s in speed if s[1] == conditional and s[0] == "kci_rff (ours)"][0]
        ref = [s for s in speed if s[1] == conditional and s[0] != "kci_rff (ours)"][0]
        rows.append({
            "given z": "yes" if conditional else "no",
            f"kci_rff s/test n={max(sets):,} (median / max)": f"{ours[2]:.2f} / {ours[3]:.2f}",
            "RIT/RCIT s/test (median / max)": f"{ref[2]:.2f} / {ref[3]:.2f}",
            "ours / reference": ours[2] / ref[2],
            "< 10 s": "yes" if ours[3] < 10 else "no",
        })
    return calibration, rows, power


def _nonlinear_3d(n, rng, strength=0.0):
    z = rng.normal(size=(n, 3))
    x = np.sin(2 * z[:, 0]) + z[:, 1] * z[:, 2] + 0.5 * rng.normal(size=n)
    y = np.cos(z[:, 0] + z[:, 1]) + np.tanh(2 * z[:, 2]) + 0.5 * rng.exponential(size=n)
    return x[:, None], y[:, None] + strength * np.cos(2 * x[:, None]), z


def _shared_curve(n, rng, strength=0.0):
    z = rng.normal(size=(n, 3))
    effect = np.sin(z[:, 0]) + z[:, 1] * z[:, 2]
    x = effect + 0.5 * rng.normal(size=n)
    y = effect + 0.5 * rng.normal(size=n)
    return x[:, None], y[:, None] + strength * np.cos(2 * x[:, None]), z


def nonlinear_z(reps, n=20_000):
    """3-D z acting nonlinearly: kci_rff against causal-learn's RCIT on the same sets."""
    power_reps = max(3, reps // 4)
    rows = []
    for label, make in (("sin(2 z1) + z2 z3 / cos(z1 + z2) + tanh(2 z3)", _nonlinear_3d),
                        ("both sin(z1) + z2 z3 (shared)", _shared_curve)):
        for name in TESTS:
            r = reps if name == "kci_rff (ours)" else max(3, reps // 2)
            _log(f"nonlinear z ({label}): {name}, {r} + {power_reps} sets")
            p_null, p_dep, times = [], [], []
            for i in range(r + power_reps):
                x, y, z = make(n, np.random.default_rng(1000 + i), 0.0 if i < r else 0.1)
                start = time.perf_counter()
                if name == "kci_rff (ours)":
                    p = _ours(x[:, 0], y[:, 0], z, i)
                else:
                    np.random.seed(i)  # noqa: NPY002
                    from causallearn.utils.RCIT.RCIT import RCIT

                    p = RCIT().compute_pvalue(x, y, z)[0]
                times.append(time.perf_counter() - start)
                (p_null if i < r else p_dep).append(p)
            rows.append({
                "z effect (n = 20,000)": label, "test": name,
                **_type_one(np.asarray(p_null)),
                "power on + 0.1 cos(2x)": f"{(np.asarray(p_dep) < 0.05).mean():.2f} "
                f"({power_reps} sets)",
                "s/test (median)": float(np.median(times)),
            })
    return rows


def _markdown(rows):
    cols = list(dict.fromkeys(c for r in rows for c in r))
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            if isinstance(v, float):
                v = "-" if np.isnan(v) else (f"{v:.2e}" if 0 < abs(v) < 1e-3 else f"{v:.4g}")
            cells.append(str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _print_exact(ex):
    print("**Exact KCI** against causal-learn's `KCI_UInd` / `KCI_CInd` (defaults, gamma "
          "null), same data, warm; seconds per call: best of 3 batches of >= 0.2 s "
          "(unconditional), one call (conditional).\n")
    print(_markdown(ex))


def _print_large(calibration, speed, power, nonlinear):
    print("\n**Large n: type-I error** of the random-feature KCI (`kci_rff`) and causal-learn's "
          "RIT / RCIT (reference, same data sets, fewer of them): rejection rate at alpha = 0.05 "
          "over independent null data sets (x, y independent, or independent given a 1-D z "
          "that acts nonlinearly on both), with its 95% Wilson interval.\n")
    print(_markdown(calibration))
    print("\n**Large n: seconds per test** at the largest n above (same run).\n")
    print(_markdown(speed))
    print("\n**Power** at n = 1,000 on `y + 0.15 cos(2x)` (50 data sets).\n")
    print(_markdown(power))
    print("\n**Nonlinear 3-D z** (standard normal), n = 20,000: type-I and power on "
          "`y + 0.1 cos(2x)`; causal-learn's RCIT on the first of the same sets.\n")
    print(_markdown(nonlinear))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer data sets; n = 2,000 "
                        "conditional causal-learn run skipped")
    parser.add_argument("--only", choices=["exact", "large"], help="run one part")
    parser.add_argument("--sets", default=None, help="null data sets per n for the type-I "
                        "table, e.g. '1000:2000,10000:300,100000:60' (given z: a third above "
                        "n = 1,000); default: that, or '1000:300,100000:6' with --quick")
    parser.add_argument("--reference-share", type=float, default=0.25, help="share of the "
                        "null sets that causal-learn's RIT / RCIT also runs on")
    parser.add_argument("--nonlinear-sets", type=int, default=None, help="null sets per "
                        "test in the nonlinear-z table (default 20, 6 with --quick)")
    args = parser.parse_args(argv)
    default_sets = "1000:300,100000:6" if args.quick else "1000:2000,10000:300,100000:60"
    sets = dict(
        (int(n), int(r)) for n, r in (item.split(":") for item in (args.sets or default_sets)
                                      .split(","))
    )
    start = time.perf_counter()
    if args.only != "large":
        _print_exact(exact(args.quick))
    if args.only != "exact":
        with threadpool_limits(1, user_api="blas"):  # shared cores: one BLAS thread each
            calibration, speed, power = large_n(sets, args.reference_share)
            reps = args.nonlinear_sets or (6 if args.quick else 20)
            nonlinear = nonlinear_z(reps)
        _print_large(calibration, speed, power, nonlinear)
    print(f"\n({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
