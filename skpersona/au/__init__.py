"""Facial action units: readers, py-feat extraction, temporal statistics,
keyframe windows, AU selection and AU-to-text description.

Frame tables (one per video) are pandas DataFrames with ``AU01``, ``AU02``, ...
intensity columns and ``attrs["au_scale"]`` ("0-5" for OpenFace, "0-1" for
py-feat and iMotions).
"""

from ._answers import join_answer_videos, missing_video
from ._describer import AUDescriber
from ._extractor import AUExtractor
from ._facs import AU_NAMES, CO_ACTIVATIONS, au_label, au_name
from ._keyframes import KeyframeWindows
from ._readers import read_fex, read_imotions, read_openface
from ._selector import AUSelector
from ._statistics import DEFAULT_STATISTICS, AUStatistics

__all__ = [
    "AU_NAMES",
    "AUDescriber",
    "AUExtractor",
    "AUSelector",
    "AUStatistics",
    "CO_ACTIVATIONS",
    "DEFAULT_STATISTICS",
    "KeyframeWindows",
    "au_label",
    "au_name",
    "join_answer_videos",
    "missing_video",
    "read_fex",
    "read_imotions",
    "read_openface",
]
