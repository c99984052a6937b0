"""The saved ``answers`` model (the default of ``skpersona fit`` for answer text): file size.

Fits the default answers model (``skpersona.cli._models.answers_model``: TF-IDF ridge
and one MiniLM ridge per answer, stacked) on the 1,088 SIOP 2019 Train respondents,
writes it as ``skpersona fit`` does (a skops bundle, deflate-compressed), and loads it
back with ``skpersona.load``, the safe loader. Reference, measured in the same run on
the same fitted model: the file as written before (uncompressed, ``AnswerEmbedder``'s
vectorizers holding their ``vocabulary_`` dicts, which skops writes entry by entry into
the file's JSON schema); it also shows that such older files still load. A middle row
separates the two changes. Each file's Dev predictions after loading are compared with those of
the model in memory, and the Dev mean Pearson r is printed for each (the fit is the
same; only the file changes).

Run: ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 nice -n 10 python
benchmarks/bench_answers_file.py``
"""

import argparse
import os
import tempfile
import time
from contextlib import contextmanager, nullcontext

import numpy as np
import skops.io as sio
from sklearn.base import BaseEstimator

import skpersona
from skpersona import __version__
from skpersona.cli._io import MODEL_FORMAT, dump_model
from skpersona.cli._models import answers_model
from skpersona.datasets import load_siop_2019
from skpersona.text import AnswerEmbedder


def pearson(y, pred):
    return np.array([np.corrcoef(y[:, j], pred[:, j])[0, 1] for j in range(y.shape[1])])


@contextmanager
def vocabularies_as_dicts():
    """AnswerEmbedder written as before: its vectorizers' vocabulary_ dicts as they are."""
    packed = AnswerEmbedder.__getstate__
    AnswerEmbedder.__getstate__ = BaseEstimator.__getstate__
    try:
        yield
    finally:
        AnswerEmbedder.__getstate__ = packed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", help="folder holding siop_2019/ (default: shared data)")
    args = parser.parse_args()
    train = load_siop_2019(args.data_home, split="train")
    dev = load_siop_2019(args.data_home, split="dev")
    answers, traits = train.feature_names, list(train.target_names)
    y_dev = dev.target.to_numpy()
    start = time.perf_counter()
    model = answers_model({"text_columns": answers}).fit(train.data, train.target.to_numpy())
    fit_s = time.perf_counter() - start
    in_memory = model.predict(dev.data)
    print(f"answers model fitted on {len(train.data)} Train respondents in {fit_s:.1f} s wall; "
          f"Dev mean r in memory {pearson(y_dev, in_memory).mean():.4f}\n")
    bundle = {"format": MODEL_FORMAT, "format_version": 1, "skpersona_version": __version__,
              "model_name": "answers", "targets": traits, "reads": "text", "features": None,
              "text_columns": answers, "video_columns": ["video"], "estimator": model}
    print("| file | size (MB) | write (s) | load (s, best of 3) | Dev mean r after load | "
          "max abs diff to memory |")
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for name, packed, compressed in (
                ("now: packed vocabularies, deflate (skpersona fit)", True, True),
                ("packed vocabularies, stored uncompressed", True, False),
                ("before: vocabulary_ dicts in the schema, uncompressed (reference)", False,
                 False)):
            path = os.path.join(folder, "m.skops")
            start = time.perf_counter()
            with vocabularies_as_dicts() if not packed else nullcontext():
                if compressed:
                    dump_model(bundle, path)
                else:
                    sio.dump(bundle, path)  # how skpersona fit wrote it before
            write_s = time.perf_counter() - start
            size = os.path.getsize(path) / 1e6
            load_s = []
            for _ in range(3):  # the fastest of three: the machine is shared
                start = time.perf_counter()
                loaded = skpersona.load(path)
                load_s.append(time.perf_counter() - start)
            load_s = min(load_s)
            pred = loaded["estimator"].predict(dev.data)
            print(f"| {name} | {size:.1f} | {write_s:.1f} | {load_s:.1f} | "
                  f"{pearson(y_dev, pred).mean():.4f} | {np.abs(pred - in_memory).max():.1e} |",
                  flush=True)


if __name__ == "__main__":
    main()
