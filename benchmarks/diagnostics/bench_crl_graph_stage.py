"""CRL: the graph stage on given latents, true, re-expressed or mixed inside a block.

``MultimodalCRL`` learns latents first and a graph over them second: it aligns
each modality's block (:func:`~skpersona.crl._orient.align_blocks`), keeps the
modality order whose residuals are the most independent
(:func:`~skpersona.crl._orient.order_dependence`), then searches the DAG within
that order (:func:`~skpersona.crl._orient.resit_order`,
:func:`~skpersona.crl._orient.select_parents`). This script runs that second
stage alone, with no network, on latents handed to it, to separate the two
ways the estimator can miss the true graph: a graph stage that fails on good
latents, or latents that the graph stage cannot use.

The latents are those of the benchmark generators of ``bench_crl.py``
(``make_causal_digits``, PersonaX's chain DAG, and ``make_multimodal_causal``
with ``graph="cross"``), standardised, and then:

* ``true``: as drawn;
* ``rotated <a> deg``: each content block rotated by the angle ``a`` (the two
  latents of a modality mixed linearly; the observations of the digits leave
  such a mixing almost free, see ``bench_crl_truth_init.py``);
* ``swirled <a> deg per unit radius``: each block rotated by ``a`` times the
  row's distance from the centre, a nonlinear mixing;
* ``tanh(1.5 z)``, ``z + z^3 / 3``: one monotone map applied to every latent,
  a re-expression a decoder absorbs (``bench_crl_orientation.py`` runs the
  order test alone on these);
* ``exogenous``: every in-modality child replaced by its exogenous part (the
  oracle reference of ``bench_crl.py``: what the sparsest graph identifies).

For each it prints, over the seeds, how often the kept modality order is the
true one and the SHD of the content graph against the true DAG (the empty
graph's SHD is the number of true edges). As in the estimator, the order test
sees the fitted rows (2,000 here) and the DAG search the validation rows (the
last 20%). About two minutes (``--quick``: 2 seeds).

Usage::

    python benchmarks/diagnostics/bench_crl_graph_stage.py [--seeds 5] [--angles 10 20 30 45] [--swirls 15 30]
        [--quick]
"""

import argparse
import itertools
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))  # skpersona
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))  # bench_crl
sys.path.insert(0, os.path.dirname(__file__))  # the other diagnostics

from bench_crl import DIGIT_SIZE, exogenous_latents, shd  # noqa: E402

from skpersona.crl import MultimodalCRL  # noqa: E402
from skpersona.crl._orient import (  # noqa: E402
    align_blocks,
    order_dependence,
    resit_order,
    select_parents,
)
from skpersona.datasets import make_causal_digits, make_multimodal_causal  # noqa: E402

N_FIT, VALIDATION_FRACTION = 2000, 0.2


def graph_stage(latents, blocks, shared):
    """The estimator's order test and DAG search on given latents: (order, content graph).

    ``order`` is a tuple of block indices, causes first.
    """
    n_valid = int(round(VALIDATION_FRACTION * len(latents)))
    fitted, valid = latents, latents[-n_valid:]
    weight, bias = align_blocks(fitted, blocks, shared)
    aligned = fitted @ weight.T + bias
    orders = list(itertools.permutations(range(len(blocks))))
    dependence = [order_dependence(aligned, [blocks[m] for m in o], shared) for o in orders]
    order = orders[int(np.argmin(dependence))]
    weight, bias = align_blocks(valid, blocks, shared)
    aligned = valid @ weight.T + bias
    # the estimator's own edge mask for this modality order (no prior_mask)
    allowed = MultimodalCRL(shared_dim=len(shared))._allowed(
        list(range(len(blocks))), [len(b) for b in blocks], True, order
    )
    dag = select_parents(aligned, resit_order(aligned, allowed)[0], allowed)
    n_content = sum(len(b) for b in blocks)
    return order, dag[:n_content, :n_content]


def rotate_blocks(latents, blocks, degrees, per_radius=False):
    """Rotate each two-latent block by ``degrees``, or by ``degrees`` times each row's radius.

    The second is a swirl: invertible and nonlinear, the textbook mixing that
    independence alone does not undo (Hyvarinen and Pajunen 1999).
    """
    mixed = latents.copy()
    for block in blocks:
        pair = latents[:, block]
        angle = np.deg2rad(degrees) * (np.linalg.norm(pair, axis=1) if per_radius else 1.0)
        cos, sin = np.cos(angle), np.sin(angle)
        mixed[:, block] = np.column_stack(
            [cos * pair[:, 0] + sin * pair[:, 1], -sin * pair[:, 0] + cos * pair[:, 1]]
        )
    return mixed


def generators():
    # the latents only: image size and measurements do not change them
    yield "make_causal_digits (chain DAG)", lambda seed: make_causal_digits(
        N_FIT, image_size=DIGIT_SIZE, random_state=seed
    )
    yield "make_multimodal_causal (graph='cross')", lambda seed: make_multimodal_causal(
        N_FIT, graph="cross", noise_distribution="laplace", random_state=seed
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--angles", type=float, nargs="+", default=[10, 20, 30, 45],
                        help="rotations of every content block, in degrees")
    parser.add_argument("--swirls", type=float, nargs="+", default=[15, 30],
                        help="swirls of every content block, in degrees per unit radius")
    parser.add_argument("--quick", action="store_true", help="2 seeds")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = 2
    blocks, shared = [[0, 1], [2, 3]], [4]
    modality_of = [0, 0, 1, 1]
    print(f"### MultimodalCRL's graph stage on given latents ({args.seeds} seeds, {N_FIT} rows; "
          f"the DAG searched on the last {VALIDATION_FRACTION:.0%})")
    for title, make in generators():
        rows = {}
        for seed in range(args.seeds):
            data = make(seed)
            truth = data.graph.to_numpy()
            latents = data.latents.to_numpy()
            latents = (latents - latents.mean(0)) / latents.std(0)
            variants = {"true latents": latents}
            for angle in args.angles:
                variants[f"content blocks rotated {angle:g} deg"] = rotate_blocks(
                    latents, blocks, angle
                )
            for angle in args.swirls:
                variants[f"content blocks swirled {angle:g} deg per unit radius"] = (
                    rotate_blocks(latents, blocks, angle, per_radius=True)
                )
            variants["every latent through tanh(1.5 z)"] = np.tanh(1.5 * latents)
            variants["every latent through z + z^3 / 3"] = latents + latents**3 / 3
            variants["in-modality children replaced by their exogenous parts"] = (
                exogenous_latents(latents, truth, modality_of)
            )
            for name, given in variants.items():
                order, graph = graph_stage(given, blocks, shared)
                rows.setdefault(name, []).append(
                    (order == (0, 1), shd(truth, graph), int(truth.sum()))
                )
        print(f"\n#### {title}\n")
        print("| latents given to the graph stage | modality order true | SHD per seed | "
              "SHD below the empty graph's |")
        print("|---|---|---|---|")
        for name, results in rows.items():
            orders = sum(ok for ok, _, _ in results)
            shds = [s for _, s, _ in results]
            below = sum(s < empty for _, s, empty in results)
            print(f"| {name} | {orders} of {len(results)} | {shds} (empty: "
                  f"{results[0][2]}) | {below} of {len(results)} |")


if __name__ == "__main__":
    main()
