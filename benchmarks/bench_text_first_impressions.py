"""Text-only trait prediction on ChaLearn First Impressions V2: TextEmbedder -> Ridge.

Embeds every transcript of the training and validation splits with the default
offline model (all-MiniLM-L6-v2), cross-validates ``TextEmbedder -> RidgeCV`` on
the training split (GroupKFold by YouTube id), then fits on the whole training
split and scores the validation split. The reference, measured in the same run,
is predicting the training mean. Metric: mean accuracy (1 - MAE) over the Big Five.

Run::

    python benchmarks/bench_text_first_impressions.py [--quick] [--cache-dir DIR]

Embeddings are cached on disk (default: ``~/.cache/skpersona/text``), so a second
run only fits the heads.
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from sklearn.dummy import DummyRegressor  # noqa: E402
from sklearn.linear_model import RidgeCV  # noqa: E402
from sklearn.model_selection import GroupKFold, cross_val_predict  # noqa: E402

from skpersona.datasets import load_first_impressions  # noqa: E402
from skpersona.metrics import mean_accuracy_score  # noqa: E402
from skpersona.text import TextEmbedder  # noqa: E402

ALPHAS = np.logspace(-1, 4, 21)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 training and 300 validation clips")
    parser.add_argument("--cache-dir", default=str(Path.home() / ".cache" / "skpersona" / "text"))
    args = parser.parse_args()

    train = load_first_impressions(split="training")
    valid = load_first_impressions(split="validation")
    X_tr, y_tr, g_tr = train.data["transcript"], train.target, train.groups
    X_va, y_va = valid.data["transcript"], valid.target
    if args.quick:
        X_tr, y_tr, g_tr = X_tr[:1000], y_tr[:1000], g_tr[:1000]
        X_va, y_va = X_va[:300], y_va[:300]

    embedder = TextEmbedder(cache_dir=args.cache_dir, verbose=True)
    start = time.perf_counter()
    embedder.fit(X_tr)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    E_tr = embedder.transform(X_tr)
    E_va = embedder.transform(X_va)
    embed_s = time.perf_counter() - start

    # 5-fold CV on training, grouped by YouTube id; the embeddings do not depend
    # on the labels, so embedding once outside the folds gives the same result as
    # the pipeline (TextEmbedder is stateless apart from the model).
    cv = GroupKFold(n_splits=5)
    pred_cv = cross_val_predict(RidgeCV(alphas=ALPHAS), E_tr, y_tr, groups=g_tr, cv=cv)
    mean_cv = cross_val_predict(DummyRegressor(), E_tr, y_tr, groups=g_tr, cv=cv)

    head = RidgeCV(alphas=ALPHAS).fit(E_tr, y_tr)
    pred_va = head.predict(E_va)
    mean_va = np.tile(y_tr.mean().to_numpy(), (len(y_va), 1))

    rows = [
        ("training CV (GroupKFold 5)", y_tr, pred_cv, mean_cv),
        ("validation split", y_va, pred_va, mean_va),
    ]
    print(f"\nclips: {len(X_tr)} training, {len(X_va)} validation; model load {load_s:.1f} s; "
          f"embedding {len(X_tr) + len(X_va)} transcripts {embed_s:.1f} s "
          f"(cache: {args.cache_dir}); ridge alpha {head.alpha_:.3g}")
    print(f"{'evaluation':<28}{'TextEmbedder->Ridge':>21}{'training mean':>15}{'gain':>9}")
    for name, y, pred, ref in rows:
        ours, base = mean_accuracy_score(y, pred), mean_accuracy_score(y, ref)
        print(f"{name:<28}{ours:>21.4f}{base:>15.4f}{ours - base:>+9.4f}")
    per_trait = mean_accuracy_score(y_va, pred_va, multioutput="raw_values")
    base_trait = mean_accuracy_score(y_va, mean_va, multioutput="raw_values")
    print("\nvalidation, per trait:")
    for trait, ours, base in zip(y_va.columns, np.ravel(per_trait), np.ravel(base_trait)):
        print(f"  {trait:<20}{ours:.4f}  (mean {base:.4f}, {ours - base:+.4f})")


if __name__ == "__main__":
    main()
