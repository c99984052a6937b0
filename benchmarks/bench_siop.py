"""SIOP 2019: interview answers -> self-reported Big Five, against TF-IDF + ridge.

1,088 Train and 300 Dev respondents of the 2019 SIOP Machine Learning Competition
(``skpersona.datasets.load_siop_2019``) wrote answers to five job-situation questions;
the targets are their BFI-2 scale means. Each model is scored by the competition's
metric, Pearson r per trait and its mean over the five, in two ways: 5-fold
cross-validation on Train (shuffled, seed 0; every choice is made on these numbers)
and fit on Train / score on Dev (reported, not tuned on). The reference is the
20-line script a newcomer writes: TF-IDF (1-2 grams) of each answer and
``RidgeCV(alpha_per_target=True)``, measured in the same run. The competition's
winners (0.260, 0.248, 0.233, 0.229) are printed as the field's published reference:
they are scores on the private test split, held out here, so not the same rows.

Sentence embeddings (all-MiniLM-L6-v2, frozen) come from the project's embedding cache
(``TextEmbedder(cache_dir="auto")``): computed once, about 7,000 answers and 1,388
joined interviews, then read back. The models that use them are evaluated on those
stored vectors, exactly what the pipeline's embedding step returns. The default of
``skpersona fit`` is then run end to end (its own pipeline, raw answers in) on
Train -> Dev and on all 1,388 respondents, timed.

Times: CPU seconds of this process (wall time on a shared machine says little) for one
fit on Train plus the prediction of Dev. Run with one BLAS thread: threads that wait for
busy cores cost many times the CPU.

Run: ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 nice -n 10 python
benchmarks/bench_siop.py``

``--finetune`` adds :class:`skpersona.text.FineTunedTextRegressor` (MiniLM fine-tuned end
to end, each answer embedded by the shared encoder, one head on the five embeddings),
fit on Train and scored on Dev only: 5-fold CV would take five times its fit on a CPU.
Its settings are the estimator's defaults (top 2 layers trained, 128 tokens per answer,
early stopping on a 10% split of Train), chosen before any SIOP score was seen; the CPU
seconds of each epoch are printed.
"""

import argparse
import sys
import time

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline, make_union

from skpersona.cli._models import answers_head, answers_model, ridge_per_trait
from skpersona.datasets import load_siop_2019
from skpersona.fusion import StackedRegressor
from skpersona.text import AnswerEmbedder, FineTunedTextRegressor, TextEmbedder

WINNERS = (0.260, 0.248, 0.233, 0.229)


def pearson(y, pred):
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    return np.array([np.corrcoef(y[:, j], pred[:, j])[0, 1] for j in range(y.shape[1])])


def select(columns):
    """Only these columns of the table (stored embeddings)."""
    return ColumnTransformer([("keep", "passthrough", list(columns))],
                             verbose_feature_names_out=False).set_output(transform="pandas")


def embeddings(data, answers, with_joined=True):
    """The stored MiniLM vectors: per answer (``semantic__<q>__emb_i``) and joined."""
    per_answer = AnswerEmbedder(TextEmbedder(), columns=answers).fit(data)
    names = [f"semantic__{n}" for n in per_answer.get_feature_names_out()]
    table = pd.DataFrame(per_answer.transform(data), columns=names, index=data.index)
    if not with_joined:
        return table, names, None
    joined = data[answers].fillna("").agg("\n".join, axis=1).tolist()
    vectors = TextEmbedder().fit(joined).transform(joined)
    joined_names = [f"joined__emb_{i}" for i in range(vectors.shape[1])]
    return table.join(pd.DataFrame(vectors, columns=joined_names, index=data.index)), names, \
        joined_names


def models(answers, semantic, joined):
    text = [f"text__{c}" for c in answers]  # the raw answers, as the default's head sees them
    reference = AnswerEmbedder(TfidfVectorizer(ngram_range=(1, 2)), columns=text)
    lexical = AnswerEmbedder(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                             columns=text)
    per_question = [(q, make_pipeline(select([c for c in semantic
                                              if c.startswith(f"semantic__{q}__")]),
                                      ridge_per_trait()))
                    for q in answers]
    lexical_per_question = [
        (f"tfidf_{q}", make_pipeline(AnswerEmbedder(clone(lexical.embedder),
                                                    columns=[f"text__{q}"]), ridge_per_trait()))
        for q in answers]
    lexical_ridge = ("lexical", make_pipeline(lexical, ridge_per_trait()))
    reference_ridge = ("lexical", make_pipeline(reference, ridge_per_trait()))
    return {
        "training mean": DummyRegressor(),
        "TF-IDF 1-2g per answer + RidgeCV (reference)": make_pipeline(reference,
                                                                      ridge_per_trait()),
        "TF-IDF 1-2g sublinear, min_df=2 + RidgeCV": make_pipeline(lexical, ridge_per_trait()),
        **({"MiniLM of the joined answers + RidgeCV": make_pipeline(select(joined),
                                                                    ridge_per_trait())}
           if joined else {}),
        "MiniLM per answer, features joined + RidgeCV": make_pipeline(select(semantic),
                                                                      ridge_per_trait()),
        "MiniLM per question, 5 ridges stacked": StackedRegressor(per_question),
        "TF-IDF + MiniLM per answer, one RidgeCV": make_pipeline(
            make_union(lexical, select(semantic)), ridge_per_trait()),
        "TF-IDF ridge + MiniLM ridge, stacked": StackedRegressor(
            [lexical_ridge, ("semantic", make_pipeline(select(semantic), ridge_per_trait()))]),
        "TF-IDF 1-2g (plain) ridge + MiniLM ridge, stacked": StackedRegressor(
            [reference_ridge, ("semantic", make_pipeline(select(semantic), ridge_per_trait()))]),
        "TF-IDF ridge + 5 per-question MiniLM ridges, stacked (default)": make_pipeline(
            select(text + semantic), answers_head(answers, len(semantic) // len(answers))),
        "5 TF-IDF + 5 MiniLM per-question ridges, stacked": StackedRegressor(
            [*lexical_per_question, *per_question]),
    }


def evaluate(model, X_train, y_train, X_dev, y_dev, folds):
    cv = pearson(y_train, cross_val_predict(clone(model), X_train, y_train, cv=folds))
    start = time.process_time()
    dev = pearson(y_dev, clone(model).fit(X_train, y_train).predict(X_dev))
    return cv, dev, time.process_time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", help="folder holding siop_2019/ (default: shared data)")
    parser.add_argument("--skip-joined", action="store_true",
                        help="leave out the embedding of the joined answers")
    parser.add_argument("--models", help="comma-separated substrings: run only the models "
                        "whose name contains one (the reference always runs)")
    parser.add_argument("--end-to-end-only", action="store_true",
                        help="only the default pipeline end to end")
    parser.add_argument("--skip-end-to-end", action="store_true",
                        help="do not run the default pipeline on raw answers")
    parser.add_argument("--quick", action="store_true",
                        help="what run_all.py passes: the same as --skip-end-to-end")
    parser.add_argument("--finetune", action="store_true",
                        help="add the fine-tuned encoder (fit on Train, scored on Dev only)")
    parser.add_argument("--finetune-epochs", type=int, default=3,
                        help="most epochs of the fine-tuned encoder (default 3)")
    args = parser.parse_args()
    args.skip_end_to_end = args.skip_end_to_end or args.quick
    train = load_siop_2019(args.data_home, split="train")
    dev = load_siop_2019(args.data_home, split="dev")
    answers, traits = train.feature_names, train.target_names
    both = pd.concat([train.data, dev.data])
    if args.end_to_end_only:
        return end_to_end(train, dev, both, answers)
    stored, semantic, joined = embeddings(both, answers, not args.skip_joined)
    X = pd.concat([both.add_prefix("text__"), stored], axis=1)
    X_train, X_dev = X.iloc[: len(train.data)], X.iloc[len(train.data):]
    y_train, y_dev = train.target.to_numpy(), dev.target.to_numpy()
    folds = KFold(5, shuffle=True, random_state=0)
    short = [t[0] for t in traits]
    rows = []
    chosen = models(answers, semantic, joined)
    wanted = args.models.split(",") if args.models else None
    chosen = {name: model for i, (name, model) in enumerate(chosen.items())
              if i < 2 or wanted is None or any(w in name for w in wanted)}
    for name, model in chosen.items():
        cv, dv, seconds = evaluate(model, X_train, y_train, X_dev, y_dev, folds)
        rows.append((name, cv, dv, seconds))
        print(f"{name}: CV {cv.mean():.4f} Dev {dv.mean():.4f} ({seconds:.1f} s CPU)",
              file=sys.stderr, flush=True)
    if args.finetune:
        rows.append(finetuned(answers, X_train, y_train, X_dev, y_dev, args.finetune_epochs))
    reference = rows[1]
    print("SIOP 2019, 1,088 Train respondents (5-fold CV, shuffled, seed 0) and 300 Dev "
          "(fit on Train); Pearson r per trait (E A O C N) and mean; CPU s: one fit on Train "
          "+ prediction of Dev, embeddings read from the cache. Training mean: r undefined "
          "on Dev (constant prediction).\n")
    print(f"| model | Train CV r ({' '.join(short)}) | CV mean | Dev r ({' '.join(short)}) "
          "| Dev mean | CPU s |")
    print("|---|---|---:|---|---:|---:|")
    for name, cv, dv, seconds in rows:
        cv_cells = (f"{' '.join(f'{v:.3f}' for v in cv)} | {cv.mean():.3f}" if cv is not None
                    else "not run (Dev only) | ")
        print(f"| {name} | {cv_cells} | "
              f"{' '.join(f'{v:.3f}' for v in dv)} | {dv.mean():.3f} | {seconds:.1f} |")
    print(f"| 2019 winners, published (private test split: other respondents) | | | | "
          f"{', '.join(f'{w:.3f}' for w in WINNERS)} | |")
    best = max((r for r in rows[2:] if r[1] is not None), key=lambda r: r[1].mean(),
               default=reference)
    print(f"\nBest by Train CV: **{best[0]}** (CV {best[1].mean():.4f}, Dev "
          f"{best[2].mean():.4f}); over the TF-IDF reference of this run: CV "
          f"{best[1].mean() - reference[1].mean():+.4f}, Dev "
          f"{best[2].mean() - reference[2].mean():+.4f}.")
    if not args.skip_end_to_end:
        end_to_end(train, dev, both, answers)


def finetuned(answers, X_train, y_train, X_dev, y_dev, max_epochs):
    """The fine-tuned encoder, fit on Train and scored on Dev, with its CPU time per epoch."""
    model = FineTunedTextRegressor(columns=[f"text__{q}" for q in answers], max_epochs=max_epochs,
                                   torch_threads=1, random_state=0, verbose=1)
    start = time.process_time()
    dev = pearson(y_dev, model.fit(X_train, y_train).predict(X_dev))
    seconds = time.process_time() - start
    per_epoch = ", ".join(f"{s:.0f}" for s in model.epoch_cpu_seconds_)
    name = (f"MiniLM fine-tuned end to end, top {model.n_trainable_layers} layers, "
            f"{model.max_tokens} tokens per answer, {model.n_epochs_} epochs (best "
            f"{model.best_epoch_}; CPU s per epoch {per_epoch})")
    print(f"{name}: Dev {dev.mean():.4f} ({seconds:.1f} s CPU)", file=sys.stderr, flush=True)
    return name, None, dev, seconds


def end_to_end(train, dev, both, answers):
    """The default pipeline of `skpersona fit`, raw answers in, timed."""
    y_train, y_dev = train.target.to_numpy(), dev.target.to_numpy()
    # The default of `skpersona fit` end to end: raw answers in, embeddings from the cache.
    start = time.process_time()
    default = answers_model({"text_columns": answers}).fit(train.data, y_train)
    dv = pearson(y_dev, default.predict(dev.data))
    print(f"\nDefault pipeline end to end (raw answers in), Train -> Dev: mean r {dv.mean():.4f} "
          f"({' '.join(f'{v:.3f}' for v in dv)}), {time.process_time() - start:.1f} s CPU")
    start, wall = time.process_time(), time.perf_counter()
    answers_model({"text_columns": answers}).fit(both, np.vstack([y_train, y_dev]))
    print(f"\nDefault pipeline fit on all {len(both)} respondents (embeddings cached): "
          f"{time.process_time() - start:.1f} s CPU, {time.perf_counter() - wall:.1f} s wall")


if __name__ == "__main__":
    main()
