"""Where the digits' latent graph is lost: information kept, but mixed inside each block.

On ``make_causal_digits`` ``MultimodalCRL`` scores a held-out MCC near 0.8 and
its modality order is no better than a coin (``bench_crl.py``). This script fits
it once (the settings of ``bench_crl.py``) and asks, on the held-out rows:

* is each true latent still *in* its modality's learned block? A
  k-nearest-neighbour regression (15 neighbours, 5-fold cross-validated R^2) of
  the true latent on the learned block, against the best linear correlation
  with a single learned latent. A high R^2 with a low correlation means the
  information is there but mixed nonlinearly with the block's other latent.
  Children inside a modality are compared by their exogenous parts (what the
  sparsest graph identifies, as the oracle reference of ``bench_crl.py``);
* what does the modality-order test (``order_dependence`` after the block
  alignment, as in ``bench_crl_orientation.py``) make of the true latents and
  of the learned ones: ``-log p`` of the true and the reversed order.

Usage::

    python benchmarks/diagnostics/bench_crl_block_mixing.py [--seed 0] [--measurements 3] [--quick]

(about 4 minutes on 2 cores; ``--quick``: 40 epochs).
"""

import argparse
import os
import sys

import numpy as np
from sklearn.model_selection import cross_val_predict
from sklearn.neighbors import KNeighborsRegressor

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))  # skpersona
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))  # bench_crl
sys.path.insert(0, os.path.dirname(__file__))  # the other diagnostics

from bench_crl import exogenous_latents  # noqa: E402
from bench_crl_orientation import BLOCKS, SHARED, order_scores  # noqa: E402

from skpersona.crl import MultimodalCRL  # noqa: E402
from skpersona.datasets import make_causal_digits  # noqa: E402

NAMES = ["colour (z1_1)", "size, exogenous part (z1_2)", "horizontal position (z2_1)",
         "vertical position, exogenous part (z2_2)", "background grey (s_1)"]


def knn_r2(inputs, target):
    inputs = (inputs - inputs.mean(axis=0)) / inputs.std(axis=0)
    predicted = cross_val_predict(KNeighborsRegressor(15), inputs, target, cv=5)
    return 1 - np.mean((predicted - target) ** 2) / target.var()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--measurements", type=int, default=3, help="images per modality")
    parser.add_argument("--quick", action="store_true", help="40 epochs instead of 150")
    args = parser.parse_args(argv)
    data = make_causal_digits(
        3000, image_size=10, n_measurements=args.measurements, random_state=args.seed
    )
    X, true = data.data, data.latents.to_numpy()
    crl = MultimodalCRL(
        hidden_size=32, batch_size=256, lr=5e-3, max_epochs=40 if args.quick else 150,
        random_state=args.seed,
    ).fit(X.iloc[:2000])
    learned, true = crl.transform(X.iloc[2000:]), true[2000:]
    reference = exogenous_latents(true, data.graph.to_numpy(), ["1", "1", "2", "2"])
    own_block = [BLOCKS["1"], BLOCKS["1"], BLOCKS["2"], BLOCKS["2"], SHARED]

    print(f"## make_causal_digits, seed {args.seed}, {args.measurements} image(s) per modality: "
          f"MultimodalCRL's held-out latents (1000 rows), order kept: "
          f"{' > '.join(crl.modality_order_)}")
    print()
    print("| true latent | best linear correlation with one learned latent | "
          "k-NN R^2 from its learned block | k-NN R^2 from all learned latents |")
    print("|---|---|---|---|")
    corr = np.corrcoef(reference, learned, rowvar=False)[:5, 5:]
    for k, name in enumerate(NAMES):
        print(f"| {name} | {np.abs(corr[k]).max():.2f} | "
              f"{knn_r2(learned[:, own_block[k]], reference[:, k]):.2f} | "
              f"{knn_r2(learned, reference[:, k]):.2f} |")
    print()
    print("| latents | -log p, true order 1 > 2 | -log p, reversed 2 > 1 |")
    print("|---|---|---|")
    for name, latents in [("true", true), ("learned", learned)]:
        right, wrong = order_scores(latents)
        print(f"| {name} | {right:.1f} | {wrong:.1f} |")


if __name__ == "__main__":
    main()
