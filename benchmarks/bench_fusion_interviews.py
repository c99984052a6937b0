"""Fusion against the best single modality on synthetic interviews (make_interviews).

For several seeds, generates interviews whose traits are shown in the face only
(neuroticism), in the words only (openness) or need both (conscientiousness,
extraversion, agreeableness); turns the AU frame tables into ``AUStatistics``
features (``au__``) and the transcripts into ``TextEmbedder`` embeddings
(``text__``) with one ``ColumnTransformer`` fitted on the training part; then
compares, per trait, on the held-out part (R^2, and 1 - MAE):

- the best single modality: the better of AU-only and text-only, each with both
  FusionRegressor and RidgeCV (the reference of the gain column);
- FusionRegressor on both modalities, for each fusion strategy;
- RidgeCV on both (linear early fusion).

Which single modality is "best" and which fusion strategy is "chosen" is decided
per trait on 2 inner folds of the training part (cross-validated R^2), never on
the held-out part; the held-out figures of every strategy are shown for reference.

Run::

    python benchmarks/bench_fusion_interviews.py [--quick] [--seeds 3] [--n-samples 500]
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.linear_model import RidgeCV  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import KFold, cross_val_predict, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skpersona.au import AUStatistics  # noqa: E402
from skpersona.datasets import make_interviews  # noqa: E402
from skpersona.fusion import FusionRegressor  # noqa: E402
from skpersona.metrics import mean_accuracy_score  # noqa: E402
from skpersona.text import TextEmbedder  # noqa: E402

OUTPUT = Path(__file__).resolve().parent / "output"
FUSIONS = ("early", "gated", "attention", "late")
ALPHAS = np.logspace(-2, 4, 25)


def features(cache_dir):
    return ColumnTransformer(
        [
            ("au", AUStatistics(), "video"),
            ("text", TextEmbedder(cache_dir=cache_dir), "transcript"),
        ]
    ).set_output(transform="pandas")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds of 300 interviews")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=500)
    parser.add_argument("--cache-dir", default=str(OUTPUT / "fusion_text_cache"))
    args = parser.parse_args()
    torch.set_num_threads(1)  # embedding on a shared CPU: many threads are several times slower
    seeds = range(2 if args.quick else args.seeds)
    n_samples = 300 if args.quick else args.n_samples
    fusion_params = dict(hidden_size=32, n_heads=4, dropout=0.2, weight_decay=1e-2,
                         max_epochs=200, patience=15, modality_dropout=0.2)

    r2, acc, picks = {}, {}, {}  # (model, trait) -> list over seeds
    traits, shares = None, None
    start = time.perf_counter()
    for seed in seeds:
        data = make_interviews(n_samples=n_samples, random_state=seed)
        traits, shares = list(data.target.columns), data.face_share
        X_tr, X_te, y_tr, y_te = train_test_split(
            data.data, data.target, test_size=0.3, random_state=seed
        )
        ct = features(args.cache_dir)
        F_tr, F_te = ct.fit_transform(X_tr), ct.transform(X_te)
        blocks = {
            "AU only": [c for c in F_tr.columns if c.startswith("au__")],
            "text only": [c for c in F_tr.columns if c.startswith("text__")],
            "both": list(F_tr.columns),
        }
        preds, inner = {}, {}  # held-out predictions; inner-fold R^2 on the training part
        folds = KFold(2, shuffle=True, random_state=seed)
        for block, cols in blocks.items():
            candidates = {f"RidgeCV, {block}": make_pipeline(
                StandardScaler(), RidgeCV(alphas=ALPHAS, alpha_per_target=True))}
            strategies = FUSIONS if block == "both" else ("gated",)
            for fusion in strategies:
                name = f"FusionRegressor {fusion}, {block}" if block == "both" else (
                    f"FusionRegressor, {block}")
                candidates[name] = FusionRegressor(fusion, **fusion_params, random_state=seed)
            for name, model in candidates.items():
                inner_pred = cross_val_predict(model, F_tr[cols], y_tr, cv=folds)
                inner[name] = r2_score(y_tr, inner_pred, multioutput="raw_values")
                preds[name] = model.fit(F_tr[cols], y_tr).predict(F_te[cols])
        for name, pred in preds.items():
            r2_t = r2_score(y_te, pred, multioutput="raw_values")
            acc_t = np.ravel(mean_accuracy_score(y_te, pred, multioutput="raw_values"))
            for j, trait in enumerate(traits):
                r2.setdefault((name, trait), []).append(r2_t[j])
                acc.setdefault((name, trait), []).append(acc_t[j])
        # Per trait, the single modality and the fusion strategy best on the inner folds.
        for label, pool in (("best single", [m for m in preds if not m.endswith("both")]),
                            ("chosen fusion", [m for m in preds if m.endswith("both")
                                               and m.startswith("FusionRegressor")])):
            for j, trait in enumerate(traits):
                pick = max(pool, key=lambda m: inner[m][j])
                r2.setdefault((label, trait), []).append(r2[pick, trait][-1])
                picks.setdefault((label, trait), []).append(pick)
        print(f"seed {seed} done ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)

    models = sorted({name for name, _ in acc})
    mean_r2 = pd.DataFrame({t: {m: np.mean(r2[m, t]) for m in list(models) + [
        "best single", "chosen fusion"]} for t in traits})
    mean_acc = pd.DataFrame({t: {m: np.mean(acc[m, t]) for m in models} for t in traits})

    print(f"`make_interviews`: {n_samples} interviews x {len(seeds)} seeds, 70/30 split; "
          f"AUStatistics + TextEmbedder features; {time.perf_counter() - start:.0f} s.\n")
    print("R^2 on the held-out part, mean over seeds.\n")
    print("| model | " + " | ".join(f"{t} ({shares[t]:.1f})" for t in traits)
          + " | 1 - MAE (mean) |")
    print("|---|" + "---:|" * (len(traits) + 1))
    for m in models:
        print(f"| {m} | " + " | ".join(f"{mean_r2.loc[m, t]:.3f}" for t in traits)
              + f" | {mean_acc.loc[m].mean():.4f} |")
    print("\nPer trait, the single modality and the fusion strategy chosen on 2 inner folds "
          "of the training part (held-out R^2; gain = chosen fusion - best single).\n")
    print("| trait | face share | best single | chosen fusion | gated | gain | "
          "chosen strategy per seed |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for t in traits:
        single, fused = mean_r2.loc["best single", t], mean_r2.loc["chosen fusion", t]
        which = ", ".join(p.split(",")[0].replace("FusionRegressor ", "")
                          for p in picks["chosen fusion", t])
        print(f"| {t} | {shares[t]:.1f} | {single:.3f} | {fused:.3f} | "
              f"{mean_r2.loc['FusionRegressor gated, both', t]:.3f} | {fused - single:+.3f} | "
              f"{which} |")


if __name__ == "__main__":
    main()
