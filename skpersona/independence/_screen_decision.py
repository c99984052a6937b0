"""The screen's decisions: tests combined per pair, the dependency graph and its views.

Everything here reads the per-test table (``DependencyScreen.pvalues_``) or what is
derived from it; nothing runs a test.
"""

import itertools
import warnings

import numpy as np
import pandas as pd

from ._multitest import adjust_pvalues, cauchy_combination


def agreement_table(table, alpha, correction, consensus):
    """One row per pair and conditioning set: the combined test and the decision.

    The successful tests' raw p-values are combined by the Cauchy combination
    test and the combined p-values corrected once, over every pair and
    conditioning set (``correction``); ``consensus="cauchy"`` decides on them.
    """
    keys = ["x", "y", "conditioning"]
    methods = list(dict.fromkeys(table["method"]))
    ok = (table["status"] == "ok").to_numpy()
    work = table[keys + ["method"]].assign(
        ok=ok,
        dep=ok & table["dependent"].fillna(False).to_numpy(dtype=bool),
        p=np.where(ok, table["pvalue"].to_numpy(dtype=float), np.nan),
    )
    out = (
        work.groupby(keys, sort=False)
        .agg(n_methods=("method", "size"), n_ok=("ok", "sum"), n_dependent=("dep", "sum"))
        .reset_index()
    )
    wide = work.set_index([*keys, "method"])["p"].unstack("method")
    wide = wide.reindex(index=pd.MultiIndex.from_frame(out[keys]), columns=methods)
    per_method = [f"pvalue_{m}" for m in methods]
    for k, column in enumerate(per_method):
        out[column] = wide.iloc[:, k].to_numpy(dtype=float)
    out["pvalue"] = cauchy_combination(wide.to_numpy(dtype=float), axis=1)
    out["pvalue_adjusted"] = adjust_pvalues(out["pvalue"].to_numpy(dtype=float), correction)
    n_ok = out["n_ok"].to_numpy(dtype=int)
    n_dep = out["n_dependent"].to_numpy(dtype=int)
    if consensus == "cauchy":
        is_dep = out["pvalue_adjusted"].to_numpy() < alpha
    elif consensus == "majority":
        is_dep = 2 * n_dep >= n_ok
    elif consensus == "all":
        is_dep = n_dep == n_ok
    else:
        is_dep = n_dep > 0
    out["decision"] = np.where(
        n_ok == 0, "failed", np.where(is_dep, "dependent", "independent")
    )
    agree = np.where(is_dep, n_dep, n_ok - n_dep)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["agreement"] = np.where(n_ok == 0, np.nan, agree / np.maximum(n_ok, 1))
    return out[
        ["x", "y", "conditioning", "n_methods", "n_ok", "n_dependent", "pvalue",
         "pvalue_adjusted", "decision", "agreement", *per_method]
    ]


def adjacency_matrix(agreement, variables):
    """The dependency graph: 1.0 for an edge, 0.0 for none, NaN where no set decided.

    With several conditioning sets, independence under any set removes the edge.
    """
    adj = pd.DataFrame(np.nan, index=variables, columns=variables)
    for (a, b), group in agreement.groupby(["x", "y"], sort=False):
        decisions = set(group["decision"])
        if "independent" in decisions:
            value = 0.0
        elif "dependent" in decisions:
            value = 1.0
        else:
            value = np.nan
        adj.loc[a, b] = value
        adj.loc[b, a] = value
    for v in variables:
        adj.loc[v, v] = 0.0
    return adj


def pvalue_matrix(table, variables, column):
    """Square p-values of ``table``'s rows (median per set, then the largest over sets)."""
    values = (
        table.groupby(["x", "y", "conditioning"], sort=False)[column]
        .median()
        .groupby(level=[0, 1], sort=False)
        .max()
    )
    mat = pd.DataFrame(np.nan, index=variables, columns=variables)
    for (a, b), p in values.items():
        mat.loc[a, b] = p
        mat.loc[b, a] = p
    return mat


def prior_mask(adjacency, variables, groups):
    """The block-level prior mask of ``DependencyScreen.to_prior_mask``."""
    if not isinstance(groups, dict) or not groups:
        raise ValueError("groups must be a non-empty dict of group name -> variable names.")
    unknown = sorted(
        {str(v) for vs in groups.values() for v in vs} - set(variables)
    )
    if unknown:
        raise ValueError(
            f"groups name variables that were not screened: {unknown}. Screened: "
            f"{variables}."
        )
    names = list(groups)
    mask = pd.DataFrame(0.0, index=names, columns=names)
    unknown_pairs = []
    for g, h in itertools.combinations_with_replacement(names, 2):
        if g == h:
            mask.loc[g, g] = 1.0
            continue
        block = adjacency.loc[
            [str(v) for v in groups[g]], [str(v) for v in groups[h]]
        ].to_numpy(dtype=float)
        allowed = bool(np.any(block == 1.0))
        if not allowed and np.isnan(block).any():
            allowed = True
            unknown_pairs.append((g, h))
        mask.loc[g, h] = mask.loc[h, g] = 1.0 if allowed else 0.0
    if unknown_pairs:
        warnings.warn(
            f"Group pairs {unknown_pairs} have untested or failed variable pairs and no "
            "detected dependency; they are left allowed in the prior mask.",
            UserWarning,
            stacklevel=3,
        )
    return mask
