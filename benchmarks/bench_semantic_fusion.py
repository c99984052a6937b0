"""The AU-text semantic fusion method against its baselines and ablations (make_interviews).

For several seeds, generates interviews whose traits show in the face only
(neuroticism), in the words only (openness) or in both, splits them 70/30, and
compares per trait the Pearson r on the held-out 30% of:

- **semantic fusion**: :class:`skpersona.fusion.SemanticFusionRegressor`
  (keyframe windows -> AU selection -> AU sequence text and answer -> offline
  all-MiniLM-L6-v2 embeddings -> RidgeCV), with the description and the answer
  embedded apart (``text_fusion="separate"``, fixed beforehand: a 256-token
  model splits and mean-pools a long joint text anyway, and the answers'
  embeddings are then shared by every model here, which keeps the run within
  reach of a small CPU). Whether the AUs are selected (``selector``) and whether
  the head also sees the AU statistics (``au_statistics``) are chosen by a
  GridSearchCV on the training part only (2 inner folds, mean Pearson r over
  traits);
- **semantic fusion, defaults**: ``SemanticFusionRegressor``'s defaults (one
  joint embedding of description and answer, no AU statistics, the default
  head; ``selection="auto"``: per trait, the AUSelector's subset is kept only
  where the text path with it beats the text path with every AU on the rows
  of the training part the selector's search never saw), beside the same with
  every AU (passthrough). Both use the keyframe windows below;
- **text only**: the answer's embedding -> RidgeCV;
- **AU statistics + ridge**: AUStatistics of the whole video -> RidgeCV (the
  reference of the ratio column for the face-only trait);
- **FusionRegressor**: AU statistics and the answer's embedding, gated fusion;
- the chosen configuration with and without AU selection, and ablations of it,
  one stage changed at a time: whole video instead of keyframe windows, the
  static summary instead of the sequence description. The embedding model
  is not ablated: only all-MiniLM-L6-v2 is available offline here.

Embeddings are cached under ``benchmarks/output/`` (ignored by git), so a rerun
embeds nothing new. Markdown goes to stdout, progress to stderr.

``--defaults-only`` runs only the defaults, the defaults with every AU and the
two references, so that the defaults can be compared with passthrough over more
seeds; ``--first-seed`` moves the seeds away from those used while designing;
``--windows`` sets the keyframe windows of every semantic model (one short
window embeds several times faster on a busy CPU); ``--heads`` adds the ridge and
the attention head (``head="attention"``, :class:`FusionRegressor`) over the AU
statistics and the text embedding.

Run::

    python benchmarks/bench_semantic_fusion.py [--quick] [--seeds 3] [--n-samples 300]
    python benchmarks/bench_semantic_fusion.py --defaults-only --heads --seeds 5 \
        --first-seed 10 --n-samples 100 --windows 1 5
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.linear_model import RidgeCV  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skpersona.au import AUDescriber, AUStatistics, KeyframeWindows  # noqa: E402
from skpersona.datasets import make_interviews  # noqa: E402
from skpersona.fusion import FusionRegressor, SemanticFusionRegressor  # noqa: E402
from skpersona.metrics import get_scorer, pearson_r_per_trait  # noqa: E402
from skpersona.text import TextEmbedder  # noqa: E402

OUTPUT = Path(__file__).resolve().parent / "output"
ALPHAS = np.logspace(-2, 4, 13)
ANSWER = "Answer: {transcript}"
DEFAULTS = ("semantic fusion, defaults (joint; AU selection per trait where it helps the text "
            "path; no AU statistics)")
DEFAULTS_ALL = "defaults with all AUs (selector=passthrough)"
TEXT_ONLY_CHOSEN = "chosen, text path only (no AU statistics)"
TEXT = "text only (answer embedding + ridge)"
RIDGE_HEAD = "all AUs + AU statistics, ridge head (RidgeCV per trait)"
ATTENTION_HEAD = 'all AUs + AU statistics, head="attention" (FusionRegressor)'
AU = "AU statistics + ridge"


def log(message):
    print(message, file=sys.stderr, flush=True)


WINDOWS = dict(n_keyframes=3, half_window=7)


def semantic(cache_dir, seed, **params):
    base = dict(keyframes=KeyframeWindows(**WINDOWS),
                embedder=TextEmbedder(cache_dir=cache_dir), head=RidgeCV(alphas=ALPHAS),
                random_state=seed)
    base.update(params)
    return SemanticFusionRegressor(**base)


def fusion_regressor(cache_dir, seed):
    features = ColumnTransformer([
        ("au", AUStatistics(), "video"),
        ("text", TextEmbedder(cache_dir=cache_dir), "transcript"),
    ]).set_output(transform="pandas")
    model = FusionRegressor("gated", hidden_size=32, n_heads=4, dropout=0.2, weight_decay=1e-2,
                            max_epochs=200, patience=15, modality_dropout=0.2, random_state=seed)
    return make_pipeline(features, model)


def references(preds, cache, seed, X_tr, X_te, y_tr):
    """Text only (the answer's embedding) and AU statistics + ridge."""
    preds[TEXT] = semantic(
        cache, seed, template=ANSWER, selector="passthrough", keyframes="passthrough",
    ).fit(X_tr, y_tr).predict(X_te)
    au_ridge = make_pipeline(AUStatistics(), StandardScaler(),
                             RidgeCV(alphas=ALPHAS, alpha_per_target=True))
    preds[AU] = au_ridge.fit(X_tr[["video"]], y_tr).predict(X_te[["video"]])


def collect(r, preds, traits, y_te):
    for name, pred in preds.items():
        values = pearson_r_per_trait(y_te, pred, multioutput="raw_values")
        for j, trait in enumerate(traits):
            r.setdefault((name, trait), []).append(float(np.ravel(values)[j]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds of 150 interviews")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=300)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--defaults-only", action="store_true",
                        help="only the defaults, all AUs and the two references")
    parser.add_argument("--heads", action="store_true",
                        help="also the ridge and the attention head over the AU statistics "
                             "and the text embedding (all AUs)")
    parser.add_argument("--cache-dir", default=str(OUTPUT / "semantic_fusion_cache"))
    parser.add_argument("--windows", type=int, nargs=2, default=[3, 7],
                        metavar=("N_KEYFRAMES", "HALF_WINDOW"),
                        help="keyframe windows of every semantic model (shorter texts embed "
                             "faster)")
    args = parser.parse_args()
    WINDOWS.update(n_keyframes=args.windows[0], half_window=args.windows[1])
    torch.set_num_threads(1)  # many threads are several times slower on a shared CPU
    seeds = range(args.first_seed, args.first_seed + (2 if args.quick else args.seeds))
    n_samples = 150 if args.quick else args.n_samples
    cache = args.cache_dir

    r, chosen, selection_used = {}, [], []  # (model, trait) -> list over seeds
    traits, shares = None, None
    start = time.perf_counter()
    for seed in seeds:
        data = make_interviews(n_samples=n_samples, random_state=seed)
        traits, shares = list(data.target.columns), data.face_share
        X_tr, X_te, y_tr, y_te = train_test_split(data.data, data.target, test_size=0.3,
                                                  random_state=seed)
        preds = {}
        for name, selector in ((DEFAULTS, None), (DEFAULTS_ALL, "passthrough")):
            model = semantic(cache, seed, selector=selector, head=None).fit(X_tr, y_tr)
            preds[name] = model.predict(X_te)
            if selector is None:
                selection_used.append(model.selection_per_trait_)
            log(f"seed {seed}: {name} ({time.perf_counter() - start:.0f} s)")
        if args.heads:  # the head over the AU encoder and the text embedding, two ways
            for name, head in ((RIDGE_HEAD, None), (ATTENTION_HEAD, "attention")):
                preds[name] = semantic(cache, seed, selector="passthrough", au_statistics=True,
                                       head=head).fit(X_tr, y_tr).predict(X_te)
                log(f"seed {seed}: {name} ({time.perf_counter() - start:.0f} s)")
        if args.defaults_only:
            references(preds, cache, seed, X_tr, X_te, y_tr)
            collect(r, preds, traits, y_te)
            log(f"after seed {seed} (what --seeds {seed - seeds.start + 1} prints):")
            report(r, range(seeds.start, seed + 1), chosen, selection_used, traits, shares,
                   n_samples, time.perf_counter() - start, file=sys.stderr)
            continue
        # Design choices of the method, on inner folds of the training part only.
        grid = GridSearchCV(
            semantic(cache, seed, text_fusion="separate"),
            {"selector": [None, "passthrough"], "au_statistics": [False, True]},
            scoring=get_scorer("pearson_r"), cv=KFold(2, shuffle=True, random_state=seed),
        ).fit(X_tr, y_tr)
        best = dict(grid.best_params_, text_fusion="separate")
        chosen.append(best)
        log(f"seed {seed}: chosen {best} ({time.perf_counter() - start:.0f} s)")
        preds["semantic fusion (chosen on validation)"] = grid.predict(X_te)
        for name, params in {
            "chosen, with AU selection (auto per trait)": dict(best, selector=None),
            "chosen, all AUs (no selection)": dict(best, selector="passthrough"),
            TEXT_ONLY_CHOSEN: dict(best, au_statistics=False),
            "ablation of chosen: whole video (no keyframes)": dict(best, keyframes="passthrough"),
            "ablation of chosen: static summary (no sequence)": dict(
                best, describer=AUDescriber(detail="medium")),
        }.items():
            if params == best:
                preds[name] = preds["semantic fusion (chosen on validation)"]
                continue
            preds[name] = semantic(cache, seed, **params).fit(X_tr, y_tr).predict(X_te)
            log(f"seed {seed}: {name} ({time.perf_counter() - start:.0f} s)")
        references(preds, cache, seed, X_tr, X_te, y_tr)
        # The answer embedded as "Answer: ..." like in the other models, so the cache is shared.
        answer = lambda X: X.assign(transcript="Answer: " + X["transcript"])  # noqa: E731
        preds["FusionRegressor (gated; AU statistics + answer)"] = fusion_regressor(
            cache, seed).fit(answer(X_tr), y_tr).predict(answer(X_te))
        collect(r, preds, traits, y_te)
        log(f"seed {seed} done ({time.perf_counter() - start:.0f} s)")

    report(r, seeds, chosen, selection_used, traits, shares, n_samples,
           time.perf_counter() - start)


def report(r, seeds, chosen, selection_used, traits, shares, n_samples, elapsed,
           file=sys.stdout):
    """The tables: every model, the criteria by configuration, defaults against all AUs."""
    def out(*parts, **kw):
        print(*parts, **kw, file=file, flush=True)

    models = list(dict.fromkeys(name for name, _ in r))
    mean = pd.DataFrame({t: {m: np.mean(r[m, t]) for m in models} for t in traits})
    spread = pd.DataFrame({t: {m: np.std(r[m, t]) for m in models} for t in traits})
    face_trait = max(traits, key=lambda t: shares[t])
    words_trait = min(traits, key=lambda t: shares[t])
    method = "semantic fusion (chosen on validation)"

    out(f"make_interviews: {n_samples} interviews (150 frames) x {len(seeds)} seeds "
          f"({seeds.start}-{seeds.stop - 1}), 70/30 split; Pearson r on the held-out 30%, mean "
          f"(sd) over seeds; offline all-MiniLM-L6-v2; keyframe windows "
          f"KeyframeWindows(n_keyframes={WINDOWS['n_keyframes']}, "
          f"half_window={WINDOWS['half_window']}); {elapsed:.0f} s.\n")
    out("| model | " + " | ".join(f"{t} (face {shares[t]:.1f})" for t in traits) + " |")
    out("|---|" + "---:|" * len(traits))
    for m in models:
        cells = [f"{mean.loc[m, t]:.3f} ({spread.loc[m, t]:.3f})" for t in traits]
        out(f"| {m} | " + " | ".join(cells) + " |")
    configs = "; ".join(f"seed {s}: selector={c['selector'] or 'AUSelector()'}, "
                        f"au_statistics={c['au_statistics']}" for s, c in zip(seeds, chosen))
    if configs:
        out(f"\nConfiguration chosen on the inner folds of each training part: {configs}.")
    kept = "; ".join(f"seed {s}: {', '.join(t for t, u in zip(traits, used) if u) or 'none'}"
                     for s, used in zip(seeds, selection_used))
    out(f"\nTraits for which the defaults kept the AU selection (text path with the "
          f"selected AUs against every AU on the selector's held-out rows of the training "
          f"part): {kept}.\n")
    # Each criterion for every configuration run, the text path alone included (the
    # method's point: facial behaviour in words, no AU numbers beside the embedding).
    candidates = [(DEFAULTS, "text path only: SemanticFusionRegressor defaults"),
                  (DEFAULTS_ALL, "text path only: defaults with all AUs")]
    if configs:
        candidates += [(method, f"chosen on inner folds ({configs})"),
                       (TEXT_ONLY_CHOSEN, "text path only: chosen, without AU statistics")]
    criteria = [
        (f"beats text only on the face-only trait ({face_trait})", face_trait, TEXT, 1.0),
        (f"beats AU statistics + ridge on the words-only trait ({words_trait})", words_trait,
         AU, 1.0),
        (f"{face_trait}: at least 80% of AU statistics + ridge's r", face_trait, AU, 0.8),
    ]
    out("| criterion | configuration | r | reference r | met |")
    out("|---|---|---:|---:|:---:|")
    met_by = {}
    for label, trait, reference, share in criteria:
        ref = mean.loc[reference, trait]
        for model, description in candidates:
            ours = mean.loc[model, trait]
            met = ours >= share * ref if share < 1 else ours > ref
            if met:
                met_by.setdefault(label, []).append(description)
            out(f"| {label} | {description} | {ours:.3f} | {ref:.3f} | "
                  f"{'yes' if met else 'no'} |")
    out("\n| criterion | met by |\n|---|---|")
    for label, *_ in criteria:
        out(f"| {label} | {'; '.join(met_by.get(label, [])) or 'none'} |")
    out("\n| trait | defaults r (sd) | all AUs r (sd) | larger sd | defaults no worse "
        "than all AUs by more than one sd | paired difference, mean (sd) over seeds | "
        "no worse by more than the difference's sd |")
    out("|---|---:|---:|---:|:---:|---:|:---:|")
    for trait in traits:
        ours, ref = mean.loc[DEFAULTS, trait], mean.loc[DEFAULTS_ALL, trait]
        sd_ours, sd_ref = spread.loc[DEFAULTS, trait], spread.loc[DEFAULTS_ALL, trait]
        sd = max(sd_ours, sd_ref)
        diff = np.asarray(r[DEFAULTS, trait]) - np.asarray(r[DEFAULTS_ALL, trait])
        out(f"| {trait} | {ours:.3f} ({sd_ours:.3f}) | {ref:.3f} ({sd_ref:.3f}) | {sd:.3f} | "
            f"{'yes' if ours >= ref - sd - 1e-9 else 'no'} | {diff.mean():+.3f} "
            f"({diff.std():.3f}) | {'yes' if diff.mean() >= -diff.std() - 1e-9 else 'no'} |")


if __name__ == "__main__":
    main()
