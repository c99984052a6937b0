"""Text path on ChaLearn First Impressions V2: FusionRegressor beside linear baselines.

Trains on the official training split and reports mean accuracy (1 - MAE, averaged
over the Big Five) on the validation split, for:

- predicting the training mean (the reference of the ratio column);
- TF-IDF (word 1-2 grams) + RidgeCV;
- TextEmbedder (all-MiniLM-L6-v2, offline) + RidgeCV;
- TextEmbedder + FusionRegressor (one modality, an MLP head; early stopping on a
  validation split grouped by YouTube id);
- TextEmbedder + TF-IDF/SVD as two text views + FusionRegressor (gated fusion).

Embeddings are cached with :class:`skpersona.utils.ArrayCache` (through
``TextEmbedder(cache_dir=...)``) under ``benchmarks/output/`` (git-ignored), so
only the first run embeds the 8,000 transcripts (a few minutes on 2 cores).

Run::

    python benchmarks/bench_fusion_first_impressions.py [--quick] [--seeds 3]
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.decomposition import TruncatedSVD  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import RidgeCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from skpersona.datasets import load_first_impressions  # noqa: E402
from skpersona.fusion import FusionRegressor  # noqa: E402
from skpersona.metrics import mean_accuracy_score  # noqa: E402
from skpersona.text import TextEmbedder  # noqa: E402

OUTPUT = Path(__file__).resolve().parent / "output"
ALPHAS = np.logspace(-1, 4, 21)


def embed(train, valid, cache_dir):
    embedder = TextEmbedder(cache_dir=cache_dir).fit(train)
    start = time.perf_counter()
    E_tr, E_va = embedder.transform(train), embedder.transform(valid)
    names = [f"text__emb{i}" for i in range(E_tr.shape[1])]
    return pd.DataFrame(E_tr, columns=names), pd.DataFrame(E_va, columns=names), (
        time.perf_counter() - start
    )


def tfidf_svd(train, valid, n_components=100):
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        TruncatedSVD(n_components, random_state=0),
    )
    names = [f"tfidf__svd{i}" for i in range(n_components)]
    return (
        pd.DataFrame(model.fit_transform(train), columns=names),
        pd.DataFrame(model.transform(valid), columns=names),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,500 training, 500 validation clips")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of each FusionRegressor")
    parser.add_argument("--cache-dir", default=str(OUTPUT / "fusion_text_cache"))
    args = parser.parse_args()

    train = load_first_impressions(split="training")
    valid = load_first_impressions(split="validation")
    t_tr, y_tr, g_tr = train.data["transcript"], train.target, train.groups
    t_va, y_va = valid.data["transcript"], valid.target
    if args.quick:
        t_tr, y_tr, g_tr = t_tr[:1500], y_tr[:1500], g_tr[:1500]
        t_va, y_va = t_va[:500], y_va[:500]

    E_tr, E_va, embed_s = embed(t_tr, t_va, args.cache_dir)
    S_tr, S_va = tfidf_svd(t_tr, t_va)
    results = {}  # name -> (scores over seeds, per-trait of the first seed, fit seconds)

    def record(name, fit_predict, seeds=(0,)):
        scores, per_trait, secs = [], None, []
        for seed in seeds:
            start = time.perf_counter()
            pred = fit_predict(seed)
            secs.append(time.perf_counter() - start)
            scores.append(mean_accuracy_score(y_va, pred))
            if per_trait is None:
                per_trait = mean_accuracy_score(y_va, pred, multioutput="raw_values")
        results[name] = (np.array(scores), np.ravel(per_trait), float(np.mean(secs)))
        print(f"  {name}: {np.mean(scores):.4f}", flush=True)

    mean = y_tr.mean().to_numpy()
    record("training mean", lambda s: np.tile(mean, (len(y_va), 1)))
    tfidf = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), RidgeCV(alphas=ALPHAS)
    )
    record("TF-IDF + RidgeCV", lambda s: tfidf.fit(t_tr, y_tr).predict(t_va))
    record("TextEmbedder + RidgeCV", lambda s: RidgeCV(alphas=ALPHAS).fit(E_tr, y_tr).predict(E_va))

    seeds = range(args.seeds)
    base = dict(hidden_size=64, dropout=0.3, weight_decay=1e-2, lr=1e-3, max_epochs=200,
                batch_size=128, patience=15, validation_fraction=0.15)

    def fusion(X_tr, X_va, **params):
        def fit_predict(seed):
            reg = FusionRegressor(**{**base, **params}, random_state=seed)
            return reg.fit(X_tr, y_tr, groups=g_tr).predict(X_va)

        return fit_predict

    record("TextEmbedder + FusionRegressor (MSE)", fusion(E_tr, E_va, fusion="early"), seeds)
    record(
        "TextEmbedder + FusionRegressor (MAE loss)",
        fusion(E_tr, E_va, fusion="early", loss="absolute_error"),
        seeds,
    )
    both_tr, both_va = pd.concat([E_tr, S_tr], axis=1), pd.concat([E_va, S_va], axis=1)
    record(
        "TextEmbedder + TF-IDF/SVD, gated FusionRegressor",
        fusion(both_tr, both_va, fusion="gated", modality_dropout=0.2),
        seeds,
    )

    ref = results["training mean"][0].mean()
    print(
        f"\nFirst Impressions V2: {len(y_tr)} training clips -> {len(y_va)} validation clips; "
        f"embedding {embed_s:.1f} s (cache {args.cache_dir}); FusionRegressor seeds: {args.seeds}"
    )
    header = f"{'model':<50}{'1-MAE':>8}{'± sd':>8}{'gain vs mean':>14}{'fit s':>8}"
    print(header)
    print("-" * len(header))
    for name, (scores, _, secs) in results.items():
        sd = scores.std(ddof=1) if len(scores) > 1 else 0.0
        print(f"{name:<50}{scores.mean():>8.4f}{sd:>8.4f}{scores.mean() - ref:>+14.4f}{secs:>8.1f}")
    print("\nper trait (first seed):")
    print(f"{'model':<50}" + "".join(f"{t[:6]:>8}" for t in y_va.columns))
    for name, (_, per_trait, _) in results.items():
        print(f"{name:<50}" + "".join(f"{v:>8.4f}" for v in per_trait))


if __name__ == "__main__":
    main()
