"""First Impressions V2 transcripts: a fine-tuned MiniLM against frozen MiniLM + ridge.

Fits on the 6,000 training transcripts and scores the 2,000 validation ones by the
metric of ``bench_text_first_impressions.py`` (mean accuracy, 1 - MAE, over the Big
Five). In the same run: the training mean, and the frozen all-MiniLM-L6-v2 embedding
+ ``RidgeCV`` (the 0.8872 of RESULTS.md; embeddings from the project's cache). The
fine-tuned model is :class:`skpersona.text.FineTunedTextRegressor` with its defaults
except the sizes given on the command line; nothing is tuned on the validation split
(early stopping uses a 10% split of the training transcripts).

Times: CPU seconds of this process per epoch (wall time on a shared machine says
little); run with one torch/BLAS thread.

Run: ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 nice -n 10 python
benchmarks/bench_finetune_first_impressions.py [--max-epochs 2] [--quick]``
"""

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from sklearn.linear_model import RidgeCV  # noqa: E402

from skpersona.datasets import load_first_impressions  # noqa: E402
from skpersona.metrics import mean_accuracy_score  # noqa: E402
from skpersona.text import FineTunedTextRegressor, TextEmbedder  # noqa: E402

ALPHAS = np.logspace(-1, 4, 21)  # as bench_text_first_impressions.py


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="200 training and 100 validation clips, 1 epoch (a smoke test)")
    parser.add_argument("--max-epochs", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--n-trainable-layers", type=int, default=2)
    args = parser.parse_args()
    train = load_first_impressions(split="training")
    valid = load_first_impressions(split="validation")
    X_tr, y_tr = train.data["transcript"], train.target.to_numpy()
    X_va, y_va = valid.data["transcript"], valid.target.to_numpy()
    if args.quick:
        X_tr, y_tr, X_va, y_va = X_tr[:200], y_tr[:200], X_va[:100], y_va[:100]
        args.max_epochs = 1

    mean = np.tile(y_tr.mean(axis=0), (len(y_va), 1))
    start = time.process_time()
    embedder = TextEmbedder(cache_dir="auto").fit(X_tr)
    ridge = RidgeCV(alphas=ALPHAS).fit(embedder.transform(X_tr), y_tr)
    frozen = ridge.predict(embedder.transform(X_va))
    frozen_s = time.process_time() - start

    model = FineTunedTextRegressor(max_tokens=args.max_tokens, max_epochs=args.max_epochs,
                                   n_trainable_layers=args.n_trainable_layers,
                                   torch_threads=1, random_state=0, verbose=1)
    start = time.process_time()
    model.fit(X_tr, y_tr)
    fit_s = time.process_time() - start
    start = time.process_time()
    tuned = model.predict(X_va)
    predict_s = time.process_time() - start

    rows = [("training mean (reference)", mean, ""),
            ("frozen MiniLM + RidgeCV (reference, embeddings cached)", frozen, f"{frozen_s:.0f}"),
            (f"fine-tuned MiniLM, top {args.n_trainable_layers} layers, {args.max_tokens} "
             f"tokens, {model.n_epochs_} epoch(s) (best {model.best_epoch_})", tuned,
             f"{fit_s:.0f} fit + {predict_s:.0f} predict")]
    base = mean_accuracy_score(y_va, mean)
    print(f"\nFirst Impressions V2: fit on {len(X_tr)} training transcripts, scored on "
          f"{len(X_va)} validation ones; mean accuracy (1 - MAE) over the Big Five.\n")
    print("| model | 1 - MAE | gain vs mean | CPU s |")
    print("|---|---:|---:|---:|")
    for name, pred, seconds in rows:
        score = mean_accuracy_score(y_va, pred)
        print(f"| {name} | {score:.4f} | {score - base:+.4f} | {seconds} |")
    print(f"\nFine-tuned: {model.n_trainable_parameters_:,} weights trained; CPU s per epoch "
          f"{', '.join(f'{s:.0f}' for s in model.epoch_cpu_seconds_)}; validation loss per "
          f"epoch (inner split, standardised) "
          f"{', '.join(f'{v:.4f}' for v in model.validation_loss_curve_)}.")


if __name__ == "__main__":
    main()
