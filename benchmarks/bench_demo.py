"""The end-to-end demo (`make demo`, `skpersona demo`): fusion against each single modality.

Run ``python benchmarks/bench_demo.py`` (300 ``make_interviews`` samples, 5-fold CV; what
``skpersona demo`` runs) or add ``--quick`` (150 samples, 3 folds). The single-modality
ridges are the references, measured in the same run. The demo's progress and its real-face
description go to stderr; the markdown table goes to stdout.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skpersona._demo import run_demo  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="150 samples, 3 folds")
    args = parser.parse_args(argv)
    n_samples, n_splits = (150, 3) if args.quick else (300, 5)

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as output:
        table = run_demo(output=output, n_samples=n_samples, n_splits=n_splits,
                         show=lambda line: print(line, file=sys.stderr))
    seconds = time.perf_counter() - start

    names = {"AU only (ridge)": "AU statistics + ridge (reference)",
             "text only (ridge)": "text embedding + ridge (reference)",
             "AU + text (late fusion)": "AU + text, late `FusionRegressor`"}
    traits = [c for c in table.columns if c != "mean accuracy"]
    print(f"{n_samples} `make_interviews` samples, {n_splits}-fold CV, Pearson r per trait "
          "(openness is in the words only, neuroticism in the face only), mean accuracy "
          f"(1 - MAE) in the last column; {seconds:.0f} s, text embeddings computed afresh.\n")
    print("| model | " + " | ".join(traits) + " | mean accuracy |")
    print("|---|" + "---:|" * (len(traits) + 1))
    for name, row in table.iterrows():
        cells = [f"{row[t]:.3f}" for t in traits] + [f"{row['mean accuracy']:.3f}"]
        print(f"| {names.get(name, name)} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
