"""Benchmark of multimodal causal representation learning (issue 7).

* identifiability: MCC between true and learned latents on held-out data for
  ``MultimodalCRL`` and the ``BetaVAE`` baseline (reference), several seeds,
  on ``make_multimodal_causal`` (and, in the full run, ``make_causal_digits``);
* graph recovery: structural Hamming distance (SHD) of ``MultimodalCRL``'s
  latent graph to the true DAG, after matching learned to true latents,
  against the empty graph (reference);
* fit time against the number of samples, against ``BetaVAE`` (reference).

Every model is fitted on a training set (with its own internal validation split
for early stopping) and scored on a separate test set.

Run ``python benchmarks/bench_crl.py`` (a few minutes on 2 cores) or add
``--quick`` (about a minute).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skpersona.crl import BetaVAE, MultimodalCRL, match_latents  # noqa: E402
from skpersona.crl import mean_correlation_coefficient as mcc  # noqa: E402
from skpersona.datasets import (  # noqa: E402
    make_causal_digits,
    make_multimodal_causal,
)


def shd(true, estimated):
    """Structural Hamming distance: added, removed and reversed edges (a reversal counts 1)."""
    true = np.asarray(true) != 0
    estimated = np.asarray(estimated) != 0
    diff = 0
    for i in range(len(true)):
        for j in range(i + 1, len(true)):
            if (true[i, j], true[j, i]) != (estimated[i, j], estimated[j, i]):
                diff += 1
    return diff


def matched_graph(model, latents_test, Z, n_content):
    """The learned graph re-indexed in the order of the true content latents."""
    _, cols, _ = match_latents(latents_test[:, :n_content], Z[:, :n_content])
    graph = model.graph_.to_numpy()
    return graph[np.ix_(cols, cols)]


def run_identifiability(
    seeds, n_train, n_test, crl_kwargs, vae_kwargs, generator, label, flow_layers=0
):
    rows = []
    for seed in seeds:
        data = generator(n_train + n_test, seed)
        X, latents = data.data, data.latents.to_numpy()
        train, test = X.iloc[:n_train], X.iloc[n_train:]
        n_content = data.graph.shape[0]
        start = time.perf_counter()
        crl = MultimodalCRL(random_state=seed, **crl_kwargs).fit(train)
        t_crl = time.perf_counter() - start
        Z = crl.transform(test)
        start = time.perf_counter()
        vae = BetaVAE(n_components=latents.shape[1], random_state=seed, **vae_kwargs).fit(train)
        t_vae = time.perf_counter() - start
        true_test = latents[n_train:]
        graph = matched_graph(crl, true_test, Z, n_content)
        flow = np.nan
        if flow_layers:
            flow_model = MultimodalCRL(random_state=seed, n_flow_layers=flow_layers, **crl_kwargs)
            flow = mcc(true_test, flow_model.fit(train).transform(test))
        rows.append(
            dict(
                seed=seed,
                crl=mcc(true_test, Z),
                flow=flow,
                vae=mcc(true_test, vae.transform(test)),
                shd=shd(data.graph.to_numpy(), graph),
                shd_empty=shd(data.graph.to_numpy(), np.zeros_like(graph)),
                t_crl=t_crl,
                t_vae=t_vae,
            )
        )
        r = rows[-1]
        print(
            f"  {label} seed {seed}: MCC crl {r['crl']:.3f}  crl+flow {r['flow']:.3f}  "
            f"beta-VAE {r['vae']:.3f}  "
            f"SHD {r['shd']} (empty graph {r['shd_empty']})  fit {t_crl:.0f}s / {t_vae:.0f}s",
            flush=True,
        )
    return rows


def summarise(rows, label):
    crl = np.array([r["crl"] for r in rows])
    vae = np.array([r["vae"] for r in rows])
    shds = np.array([r["shd"] for r in rows])
    empty = np.array([r["shd_empty"] for r in rows])
    print(f"\n### {label}: {len(rows)} seeds, held-out MCC (mean +- std, min..max)")
    print("| model | MCC | range | ratio vs beta-VAE |")
    print("|---|---|---|---|")
    print(
        f"| MultimodalCRL | {crl.mean():.3f} +- {crl.std():.3f} | {crl.min():.3f}..{crl.max():.3f} "
        f"| {crl.mean() / vae.mean():.2f} |"
    )
    flow = np.array([r["flow"] for r in rows])
    if not np.isnan(flow).all():
        print(
            f"| MultimodalCRL, 2-layer posterior flow | {flow.mean():.3f} +- {flow.std():.3f} | "
            f"{flow.min():.3f}..{flow.max():.3f} | {flow.mean() / vae.mean():.2f} |"
        )
    print(f"| BetaVAE (reference) | {vae.mean():.3f} +- {vae.std():.3f} | "
          f"{vae.min():.3f}..{vae.max():.3f} | 1.00 |")
    print(
        f"\nSHD of the learned latent graph: {shds.mean():.2f} +- {shds.std():.2f} "
        f"(per seed {shds.tolist()}); empty graph (reference): {empty.mean():.2f}"
    )


def run_timing(sizes, epochs, features):
    print(f"\n### Fit time against n ({epochs} epochs, no early stopping)")
    print("| n | MultimodalCRL (s) | BetaVAE (s, reference) | ratio |")
    print("|---|---|---|---|")
    for n in sizes:
        data = make_multimodal_causal(n, n_features=features, random_state=0)
        common = dict(max_epochs=epochs, patience=None, validation_fraction=None, random_state=0)
        start = time.perf_counter()
        MultimodalCRL(**common).fit(data.data)
        t_crl = time.perf_counter() - start
        start = time.perf_counter()
        BetaVAE(n_components=5, **common).fit(data.data)
        t_vae = time.perf_counter() - start
        print(f"| {n} | {t_crl:.1f} | {t_vae:.1f} | {t_crl / t_vae:.2f} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds, samples and epochs")
    parser.add_argument(
        "--n-init", type=int, default=1, help="MultimodalCRL restarts chosen on validation loss"
    )
    parser.add_argument("--skip-flow", action="store_true", help="leave out the flow ablation")
    parser.add_argument("--skip-digits", action="store_true", help="leave out the image data")
    parser.add_argument("--skip-timing", action="store_true", help="leave out fit times")
    args = parser.parse_args(argv)
    if args.quick:
        seeds, n_train, n_test, epochs = range(2), 1000, 500, 60
        sizes, timing_epochs = (250, 500, 1000), 5
    else:
        seeds, n_train, n_test, epochs = range(4), 2000, 1000, 150
        sizes, timing_epochs = (500, 1000, 2000, 4000), 10
    crl_kwargs = dict(max_epochs=epochs, n_init=args.n_init)
    vae_kwargs = dict(max_epochs=epochs)
    print(
        f"## crl benchmark ({'quick' if args.quick else 'full'} run, n_init={args.n_init})",
        flush=True,
    )

    def synthetic(n, seed):
        return make_multimodal_causal(n, random_state=seed)

    rows = run_identifiability(
        seeds,
        n_train,
        n_test,
        crl_kwargs,
        vae_kwargs,
        synthetic,
        "make_multimodal_causal",
        flow_layers=0 if (args.quick or args.skip_flow) else 2,
    )
    summarise(rows, "make_multimodal_causal (2 modalities x 2 latents + 1 shared, 10 features)")

    if not (args.quick or args.skip_digits):

        def digits(n, seed):
            return make_causal_digits(n, random_state=seed)

        rows = run_identifiability(
            range(2), n_train, n_test, crl_kwargs, vae_kwargs, digits, "make_causal_digits"
        )
        summarise(rows, "make_causal_digits (two 12x12 RGB images)")

    if not args.skip_timing:
        run_timing(sizes, timing_epochs, features=10)


if __name__ == "__main__":
    main()
