"""Several answers per candidate: one text transformer per answer column, features joined."""

import copy
import re
from numbers import Integral

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from ._embedder import TextEmbedder
from ._inputs import check_texts

_FIELD = re.compile(r"\{(question|answer)\}")


def _pack_vocabulary(vocabulary):
    """A ``{term: column}`` vocabulary as (UTF-8 bytes of the terms in column order, end
    offsets), or None when it is not one (no dict, a non-str term, columns that are not
    0..n-1)."""
    if not isinstance(vocabulary, dict) or not vocabulary or \
            not all(type(t) is str for t in vocabulary):
        return None
    terms = [None] * len(vocabulary)
    for term, column in vocabulary.items():
        if not isinstance(column, Integral) or not 0 <= column < len(terms) or \
                terms[column] is not None:
            return None
        terms[column] = term.encode("utf-8", "surrogatepass")
    ends = np.cumsum([len(t) for t in terms], dtype=np.int64)
    return np.frombuffer(b"".join(terms), dtype=np.uint8).copy(), ends


def _unpack_vocabulary(arrays):
    """The ``{term: column}`` dict of :func:`_pack_vocabulary`'s arrays, checked."""
    if not isinstance(arrays, list | tuple) or len(arrays) != 2 or \
            not all(isinstance(a, np.ndarray) and a.ndim == 1 for a in arrays):
        raise _damaged("a packed vocabulary is not two 1-D arrays")
    data, ends = arrays
    if data.dtype != np.uint8 or ends.dtype.kind not in "iu" or not len(ends) or \
            np.any(np.diff(ends) < 0) or ends[0] < 0 or ends[-1] != len(data):
        raise _damaged("a packed vocabulary's offsets do not cut its bytes")
    raw = data.tobytes()
    starts = np.concatenate([[0], ends[:-1]])
    try:
        terms = [raw[a:b].decode("utf-8", "surrogatepass") for a, b in
                 zip(starts.tolist(), ends.tolist(), strict=True)]
    except UnicodeDecodeError as exc:
        raise _damaged(f"a packed vocabulary is not UTF-8 ({exc})") from None
    vocabulary = {term: column for column, term in enumerate(terms)}
    if len(vocabulary) != len(terms):
        raise _damaged("a packed vocabulary holds a term twice")
    return vocabulary


def _damaged(why):
    from .._loading import ModelFileError

    return ModelFileError(f"AnswerEmbedder in the model file is damaged: {why}; it is not "
                          "loaded. Fit and save the model again.")


class AnswerEmbedder(TransformerMixin, BaseEstimator):
    """Embed each answer column of an interview table separately and join the features.

    An interview has several questions; a candidate's answers are one row of a table
    with one column per question. Each answer column gets its own clone of
    ``embedder`` (a sentence embedding by default, or a lexical one such as
    :class:`~sklearn.feature_extraction.text.TfidfVectorizer`), optionally sees its
    question as context, and the per-question features are joined side by side,
    named by question (``open_ended_1__emb_0``, ...), so a linear model downstream can
    weigh the same words or meaning differently per question.

    Parameters
    ----------
    embedder : transformer or None, default=None
        Turns a list of texts into features (dense or sparse), e.g.
        :class:`TextEmbedder` or ``TfidfVectorizer(ngram_range=(1, 2))``; cloned and
        fitted once per answer column. None: ``TextEmbedder()`` (all-MiniLM-L6-v2,
        offline, with the embedding cache).
    columns : list of str or int, or None, default=None
        The answer columns, by name (DataFrame) or position (array). None: every
        column of the table seen in ``fit``. Other columns are ignored, wherever they
        are, so the features do not depend on them.
    questions : dict or None, default=None
        ``{column: question text}``: each non-blank answer is embedded as
        ``question_template`` filled with its question, so that a sentence embedding
        reads the answer in context. Every answer column must have one. None: the
        answers alone.
    question_template : str, default="{question}\\n{answer}"
        How a question and an answer are joined; must contain ``{question}`` and
        ``{answer}``. Used only with ``questions``.

    Attributes
    ----------
    columns_ : list
        The answer columns, in the order of the output blocks.
    embedders_ : list of transformers
        The fitted clone of ``embedder`` for each answer column.
    n_features_in_ : int
        Number of columns of the table seen in ``fit``.
    feature_names_in_ : ndarray of str
        Its column names, when it was a DataFrame with string column names.

    See Also
    --------
    TextEmbedder : one text per row.

    Notes
    -----
    Missing answers (None, NaN) are the empty text; blank answers are passed on
    blank (without the question), so the embedder's own rule for empty texts
    (``TextEmbedder(empty=...)``) applies. The output is sparse when any block is.
    The default ``TextEmbedder`` loads its model once per process, whatever the
    number of columns, and caches embeddings on disk, so a grid search or
    cross-validation embeds each answer only once.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from skpersona.text import AnswerEmbedder
    >>> X = pd.DataFrame({"id": ["a", "b"],
    ...                   "q1": ["I would talk to my colleague.", "I would keep my week."],
    ...                   "q2": ["I start early.", "I wait for the deadline."]})
    >>> lexical = AnswerEmbedder(TfidfVectorizer(), columns=["q1", "q2"]).fit(X)
    >>> lexical.get_feature_names_out()[:3].tolist()
    ['q1__colleague', 'q1__keep', 'q1__my']
    >>> semantic = AnswerEmbedder(columns=["q1", "q2"]).fit(X)
    >>> semantic.transform(X).shape
    (2, 768)
    >>> semantic.get_feature_names_out()[[0, 384]].tolist()
    ['q1__emb_0', 'q2__emb_0']
    """

    _parameter_constraints = {
        "embedder": [HasMethods(["fit", "transform"]), None],
        "columns": [list, tuple, None],
        "questions": [dict, None],
        "question_template": [str],
    }

    def __init__(self, embedder=None, *, columns=None, questions=None,
                 question_template="{question}\n{answer}"):
        self.embedder = embedder
        self.columns = columns
        self.questions = questions
        self.question_template = question_template

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit one clone of ``embedder`` per answer column.

        Parameters
        ----------
        X : DataFrame or 2-D array of str
            One row per candidate, one column per answer (other columns allowed).
        y : array-like, optional
            Passed to each embedder's ``fit`` (most ignore it).

        Returns
        -------
        self
        """
        table = self._table(X)
        self.n_features_in_ = table.shape[1]
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        columns = list(table.columns) if self.columns is None else list(self.columns)
        if not columns:
            raise ValueError("columns is empty: name at least one answer column.")
        if len(set(map(str, columns))) != len(columns):
            raise ValueError(f"columns names a column twice: {columns}.")
        self._check_columns(table, columns)
        if self.questions is not None:
            if "{question}" not in self.question_template or \
                    "{answer}" not in self.question_template:
                raise ValueError("question_template must contain '{question}' and '{answer}', "
                                 f"got {self.question_template!r}.")
            without = [c for c in columns if c not in self.questions]
            if without:
                raise ValueError(f"questions has no question for answer column(s) {without}; "
                                 "give one per answer column, or questions=None.")
        self.columns_ = columns
        base = TextEmbedder() if self.embedder is None else self.embedder
        self.embedders_ = [clone(base).fit(self._texts(table, c), y) for c in columns]
        return self

    def transform(self, X):
        """The features of each answer column, side by side.

        Parameters
        ----------
        X : DataFrame or 2-D array of str
            With the answer columns seen in ``fit`` (found by name in a DataFrame).

        Returns
        -------
        ndarray or sparse matrix of shape (n_candidates, n_features)
        """
        check_is_fitted(self, "embedders_")
        table = self._table(X)
        self._check_columns(table, self.columns_)
        blocks = [embedder.transform(self._texts(table, c))
                  for c, embedder in zip(self.columns_, self.embedders_, strict=True)]
        if any(sp.issparse(b) for b in blocks):
            return sp.hstack([sp.csr_matrix(b) for b in blocks], format="csr")
        return np.hstack([np.asarray(b) for b in blocks])

    def get_feature_names_out(self, input_features=None):
        """``<answer column>__<embedder's feature name>`` for every output column.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        ndarray of str objects
        """
        check_is_fitted(self, "embedders_")
        names = []
        for column, embedder in zip(self.columns_, self.embedders_, strict=True):
            names += [f"{column}__{name}" for name in embedder.get_feature_names_out()]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # a table of texts, not numbers
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags

    # -- persistence -----------------------------------------------------------

    def __getstate__(self):
        # A vectorizer's vocabulary_ is a dict of every term: skops writes each entry
        # into the file's JSON schema (74 MB for the SIOP answers model). Stored here
        # instead as two arrays per answer column (the terms' UTF-8 bytes and their end
        # offsets, in column order), written as .npy members; restored on load.
        state = dict(super().__getstate__())  # for a non-sklearn class: its own __dict__
        embedders = state.get("embedders_")
        if not isinstance(embedders, list):
            return state
        slim, packed = [], []
        for embedder in embedders:
            arrays = (_pack_vocabulary(getattr(embedder, "vocabulary_", None))
                      if isinstance(embedder, BaseEstimator) else None)
            if arrays is not None:
                embedder = copy.copy(embedder)
                del embedder.vocabulary_
            slim.append(embedder)
            packed.append(arrays)
        if any(p is not None for p in packed):
            state["embedders_"], state["_vocabularies"] = slim, packed
        return state

    def __setstate__(self, state):
        state = dict(state)
        packed = state.pop("_vocabularies", None)  # older files hold plain dicts
        if packed is not None:
            embedders = state.get("embedders_")
            if not isinstance(packed, list) or not isinstance(embedders, list) or \
                    len(packed) != len(embedders):
                raise _damaged("its packed vocabularies do not match its answer columns")
            for embedder, arrays in zip(embedders, packed, strict=True):
                if arrays is None:
                    continue
                if not isinstance(embedder, BaseEstimator) or hasattr(embedder, "vocabulary_"):
                    raise _damaged("a packed vocabulary belongs to no vectorizer")
                embedder.vocabulary_ = _unpack_vocabulary(arrays)
        super().__setstate__(state)

    # -- internals -------------------------------------------------------------

    @staticmethod
    def _table(X):
        if isinstance(X, pd.DataFrame):
            return X
        if isinstance(X, pd.Series) or (isinstance(X, np.ndarray) and X.ndim == 1) or \
                isinstance(X, str | bytes):
            raise ValueError("X must be a table of answers (one column per question, one row "
                             "per candidate), got a single column; use TextEmbedder for one "
                             "text per row, or pass a DataFrame.")
        array = np.asarray(X, dtype=object)
        if array.ndim != 2:
            raise ValueError(f"X must be a 2-D table of answers, got shape {array.shape}.")
        return pd.DataFrame(array)

    @staticmethod
    def _check_columns(table, columns):
        if isinstance(table.columns, pd.RangeIndex):  # an array: columns by position
            bad = [c for c in columns if not isinstance(c, Integral)
                   or not 0 <= c < table.shape[1]]
            if bad:
                raise ValueError(f"answer column(s) {bad} not in X: an array has columns "
                                 f"0..{table.shape[1] - 1} (pass a DataFrame to use names).")
            return
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise ValueError(f"answer column(s) {missing} not in X (its columns: "
                             f"{list(table.columns)[:10]}).")

    def _texts(self, table, column):
        texts, blank = check_texts(table[column].tolist(), f"answer column {column!r}")
        if self.questions is None:
            return texts
        question = str(self.questions[column])
        # the two fields only, never str.format: a loaded file's template cannot reach
        # attributes ("{answer.__class__}") or fail on other braces
        def fill(answer):
            return _FIELD.sub(lambda m: question if m[1] == "question" else answer,
                              self.question_template)

        return [text if empty else fill(text) for text, empty in zip(texts, blank, strict=True)]
