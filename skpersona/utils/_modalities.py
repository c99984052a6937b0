"""Finding each modality's columns in a fused feature matrix."""

import numpy as np


def modality_columns(feature_names=None, modalities=None, n_features=None):
    """Map each modality to the column indices that belong to it.

    Parameters
    ----------
    feature_names : array-like of str or None
        Column names, e.g. from a ``ColumnTransformer`` (``au__AU06_mean``,
        ``text__emb_0``); the part before the first ``"__"`` names the modality.
    modalities : dict of str -> (slice, array-like of int or of column names, or str prefix) or None
        Explicit blocks, which win over names. A string value is a name prefix; a
        list of strings names the columns.
    n_features : int or None
        Number of columns, needed for slices and to check indices.

    Returns
    -------
    dict of str -> ndarray of int
        Modality name to sorted column indices, in order of first appearance.

    Raises
    ------
    ValueError
        When modalities cannot be found (a prefix no column has, a column name X
        lacks), overlap, or leave columns unassigned (some names prefixed, others
        not).

    Examples
    --------
    >>> from skpersona.utils import modality_columns
    >>> modality_columns(["au__a", "au__b", "text__0"])
    {'au': array([0, 1]), 'text': array([2])}
    """
    names = None if feature_names is None else np.asarray(feature_names, dtype=object)
    if n_features is None and names is not None:
        n_features = len(names)
    blocks = {}
    if modalities is not None:
        for modality, spec in dict(modalities).items():
            if isinstance(spec, str):
                if names is None:
                    raise ValueError(
                        f"Modality {modality!r} is given by the prefix {spec!r}, but X has no "
                        "feature names. Pass a DataFrame or give column indices instead."
                    )
                idx = np.flatnonzero([str(n).startswith(spec) for n in names])
                if idx.size == 0:
                    raise ValueError(
                        f"Modality {modality!r} is given by the prefix {spec!r}, which no column "
                        f"of X starts with (X's columns: {_some(names)})."
                    )
            elif _all_strings(spec):
                if names is None:
                    raise ValueError(
                        f"Modality {modality!r} names columns, but X has no feature names. "
                        "Pass a DataFrame or give column indices instead."
                    )
                wanted = [str(s) for s in np.ravel(np.asarray(spec, dtype=object))]
                position = {str(n): i for i, n in enumerate(names)}
                missing = [s for s in wanted if s not in position]
                if missing:
                    raise ValueError(
                        f"Modality {modality!r} names columns that X does not have: "
                        f"{_some(missing)} (X's columns: {_some(names)})."
                    )
                idx = np.asarray([position[s] for s in wanted], dtype=int)
            elif isinstance(spec, slice):
                if n_features is None:
                    raise ValueError("Slices need the number of features.")
                idx = np.arange(n_features)[spec]
            else:
                idx = np.asarray(spec, dtype=int).ravel()
            if idx.size == 0:
                raise ValueError(f"Modality {modality!r} selects no column.")
            if n_features is not None and (idx.min() < 0 or idx.max() >= n_features):
                raise ValueError(f"Modality {modality!r} has column indices outside 0..{n_features - 1}.")
            blocks[modality] = np.unique(idx)
    else:
        unprefixed = [] if names is None else [str(n) for n in names if "__" not in str(n)]
        if names is not None and 0 < len(unprefixed) < len(names):
            raise ValueError(
                f"Some columns have a modality prefix and {len(unprefixed)} do not "
                f"({_some(unprefixed)}), so they belong to no modality. Prefix them "
                "('au__...', 'text__...'), drop them (ColumnTransformer(remainder='drop')), "
                "or pass modalities={...} explicitly."
            )
        if names is None or unprefixed:
            raise ValueError(
                "Cannot tell modalities apart: feature names must be prefixed like "
                "'au__...' and 'text__...' (as a ColumnTransformer makes them), or pass "
                "`modalities={'au': [...], 'text': [...]}` explicitly."
            )
        for i, name in enumerate(names):
            blocks.setdefault(str(name).split("__", 1)[0], []).append(i)
        blocks = {m: np.asarray(idx, dtype=int) for m, idx in blocks.items()}
    seen = np.concatenate(list(blocks.values()))
    if len(np.unique(seen)) != len(seen):
        raise ValueError("Modalities overlap: a column belongs to more than one modality.")
    return blocks


def _all_strings(spec):
    values = np.ravel(np.asarray(spec, dtype=object))
    return values.size > 0 and all(isinstance(v, str) for v in values)


def _some(names, limit=8):
    names = [str(n) for n in names]
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")
