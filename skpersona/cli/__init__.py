"""The ``skpersona`` command: the library's jobs from the shell.

::

    skpersona demo                     the end-to-end demo on synthetic interviews
    skpersona extract-aus VIDEOS -o F  facial action units of a folder of videos (resumable)
    skpersona embed CSV -o F           sentence embeddings of transcripts
    skpersona fit TABLE -o MODEL       fit a trait model and save it (skops)
    skpersona predict MODEL TABLE -o F predict traits with a saved model
    skpersona screen TABLE -o F        dependency screen: report CSV and heatmap
    skpersona cache info|clear         the default cache folder: its size, or clear it

Run ``skpersona COMMAND --help`` for the options of each. A mistake in the
arguments or the inputs prints one line on stderr and exits with status 1 (2 for
a malformed command line); ``--verbose`` shows the full traceback instead.
"""

import argparse
import sys

from . import _cache, _demo, _embed, _extract_aus, _fit, _predict, _screen
from ._common import PROG, cluster_backend
from ._io import UsageError

__all__ = ["build_parser", "main"]

# The sub-commands in the order of the help text; each module adds its own parser.
COMMANDS = (_demo, _extract_aus, _embed, _fit, _predict, _screen, _cache)


def build_parser():
    """The ``skpersona`` argument parser, one sub-parser per command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show full tracebacks on errors")
    common.add_argument("--no-progress", action="store_true", default=argparse.SUPPRESS,
                        help="no progress bars")

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Personality recognition and analysis from facial action units and text.",
        epilog="Run 'skpersona COMMAND --help' for the options of a command. Documentation: "
               "the user guide's 'The skpersona command' page.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", default=False,
                        help="show full tracebacks on errors")
    parser.add_argument("--no-progress", action="store_true", default=False,
                        help="no progress bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub, common)
    return parser


def _version():
    from .. import __version__

    return __version__


_MAX_LINE = 300  # an error is one readable line, however long the exception's text


def _one_line(exc):
    text = " ".join(str(exc).split())
    if not isinstance(exc, UsageError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if len(text) <= _MAX_LINE:
        return text
    # the start says what failed and the end usually what to do: keep both
    return f"{text[:_MAX_LINE - 105].rstrip()} ... {text[-100:].lstrip()}"


def main(argv=None):
    """Run the ``skpersona`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments (without the program name); None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 on an error in the inputs, 2 on a malformed command line,
        130 when interrupted.

    Examples
    --------
    >>> from skpersona.cli import main
    >>> main(["fit", "--list-models"])  # doctest: +ELLIPSIS
    ridge ...
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", False)
    try:
        # --cluster (add_cluster_option): the command's joblib work goes to that cluster
        with cluster_backend(getattr(args, "cluster", None)):
            return args.func(args)
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if verbose:
            raise
        hint = "" if isinstance(exc, UsageError) else " (run with --verbose for the traceback)"
        print(f"{PROG} {args.command}: error: {_one_line(exc)}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
