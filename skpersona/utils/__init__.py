"""Utilities: estimator discovery, caching and validation helpers."""

from .._loading import ModelFileError, load
from ._cache import ArrayCache, cache_key, file_digest
from ._cache_dir import cache_info, clear_cache, default_cache_dir
from ._file_safety import UnsafeModelError, allow_file_path, check_loaded_estimator
from ._modalities import modality_columns
from .discovery import all_estimators

__all__ = [
    "ArrayCache",
    "ModelFileError",
    "UnsafeModelError",
    "all_estimators",
    "allow_file_path",
    "cache_info",
    "cache_key",
    "check_loaded_estimator",
    "clear_cache",
    "default_cache_dir",
    "file_digest",
    "load",
    "modality_columns",
]
