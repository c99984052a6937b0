"""TextEmbedder backends: speed and First Impressions accuracy against the torch backend.

For each backend of :class:`skpersona.text.TextEmbedder` (``torch``, the reference, and
the ONNX Runtime / int8 ONNX / OpenVINO exports of the same all-MiniLM-L6-v2), in one
run on the CPU with one torch / ONNX Runtime / OpenVINO thread each:

* speed: texts per second embedding First Impressions V2 validation transcripts
  (interleaved repeats, median; the ratio is to the torch run of the same repeat);
* fidelity: the largest ``1 - cosine`` between a backend's embedding and torch's;
* accuracy: FI validation mean accuracy (1 - MAE over the Big Five) of
  TextEmbedder -> RidgeCV trained on FI training clips (the first N of each split:
  the same clips for every backend, so differences between backends are paired).

Run::

    python benchmarks/bench_text_backends.py [--quick] [--n-speed N] [--n-train N] [--n-valid N]

Embeddings for the accuracy part are cached under ``--cache-dir`` (a second run only
times the speed part again); the ONNX exports are kept there too.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.linear_model import RidgeCV  # noqa: E402

from skpersona.datasets import load_first_impressions  # noqa: E402
from skpersona.metrics import mean_accuracy_score  # noqa: E402
from skpersona.text import TextEmbedder  # noqa: E402

BACKENDS = ("torch", "onnx", "onnx-int8", "openvino")
ALPHAS = np.logspace(-1, 4, 21)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="speed on 64 texts x 2 repeats, accuracy on 400 + 200 clips")
    parser.add_argument("--n-speed", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--n-valid", type=int, default=1000)
    parser.add_argument("--cache-dir",
                        default=str(Path.home() / ".cache" / "skpersona" / "text-backends"))
    args = parser.parse_args()
    if args.quick:
        args.n_speed, args.repeats, args.n_train, args.n_valid = 64, 2, 400, 200
    torch.set_num_threads(1)  # every backend on one thread: the ratio is per core

    train = load_first_impressions(split="training")
    valid = load_first_impressions(split="validation")
    X_tr, y_tr = train.data["transcript"][: args.n_train], train.target[: args.n_train]
    X_va, y_va = valid.data["transcript"][: args.n_valid], valid.target[: args.n_valid]
    speed_texts = valid.data["transcript"].tolist()[: args.n_speed]

    # speed: no embedding cache, every backend on the same texts, repeats interleaved
    embedders = {}
    for backend in BACKENDS:
        start = time.perf_counter()
        embedders[backend] = TextEmbedder(backend=backend, cache_dir=args.cache_dir).fit(
            speed_texts[:1])
        embedders[backend].transform(speed_texts[:8])  # warm-up
        log(f"{backend}: loaded (export on first use) in {time.perf_counter() - start:.1f} s")
    seconds = {b: [] for b in BACKENDS}
    vectors = {}
    for r in range(args.repeats):
        for backend, emb in embedders.items():
            compute = emb._compute  # bypass the embedding cache: time the model itself
            start = time.perf_counter()
            vectors[backend] = compute(speed_texts)
            seconds[backend].append(time.perf_counter() - start)
            log(f"repeat {r + 1}/{args.repeats} {backend}: {seconds[backend][-1]:.1f} s")

    # accuracy: TextEmbedder -> RidgeCV on the training clips, scored on validation
    scores = {}
    for backend, emb in embedders.items():
        start = time.perf_counter()
        E_tr, E_va = emb.transform(X_tr), emb.transform(X_va)
        head = RidgeCV(alphas=ALPHAS).fit(E_tr, y_tr)
        scores[backend] = mean_accuracy_score(y_va, head.predict(E_va))
        log(f"{backend}: accuracy {scores[backend]:.4f} ({time.perf_counter() - start:.0f} s)")
    baseline = mean_accuracy_score(y_va, np.tile(y_tr.mean().to_numpy(), (len(y_va), 1)))

    ref = vectors["torch"]
    words = np.mean([len(t.split()) for t in speed_texts])
    print(f"Speed: {len(speed_texts)} FI validation transcripts (mean {words:.0f} words), "
          f"batch 32, 1 thread, median of {args.repeats} interleaved repeats. Accuracy: "
          f"RidgeCV on the first {len(X_tr)} FI training clips, mean accuracy (1 - MAE) on "
          f"the first {len(X_va)} validation clips (training mean: {baseline:.4f}).\n")
    print("| backend | texts/s | speed-up vs torch | max 1 - cosine vs torch "
          "| FI validation accuracy | difference vs torch |")
    print("|---|---:|---:|---:|---:|---:|")
    for backend in BACKENDS:
        ratio = statistics.median(
            t_ref / t for t_ref, t in zip(seconds["torch"], seconds[backend]))
        cos = np.sum(vectors[backend] * ref, axis=1) / (
            np.linalg.norm(vectors[backend], axis=1) * np.linalg.norm(ref, axis=1))
        name = "torch (reference)" if backend == "torch" else backend
        print(f"| {name} | {len(speed_texts) / statistics.median(seconds[backend]):.1f} "
              f"| {ratio:.2f}x | {float(np.max(1 - cos)):.1e} | {scores[backend]:.4f} "
              f"| {scores[backend] - scores['torch']:+.4f} |")


if __name__ == "__main__":
    main()
