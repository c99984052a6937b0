"""The median of several raters' scores, ignoring the ones that are missing."""

import numpy as np


def median_of_present(values, axis=1, fill_value=np.nan):
    """Median along ``axis`` of the non-NaN values; ``fill_value`` where all are NaN.

    The core of both public aggregators, which differ only in what they count as
    missing before this step: :func:`skpersona.text.aggregate_votes` (the rater's
    vote cube, every non-positive vote) and :func:`skpersona.independence.aggregate_ratings`
    (rating tables, one ``missing_code``, checked against a scale).
    """
    values = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    present = ~np.isnan(values).all(axis=-1)
    out = np.full(present.shape, float(fill_value))
    if present.any():  # only rows with a value: no all-NaN RuntimeWarning
        out[present] = np.nanmedian(values[present], axis=-1)
    return out
