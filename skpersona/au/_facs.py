"""FACS action unit names and named co-activations."""

import re

#: FACS action unit number -> descriptive name (Ekman, Friesen and Hager, 2002).
AU_NAMES = {
    1: "inner brow raiser",
    2: "outer brow raiser",
    4: "brow lowerer",
    5: "upper lid raiser",
    6: "cheek raiser",
    7: "lid tightener",
    8: "lips toward each other",
    9: "nose wrinkler",
    10: "upper lip raiser",
    11: "nasolabial deepener",
    12: "lip corner puller",
    13: "sharp lip puller",
    14: "dimpler",
    15: "lip corner depressor",
    16: "lower lip depressor",
    17: "chin raiser",
    18: "lip pucker",
    19: "tongue show",
    20: "lip stretcher",
    21: "neck tightener",
    22: "lip funneler",
    23: "lip tightener",
    24: "lip pressor",
    25: "lips part",
    26: "jaw drop",
    27: "mouth stretch",
    28: "lip suck",
    29: "jaw thrust",
    30: "jaw sideways",
    31: "jaw clencher",
    32: "lip bite",
    33: "cheek blow",
    34: "cheek puff",
    35: "cheek suck",
    36: "tongue bulge",
    37: "lip wipe",
    38: "nostril dilator",
    39: "nostril compressor",
    41: "lid droop",
    42: "slit",
    43: "eyes closed",
    44: "squint",
    45: "blink",
    46: "wink",
}

#: Named co-activations used by default: AU combination -> short name.
CO_ACTIVATIONS = {
    ("AU06", "AU12"): "a Duchenne smile",
    ("AU01", "AU02"): "raised brows",
    ("AU01", "AU04"): "a worried brow",
    ("AU04", "AU07"): "a tense frown",
    ("AU09", "AU10"): "a disgust expression",
    ("AU15", "AU17"): "a sad mouth",
    ("AU23", "AU24"): "pressed lips",
    ("AU25", "AU26"): "an open mouth",
}

_AU_TOKEN = re.compile(r"AU(\d+)")
_AU_COLUMN = re.compile(r"^AU(\d+)$")


def au_label(au):
    """Return the zero-padded column label of an AU (``6`` or ``"AU6"`` -> ``"AU06"``).

    Examples
    --------
    >>> from skpersona.au import au_label
    >>> au_label(6), au_label("AU12")
    ('AU06', 'AU12')
    """
    if isinstance(au, str):
        match = _AU_TOKEN.fullmatch(au.strip().upper().replace(" ", ""))
        if match is None:
            raise ValueError(f"{au!r} is not an action unit; use e.g. 'AU06' or 6.")
        au = int(match.group(1))
    return f"AU{int(au):02d}"


def au_name(au):
    """Return the FACS name of an AU (``"AU06"`` -> ``"cheek raiser"``).

    Unknown AU numbers give ``"action unit <n>"``.

    Examples
    --------
    >>> from skpersona.au import au_name
    >>> au_name("AU06")
    'cheek raiser'
    """
    number = int(au_label(au)[2:])
    return AU_NAMES.get(number, f"action unit {number}")


def aus_in_name(name):
    """All AU labels mentioned in a feature name (``"AU06+AU12_rate"`` -> AU06, AU12)."""
    return [f"AU{int(n):02d}" for n in _AU_TOKEN.findall(str(name))]


def co_activation_name(aus):
    """Column stem of a co-activation (``("AU06", "AU12")`` -> ``"AU06+AU12"``)."""
    return "+".join(au_label(a) for a in aus)
