"""A small on-disk cache of numpy arrays, safe to load (no pickle)."""

import hashlib
import json
import os
import re
import tempfile
import time
import warnings
import zipfile
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
    run never leaves a half-written entry; loading never unpickles. Keys are
    letters, digits, ``_`` and ``-`` (a :func:`cache_key` digest), so that an entry
    is always a file inside ``directory``.

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
        self._swept = set()  # folders whose stale temporary files were removed

    def _path(self, key):
        # a key names a file inside the folder: "../x", "a/b" or "" would escape or clash
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError(f"cache key {key!r} is not a key: use letters, digits, '_' and "
                             "'-' only (up to 200 characters), e.g. a cache_key() hex digest.")
        return self.directory / key[:2] / f"{key}.npz"

    def __contains__(self, key):
        return self._path(key).is_file()

    def load(self, key):
        """Return the stored dict of arrays, or None when the key is absent or unreadable.

        An unreadable entry (empty, truncated, a bad checksum, not arrays) is a miss:
        a ``RuntimeWarning`` names its path and the entry is removed, so it is
        computed and written again.
        """
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            return _read_entry(path)
        except Exception as exc:  # a corrupt entry is a miss, recomputed and rewritten
            warnings.warn(f"cache entry {os.fspath(path)} is unreadable ({type(exc).__name__}: "
                          f"{exc!s:.100}); it is removed and computed again.", RuntimeWarning,
                          stacklevel=2)
            try:
                path.unlink()
            except OSError:
                pass
            return None

    def save(self, key, arrays):
        """Store ``arrays`` (a dict of numpy arrays, no object dtype) under ``key``."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir() and not path.is_symlink():  # not ours to replace: leave it, say so
            warnings.warn(f"cache entry {os.fspath(path)} is a folder; the entry is not "
                          "stored (remove the folder to cache it).", RuntimeWarning,
                          stacklevel=2)
            return
        self._sweep(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TMP_PREFIX, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def _sweep(self, folder):
        """Remove temporary files that a killed writer (kill -9) left in ``folder``.

        Once per folder and cache object; only files untouched for an hour, so a
        write in progress elsewhere is never taken away.
        """
        if folder in self._swept:
            return
        self._swept.add(folder)
        now = time.time()
        for tmp in folder.glob(f"{_TMP_PREFIX}*.tmp"):
            try:
                if now - tmp.stat().st_mtime > _STALE_SECONDS:
                    tmp.unlink()
            except OSError:
                pass


_KEY = re.compile(r"[A-Za-z0-9_-]{1,200}")
_TMP_PREFIX = "tmp"  # what tempfile.mkstemp names files by default, as earlier versions did
_STALE_SECONDS = 3600.0


def _read_entry(path):
    """The arrays of one ``.npz`` entry, checked before anything is allocated.

    Entries are written uncompressed by :meth:`ArrayCache.save`, so each array's
    declared size must match its member's stored size and all of them fit in the
    file: a crafted header cannot make the reader allocate more than the file holds.
    The zip checksum (CRC-32) of every member is verified as it is read.
    """
    arrays = {}
    size = os.path.getsize(path)
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if sum(info.compress_size for info in members) > size:
            raise ValueError("members larger than the file")
        for info in members:
            if not info.filename.endswith(".npy") or info.compress_type != zipfile.ZIP_STORED \
                    or info.file_size != info.compress_size:
                raise ValueError(f"member {info.filename!r} is not a stored .npy array")
            with archive.open(info) as handle:
                version = np.lib.format.read_magic(handle)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(handle)
                if dtype.hasobject:
                    raise ValueError("object arrays are not cache entries")
                count = int(np.prod(shape, dtype=object))
                if count * dtype.itemsize != info.file_size - handle.tell():
                    raise ValueError(f"array {info.filename!r} does not match its stored size")
            with archive.open(info) as handle:
                arrays[info.filename[:-4]] = np.lib.format.read_array(handle, allow_pickle=False)
                handle.read()  # to the end, so that the CRC-32 is checked
    return arrays
