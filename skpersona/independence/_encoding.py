"""Validation and encoding of the variables handed to an independence test.

A *block* is one of ``x``, ``y`` or ``z``: an array-like with one row per sample and
one or more columns. Blocks are turned into a :class:`pandas.DataFrame` first, so
that mixed types (numbers, booleans, strings, categoricals) are kept apart until a
test asks for either a float matrix (kernel and Gaussian tests) or integer category
codes (chi-square and G-square).
"""

import numbers
import warnings

import numpy as np
import pandas as pd

#: Integer-valued numeric columns with at most this many distinct values count as
#: discrete when ``method="auto"`` picks a test.
MAX_AUTO_CATEGORIES = 10

#: A text column whose non-missing cells parse as numbers in at least this share is a
#: numeric column with a few stray cells (e.g. ``"n/a?"`` in a CSV), not a categorical.
NUMERIC_SHARE = 0.8

#: A categorical with more categories than this share of its rows (fewer than two rows
#: per category on average) is an identifier or free text, not a variable to test.
MAX_CATEGORY_SHARE = 0.5


class StrayValueWarning(UserWarning):
    """A numeric column held a few cells that are not numbers; they became missing."""


class SparseTableWarning(UserWarning):
    """A contingency table is too sparse for the asymptotic chi-square null."""


def _is_text_like(series):
    """Object or string columns: the ones whose cells may be numbers written as text."""
    return series.dtype == object or pd.api.types.is_string_dtype(series.dtype)


def coerce_numeric(frame, name, warn=True):
    """Parse text/object columns that hold numbers as numbers.

    A column read from a CSV with one stray cell (``"n/a?"``), or floats cast to
    ``object``, must be tested as numbers: one-hot encoding it as ``n`` categories
    hides any dependence. A text column whose non-missing cells parse as numbers in
    at least :data:`NUMERIC_SHARE` of the rows becomes a float column; the cells
    that do not parse become missing, with a :class:`StrayValueWarning` naming the
    column and the count. Categorical, boolean and numeric columns are left alone.

    Parameters
    ----------
    frame : DataFrame
    name : str
        Block or table name for messages.
    warn : bool, default=True
        Warn about stray cells.

    Returns
    -------
    DataFrame
        ``frame`` itself when nothing changed, else a copy.
    """
    out = frame
    for column in frame.columns:
        series = frame[column]
        if not _is_text_like(series) or isinstance(series.dtype, pd.CategoricalDtype):
            continue
        present = series.notna()
        n_present = int(present.sum())
        if n_present == 0:
            continue
        cells = series[present]
        if cells.map(lambda v: isinstance(v, bool | np.bool_)).any():
            continue  # True/False are categories, not the numbers 1 and 0
        try:
            parsed = pd.to_numeric(cells.map(_strip), errors="coerce")
        except (TypeError, ValueError):  # cells that are not scalars (lists, frames)
            continue
        if parsed.dtype.kind not in "iuf":
            continue
        n_bad = int(parsed.isna().sum())
        if n_present - n_bad < NUMERIC_SHARE * n_present:
            continue
        if out is frame:
            out = frame.copy()
        values = pd.Series(np.nan, index=series.index, dtype=float)
        values[present] = parsed.to_numpy(dtype=float)
        out[column] = values
        if n_bad and warn:
            examples = sorted({repr(v) for v in cells[parsed.isna()].tolist()})[:3]
            warnings.warn(
                f"Column {column!r} of {name} holds numbers except for {n_bad} of "
                f"{n_present} cells ({', '.join(examples)}); those cells are treated as "
                "missing values. Clean them (or read the file with na_values=...) to silence "
                "this.",
                StrayValueWarning,
                stacklevel=3,
            )
    return out


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def check_not_identifier(series, column, name):
    """Refuse a categorical with (nearly) as many categories as rows.

    One-hot encoding such a column (an ID, free text, or numbers that failed to
    parse) gives one indicator per row: no test can find a dependence in it, so the
    result would read "independent" whatever the data.
    """
    if _is_numeric(series):
        return
    if not isinstance(series.dtype, pd.CategoricalDtype) and not _is_text_like(series):
        return  # booleans
    values = series.dropna()
    n_rows = len(values)
    try:
        n_categories = values.nunique()
    except TypeError:
        raise TypeError(
            f"Column {column!r} of {name} holds cells that are not scalars (e.g. "
            f"{type(values.iloc[0]).__name__}); independence tests need one number or "
            "category per sample. Turn them into features first (e.g. with the "
            "pipeline's transformers)."
        ) from None
    check_category_count(n_categories, n_rows, column, name)


def check_category_count(n_categories, n_rows, column, name, numeric=False):
    """Refuse a variable used as categories with more than half as many categories as rows.

    One rule for every way the categories arrive: strings, categoricals, objects, and
    numbers (numbers written as text included) that a contingency test reads as
    categories. With about one row per category a contingency table has one count
    per cell: chi-square and G-square then read "independent" whatever the data
    (``x = 0..99`` against ``y = 99..0`` gave p = 0.239).
    """
    if n_categories > 2 and n_categories > MAX_CATEGORY_SHARE * n_rows:
        if numeric:
            raise ValueError(
                f"Column {column!r} of {name} has {n_categories} distinct values in {n_rows} "
                "rows: as the categories of a chi-square or G-square test it is an "
                "identifier (about one row per category), so the test could find no "
                "dependence. Test it as a number with a kernel test (method='kci', 'hsic' "
                "or 'auto'), or bin it into fewer categories first."
            )
        raise ValueError(
            f"Column {column!r} of {name} has {n_categories} distinct categories in {n_rows} "
            "rows: it looks like an identifier or free text, not a categorical variable. "
            "One-hot encoding it gives about one indicator per row, so no test could find a "
            "dependence. Drop it, map it to fewer categories, or, if it holds numbers, "
            "convert it with pandas.to_numeric."
        )


def as_block(values, name):
    """Return ``values`` as a DataFrame with string column names.

    Parameters
    ----------
    values : array-like of shape (n_samples,) or (n_samples, n_columns)
        A list, 1-D or 2-D ndarray, Series or DataFrame.
    name : str
        ``"x"``, ``"y"`` or ``"z"``; used in error messages and default column names.

    Returns
    -------
    DataFrame
    """
    if isinstance(values, pd.DataFrame):
        frame = values.reset_index(drop=True)
    elif isinstance(values, pd.Series):
        frame = values.reset_index(drop=True).to_frame(
            name=str(values.name) if values.name is not None else f"{name}0"
        )
    else:
        if hasattr(values, "toarray"):
            raise TypeError(
                f"{name} is a sparse matrix; independence tests need a dense array. "
                "Convert it with .toarray() first."
            )
        array = np.asarray(values)
        if array.dtype.kind == "c":
            raise ValueError(f"{name} holds complex numbers; independence tests need real data.")
        if array.ndim == 0:
            raise ValueError(
                f"{name} is a scalar; pass one value per sample (a 1-D or 2-D array)."
            )
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise ValueError(f"{name} must be 1-D or 2-D, got an array with {array.ndim} dimensions.")
        frame = pd.DataFrame(array, columns=[f"{name}{i}" for i in range(array.shape[1])])
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):  # e.g. 1 and "1": one name once read as text
        seen, clash = {}, None
        for c, text in zip(frame.columns, names):
            if text in seen and clash is None:
                clash = (seen[text], c)
            seen.setdefault(text, c)
        raise ValueError(
            f"{name} has columns {clash[0]!r} and {clash[1]!r}, whose names are the same "
            "text: the tests name columns by text. Rename one of them."
        )
    frame.columns = names
    if frame.shape[1] == 0:
        raise ValueError(f"{name} has no columns.")
    frame = coerce_numeric(frame, name)
    for column in frame.columns:
        if frame[column].dtype.kind == "c":
            raise ValueError(
                f"Column {column!r} of {name} holds complex numbers; independence tests "
                "need real data."
            )
    return frame


def is_numeric(series):
    """Numeric and not boolean (booleans are categories)."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


_is_numeric = is_numeric


def _is_nonnumeric(series):
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def column_is_discrete(series, max_categories=MAX_AUTO_CATEGORIES):
    """Whether a column counts as discrete for ``method="auto"``.

    Non-numeric columns (strings, categoricals, booleans, objects) are discrete;
    numeric columns are discrete when all their values are integers and there are at
    most ``max_categories`` distinct values.
    """
    if isinstance(series.dtype, pd.CategoricalDtype) or _is_nonnumeric(series):
        return True
    values = series.dropna().to_numpy(dtype=float)
    if values.size == 0:
        return False
    if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return False
    return np.unique(values).size <= max_categories


def block_is_discrete(frame, max_categories=MAX_AUTO_CATEGORIES):
    """Whether every column of a block is discrete (see :func:`column_is_discrete`)."""
    return all(column_is_discrete(frame[c], max_categories) for c in frame.columns)


def check_blocks(blocks):
    """Check lengths, missing values, infinities and constant columns.

    Parameters
    ----------
    blocks : dict of str -> DataFrame
        Named blocks (``x``, ``y`` and maybe ``z``).

    Returns
    -------
    n_samples : int
    """
    lengths = {name: len(frame) for name, frame in blocks.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(
            f"x, y (and z) must have the same number of samples, got {lengths}. Pass aligned "
            "rows (one row per sample in each)."
        )
    n_samples = next(iter(lengths.values()))
    if n_samples < 5:
        raise ValueError(
            f"An independence test needs at least 5 samples, got {n_samples} sample"
            f"{'s' if n_samples != 1 else ''}."
        )
    for name, frame in blocks.items():
        for column in frame.columns:
            series = frame[column]
            missing = series.isna()
            if missing.any():
                raise ValueError(
                    f"Column {column!r} of {name} contains {int(missing.sum())} NaN/missing "
                    "value(s). Drop or impute those rows first (DependencyScreen drops them "
                    "pair by pair with missing='pairwise')."
                )
            if _is_numeric(series):
                values = series.to_numpy(dtype=float)
                if not np.all(np.isfinite(values)):
                    raise ValueError(
                        f"Column {column!r} of {name} contains infinite values; remove or clip "
                        "them first."
                    )
            check_not_identifier(series, column, name)
            if series.nunique(dropna=False) < 2:
                raise ValueError(
                    f"Column {column!r} of {name} is constant: a test of independence has no "
                    "information about it. Drop that column."
                )
    return n_samples


def to_continuous(frame, name, drop_first=False):
    """Float matrix of a block: numbers as they are, other columns one-hot encoded.

    Parameters
    ----------
    frame : DataFrame
    name : str
    drop_first : bool, default=False
        Drop the first level of every one-hot encoded column (needed by linear
        tests, where the full set of indicators is collinear with the intercept).

    Returns
    -------
    ndarray of shape (n_samples, n_encoded_columns), dtype float64
    """
    parts = []
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series):
            parts.append(series.to_numpy(dtype=float)[:, None])
        elif _is_numeric(series):
            parts.append(series.to_numpy(dtype=float)[:, None])
        else:
            codes, _ = pd.factorize(series.astype(str), sort=True)
            onehot = np.eye(codes.max() + 1)[codes]
            parts.append(onehot[:, 1:] if drop_first else onehot)
    matrix = np.hstack(parts).astype(float, copy=False)
    return np.ascontiguousarray(matrix)


def rescale_extreme(matrix):
    """Bring columns with huge (or tiny) magnitudes to order one, by a power of two.

    Squares of values >= 1e154 overflow float64 (and those of values <= 1e-154
    underflow), which turns correlations and kernel widths into inf/NaN and gave
    p = 1.0. Every test here is invariant to rescaling a column, and a power of two is
    exact, so ordinary columns are left untouched and extreme ones lose nothing.
    """
    with np.errstate(over="ignore"):
        peak = np.max(np.abs(matrix), axis=0) if matrix.size else np.zeros(matrix.shape[1])
    extreme = (peak > 1e100) | ((peak < 1e-100) & (peak > 0))
    if not extreme.any():
        return matrix
    matrix = matrix.copy()
    exponents = np.frexp(peak[extreme])[1]
    matrix[:, extreme] = np.ldexp(matrix[:, extreme], -exponents)
    return matrix


def to_codes(frame, name):
    """Joint integer codes ``0..k-1`` of a block, for contingency-table tests.

    Several columns are combined into one variable whose categories are the observed
    combinations. Numeric columns must hold integers (already discrete data).
    """
    per_column = []
    for column in frame.columns:
        series = frame[column]
        if _is_numeric(series) and not isinstance(series.dtype, pd.CategoricalDtype):
            values = series.to_numpy(dtype=float)
            if not np.all(values == np.round(values)):
                raise ValueError(
                    f"Column {column!r} of {name} holds non-integer numbers, but chi-square and "
                    "G-square tests need discrete data. Discretise it first (e.g. with "
                    "sklearn.preprocessing.KBinsDiscretizer) or use a kernel test "
                    "(method='kci', 'rcit' or 'hsic')."
                )
            _, codes = np.unique(values, return_inverse=True)
            check_category_count(int(codes.max()) + 1, len(codes), column, name, numeric=True)
        else:
            codes, _ = pd.factorize(series.astype(str), sort=True)
            check_category_count(int(codes.max()) + 1, len(codes), column, name)
        per_column.append(np.asarray(codes, dtype=np.int64).ravel())
    if len(per_column) == 1:
        return per_column[0]
    _, joint = np.unique(np.column_stack(per_column), axis=0, return_inverse=True)
    return np.asarray(joint, dtype=np.int64).ravel()


def check_int(value, name, minimum):
    """Validate an integer option."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)
