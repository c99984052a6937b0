"""Does the ELBO prefer the true digit latents? Fits started at the truth against plain fits.

On ``make_causal_digits`` the fitted blocks come out mixed (``bench_crl.py``,
``bench_crl_block_mixing.py``), even when the estimator may use only the true
DAG's edges (``bench_crl.py --oracle-graph``). This diagnostic asks whether that
is what the objective wants or where the optimiser stops: each seed is fitted
twice under the oracle graph (true edges, true modality order), with the
settings of ``bench_crl.py``:

* plain: the estimator's own random start and its default shared warm-up
  (``"auto"``: with and without, the better validation ELBO kept);
* truth-initialised: before the same ELBO training, the encoders' means are
  trained to give the standardised true latents of the training rows and the
  decoders to reconstruct the rows from them (least squares, 200 epochs); no
  shared warm-up, which would hide the content latents the start set up.

Both train until early stopping ends them (at most ``--epochs``, default 600):
under a cap that either run reaches, the comparison would measure the truth
start's head start, not where the objective leads. For each it prints the
first fit's validation ELBO per sample (higher is better; the estimator's
``order_scores_``) and its epochs, the refit's validation loss
(``selection_loss_``, lower is better), the held-out MCC, whether the kept
modality order is the true one and the SHD of ``graph_``. Ground truth
enters only the second start: this is a diagnostic, never a selection.

Usage::

    python benchmarks/diagnostics/bench_crl_truth_init.py [--seeds 5] [--n-jobs 2] [--epochs 600]
        [--graph-search] [--quick]

``--graph-search`` leaves the oracle graph out: both fits search the modality
order and the DAG as the estimator does by default (the truth-started one starts
every order's fit at the truth), which asks whether latents near the truth would
give the true order and graph. About 10 minutes for 5 seeds at ``--n-jobs 2``,
20 with ``--graph-search``; ``--epochs 2`` is a smoke test.
"""

import argparse
import os
import sys

import numpy as np
import torch
from joblib import Parallel, delayed

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))  # skpersona
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))  # bench_crl
sys.path.insert(0, os.path.dirname(__file__))  # the other diagnostics

from bench_crl import (  # noqa: E402
    DIGIT_SIZE,
    FAST_FIT,
    HIDDEN_SIZE,
    oracle_graph_kwargs,
    recovery_scores,
)

from skpersona.crl import MultimodalCRL  # noqa: E402
from skpersona.datasets import make_causal_digits  # noqa: E402

N_TRAIN, N_TEST = 2000, 1000


def start_at(module, Xs, truth, epochs=200, seed=0):
    """Train encoders' means to ``truth`` and decoders to reconstruct ``Xs`` from it."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(Xs, dtype=torch.float32)
    t = torch.as_tensor(truth, dtype=torch.float32)
    params = list(module.encoders.parameters()) + list(module.decoders.parameters())
    optimizer = torch.optim.Adam(params, lr=3e-3)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), 256):
            rows = perm[start : start + 256]
            loss = 0.0
            for k, (encoder, decoder) in enumerate(zip(module.encoders, module.decoders)):
                idx = module._latent_index(module.measurement_modality[k])
                xk = module._measurement(x[rows], k)
                mean = encoder(xk).chunk(2, dim=1)[0]
                target = t[rows][:, idx]
                loss = loss + ((mean - target) ** 2).mean() + ((decoder(target) - xk) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


class RecordedCRL(MultimodalCRL):
    """``MultimodalCRL`` that records the epochs of the kept first fit (before the refit)."""

    def _refine(self, kept, aligned, Xs, split_seed, seed):
        self._first_epochs = len(kept.net.history)
        return super()._refine(kept, aligned, Xs, split_seed, seed)


class TruthStartedCRL(RecordedCRL):
    """``MultimodalCRL`` whose fresh nets start at ``_truth`` (the true latents of ``X``)."""

    def fit(self, X, y=None):
        self._train_rows = np.asarray(X, dtype=float)
        self._refitting = False
        return super().fit(X, y)

    def _refine(self, kept, aligned, Xs, split_seed, seed):
        self._refitting = True  # the refit is warm-started from the kept net
        return super()._refine(kept, aligned, Xs, split_seed, seed)

    def _make_net(self, n_samples, seed, module_args=None, warmup=0):
        net = super()._make_net(n_samples, seed, module_args, warmup)
        if not self._refitting:  # every fresh fit: each order, each restart
            net.initialize()
            start_at(net.module_, self._standardise(self._train_rows), self._truth)
            net.warm_start = True
        return net


def run(seed, variant, epochs, graph_search):
    data = make_causal_digits(N_TRAIN + N_TEST, image_size=DIGIT_SIZE, random_state=seed)
    train, test = data.data.iloc[:N_TRAIN], data.data.iloc[N_TRAIN:]
    latents = data.latents.to_numpy()
    kwargs = dict(hidden_size=HIDDEN_SIZE, max_epochs=epochs, random_state=seed, **FAST_FIT)
    if not graph_search:
        kwargs.update(oracle_graph_kwargs(data))
    if variant == "plain":
        crl = RecordedCRL(**kwargs)
    else:
        crl = TruthStartedCRL(shared_warmup=0, **kwargs)
        truth = latents[:N_TRAIN]
        crl._truth = (truth - truth.mean(axis=0)) / truth.std(axis=0)
    crl.fit(train)
    row = dict(
        seed=seed, variant=variant, elbo=crl.order_scores_[" > ".join(crl.modality_order_)],
        epochs=crl._first_epochs, refit=crl.selection_loss_,
        **recovery_scores(crl, data, latents[N_TRAIN:], crl.transform(test)),
    )
    print(f"  seed {seed} {variant}: validation ELBO {row['elbo']:.1f} after {row['epochs']} "
          f"epochs, refit loss {row['refit']:.1f}, MCC {row['mcc']:.3f}, order "
          f"{' > '.join(crl.modality_order_)}, SHD {row['shd']}", file=sys.stderr, flush=True)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None, help="most epochs per fit")
    parser.add_argument("--quick", action="store_true", help="2 seeds, 60 epochs")
    parser.add_argument(
        "--graph-search", action="store_true",
        help="search the modality order and the DAG (the defaults) instead of the oracle graph",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = min(args.seeds, 2)
    args.epochs = args.epochs or (60 if args.quick else 600)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    rows = Parallel(n_jobs=args.n_jobs)(
        delayed(run)(seed, variant, args.epochs, args.graph_search)
        for seed in seeds for variant in ("plain", "truth")
    )
    by = {(r["seed"], r["variant"]): r for r in rows}
    setting = ("with the order and DAG searched (the defaults)" if args.graph_search
               else "under the oracle graph")
    print(f"### Digits {setting}: plain start against a start at the true latents "
          f"({len(seeds)} seeds, {N_TRAIN} training / {N_TEST} test rows, at most {args.epochs} "
          "epochs; plain: shared_warmup='auto', truth-started: 0)\n")
    print("Each cell: plain / truth-started. ELBO: the kept order's first fit (validation, nats "
          "per sample); SHD: the refitted graph_ against the true DAG (empty graph: "
          f"{by[seeds[0], 'plain']['shd_empty']}).\n")
    print("| seed | validation ELBO | epochs of the first fit | refit validation loss | "
          "held-out MCC | modality order true | SHD |")
    print("|---|---|---|---|---|---|---|")
    for seed in seeds:
        p, t = by[seed, "plain"], by[seed, "truth"]
        print(f"| {seed} | {p['elbo']:.1f} / {t['elbo']:.1f} | {p['epochs']} / {t['epochs']} | "
              f"{p['refit']:.1f} / {t['refit']:.1f} | {p['mcc']:.3f} / {t['mcc']:.3f} | "
              f"{'yes' if p['order_ok'] else 'no'} / {'yes' if t['order_ok'] else 'no'} | "
              f"{p['shd']} / {t['shd']} |")
    mean = {v: {k: np.mean([by[s, v][k] for s in seeds]) for k in ("elbo", "refit", "mcc", "shd")}
            for v in ("plain", "truth")}
    count = {v: {"order": sum(by[s, v]["order_ok"] for s in seeds),
                 "below": sum(by[s, v]["shd"] < by[s, v]["shd_empty"] for s in seeds)}
             for v in ("plain", "truth")}
    print(f"| mean | {mean['plain']['elbo']:.1f} / {mean['truth']['elbo']:.1f} | | "
          f"{mean['plain']['refit']:.1f} / {mean['truth']['refit']:.1f} | "
          f"{mean['plain']['mcc']:.3f} / {mean['truth']['mcc']:.3f} | "
          f"{count['plain']['order']} / {count['truth']['order']} of {len(seeds)} | "
          f"{mean['plain']['shd']:.1f} / {mean['truth']['shd']:.1f} |")
    better = sum(by[s, "truth"]["elbo"] > by[s, "plain"]["elbo"] for s in seeds)
    print(f"\nThe truth-started fit has the higher validation ELBO on {better} of {len(seeds)} "
          f"seeds; SHD below the empty graph's on {count['plain']['below']} (plain) and "
          f"{count['truth']['below']} (truth-started) of {len(seeds)}.")


if __name__ == "__main__":
    main()
