"""Utilities: estimator discovery, caching and validation helpers."""

from ._cache import ArrayCache, cache_key, file_digest
from ._modalities import modality_columns
from .discovery import all_estimators

__all__ = ["ArrayCache", "all_estimators", "cache_key", "file_digest", "modality_columns"]
