"""The trait models that ``skpersona fit`` builds by name."""

import numpy as np

from ._io import UsageError

# name -> (columns it reads, one-line description)
MODELS = {
    "ridge": ("features", "ridge regression on the table's numeric feature columns"),
    "ridge-au": ("video", "AU temporal statistics (from 'video') -> ridge regression"),
    "ridge-text": ("transcript", "sentence embedding of 'transcript' -> ridge regression"),
    "ridge-multimodal": ("video+transcript",
                         "AU statistics and text embedding, each standardised -> ridge"),
    "semantic": ("video+transcript",
                 "AUs described in words, joined with the answer, embedded -> ridge"),
    "fusion": ("video+transcript", "AU statistics and text embedding -> FusionRegressor"),
    "answers": ("text", "each answer column (--text): TF-IDF and sentence embedding -> ridge"),
}
FUSIONS = ("early", "gated", "attention", "late")


def _with_params(estimator, **params):
    """Set the parameters the estimator has (None values mean: keep its default)."""
    known = estimator.get_params(deep=False)
    given = {k: v for k, v in params.items() if v is not None and k in known}
    return estimator.set_params(**given)


def _ridge():
    from sklearn.linear_model import RidgeCV

    return RidgeCV(alphas=np.logspace(-2, 4, 13))


def au_steps(*, extract, options):
    """AU features: [AUExtractor] -> AUStatistics -> StandardScaler."""
    from sklearn.preprocessing import StandardScaler

    from ..au import AUStatistics

    steps = []
    if extract:
        steps.append(au_extractor(options))
    # a video without a tracked face: training means and a no_face column, not NaN
    steps += [AUStatistics(missing="impute"), StandardScaler()]
    return steps


def au_block(*, extract, options):
    """The ColumnTransformer entry ``("au", ...)`` of the video column(s).

    One video column: its AU statistics (``au__AU06_mean``, ...). Several, one answer
    video per question: the same steps fitted per column and joined, named by question
    (``au__<column>__AU06_mean``, ..., ``au__<column>__no_face``), so the ridge weighs
    each question's face on its own and a missing answer video is that question's
    ``no_face``.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline

    columns = list(options.get("video_columns") or ["video"])
    if len(columns) == 1:
        return ("au", make_pipeline(*au_steps(extract=extract, options=options)), columns[0])
    per_question = ColumnTransformer(
        [(column, make_pipeline(*au_steps(extract=extract, options=options)), [column])
         for column in columns])
    return ("au", per_question, columns)


def au_extractor(options):
    from ..au import AUExtractor

    return _with_params(
        AUExtractor(),
        fps=options.get("fps"), step=options.get("step"), max_frames=options.get("max_frames"),
        max_size=options.get("max_size"), batch_size=options.get("batch_size"),
        device=options.get("device"), weights_dir=options.get("weights_dir"),
        multitask_weights=options.get("multitask_weights"), cache_dir=options.get("cache_dir"),
        n_jobs=options.get("n_jobs"), verbose=options.get("progress"),
        detect_faces=options.get("detect_faces"), faces=options.get("faces"),
        on_error=options.get("on_error"), torch_threads=options.get("torch_threads"),
        face_threshold=options.get("face_threshold"), backend=options.get("backend"),
        model_path=options.get("model_path"),
    )


def text_embedder(options):
    from ..text import TextEmbedder

    return _with_params(
        TextEmbedder(),
        model=options.get("text_model"), model_name=options.get("text_model"),
        batch_size=options.get("text_batch_size"), cache_dir=options.get("cache_dir"),
        device=options.get("device"), verbose=options.get("progress"),
        progress=options.get("progress"),
    )


def build_model(name, *, feature_columns=None, extract=False, options=None):
    """The unfitted estimator for ``name`` (a Pipeline reading the sample table)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    options = dict(options or {})
    if name not in MODELS:
        raise UsageError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}.")
    if name == "ridge":
        columns = ColumnTransformer([("features", StandardScaler(), list(feature_columns))])
        return make_pipeline(columns, _ridge())
    if name == "answers":
        return answers_model(options)
    if name == "ridge-text":
        return make_pipeline(
            ColumnTransformer([("text", text_embedder(options), "transcript")]), _ridge())
    au = au_block(extract=extract, options=options)
    if name == "ridge-au":
        return make_pipeline(ColumnTransformer([au]), _ridge())
    text = ("text", text_embedder(options), "transcript")
    if name == "ridge-multimodal":
        # One ridge penalty for both blocks: each must be on the same (standardised)
        # scale, or RidgeCV shrinks the small-valued embedding away and the model
        # quietly becomes AU-only.
        scaled_text = ("text", make_pipeline(text_embedder(options), StandardScaler()),
                       "transcript")
        return make_pipeline(ColumnTransformer([au, scaled_text]), _ridge())
    if name == "fusion":
        from ..fusion import FusionRegressor

        head = _with_params(FusionRegressor(), fusion=options.get("fusion"),
                            random_state=options.get("random_state"))
        # Named columns (au__..., text__...) tell the network the two modalities apart.
        columns = ColumnTransformer([au, text]).set_output(transform="pandas")
        return make_pipeline(columns, head)
    # semantic: AUs described in words, joined with the answer, embedded, ridge head.
    from ..au import AUDescriber
    from ..text import AUTextComposer

    describe = [au_extractor(options)] if extract else []
    describe.append(AUDescriber())
    return make_pipeline(
        ColumnTransformer([("au", make_pipeline(*describe),
                            (options.get("video_columns") or ["video"])[0]),
                           ("text", "passthrough", ["transcript"])]),
        AUTextComposer(),
        text_embedder(options),
        _ridge(),
    )


def ridge_per_trait():
    """Ridge with its own penalty per trait (efficient leave-one-out over a wide grid)."""
    from sklearn.linear_model import RidgeCV

    return RidgeCV(alphas=np.logspace(-1, 4, 21), alpha_per_target=True)


def answers_head(columns, dim):
    """What the answers model fits on ``text__<answer>`` and ``semantic__<answer>__emb_i``.

    A ridge on TF-IDF (1-2 grams, sublinear) of the answers and, per answer, a ridge on
    its sentence embedding (``dim`` dimensions), stacked with per-trait non-negative
    weights learnt on out-of-fold predictions (:class:`~skpersona.fusion.StackedRegressor`):
    each trait weighs the words and each question's meaning as its folds say.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    from ..fusion import StackedRegressor
    from ..text import AnswerEmbedder

    text = [f"text__{c}" for c in columns]
    lexical = AnswerEmbedder(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                             columns=text)
    bases = [("lexical", make_pipeline(lexical, ridge_per_trait()))]
    for column in columns:  # the embedding columns by name: a model file holds no callables
        keep = [f"semantic__{column}__emb_{i}" for i in range(dim)]
        bases.append((f"semantic_{column}", make_pipeline(
            ColumnTransformer([("keep", "passthrough", keep)]), ridge_per_trait())))
    return StackedRegressor(bases)


def answers_model(options):
    """Several answers per row: per-answer TF-IDF and sentence embeddings, stacked ridges.

    The default of ``skpersona fit`` for a table with answer text and no video, chosen
    by 5-fold cross-validation on the SIOP 2019 training respondents
    (``benchmarks/bench_siop.py``). The answers are embedded once (named
    ``semantic__<answer>__emb_i``) and passed on beside the raw text (``text__<answer>``),
    so the stacking's inner folds do not embed them again.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline

    from ..text import AnswerEmbedder

    columns = list(options.get("text_columns") or ["transcript"])
    embedder = text_embedder(options)
    dim = embedder.fit([""]).embedding_dim_  # loads the model (shared per process)
    features = ColumnTransformer(
        [("semantic", AnswerEmbedder(embedder, columns=columns), columns),
         ("text", "passthrough", columns)]).set_output(transform="pandas")
    return make_pipeline(features, answers_head(columns, dim))
