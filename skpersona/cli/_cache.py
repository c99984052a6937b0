"""``skpersona cache``: where the default cache is, how big, and clearing it."""

import argparse

from ._common import _say


def _size(n_bytes):
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return None  # pragma: no cover


def run(args):
    from ..utils import cache_info, clear_cache

    clearing = args.action == "clear"
    result = clear_cache(args.kind) if clearing else cache_info(args.kind)
    if result["path"] is None:
        _say("the default cache is switched off (SKPERSONA_CACHE_DIR=off)"
             + ("; nothing to clear." if clearing else "."))
    elif clearing:
        _say(f"removed {result['n_entries']} entries ({_size(result['size_bytes'])}) from "
             f"{result['path']}.")
    else:
        _say(f"{result['path']}: {result['n_entries']} entries, {_size(result['size_bytes'])}.")
    return 0


def add_parser(sub, common):
    """The ``cache`` sub-command's parser, in ``sub`` (``common``: shared options)."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "cache", parents=[common], formatter_class=fmt,
        help="show or clear the default cache (TextEmbedder's embeddings)",
        description="The default cache lives in the user cache folder "
        "(~/.cache/skpersona on Linux); $SKPERSONA_CACHE_DIR moves it, "
        "SKPERSONA_CACHE_DIR=off switches it off. 'clear' removes only the entries "
        "skpersona wrote.",
        epilog="example: skpersona cache info; skpersona cache clear --kind embeddings")
    p.add_argument("action", choices=("info", "clear"), help="show the size, or delete")
    p.add_argument("--kind", choices=("embeddings",), help="one kind of entries (default: all)")
    p.set_defaults(func=run)
    return p
