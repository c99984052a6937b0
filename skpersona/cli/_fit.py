"""``skpersona fit``: fit a trait model on a table and save it with skops."""

import argparse

from ._common import (
    UsageError,
    _add_extraction_options,
    _columns,
    _prepare_inputs,
    _require_columns,
    _say,
)


def _targets(table, spec, source):
    from ..traits import BIG_FIVE, HEXACO, resolve_traits

    if spec:
        if spec.lower().replace("-", "_") in ("big_five", "bigfive", "hexaco"):
            targets = list(resolve_traits(spec))
        else:
            targets = _columns(spec)
        _require_columns(table, targets, "trait column", source)
        import pandas as pd

        text = [c for c in targets if not pd.api.types.is_numeric_dtype(table[c])]
        if text:
            raise UsageError(f"trait column(s) {', '.join(map(repr, text))} of {source} are not "
                             "numeric; --traits takes columns of numbers (scores).")
        return targets
    known = set(BIG_FIVE) | set(HEXACO)
    targets = [c for c in table.columns if str(c).lower() in known]
    if not targets:
        raise UsageError(
            f"{source} has no trait columns (openness, conscientiousness, ...); name them "
            "with --traits col1,col2."
        )
    return targets


def _feature_columns(table, targets, spec, ids, text_columns=(), video_columns=()):
    import pandas as pd

    from ._io import id_columns, say_excluded

    if spec:
        return _columns(spec)
    skip = set(targets) | {"video", "transcript"} | set(text_columns) | set(video_columns)
    excluded = id_columns(table.drop(columns=[c for c in skip if c in table.columns]), ids)
    say_excluded(excluded, "features")  # ids are never features, even numeric ones
    columns = [c for c in table.columns
               if c not in skip and c not in excluded
               and pd.api.types.is_numeric_dtype(table[c])]
    if not columns:
        raise UsageError("the table has no numeric feature columns besides the traits; "
                         "name them with --features or choose a model that reads "
                         "'video'/'transcript'.")
    return columns


def _model_options(args):
    return {
        "fps": args.fps, "max_frames": args.max_frames, "max_size": args.max_size,
        "weights_dir": args.weights_dir, "cache_dir": args.cache_dir,
        "backend": args.backend, "model_path": args.model_path,
        "text_model": args.text_model, "fusion": args.fusion,
        "random_state": args.random_state, "progress": False,
        "text_columns": _text_columns(args), "video_columns": _video_columns(args),
    }


def _text_columns(args):
    return _columns(args.text) if args.text else ["transcript"]


def _video_columns(args):
    return _columns(args.video) if args.video else ["video"]


def _default_model(table, args):
    """No --model: AU + text ridge for a table with video, the answers model for text only."""
    if not args.video and "video" not in table.columns and (
            args.text or "transcript" in table.columns):
        return "answers"
    return "ridge-multimodal"


def _cross_validate(model, X, y, *, cv, groups, random_state):
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import GroupKFold, KFold, cross_val_predict

    from ..metrics import concordance_correlation_coefficient, mean_accuracy_score

    if groups is not None:
        n_groups = len(np.unique(groups))
        if n_groups < cv:
            raise UsageError(f"--cv {cv} needs at least {cv} groups; the table has {n_groups}.")
        splitter = GroupKFold(cv)
    else:
        splitter = KFold(cv, shuffle=True, random_state=random_state)
    pred = cross_val_predict(model, X, y, cv=splitter, groups=groups)
    return pd.DataFrame({
        "mean_accuracy": mean_accuracy_score(y, pred, multioutput="raw_values"),
        "ccc": concordance_correlation_coefficient(y, pred, multioutput="raw_values"),
    }, index=y.columns)


def _check_model_name(output):
    """Refuse a model file name that promises another format (``model.pkl``)."""
    from pathlib import Path

    suffix = Path(output).suffix
    if suffix.lower() != ".skops":
        got = f"ends in {suffix!r}" if suffix else "has no suffix"
        raise UsageError(
            f"-o {output!r} {got}, but skpersona fit writes a skops file (not a pickle: "
            "load it with `skpersona predict` or skops.io.load, never pickle.load); name "
            f"it {Path(output).with_suffix('.skops').name!r}.")


def run(args):
    from .. import __version__
    from ._io import MODEL_FORMAT, check_writable, dump_model, read_table
    from ._models import MODELS, build_model

    if args.list_models:
        for name, (reads, text) in MODELS.items():
            _say(f"{name:18s} reads {reads:18s} {text}")
        return 0
    if not args.table or not args.output:
        raise UsageError("fit needs a TABLE and -o/--output MODEL (or --list-models).")
    if args.cv is not None and args.cv < 2:
        raise UsageError("--cv needs at least 2 folds.")
    _check_model_name(args.output)
    check_writable(args.output, "model file")
    source = args.table
    ids = _columns(args.id_columns) if args.id_columns else []
    text_columns = _text_columns(args)
    video_columns = _video_columns(args)
    table = read_table(source, text_columns=ids + text_columns + video_columns
                       + ([args.groups] if args.groups else []))
    if args.model is None:
        args.model = _default_model(table, args)
    targets = _targets(table, args.traits, source)
    y = table[targets].apply(lambda c: c.astype(float))
    if y.isna().any().any():
        raise UsageError(f"trait columns of {source} have missing values; drop those rows first.")
    needs = MODELS[args.model][0] if args.model in MODELS else ""
    if args.video and "video" not in needs:
        raise UsageError(f"--video names video columns, but --model {args.model} reads "
                         f"{needs or 'no video'}; choose ridge-au, ridge-multimodal or fusion.")
    if len(video_columns) > 1 and args.model == "semantic":
        raise UsageError("--model semantic describes one video per row; for several --video "
                         "columns use ridge-au, ridge-multimodal or fusion (AU statistics per "
                         "question), or SemanticFusionRegressor(video_column=[...]) in Python.")
    features = (_feature_columns(table, targets, args.features, ids + ([args.groups] if
                args.groups else []), text_columns, video_columns)
                if needs == "features" else None)
    X, extract = _prepare_inputs(table, needs=needs, source=source, frames=args.frames,
                                 feature_columns=features, text_columns=text_columns,
                                 video_columns=video_columns)
    model = build_model(args.model, feature_columns=features, extract=extract,
                        options=_model_options(args))
    groups = None
    if args.groups:
        _require_columns(table, [args.groups], "group column", source)
        groups = table[args.groups].to_numpy()
    if args.cv:
        scores = _cross_validate(model, X, y, cv=args.cv, groups=groups,
                                 random_state=args.random_state)
        how = f"GroupKFold({args.cv}) by {args.groups!r}" if groups is not None else \
            f"KFold({args.cv})"
        _say(f"cross-validated ({how}), per trait:")
        _say(scores.round(4).to_string())
        _say(f"mean accuracy {scores['mean_accuracy'].mean():.4f}, "
             f"CCC {scores['ccc'].mean():.4f}")
    model.fit(X, y)
    bundle = {
        "format": MODEL_FORMAT, "format_version": 1, "skpersona_version": __version__,
        "model_name": args.model, "targets": targets, "reads": needs,
        "features": features, "text_columns": text_columns, "video_columns": video_columns,
        "estimator": model,
    }
    dump_model(bundle, args.output)
    _say(f"wrote {args.output}: {args.model} model of {', '.join(targets)} "
         f"fitted on {len(table)} rows.")
    folders = [f"--allow-{name.replace('_', '-')} {value}"
               for name, value in (("weights_dir", getattr(args, "weights_dir", None)),
                                   ("weights_dir", getattr(args, "model_path", None)),
                                   ("cache_dir", getattr(args, "cache_dir", None))) if value]
    if folders:  # a model file never chooses folders on its own (issue 24)
        _say(f"predict uses these folders only when you allow them: {' '.join(folders)}")
    from ..utils._file_safety import downloaded_model_name

    if args.text_model and downloaded_model_name(args.text_model):
        _say(f"predict loads the text model {args.text_model!r} (not a local folder) only "
             f"when you allow it: --allow-model-name {args.text_model}")
    return 0


def add_parser(sub, common):
    """The ``fit`` sub-command's parser, in ``sub`` (``common``: shared options)."""
    from ._models import FUSIONS, MODELS

    fmt = argparse.RawDescriptionHelpFormatter
    models = "\n".join(f"  {name:17s} {text} (reads {reads})"
                       for name, (reads, text) in MODELS.items())
    p = sub.add_parser(
        "fit", parents=[common], formatter_class=fmt,
        help="fit a trait model on a table and save it (skops)",
        description="Fit a trait model on a table (.csv/.parquet) with trait columns and "
        "either numeric feature columns or 'video' and/or 'transcript' columns (or the "
        "answer columns named by --text and the answer videos named by --video: one per "
        "interview question), and save it "
        "with skops.\n\n'video' holds paths to videos (AUs are then extracted by the model, "
        "so use --cache-dir), paths to frame tables (.csv/.parquet, OpenFace output "
        "included), or names found in an extract-aus output given with --frames.\n\n"
        f"models:\n{models}",
        epilog="example: skpersona fit train.csv --model ridge-multimodal --frames aus.parquet "
               "--cv 5 --groups youtube_id -o model.skops\n"
               "         skpersona fit answers.csv --text q1,q2,q3 --traits E,A,O,C,N "
               "--id-columns id -o model.skops\n"
               "         skpersona fit interviews.csv --video v1,v2,v3 --model ridge-au "
               "--backend mediapipe --cache-dir cache -o model.skops")
    p.add_argument("table", nargs="?", help="training table (.csv, .tsv or .parquet)")
    p.add_argument("-o", "--output", help="model file to write (a skops file; the name "
                   "must end in .skops)")
    p.add_argument("--model", choices=list(MODELS), metavar="NAME",
                   help="which model (default: answers for a table with text columns and no "
                   "'video', ridge-multimodal otherwise; see above)")
    p.add_argument("--list-models", action="store_true", help="list the models and exit")
    p.add_argument("--traits", help="trait columns: big_five, hexaco or a comma-separated "
                   "list of any numeric columns (default: the Big Five/HEXACO columns present)")
    p.add_argument("--text", metavar="COL[,COL...]",
                   help="text column(s), e.g. one answer per interview question; several need "
                   "--model answers (the default without 'video') (default: transcript)")
    p.add_argument("--video", metavar="COL[,COL...]",
                   help="video column(s), e.g. one answer video per interview question: the AU "
                   "models then fit AU statistics per column, named by it (an empty cell is a "
                   "missing answer: read as a video without a face) (default: video)")
    p.add_argument("--features", help="comma-separated feature columns for --model ridge "
                   "(default: every numeric column that is not a trait, id or group)")
    p.add_argument("--id-columns", help="comma-separated columns that are not features "
                   "(read as text; besides those named like ids - VideoID, userid, "
                   "participant - and row numbers, which are left out with a message)")
    p.add_argument("--frames", help="extract-aus output holding the frame tables of 'video'")
    p.add_argument("--cv", type=int, help="also report K-fold cross-validated scores")
    p.add_argument("--groups", help="group column for the cross-validation (e.g. the source "
                   "video id: clips of one person stay in one fold)")
    p.add_argument("--text-model", help="sentence-transformers model for 'transcript'")
    p.add_argument("--fusion", choices=FUSIONS, help="fusion of --model fusion")
    p.add_argument("--cache-dir", help="on-disk cache of AUs and embeddings")
    p.add_argument("--random-state", type=int, default=0, help="seed (default: %(default)s)")
    _add_extraction_options(p, resumable=False)
    p.set_defaults(func=run)
    return p
