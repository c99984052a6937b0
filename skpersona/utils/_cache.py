"""A small on-disk cache of numpy arrays, safe to load (no pickle)."""

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def file_digest(path, chunk_size=1 << 20):
    """Return the SHA-256 hex digest of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


_DIGESTS = {}  # (real path, size, mtime_ns) -> sha256, for memoised_file_digest


def memoised_file_digest(path):
    """:func:`file_digest`, computed once per process per file version.

    A file is seen as unchanged while its real path, size and modification time are.
    """
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_digest(path)
    return _DIGESTS[key]


def cache_key(*parts):
    """Hash JSON-serialisable parts (str, numbers, lists, dicts) into a hex key."""
    payload = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(payload).hexdigest()


class ArrayCache:
    """Store dicts of numpy arrays under a key, one ``.npz`` file per key.

    Writes are atomic (a temporary file renamed into place), so an interrupted
    run never leaves a half-written entry; loading never unpickles.

    Parameters
    ----------
    directory : str or path-like
        Folder of the cache; created on first write.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from skpersona.utils import ArrayCache
    >>> cache = ArrayCache(tempfile.mkdtemp())
    >>> cache.save("k", {"x": np.arange(3)})
    >>> cache.load("k")["x"].tolist()
    [0, 1, 2]
    """

    def __init__(self, directory):
        self.directory = Path(directory)

    def _path(self, key):
        return self.directory / key[:2] / f"{key}.npz"

    def __contains__(self, key):
        return self._path(key).is_file()

    def load(self, key):
        """Return the stored dict of arrays, or None when the key is absent or unreadable."""
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError):  # a corrupt entry is a miss, recomputed and rewritten
            return None

    def save(self, key, arrays):
        """Store ``arrays`` (a dict of numpy arrays, no object dtype) under ``key``."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
