"""PersonaX-style aggregation of trait ratings where 0 means "insufficient information"."""

import numpy as np
import pandas as pd

from ..utils._ratings import median_of_present


def aggregate_ratings(ratings, groups=None, missing_code=0, scale=(1, 3)):
    """Median of several raters' scores after dropping "insufficient information" codes.

    PersonaX rates each trait with several LLMs on a 3-point scale and codes 0 for
    "not enough information to judge"; a trait's score is the median of the non-zero
    ratings, and missing (NaN) when every rater answered 0.

    Parameters
    ----------
    ratings : DataFrame or array-like of shape (n_samples, n_raters)
        A DataFrame with one column per (trait, rater), or an array of one trait's
        ratings (one column per rater).
    groups : dict of str -> list of str, or None, default=None
        For a DataFrame: output column name -> the rating columns to aggregate.
        When None, a DataFrame with two-level columns ``(trait, rater)`` is grouped
        by the first level; a DataFrame with flat columns is treated as the raters
        of a single variable named ``"rating"``.
    missing_code : scalar, default=0
        The code meaning "insufficient information" (NaN is dropped as well).
    scale : (int, int) or None, default=(1, 3)
        The smallest and largest valid rating (PersonaX's 3-point scale). Any other
        rating except ``missing_code`` and NaN raises a ValueError naming the
        column: a 7 on a 3-point scale is a parsing or prompt error, not a score.
        ``None`` accepts any number.

    Returns
    -------
    DataFrame of shape (n_samples, n_groups) or ndarray of shape (n_samples,)
        Medians; NaN where no rater gave a usable score. A DataFrame for DataFrame
        input (same index), an ndarray otherwise.

    See Also
    --------
    skpersona.text.aggregate_votes : The same median for :class:`~skpersona.text.LLMTraitRater`'s
        vote cube (samples x models x traits), every non-positive vote dropped, no
        scale check.

    Examples
    --------
    >>> import pandas as pd
    >>> from skpersona.independence import aggregate_ratings
    >>> r = pd.DataFrame({"gpt": [3, 0, 0], "llama": [2, 1, 0], "qwen": [3, 2, 0]})
    >>> aggregate_ratings(r, groups={"openness": ["gpt", "llama", "qwen"]})
       openness
    0       3.0
    1       1.5
    2       NaN
    """

    if scale is not None:
        if len(scale) != 2 or not scale[0] < scale[1]:
            raise ValueError(f"scale must be (lowest, highest) with lowest < highest, got {scale!r}.")

    def _median(block, where="ratings"):
        try:
            values = np.asarray(block, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(
                f"{where} must hold numeric ratings; got values that are not numbers."
            ) from None
        if values.ndim == 1:
            values = values[:, None]
        values = np.where(values == missing_code, np.nan, values)
        if scale is not None:
            bad = ~np.isnan(values) & ((values < scale[0]) | (values > scale[1]))
            if bad.any():
                raise ValueError(
                    f"{where} hold {int(bad.sum())} rating(s) outside the scale "
                    f"{scale[0]}..{scale[1]} (missing_code={missing_code!r} aside), e.g. "
                    f"{np.unique(values[bad])[:3].tolist()}. Fix them, or pass the right "
                    "scale= (None accepts any number)."
                )
        return median_of_present(values, axis=1)

    if not isinstance(ratings, pd.DataFrame):
        if groups is not None:
            raise ValueError("groups needs ratings as a DataFrame with named columns.")
        return _median(ratings)
    if groups is None:
        if isinstance(ratings.columns, pd.MultiIndex):
            names = list(dict.fromkeys(ratings.columns.get_level_values(0)))
            groups = {name: [c for c in ratings.columns if c[0] == name] for name in names}
        else:
            groups = {"rating": list(ratings.columns)}
    if not isinstance(groups, dict) or not groups:
        raise ValueError("groups must be a non-empty dict of output name -> rating columns.")
    missing = [c for cols in groups.values() for c in cols if c not in ratings.columns]
    if missing:
        raise KeyError(f"Rating columns {missing} are not in the DataFrame.")
    return pd.DataFrame(
        {
            name: _median(ratings[list(cols)], f"Rating columns {list(cols)}")
            for name, cols in groups.items()
        },
        index=ratings.index,
    )
