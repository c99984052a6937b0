"""Trait sets and their canonical order."""

BIG_FIVE = (
    "openness",
    "conscientiousness",
    "extraversion",
    "agreeableness",
    "neuroticism",
)
"""The Big Five traits in the conventional OCEAN order."""

HEXACO = (
    "honesty_humility",
    "emotionality",
    "extraversion",
    "agreeableness",
    "conscientiousness",
    "openness",
)
"""The six HEXACO traits in the order of the acronym."""

TRAIT_SETS = {"big_five": BIG_FIVE, "bigfive": BIG_FIVE, "ocean": BIG_FIVE, "hexaco": HEXACO}


def resolve_traits(traits):
    """Return a tuple of trait names from a trait-set name or a sequence of names.

    Parameters
    ----------
    traits : str or sequence of str
        ``"big_five"`` (alias ``"ocean"``), ``"hexaco"``, or explicit trait names.

    Returns
    -------
    tuple of str
        The trait names, in canonical order for named sets.

    Examples
    --------
    >>> from skpersona import resolve_traits
    >>> resolve_traits("big_five")[:2]
    ('openness', 'conscientiousness')
    >>> resolve_traits(["extraversion"])
    ('extraversion',)
    """
    if isinstance(traits, str):
        key = traits.lower().replace("-", "_").replace(" ", "_")
        if key not in TRAIT_SETS:
            raise ValueError(
                f"Unknown trait set {traits!r}. Use one of {sorted(set(TRAIT_SETS))} "
                "or pass a list of trait names."
            )
        return TRAIT_SETS[key]
    names = tuple(traits)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ValueError(
            f"traits must be a trait-set name or a non-empty sequence of non-empty strings, got {traits!r}."
        )
    if len(set(names)) != len(names):
        raise ValueError(f"traits contains duplicate names: {names!r}.")
    return names
