"""Input helpers shared by the text transformers: per-sample texts in, (n, 1) out."""

import numbers

import numpy as np
import pandas as pd


def as_text_items(X, what="texts"):
    """List the per-sample items of X.

    Accepts a list or tuple, a pandas Series, a one-column DataFrame (what a
    ``ColumnTransformer`` passes), or a 1-D or (n, 1) array.
    """
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != 1:
            raise ValueError(
                f"X must hold one column of {what}, got a DataFrame with columns "
                f"{list(X.columns)[:5]}. Select the column first (e.g. X[['transcript']]) or "
                "route it with a ColumnTransformer."
            )
        return X.iloc[:, 0].tolist()
    if isinstance(X, pd.Series):
        return X.tolist()
    if isinstance(X, np.ndarray):
        if X.ndim == 2 and X.shape[1] == 1:
            return X[:, 0].tolist()
        if X.ndim == 1:
            return X.tolist()
        raise ValueError(
            f"X must be 1-D or (n, 1) when it holds {what}, got an array of shape {X.shape}."
        )
    if isinstance(X, list | tuple):
        return list(X)
    if isinstance(X, str | bytes | numbers.Number):
        raise TypeError(
            f"X must be a list of {what}, got a single {type(X).__name__}; wrap it in a list."
        )
    try:
        return list(X)
    except TypeError as exc:
        raise TypeError(f"X must be a list-like of {what}, got {type(X).__name__}.") from exc


def is_missing(item):
    """True for None, NaN, pd.NA and NaT (the values pandas treats as missing)."""
    if item is None or item is pd.NA or item is pd.NaT:
        return True
    return isinstance(item, float | np.floating) and np.isnan(item)


def valid_unicode(text):
    """``text`` as valid Unicode: each lone surrogate becomes U+FFFD (the replacement character).

    Tokenizers, UTF-8 encoders and servers refuse lone surrogates (code points
    U+D800-U+DFFF that Python strings may hold); a high and low surrogate that
    follow each other are joined into the character they encode.

    Examples
    --------
    >>> from skpersona.text._inputs import valid_unicode
    >>> valid_unicode("caf\\udce9 \\ud83d\\ude00") == "caf\\ufffd \\U0001f600"
    True
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def check_texts(items, what="X"):
    """Return ``(texts, blank)``: str items, and a mask of missing or blank ones.

    Missing items (None, NaN, pd.NA) become ``""``. Any other non-string item
    raises a TypeError that names its row. Lone surrogates (text decoded with
    ``errors="surrogateescape"``, or cut UTF-16) become U+FFFD, see
    :func:`valid_unicode`.
    """
    texts, blank = [], np.zeros(len(items), dtype=bool)
    for i, item in enumerate(items):
        if is_missing(item):
            texts.append("")
            blank[i] = True
        elif isinstance(item, str):
            texts.append(valid_unicode(str(item)))
            blank[i] = not item.strip()
        else:
            raise TypeError(
                f"Row {i} of {what} is a {type(item).__name__} ({item!r:.40}), not a string. "
                "Texts must be str; missing ones may be None or NaN. Convert the column first, "
                "e.g. X.astype(str), if numbers are meant as text."
            )
    return texts, blank
