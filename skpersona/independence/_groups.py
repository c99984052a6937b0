"""Group-level data for independence tests when rows come in clusters (clips of one person).

Rows of one group (the clips of one source video, the answers of one respondent)
share the person: they are not independent samples, and a test that counts every row
as one overstates the evidence. :func:`group_level` turns the rows into one row per
group, and the test then runs on the groups, which are independent units:

* a column constant within every group keeps its value (a person's gender stays a
  category, so contingency tests still apply);
* a numeric column that varies within groups becomes its group mean;
* a categorical column that varies within groups becomes the share of each of its
  categories but the first (sorted as the one-hot encoding sorts them) in the group;
  one with more than half as many categories as groups is refused as an identifier,
  the rule a categorical column meets without groups.

Under the null hypothesis that a group's ``x`` values are independent of its ``y``
values (the groups being independent draws), the group means are independent too,
so the group-level test has its nominal level. A conditioning set must be constant
within groups: conditioning on a group mean is not conditioning on the rows' values.
"""

import numpy as np
import pandas as pd

from ._encoding import as_block, check_blocks, check_category_count, is_numeric


def check_groups(groups, n_samples):
    """Integer group codes ``0..n_groups - 1`` of ``groups``, checked against the rows.

    Parameters
    ----------
    groups : array-like of shape (n_samples,)
        One group label per row (any hashable values: strings, integers).
    n_samples : int
        Rows the labels must cover.

    Returns
    -------
    codes : ndarray of int64, shape (n_samples,)
        Codes in the sorted order of the labels (independent of the row order).
    n_groups : int
    """
    if isinstance(groups, pd.DataFrame):
        if groups.shape[1] != 1:
            raise ValueError(f"groups must be one label per row, got {groups.shape[1]} columns.")
        groups = groups.iloc[:, 0]
    array = np.asarray(groups, dtype=object)
    if array.ndim != 1:
        raise ValueError(f"groups must be 1-D (one label per row), got shape {array.shape}.")
    if len(array) != n_samples:
        raise ValueError(
            f"groups has {len(array)} labels for {n_samples} rows; give one group label "
            "(e.g. the source video or the person) per row."
        )
    labels = pd.Series(array)
    if labels.isna().any():
        raise ValueError(
            f"groups has {int(labels.isna().sum())} missing label(s); every row needs a group."
        )
    codes, uniques = pd.factorize(labels.astype(str), sort=True)
    return codes.astype(np.int64), len(uniques)


def _first_rows(codes, n_groups):
    """Index of each group's first row (groups in code order)."""
    first = np.full(n_groups, -1, dtype=np.int64)
    order = np.arange(len(codes))[::-1]
    first[codes[order]] = order  # the last write per group is its first row
    return first


def _constant_within(values, codes, first):
    """Whether a column has one value per group (values compared to the group's first)."""
    return bool(np.all(values == values[first][codes]))


def constant_within_groups(series, codes, n_groups):
    """Whether ``series`` takes one value in every group (a group-level variable)."""
    values = series.to_numpy(dtype=object) if not is_numeric(series) else series.to_numpy(float)
    return _constant_within(values, codes, _first_rows(codes, n_groups))


def aggregate_block(frame, codes, n_groups, name="x"):
    """One row per group of a block (see the module docstring for how each column goes).

    Parameters
    ----------
    frame : DataFrame
    codes : ndarray of int64
        Group codes from :func:`check_groups`.
    n_groups : int
    name : str, default="x"
        The block's name, for error messages.

    Returns
    -------
    DataFrame of n_groups rows
        Group ``g`` is row ``g`` (codes from :func:`check_groups`).
    varying : list of str
        The columns that varied within some group (averaged, or turned into shares).
    """
    first = _first_rows(codes, n_groups)
    sizes = np.bincount(codes, minlength=n_groups).astype(float)
    out, varying = {}, []
    for column in frame.columns:
        series = frame[column]
        numeric = is_numeric(series)
        values = series.to_numpy(dtype=float) if numeric else series.astype(str).to_numpy(object)
        if _constant_within(values, codes, first):
            out[column] = series.iloc[first].reset_index(drop=True)
            continue
        varying.append(column)
        if numeric:
            out[column] = np.bincount(codes, weights=values, minlength=n_groups) / sizes
            continue
        categories, inverse = np.unique(values, return_inverse=True)
        # one share column per category: the identifier rule, counted in groups (the
        # rows of the group-level data), bounds the table at n_groups ** 2 / 2 cells
        try:
            check_category_count(len(categories), n_groups, column, name)
        except ValueError as exc:
            raise ValueError(
                f"{exc} (With groups, each of its categories becomes a share per group: "
                f"{len(categories)} categories for {n_groups} groups.)"
            ) from None
        for k, category in enumerate(categories[1:], start=1):
            share = np.bincount(codes, weights=(inverse == k), minlength=n_groups) / sizes
            out[f"{column}={category}"] = share
    return pd.DataFrame(out), varying


def group_level(x, y, z, groups):
    """``x``, ``y``, ``z`` as one row per group, and a summary of what was done.

    Raises
    ------
    ValueError
        On mismatched lengths, missing labels or values, fewer than 5 groups, or a
        conditioning set that varies within a group.
    """
    blocks = {"x": as_block(x, "x"), "y": as_block(y, "y")}
    if z is not None:
        blocks["z"] = as_block(z, "z")
    n_samples = check_blocks(blocks)  # row-level errors first, in the row-level words
    codes, n_groups = check_groups(groups, n_samples)
    if n_groups < 5:
        raise ValueError(
            f"groups has {n_groups} distinct label(s); a group-level test needs at least 5 "
            "groups (each group counts as one sample)."
        )
    out, varying = {}, {}
    for name, block in blocks.items():
        out[name], varying[name] = aggregate_block(block, codes, n_groups, name)
    if varying.get("z"):
        raise ValueError(
            f"z column(s) {varying['z']} vary within groups. A group-level test can only "
            "condition on group-level variables (one value per group); conditioning on a "
            "group mean is not conditioning on the rows' values. Pass groups=None to test "
            "rows as independent samples (valid only if they are), or condition on "
            "group-level variables."
        )
    return out["x"], out["y"], out.get("z"), groups_summary(codes, n_groups, varying)


def groups_summary(codes, n_groups, varying):
    """The ``details["groups"]`` of a group-level test.

    ``varying`` maps each block (``"x"``, ``"y"``, ``"z"``) to its columns that varied
    within a group (averaged, or turned into shares).
    """
    return {
        "n_groups": int(n_groups),
        "n_rows": int(len(codes)),
        "largest_group": int(np.bincount(codes, minlength=n_groups).max()),
        "averaged": {k: v for k, v in varying.items() if v},
    }
