"""Real data loaders and synthetic generators with known ground truth."""

from ._base import get_data_home
from ._first_impressions import load_first_impressions
from ._interviews import AU_CODES, make_interviews
from ._multimodal_causal import make_causal_digits, make_multimodal_causal
from ._siop_2019 import load_siop_2019
from ._youtube_personality import load_youtube_personality

__all__ = [
    "AU_CODES",
    "get_data_home",
    "load_first_impressions",
    "load_siop_2019",
    "load_youtube_personality",
    "make_causal_digits",
    "make_interviews",
    "make_multimodal_causal",
]
