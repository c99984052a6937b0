"""The screen's work on one pair: every test of the pair, failures reported, not guessed."""

import warnings

import numpy as np
from sklearn.utils import check_random_state

from ._test import independence_test

_RESULT_COLUMNS = [
    "x",
    "y",
    "conditioning",
    "method",
    "method_used",
    "n",
    "statistic",
    "pvalue",
    "pvalue_adjusted",
    "dependent",
    "status",
    "reason",
]



def _run_pair(
    frame, a, b, cond, methods, missing, seeds, test_options, testers=None, subsample=None,
    groups=None
):
    """All tests of one pair; failures are caught and reported, never guessed.

    Without missing values in the pair's columns the tests run through the shared
    :class:`IndependenceTester` of each method (columns encoded once, correlation
    matrix kept); otherwise on the rows left after dropping missing values. With
    ``subsample``, every test of the pair runs on the same seeded random rows.
    """
    sub = frame[[a, b, *cond]]
    complete = testers is not None and not sub.isna().any().any()
    if missing == "pairwise" and not complete:
        sub = sub.dropna()
    note = ""
    if subsample is not None and groups is not None:  # whole groups, never parts of them
        labels = groups[sub.index.to_numpy()]
        kept = np.unique(labels)
        if len(kept) > subsample:
            kept = check_random_state(int(seeds[0])).choice(kept, subsample, replace=False)
            note = (f"tested on a random subsample of {subsample:,} of {len(np.unique(labels)):,}"
                    " groups (given z, the random-feature tests over-reject at large n)")
            sub, complete = sub[np.isin(labels, kept)], False
    elif subsample is not None and len(sub) > subsample:
        rows = check_random_state(int(seeds[0])).choice(len(sub), subsample, replace=False)
        note = (
            f"tested on a random subsample of {subsample:,} of {len(sub):,} rows (given z, "
            "the random-feature tests over-reject at large n)"
        )
        sub, complete = sub.iloc[np.sort(rows)], False
    rows = []
    for method, seed in zip(methods, seeds):
        row = {
            "x": a,
            "y": b,
            "conditioning": ",".join(cond),
            "method": method,
            "method_used": "" if method == "auto" else method,
            "n": len(sub),
            "statistic": np.nan,
            "pvalue": np.nan,
            "status": "ok",
            "reason": "",
        }
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if complete:
                    res = testers[method].test(a, b, list(cond) or None, random_state=int(seed))
                else:
                    res = independence_test(
                        sub[a],
                        sub[b],
                        sub[list(cond)] if cond else None,
                        method=method,
                        random_state=int(seed),
                        groups=None if groups is None else groups[sub.index.to_numpy()],
                        **test_options.get(method, {}),
                    )
            row.update(
                statistic=res.statistic, pvalue=res.pvalue, method_used=res.method, n=res.n
            )
            # Caveats of a test that ran (e.g. a sparse contingency table) stay visible.
            notes = dict.fromkeys([note] * bool(note) + [str(w.message) for w in caught])
            row["reason"] = " | ".join(notes)
        except Exception as exc:  # a failed test is reported with its reason
            row.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
        rows.append(row)
    return rows


def _run_chunk(frame, chunk, missing, test_options, testers, groups=None):
    return [
        row
        for (a, b, cond, methods), seeds, sub in chunk
        for row in _run_pair(
            frame, a, b, cond, methods, missing, seeds, test_options, testers, sub, groups
        )
    ]
