"""Utilities: estimator discovery, caching and validation helpers."""

from ._cache import ArrayCache, cache_key, file_digest
from ._cache_dir import cache_info, clear_cache, default_cache_dir
from ._modalities import modality_columns
from .discovery import all_estimators

__all__ = [
    "ArrayCache",
    "all_estimators",
    "cache_info",
    "cache_key",
    "clear_cache",
    "default_cache_dir",
    "file_digest",
    "modality_columns",
]
