"""CRL: does independent mechanism analysis (IMA) unmix the digits' blocks?

On ``make_causal_digits`` the fitted latents of a modality come out mixed inside
their block, and the ELBO barely prefers unmixed ones (``bench_crl_truth_init.py``).
IMA (Gresele et al., NeurIPS 2021) is an identifying assumption that rules such
mixings out where it holds: the decoder's Jacobian columns - the image changes
that each latent makes - are orthogonal. Its contrast per sample,
``sum_j log ||J_j|| - 1/2 log det(J^T J)``, is zero exactly then and grows as the
columns lean together, as they do after a rotation of the latents.

The script asks two questions:

1. Does the assumption hold on the digits? The contrast of the generator's own
   rendering (finite differences, no pixel noise) with respect to each
   modality's latents (its two content latents and the shared one), as drawn and
   with the two content latents rotated.
2. Does penalising it help? ``MultimodalCRL`` with the settings of
   ``bench_crl.py`` (order and DAG searched) trained with ``weight * contrast``
   (summed over the decoders, per sample) added to its training loss; weight 0
   is the plain estimator in the same run, weight 1 the weight of the IMA
   paper's regularised objective, fixed in advance. Printed per weight: held-out
   MCC, modality order, SHD, the kept order's validation ELBO (nats per sample,
   without the penalty) and the contrast of the fitted decoders on the test
   rows.

A diagnostic: the weight is not selected, and ground truth enters only the
scores. About 25 minutes for 5 seeds at ``--n-jobs 2``.

Usage::

    python benchmarks/diagnostics/bench_crl_ima.py [--seeds 5] [--n-jobs 2] [--weights 0 1] [--quick]
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
    recovery_scores,
)

from skpersona.crl import MultimodalCRL  # noqa: E402
from skpersona.crl._modules import MultimodalVAE  # noqa: E402
from skpersona.datasets import make_causal_digits  # noqa: E402
from skpersona.datasets._multimodal_causal import _digit_images, _draw_digits  # noqa: E402

N_TRAIN, N_TEST = 2000, 1000
# finite-difference step, in standard deviations of each latent
STEP = 0.02


def ima_contrast(jacobian):
    """Per-sample IMA contrast of Jacobians of shape (n, n_outputs, n_latents)."""
    gram = jacobian.transpose(1, 2) @ jacobian
    gram = gram + 1e-6 * torch.eye(gram.shape[1], dtype=gram.dtype)
    log_norms = 0.5 * torch.log(torch.diagonal(gram, dim1=1, dim2=2)).sum(dim=1)
    return log_norms - 0.5 * torch.logdet(gram)


class IMAPenalisedVAE(MultimodalVAE):
    """``MultimodalVAE`` whose training loss adds ``weight`` times the decoders' IMA contrast."""

    def __init__(self, weight, **kwargs):
        super().__init__(**kwargs)
        self.weight = weight

    def contrast(self, X):
        """Mean IMA contrast of the decoders at the posterior means, summed over decoders."""
        mu, logvar = self.encode(X)
        latent = self.posterior(mu, logvar, sample=False)[0]
        step = STEP * (latent.detach().std(dim=0) + 1e-6)
        total = X.new_zeros(())
        for k, decoder in enumerate(self.decoders):
            idx = self._latent_index(self.measurement_modality[k])
            z = latent[:, idx]
            base = decoder(z)
            columns = []
            for j, i in enumerate(idx):
                shift = torch.zeros_like(z)
                shift[:, j] = step[i]
                columns.append((decoder(z + shift) - base) / step[i])
            total = total + ima_contrast(torch.stack(columns, dim=2)).mean()
        return total

    def forward(self, X):
        out = super().forward(X)
        # not during the shared warm-up, where the content latents are hidden
        if self.training and self.weight > 0 and self.content_gate == 1.0:
            out["recon"] = out["recon"] + self.weight * self.contrast(X)
        return out


class IMAPenalisedCRL(MultimodalCRL):
    """``MultimodalCRL`` trained with the IMA penalty (``_ima_weight``) in every fit."""

    def _build_module(self, module_args):
        return IMAPenalisedVAE(self._ima_weight, **module_args)


def generator_contrast(seed, n=300, angles=(0, 20, 45)):
    """IMA contrast of make_causal_digits' rendering per modality, content latents rotated."""
    latents = make_causal_digits(n, image_size=DIGIT_SIZE, random_state=seed).latents.to_numpy()
    images = _digit_images(3)  # the generator's default digit
    digits = images[np.random.RandomState(seed).randint(len(images), size=n)]

    def draw(modality, z):
        return _draw_digits(modality, digits, z[:, :4], z[:, 4:], DIGIT_SIZE)

    result = {}
    for modality, idx in [(0, [0, 1, 4]), (1, [2, 3, 4])]:
        base = draw(modality, latents)
        columns = []
        for i in idx:
            shifted = latents.copy()
            shifted[:, i] += 1e-3
            columns.append((draw(modality, shifted) - base) / 1e-3)
        jacobian = torch.as_tensor(np.stack(columns, axis=2))
        for angle in angles:
            a = np.deg2rad(angle)
            rotation = torch.eye(3, dtype=jacobian.dtype)
            rotation[:2, :2] = torch.tensor([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            result[modality, angle] = float(ima_contrast(jacobian @ rotation).median())
    return result


def run(seed, weight, epochs):
    torch.set_num_threads(1)
    data = make_causal_digits(N_TRAIN + N_TEST, image_size=DIGIT_SIZE, random_state=seed)
    train, test = data.data.iloc[:N_TRAIN], data.data.iloc[N_TRAIN:]
    latents = data.latents.to_numpy()
    crl = IMAPenalisedCRL(
        hidden_size=HIDDEN_SIZE, max_epochs=epochs, random_state=seed, **FAST_FIT
    )
    crl._ima_weight = weight
    crl.fit(train)
    with torch.no_grad():
        contrast = float(crl.net_.module_.contrast(crl._tensor(test).float()))
    return dict(
        seed=seed, weight=weight, elbo=crl.order_scores_[" > ".join(crl.modality_order_)],
        contrast=contrast, **recovery_scores(crl, data, latents[N_TRAIN:], crl.transform(test)),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 1.0])
    parser.add_argument("--epochs", type=int, default=600, help="most epochs per fit")
    parser.add_argument("--quick", action="store_true", help="2 seeds, at most 60 epochs")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs = 2, 60
    seeds = range(args.seeds)

    print(f"### IMA contrast of make_causal_digits' rendering (median over 300 samples, "
          f"{args.seeds} seeds)\n")
    print("| modality (latents) | as drawn | content latents rotated 20 deg | rotated 45 deg |")
    print("|---|---|---|---|")
    contrasts = [generator_contrast(seed) for seed in seeds]
    for modality, name in [(0, "1 (colour, size, shared grey)"),
                           (1, "2 (x, y position, shared grey)")]:
        cells = [np.mean([c[modality, a] for c in contrasts]) for a in (0, 20, 45)]
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")

    jobs = [(seed, weight) for weight in args.weights for seed in seeds]
    rows = Parallel(n_jobs=args.n_jobs)(
        delayed(run)(seed, weight, args.epochs) for seed, weight in jobs
    )
    print(f"\n### MultimodalCRL trained with the IMA penalty on make_causal_digits "
          f"({args.seeds} seeds, {N_TRAIN} training / {N_TEST} test rows, at most "
          f"{args.epochs} epochs, order and DAG searched)\n")
    print("| weight | held-out MCC (mean, min) | modality order true | SHD per seed (empty: 3) "
          "| SHD below the empty graph's | validation ELBO of the kept order (mean) "
          "| decoders' IMA contrast (mean) |")
    print("|---|---|---|---|---|---|---|")
    for weight in args.weights:
        mine = [r for r in rows if r["weight"] == weight]
        mccs = [r["mcc"] for r in mine]
        print(
            f"| {weight:g} | {np.mean(mccs):.3f}, {np.min(mccs):.3f} "
            f"| {sum(r['order_ok'] for r in mine)} of {len(mine)} "
            f"| {[r['shd'] for r in mine]} "
            f"| {sum(r['shd'] < r['shd_empty'] for r in mine)} of {len(mine)} "
            f"| {np.mean([r['elbo'] for r in mine]):.1f} "
            f"| {np.mean([r['contrast'] for r in mine]):.3f} |"
        )


if __name__ == "__main__":
    main()
