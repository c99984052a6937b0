"""Joining AU descriptions and answer transcripts into one text per sample."""

import string

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ..au._frames import object_column
from ._inputs import is_missing

DEFAULT_TEMPLATE = "Facial behaviour: {au}\nAnswer: {transcript}"


def _fields(template):
    """The placeholder names of a ``str.format`` template, in order, without repeats."""
    fields = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"template {template!r} is not a valid format string: {exc}.") from exc
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(
                f"template placeholders must be plain names such as {{au}} or {{transcript}}, "
                f"got {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}} in {template!r}."
            )
        if name not in fields:
            fields.append(name)
    if not fields:
        raise ValueError(f"template {template!r} has no placeholder such as {{au}} or {{transcript}}.")
    return fields


class AUTextComposer(TransformerMixin, BaseEstimator):
    """Join each sample's AU description and answer transcript into one text.

    With :class:`TextEmbedder` and a light regression head this is the AU-text
    semantic fusion method: ``AUTextComposer -> TextEmbedder -> Ridge``, the
    language model seeing the facial behaviour and the words together.

    The text is ``template`` filled line by line: ``{au}`` takes the AU
    description, ``{transcript}`` the transcript, and any other ``{name}`` the
    column ``name`` of a DataFrame input. A line is left out when it mentions a
    placeholder not in ``include``, or (with ``missing="omit"``) one whose value is
    missing or blank for that sample.

    Parameters
    ----------
    au_column : str, default="au_description"
        Column holding the AU descriptions (e.g. the output of
        :class:`skpersona.au.AUDescriber`).
    transcript_column : str, default="transcript"
        Column holding the transcripts.
    template : str, default="Facial behaviour: {au}\\nAnswer: {transcript}"
        ``str.format`` template with plain placeholders.
    include : list of str or None, default=None
        Placeholders to fill (e.g. ``["transcript"]`` for a words-only ablation,
        ``["au"]`` for a face-only one); lines with the others are dropped.
        None: all of the template's placeholders.
    missing : {"omit", "empty", "error"}, default="omit"
        Missing (None, NaN) or blank values: ``"omit"`` drops the lines that
        mention them, ``"empty"`` fills in ``""``, ``"error"`` raises a ValueError.

    Attributes
    ----------
    fields_ : list of str
        The placeholders that are filled, in template order.

    Notes
    -----
    Input, one of:

    - a DataFrame with the needed columns. A column is found by its exact name
      or, failing that, by a name ending in ``"__<name>"`` (the prefix a
      ``ColumnTransformer`` adds with ``set_output(transform="pandas")``), e.g.
      ``au__au_description``.
    - a 2-D array with one column per placeholder of the template, in template
      order (what a ``ColumnTransformer`` with default output gives when its
      transformers are listed in that order); for the default template: AU
      description first, transcript second.

    Output: an (n_samples, 1) object array of strings, feature name ``"text"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from skpersona.text import AUTextComposer
    >>> X = pd.DataFrame({"au_description": ["The lip corner puller (AU12) appears often."],
    ...                   "transcript": ["I enjoy working in teams."]})
    >>> print(AUTextComposer().fit_transform(X)[0, 0])
    Facial behaviour: The lip corner puller (AU12) appears often.
    Answer: I enjoy working in teams.
    >>> print(AUTextComposer(include=["transcript"]).fit_transform(X)[0, 0])
    Answer: I enjoy working in teams.
    """

    _parameter_constraints = {
        "au_column": [str],
        "transcript_column": [str],
        "template": [str],
        "include": [list, tuple, None],
        "missing": [StrOptions({"omit", "empty", "error"})],
    }

    def __init__(
        self,
        au_column="au_description",
        transcript_column="transcript",
        template=DEFAULT_TEMPLATE,
        include=None,
        missing="omit",
    ):
        self.au_column = au_column
        self.transcript_column = transcript_column
        self.template = template
        self.include = include
        self.missing = missing

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the template and that X holds the columns it needs.

        Parameters
        ----------
        X : DataFrame or 2-D array
            See Notes.
        y : ignored

        Returns
        -------
        self
        """
        fields = _fields(self.template)
        if self.include is not None:
            unknown = [p for p in self.include if p not in fields]
            if unknown:
                raise ValueError(
                    f"include names {unknown}, which are not placeholders of the template "
                    f"(placeholders: {fields})."
                )
            fields = [f for f in fields if f in self.include]
        if not fields:
            raise ValueError("include leaves nothing to compose; name at least one placeholder.")
        self.all_fields_ = _fields(self.template)
        self.fields_ = fields
        self._columns(X)
        return self

    def _column_name(self, field):
        return {"au": self.au_column, "transcript": self.transcript_column}.get(field, field)

    def _columns(self, X):
        """The values of each filled field, as lists."""
        if isinstance(X, pd.DataFrame):
            names = [str(c) for c in X.columns]
            values = {}
            for field in self.fields_:
                wanted = self._column_name(field)
                if wanted in names:
                    position = names.index(wanted)
                else:
                    hits = [i for i, c in enumerate(names) if c.endswith("__" + wanted)]
                    if len(hits) != 1:
                        found = "several columns" if hits else "no column"
                        raise ValueError(
                            f"AUTextComposer needs a column {wanted!r} for {{{field}}}, and X has "
                            f"{found} named {wanted!r} or '*__{wanted}' (columns: {names[:8]}). "
                            "Set au_column / transcript_column to the right names."
                        )
                    position = hits[0]
                values[field] = X.iloc[:, position].tolist()
            return values
        array = np.asarray(X, dtype=object)
        if array.ndim != 2 or array.shape[1] != len(self.all_fields_):
            raise ValueError(
                f"Without column names, X must be a 2-D array with one column per template "
                f"placeholder {self.all_fields_} (in that order), got shape {array.shape}. Pass a "
                "DataFrame, or call set_output(transform='pandas') on the ColumnTransformer."
            )
        return {f: array[:, self.all_fields_.index(f)].tolist() for f in self.fields_}

    def transform(self, X):
        """Compose one text per sample.

        Parameters
        ----------
        X : DataFrame or 2-D array
            See Notes.

        Returns
        -------
        ndarray of shape (n_samples, 1), dtype=object
        """
        check_is_fitted(self, "fields_")
        values = self._columns(X)
        n = len(next(iter(values.values())))
        lines = [
            (line, [name for _, name, _, _ in string.Formatter().parse(line) if name])
            for line in self.template.split("\n")
        ]
        texts = []
        for i in range(n):
            row = {}
            for field, column in values.items():
                value = column[i]
                if is_missing(value) or (isinstance(value, str) and not value.strip()):
                    if self.missing == "error":
                        raise ValueError(
                            f"Row {i} has no {{{field}}} (column {self._column_name(field)!r} "
                            "is missing or blank). Fill it, or set missing='omit' or 'empty'."
                        )
                    value = None if self.missing == "omit" else ""
                elif not isinstance(value, str):
                    raise TypeError(
                        f"Row {i}: {{{field}}} is a {type(value).__name__}, not a string."
                    )
                row[field] = value
            kept = [
                line.format(**row)
                for line, names in lines
                if all(name in row and row[name] is not None for name in names)
            ]
            texts.append("\n".join(kept))
        return object_column(texts)

    def get_feature_names_out(self, input_features=None):
        """One output column: ``["text"]``."""
        check_is_fitted(self, "fields_")
        return np.asarray(["text"], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags
