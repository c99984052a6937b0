"""skpersona's default cache folder in the user's cache directory: where, how big, clearing.

The default is ``$XDG_CACHE_HOME/skpersona`` (``~/.cache/skpersona``) on Linux,
``~/Library/Caches/skpersona`` on macOS and ``%LOCALAPPDATA%\\skpersona\\Cache`` on
Windows. ``$SKPERSONA_CACHE_DIR`` moves it; ``SKPERSONA_CACHE_DIR=off`` switches the
default caches off.
"""

import os
import re
import sys
from pathlib import Path

ENV_VAR = "SKPERSONA_CACHE_DIR"
_OFF = {"off", "none", "0", "false", "no"}
# What ArrayCache writes: <folder>/<2 hex>/<the same 2 hex + 62 hex>.npz, and while
# writing tempfile.mkstemp's "tmp" + 8 characters + ".tmp" (ArrayCache._TMP_PREFIX).
_ENTRY = re.compile(r"[0-9a-f]{64}\.npz|tmp[a-z0-9_]{8}\.tmp")
_SHARD = re.compile(r"[0-9a-f]{2}")


def _user_cache_root():
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
        return Path(base) / "skpersona" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "skpersona"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "skpersona"


def default_cache_dir(kind=None):
    """The default cache folder (of one ``kind`` of entries), or None when switched off.

    Parameters
    ----------
    kind : str or None, default=None
        A subfolder, e.g. ``"embeddings"`` (:class:`~skpersona.text.TextEmbedder`).

    Returns
    -------
    pathlib.Path or None
        ``$SKPERSONA_CACHE_DIR`` (``~`` expanded) or the user cache directory, joined
        with ``kind``; None when ``$SKPERSONA_CACHE_DIR`` is ``off`` (or ``none``,
        ``0``, ``false``, ``no``).

    Examples
    --------
    >>> from skpersona.utils import default_cache_dir
    >>> default_cache_dir("embeddings").name  # e.g. ~/.cache/skpersona/embeddings
    'embeddings'
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env.lower() in _OFF:
        return None
    root = Path(os.path.expanduser(env)) if env else _user_cache_root()
    return root / kind if kind else root


def resolve_cache_dir(cache_dir, kind):
    """An estimator's ``cache_dir`` parameter as a folder, or None for no cache.

    ``"auto"`` or True: :func:`default_cache_dir` of ``kind``; None or False: no
    cache; anything else: that folder, ``~`` expanded.
    """
    if cache_dir is None or cache_dir is False:
        return None
    if cache_dir is True or (isinstance(cache_dir, str) and cache_dir == "auto"):
        return default_cache_dir(kind)
    return Path(os.path.expanduser(os.fspath(cache_dir)))


def _real_dirs(folder):
    """Sub-folders of ``folder`` that are folders themselves, not links to one."""
    try:
        return [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return []


def _shards(folder):
    """ArrayCache's shard folders: ``<folder>/<2 hex>`` and ``<folder>/<kind>/<2 hex>``.

    Links are never followed, so nothing outside the cache folder is ever listed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [shard for parent in [folder, *_real_dirs(folder)] for shard in _real_dirs(parent)
            if _SHARD.fullmatch(shard.name)]


def _entries(folder):
    """Files that ArrayCache wrote under ``folder`` (never anything else, never a link)."""
    found = []
    for shard in _shards(folder):
        for f in shard.iterdir():
            if f.is_symlink() or not f.is_file() or not _ENTRY.fullmatch(f.name):
                continue
            if f.suffix == ".npz" and not f.name.startswith(shard.name):
                continue  # an entry lives in the shard named by its key's first 2 digits
            found.append(f)
    return found


def cache_info(kind=None):
    """Where the default cache is and how much it holds.

    Parameters
    ----------
    kind : str or None, default=None
        One kind of entries (``"embeddings"``), or None for the whole cache.

    Returns
    -------
    dict
        ``path`` (str or None when switched off), ``n_entries`` and ``size_bytes``.

    Examples
    --------
    >>> from skpersona.utils import cache_info
    >>> sorted(cache_info("embeddings"))
    ['n_entries', 'path', 'size_bytes']
    """
    folder = default_cache_dir(kind)
    if folder is None:
        return {"path": None, "n_entries": 0, "size_bytes": 0}
    entries = [f for f in _entries(folder) if f.suffix == ".npz"]
    return {"path": os.fspath(folder), "n_entries": len(entries),
            "size_bytes": int(sum(f.stat().st_size for f in entries))}


def clear_cache(kind=None):
    """Delete the entries of the default cache (of one ``kind``, or all of them).

    Only files that skpersona's caches write (``<2 hex>/<sha256>.npz`` whose name starts
    with its folder's two digits, and leftover ``tmpXXXXXXXX.tmp`` files of an
    interrupted write), directly in the cache folder or in one of its kind folders, are
    removed, and then the empty shard folders; links are never followed. So a
    ``$SKPERSONA_CACHE_DIR`` pointing at a folder with other content never loses it.

    Parameters
    ----------
    kind : str or None, default=None
        ``"embeddings"`` for :class:`~skpersona.text.TextEmbedder`'s entries, or None
        for the whole default cache.

    Returns
    -------
    dict
        ``path``, ``n_entries`` and ``size_bytes`` removed.

    Examples
    --------
    >>> from skpersona.utils import clear_cache
    >>> clear_cache("embeddings")  # doctest: +SKIP
    {'path': '/home/me/.cache/skpersona/embeddings', 'n_entries': 1200, 'size_bytes': 2457600}
    """
    folder = default_cache_dir(kind)
    removed = {"path": None if folder is None else os.fspath(folder), "n_entries": 0,
               "size_bytes": 0}
    if folder is None:
        return removed
    for entry in _entries(folder):
        size = entry.stat().st_size
        try:
            entry.unlink()
        except FileNotFoundError:  # another process removed it first
            continue
        removed["n_entries"] += entry.suffix == ".npz"
        removed["size_bytes"] += size
    for shard in _shards(folder):
        try:
            shard.rmdir()
        except OSError:  # not empty: holds something skpersona did not write
            pass
    return removed
