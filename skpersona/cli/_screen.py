"""``skpersona screen``: dependency screen of a table, report and heatmap."""

import argparse
from pathlib import Path

from ._common import (
    UsageError,
    _columns,
    _positive_int,
    _progress,
    _require_columns,
    _say,
    add_cluster_option,
)


def run(args):
    from matplotlib.figure import Figure

    from ..independence import METHODS, DependencyScreen
    from ._io import (
        _atomic,
        check_writable,
        id_columns,
        read_table,
        say_excluded,
        table_format,
        write_table,
    )

    table_format(args.output, "output")
    if args.plot and Path(args.plot).suffix.lower() not in (".png", ".pdf", ".svg", ".jpg"):
        raise UsageError(f"--plot {args.plot!r}: use a .png, .pdf, .svg or .jpg file.")
    check_writable(args.output)
    if args.plot:
        check_writable(args.plot, "--plot")
    ids = _columns(args.id_columns) if args.id_columns else []
    table = read_table(args.table, text_columns=ids)
    _require_columns(table, ids, "id column", args.table)
    if args.columns:
        columns = _columns(args.columns)
    else:  # ids say which row is which, they are no variables
        excluded = id_columns(table, ids)
        say_excluded(excluded, "variables of the screen")
        columns = [c for c in table.columns if c not in excluded]
    against = _columns(args.against) if args.against else []
    conditioning = _columns(args.conditioning) if args.conditioning else []
    _require_columns(table, columns + against + conditioning, "column", args.table)
    columns = [c for c in columns if c not in conditioning]
    groups = None
    if args.groups:
        _require_columns(table, [args.groups], "--groups column", args.table)
        if args.groups in against + conditioning:
            raise UsageError(f"--groups {args.groups!r} is also a screened or conditioning column.")
        columns = [c for c in columns if c != args.groups]  # labels, not a variable
        groups = table[args.groups]
        if groups.isna().any():
            raise UsageError(f"--groups column {args.groups!r} has {int(groups.isna().sum())} "
                             "empty cell(s); every row needs a group label.")
    variables = list(dict.fromkeys(columns + against))
    if len(variables) < 2:
        raise UsageError("the screen needs at least two columns.")
    data = table[variables + conditioning].copy()
    for column in _columns(args.discrete) if args.discrete else []:
        _require_columns(table, [column], "discrete column", args.table)
        data[column] = data[column].astype("category")
    methods = "auto"
    if args.tests:
        methods = _columns(args.tests)
        unknown = [m for m in methods if m not in METHODS or m == "auto"]
        if unknown:
            raise UsageError(f"unknown test {', '.join(map(repr, unknown))}; choose from "
                             f"{', '.join(m for m in METHODS if m != 'auto')}.")
    pairs = None
    if against:
        pairs = [(a, b) for a in columns for b in against if a != b]
        if not pairs:
            raise UsageError("--columns and --against leave no pair to test.")
    test_options = None
    if args.max_memory:
        from ..independence._memory import parse_memory

        try:
            parse_memory(args.max_memory, "--max-memory")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        # every test has a memory limit (the random-feature ones count their features)
        test_options = {m: {"max_memory": args.max_memory} for m in METHODS if m != "auto"}
    screen = DependencyScreen(methods, alpha=args.alpha, pairs=pairs,
                              conditioning=conditioning or None, test_options=test_options,
                              max_categories=args.max_categories, n_jobs=args.n_jobs,
                              random_state=args.random_state, verbose=_progress(args))
    screen.fit(data, groups=groups)
    agreement = screen.agreement_.reset_index() if "x" not in screen.agreement_.columns \
        else screen.agreement_
    report = screen.pvalues_
    on = [c for c in ("x", "y", "conditioning") if c in agreement.columns
          and c in report.columns]
    # the pair's decision rests on its combined p-value (Cauchy combination, corrected once)
    combined = agreement.rename(columns={"pvalue": "pvalue_combined",
                                         "pvalue_adjusted": "pvalue_combined_adjusted"})
    keep = [c for c in ("pvalue_combined", "pvalue_combined_adjusted", "decision", "agreement")
            if c in combined.columns]
    if {"x", "y"} <= set(on):
        report = report.merge(combined[on + keep], on=on, how="left")
    write_table(report, args.output)
    decisions = agreement["decision"].to_numpy()
    edges = [f"{x} ~ {y}" for x, y, d in zip(agreement["x"], agreement["y"], decisions)
             if d == "dependent"] if {"x", "y"} <= set(agreement.columns) else []
    _say(f"wrote {args.output}: {len(agreement)} pairs, {report['method'].nunique()} tests; "
         f"{int((decisions == 'dependent').sum())} dependent at alpha={args.alpha}"
         + (f": {', '.join(edges)}." if edges else "."))
    if args.plot:
        size = max(4.0, 0.45 * len(screen.variables_) + 2)
        figure = Figure(figsize=(size + 1, size))
        screen.plot(ax=figure.add_subplot())
        kind = Path(args.plot).suffix.lower()[1:]  # the temporary file has no such suffix
        _atomic(args.plot, lambda tmp: figure.savefig(tmp, format=kind, dpi=150,
                                                      bbox_inches="tight"))
        _say(f"wrote {args.plot}.")
    return 0


def add_parser(sub, common):
    """The ``screen`` sub-command's parser, in ``sub`` (``common``: shared options)."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "screen", parents=[common], formatter_class=fmt,
        help="dependency screen of a table: report CSV and heatmap",
        description="Run several independence tests on every pair of columns of a table "
        "(DependencyScreen) and write the report (one row per pair and test) and a heatmap.",
        epilog="example: skpersona screen traits_and_faces.csv -o report.csv --plot "
               "heatmap.png")
    p.add_argument("table", help="table (.csv, .tsv or .parquet)")
    p.add_argument("-o", "--output", required=True, help="report table (.csv or .parquet)")
    p.add_argument("--plot", help="heatmap image to write (.png, .pdf, .svg)")
    p.add_argument("--columns", help="comma-separated columns to screen (default: all)")
    p.add_argument("--id-columns", help="comma-separated columns that identify rows, left "
                   "out of the default --columns (as are columns named like ids - VideoID, "
                   "userid, participant - and row numbers; a message names them)")
    p.add_argument("--against", help="comma-separated columns: test only pairs between "
                   "--columns and these")
    p.add_argument("--tests", help="comma-separated tests (default: the screen's own)")
    p.add_argument("--conditioning", help="comma-separated columns to condition every pair on")
    p.add_argument("--groups", help="column of group labels (e.g. the source video of each "
                   "clip): rows of a group are not independent, so every test runs on one "
                   "row per group (group means of what varies within a group)")
    p.add_argument("--discrete", help="comma-separated columns to treat as discrete (besides "
                   "text columns and integer columns with few values)")
    p.add_argument("--max-categories", type=_positive_int, default=10,
                   help="integer columns with at most this many values are discrete "
                   "(default: %(default)s)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level "
                   "(default: %(default)s)")
    p.add_argument("--n-jobs", type=int, default=1, help="pairs tested in parallel")
    p.add_argument("--random-state", type=int, default=0, help="seed (default: %(default)s)")
    p.add_argument("--max-memory", help="memory one test may use, e.g. 16GB "
                   "(default: 2GiB; larger tests are refused before running)")
    add_cluster_option(p)
    p.set_defaults(func=run)
    return p
