"""Overhead of TextEmbedder over calling sentence-transformers directly.

Embeds the same First Impressions transcripts (validation split) with
``SentenceTransformer.encode`` (the reference) and with ``TextEmbedder.transform``
in several settings, using the same loaded all-MiniLM-L6-v2 model object on the
CPU. Runs are interleaved and repeated; the table gives the median time, the
median ratio to the reference run of the same repeat, and the time TextEmbedder
spends outside ``encode`` (its own overhead, measured directly by timing the
model's ``encode`` inside each call, so it does not depend on machine load).

Run::

    python benchmarks/bench_text_embedder.py [--quick] [--n-texts N] [--repeats R]
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from skpersona.datasets import load_first_impressions  # noqa: E402
from skpersona.text import TextEmbedder  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64 texts, 3 repeats")
    parser.add_argument("--n-texts", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = 64 if args.quick else args.n_texts

    texts = load_first_impressions(split="validation").data["transcript"].tolist()[:n]
    warm_dir = tempfile.mkdtemp(prefix="skpersona-bench-")
    variants = {
        "TextEmbedder, chunk_pooling=None": TextEmbedder(device="cpu", chunk_pooling=None),
        "TextEmbedder, default (chunking)": TextEmbedder(device="cpu"),
        "TextEmbedder, cold disk cache": None,  # a fresh cache folder each repeat
        "TextEmbedder, warm disk cache": TextEmbedder(device="cpu", cache_dir=warm_dir),
    }
    for est in variants.values():
        if est is not None:
            est.fit(texts[:1])
    model = variants["TextEmbedder, default (chunking)"].get_model()  # the shared model
    model.encode(texts[:8])  # warm-up
    variants["TextEmbedder, warm disk cache"].transform(texts)  # fill the warm cache

    times = {"sentence-transformers encode (reference)": []} | {name: [] for name in variants}
    ratios = {name: [] for name in variants}
    outside = {name: [] for name in variants}
    encode = model.encode
    inside = []

    def timed_encode(*a, **k):
        start = time.perf_counter()
        try:
            return encode(*a, **k)
        finally:
            inside.append(time.perf_counter() - start)

    for _ in range(args.repeats):
        start = time.perf_counter()
        reference = model.encode(texts, batch_size=32)
        ref_s = time.perf_counter() - start
        times["sentence-transformers encode (reference)"].append(ref_s)
        for name, est in variants.items():
            if est is None:
                est = TextEmbedder(device="cpu", cache_dir=tempfile.mkdtemp()).fit(texts[:1])
            inside.clear()
            model.encode = timed_encode
            try:
                start = time.perf_counter()
                out = est.transform(texts)
                elapsed = time.perf_counter() - start
            finally:
                del model.encode  # back to the class method
            times[name].append(elapsed)
            outside[name].append(elapsed - sum(inside))
            ratios[name].append(elapsed / ref_s)
            assert np.allclose(out, reference, atol=1e-5), name

    print(f"\n{n} First Impressions transcripts (mean {np.mean([len(t.split()) for t in texts]):.0f} "
          f"words), all-MiniLM-L6-v2 on CPU, batch_size=32, {args.repeats} repeats, "
          f"torch threads={__import__('torch').get_num_threads()}")
    print(f"{'method':<44}{'median s':>10}{'texts/s':>10}{'ratio':>8}{'own overhead ms':>17}")
    for name, values in times.items():
        median = statistics.median(values)
        ratio = statistics.median(ratios[name]) if name in ratios else 1.0
        own = f"{1000 * statistics.median(outside[name]):.1f}" if name in outside else "-"
        print(f"{name:<44}{median:>10.3f}{n / median:>10.1f}{ratio:>8.3f}{own:>17}")


if __name__ == "__main__":
    main()
