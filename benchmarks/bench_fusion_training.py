"""FusionRegressor training cost on the First Impressions V2 training set.

Features: the 6,000 training transcripts as two text modalities, TextEmbedder
embeddings (``text__``, 384 columns, cached under ``benchmarks/output/``) and
TF-IDF/SVD (``tfidf__``, 100 columns); targets: the Big Five. Each configuration
is trained for a fixed number of epochs (no early stopping) in a fresh process, and
the script reports the median time per epoch, the fit time, and the peak resident
memory of that process (``resource.getrusage``'s ``ru_maxrss``) before and after
the fit. The reference for the ratio column is one RidgeCV fit on the same matrix,
timed in the same run.

Run::

    python benchmarks/bench_fusion_training.py [--epochs 5]
"""

import argparse
import multiprocessing as mp
import os
import resource
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

OUTPUT = Path(__file__).resolve().parent / "output"


def _features(cache_dir):
    import pandas as pd
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    from skpersona.datasets import load_first_impressions
    from skpersona.text import TextEmbedder

    train = load_first_impressions(split="training")
    text = train.data["transcript"]
    emb = TextEmbedder(cache_dir=cache_dir).fit(text).transform(text)
    svd = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        TruncatedSVD(100, random_state=0),
    ).fit_transform(text)
    columns = [f"text__emb{i}" for i in range(emb.shape[1])]
    columns += [f"tfidf__svd{i}" for i in range(svd.shape[1])]
    return pd.DataFrame(np.c_[emb, svd], columns=columns), train.target


def _maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _run(config, cache_dir, epochs, queue):
    X, y = _features(cache_dir)
    before = _maxrss_mib()
    start = time.perf_counter()
    if config["model"] == "ridge":
        from sklearn.linear_model import RidgeCV

        RidgeCV(alphas=np.logspace(-1, 4, 21)).fit(X, y)
        epoch_s = float("nan")
    else:
        from skpersona.fusion import FusionRegressor

        reg = FusionRegressor(
            config["fusion"], max_epochs=epochs, early_stopping=False, batch_size=64,
            hidden_size=64, torch_threads=config["threads"], random_state=0,
        ).fit(X, y)
        epoch_s = float(np.median(reg.net_.history[:, "dur"]))
    fit_s = time.perf_counter() - start
    queue.put((epoch_s, fit_s, before, _maxrss_mib()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--cache-dir", default=str(OUTPUT / "fusion_text_cache"))
    args = parser.parse_args()
    configs = [{"name": "RidgeCV (reference)", "model": "ridge"}]
    for fusion in ("early", "gated", "attention", "late"):
        configs.append({"name": f"FusionRegressor {fusion}", "model": "fusion", "fusion": fusion,
                        "threads": 1})
    configs.append({"name": "FusionRegressor gated, 2 threads", "model": "fusion",
                    "fusion": "gated", "threads": 2})
    ctx = mp.get_context("spawn")
    rows = []
    for config in configs:
        queue = ctx.Queue()
        proc = ctx.Process(target=_run, args=(config, args.cache_dir, args.epochs, queue))
        proc.start()
        result = queue.get()
        proc.join()
        rows.append((config["name"], *result))
        print(f"  {config['name']}: {result[1]:.1f} s", flush=True)
    ref = rows[0][2]
    print(f"\nFirst Impressions V2 training set: 6000 clips x 484 features (384 embedding + "
          f"100 TF-IDF/SVD), 5 targets; {args.epochs} epochs, batch 64, hidden 64, float32 CPU")
    header = (f"{'model':<34}{'s/epoch':>9}{'fit s':>8}{'fit / ridge':>13}"
              f"{'RSS before MiB':>16}{'peak RSS MiB':>14}{'+MiB':>7}")
    print(header)
    print("-" * len(header))
    for name, epoch_s, fit_s, before, after in rows:
        print(f"{name:<34}{epoch_s:>9.3f}{fit_s:>8.2f}{fit_s / ref:>13.1f}"
              f"{before:>16.0f}{after:>14.0f}{after - before:>7.0f}")


if __name__ == "__main__":
    main()
