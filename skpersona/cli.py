"""The ``skpersona`` command: the library's jobs from the shell.

::

    skpersona demo                     the end-to-end demo on synthetic interviews
    skpersona extract-aus VIDEOS -o F  facial action units of a folder of videos (resumable)
    skpersona embed CSV -o F           sentence embeddings of transcripts
    skpersona fit TABLE -o MODEL       fit a trait model and save it (skops)
    skpersona predict MODEL TABLE -o F predict traits with a saved model
    skpersona screen TABLE -o F        dependency screen: report CSV and heatmap

Run ``skpersona COMMAND --help`` for the options of each. A mistake in the
arguments or the inputs prints one line on stderr and exits with status 1 (2 for
a malformed command line); ``--verbose`` shows the full traceback instead.
"""

import argparse
import os
import sys
import warnings
from pathlib import Path

from ._cli_io import UsageError

PROG = "skpersona"


# -- helpers -----------------------------------------------------------------
def _progress(args):
    return not getattr(args, "no_progress", False)


def _say(*parts):
    print(*parts, flush=True)


def _n_jobs(value):
    from joblib import effective_n_jobs

    return effective_n_jobs(value)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _columns(text):
    return [c.strip() for c in text.split(",") if c.strip()]


def _require_columns(table, columns, what, source):
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise UsageError(
            f"{what} {', '.join(map(repr, missing))} not in {source} (its columns: "
            f"{', '.join(map(str, table.columns[:20]))}{' ...' if table.shape[1] > 20 else ''})."
        )


# -- demo --------------------------------------------------------------------
def cmd_demo(args):
    from ._demo import run_demo

    run_demo(output=args.output, n_samples=args.n_samples, random_state=args.random_state)
    return 0


# -- extract-aus ---------------------------------------------------------------
def _extract_params(args):
    return {
        "fps": args.fps, "step": args.step, "max_frames": args.max_frames,
        "max_size": args.max_size, "detect_faces": not args.no_detect_faces,
        "faces": "all" if args.all_faces else "largest",
        "face_threshold": args.face_threshold,
    }


def cmd_extract_aus(args):
    import json
    import time

    import pandas as pd
    from tqdm.auto import tqdm

    from ._cli_io import find_videos, read_table, table_format, write_json, write_table
    from ._cli_models import au_extractor

    output = Path(args.output)
    table_format(output, "output")
    manifest_path = Path(f"{output}.manifest.json")
    videos = find_videos(args.inputs, recursive=args.recursive, images=args.images)
    if not videos:
        raise UsageError(
            f"no video files found in {', '.join(map(str, args.inputs))} "
            "(looked for .mp4, .avi, .mov, .mkv, .webm ...; --recursive enters subfolders)."
        )
    params = _extract_params(args)
    done, parts, manifest = {}, [], {"au_scale": "0-1", "params": params, "videos": {}}
    if output.exists() and not args.overwrite:
        if not manifest_path.is_file():
            raise UsageError(
                f"{output} exists but was not written by extract-aus (no {manifest_path.name}); "
                "pass --overwrite to replace it or choose another output."
            )
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("params") != params:
            raise UsageError(
                f"{output} was extracted with other settings ({manifest.get('params')}); "
                "pass --overwrite to start again, or the same settings to resume."
            )
        done = {k: v for k, v in manifest["videos"].items() if not v.get("error")}
        existing = read_table(output, "output")
        if len(existing) and "video" in existing.columns:
            # Rows of videos the manifest does not list as done (a crash between the
            # two writes) are dropped; those videos are extracted again.
            existing = existing[existing["video"].astype(str).isin(done)]
        parts.append(existing)
    todo = [key for key in videos if key not in done]
    if done:
        _say(f"{len(videos) - len(todo)} of {len(videos)} videos already in {output}; "
             f"extracting the other {len(todo)}.")
    options = dict(params, weights_dir=args.weights_dir, multitask_weights=args.multitask_weights,
                   cache_dir=args.cache_dir, device=args.device, batch_size=args.batch_size,
                   n_jobs=args.n_jobs, progress=False, on_error="warn",
                   torch_threads=args.torch_threads)
    extractor = au_extractor(options)
    chunk = args.chunk_size or max(1, _n_jobs(args.n_jobs))
    failed = []
    state = {"saved": time.monotonic(), "dirty": True}

    def save():
        merged = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            {"video": pd.Series(dtype=str)})
        merged.attrs = {"au_scale": manifest["au_scale"]}
        parts[:] = [merged]
        write_table(merged, output)  # the table first: the manifest never runs ahead of it
        write_json(manifest, manifest_path)
        state.update(saved=time.monotonic(), dirty=False)

    with tqdm(total=len(todo), desc="videos", unit="video", disable=not _progress(args),
              file=sys.stderr) as bar:
        try:
            for start in range(0, len(todo), chunk):
                keys = todo[start:start + chunk]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tables = extractor.fit_transform([os.fspath(videos[k]) for k in keys])[:, 0]
                for key, table in zip(keys, tables):
                    error = table.attrs.get("error")
                    manifest["videos"][key] = {
                        "path": os.fspath(videos[key]), "rows": len(table),
                        "frames_sampled": table.attrs.get("n_frames_sampled"), "error": error,
                    }
                    if error:
                        failed.append(f"{key}: {error}")
                        continue
                    manifest["au_scale"] = table.attrs.get("au_scale", manifest["au_scale"])
                    parts.append(table.assign(video=key)[["video", *table.columns]])
                state["dirty"] = True
                if time.monotonic() - state["saved"] >= args.save_every:
                    save()
                bar.update(len(keys))
        finally:  # also on Ctrl-C or an error: keep what is done
            if state["dirty"]:
                save()
    n_ok = sum(1 for v in manifest["videos"].values() if not v.get("error"))
    _say(f"wrote {output}: {n_ok} videos; progress in {manifest_path.name} "
         "(run the same command again to resume).")
    if failed:
        for line in failed:
            print(f"{PROG} extract-aus: could not read {line}", file=sys.stderr)
        raise UsageError(f"{len(failed)} of {len(videos)} videos failed (listed above); "
                         "the others are in the output.")
    return 0


# -- embed -------------------------------------------------------------------
def cmd_embed(args):
    import pandas as pd

    from ._cli_io import read_table, table_format, write_table
    from ._cli_models import text_embedder

    table_format(args.output, "output")
    table = read_table(args.input, "transcripts table")
    _require_columns(table, [args.column], "text column", args.input)
    ids = _columns(args.id_columns) if args.id_columns else [
        c for c in table.columns if c != args.column]
    _require_columns(table, ids, "id column", args.input)
    texts = table[args.column].fillna("").astype(str)
    embedder = text_embedder({"text_model": args.model, "text_batch_size": args.batch_size,
                              "cache_dir": args.cache_dir, "device": args.device,
                              "progress": _progress(args)})
    embedder.set_output(transform="default")
    values = embedder.fit_transform(texts.to_frame())
    names = [f"{args.prefix}{i}" for i in range(values.shape[1])]
    out = pd.concat([table[ids].reset_index(drop=True),
                     pd.DataFrame(values, columns=names)], axis=1)
    write_table(out, args.output)
    _say(f"wrote {args.output}: {len(out)} texts x {values.shape[1]} dimensions.")
    return 0


# -- fit ---------------------------------------------------------------------
def _targets(table, spec, source):
    from .traits import BIG_FIVE, HEXACO, resolve_traits

    if spec:
        if spec.lower().replace("-", "_") in ("big_five", "bigfive", "hexaco"):
            targets = list(resolve_traits(spec))
        else:
            targets = _columns(spec)
        _require_columns(table, targets, "trait column", source)
        return targets
    known = set(BIG_FIVE) | set(HEXACO)
    targets = [c for c in table.columns if str(c).lower() in known]
    if not targets:
        raise UsageError(
            f"{source} has no trait columns (openness, conscientiousness, ...); name them "
            "with --traits col1,col2."
        )
    return targets


def _prepare_inputs(table, *, needs, source, frames, feature_columns=None):
    """The model's input table: 'video' resolved, 'transcript' as str, features checked."""
    from ._cli_io import frame_tables_from_file, resolve_videos

    X = table.copy()
    extract = False
    if "video" in needs:
        _require_columns(table, ["video"], "column", source)
        tables = frame_tables_from_file(frames) if frames else None
        resolved = resolve_videos(table["video"], frames=tables,
                                  base_dir=Path(source).parent)
        extract = any(isinstance(v, str) for v in resolved)
        if extract and not all(isinstance(v, str) for v in resolved):
            raise UsageError("the 'video' column mixes video files and frame tables; use one.")
        import pandas as pd

        X["video"] = pd.Series(resolved, index=X.index, dtype=object)
    if "transcript" in needs:
        _require_columns(table, ["transcript"], "column", source)
        X["transcript"] = table["transcript"].fillna("").astype(str)
    if feature_columns is not None:
        _require_columns(table, feature_columns, "feature column", source)
    return X, extract


def _feature_columns(table, targets, spec, ids):
    import pandas as pd

    if spec:
        return _columns(spec)
    skip = set(targets) | set(ids) | {"video", "transcript"}
    columns = [c for c in table.columns
               if c not in skip and pd.api.types.is_numeric_dtype(table[c])]
    if not columns:
        raise UsageError("the table has no numeric feature columns besides the traits; "
                         "name them with --features or choose a model that reads "
                         "'video'/'transcript'.")
    return columns


def _model_options(args):
    return {
        "fps": args.fps, "max_frames": args.max_frames, "max_size": args.max_size,
        "weights_dir": args.weights_dir, "cache_dir": args.cache_dir,
        "text_model": args.text_model, "fusion": args.fusion,
        "random_state": args.random_state, "progress": False,
    }


def _cross_validate(model, X, y, *, cv, groups, random_state):
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import GroupKFold, KFold, cross_val_predict

    from .metrics import concordance_correlation_coefficient, mean_accuracy_score

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


def cmd_fit(args):
    from . import __version__
    from ._cli_io import MODEL_FORMAT, dump_model, read_table
    from ._cli_models import MODELS, build_model

    if args.list_models:
        for name, (reads, text) in MODELS.items():
            _say(f"{name:18s} reads {reads:18s} {text}")
        return 0
    if not args.table or not args.output:
        raise UsageError("fit needs a TABLE and -o/--output MODEL (or --list-models).")
    if args.cv is not None and args.cv < 2:
        raise UsageError("--cv needs at least 2 folds.")
    source = args.table
    table = read_table(source)
    targets = _targets(table, args.traits, source)
    y = table[targets].apply(lambda c: c.astype(float))
    if y.isna().any().any():
        raise UsageError(f"trait columns of {source} have missing values; drop those rows first.")
    needs = MODELS[args.model][0] if args.model in MODELS else ""
    ids = _columns(args.id_columns) if args.id_columns else []
    features = (_feature_columns(table, targets, args.features, ids + ([args.groups] if
                args.groups else [])) if needs == "features" else None)
    X, extract = _prepare_inputs(table, needs=needs, source=source, frames=args.frames,
                                 feature_columns=features)
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
        "features": features, "estimator": model,
    }
    dump_model(bundle, args.output)
    _say(f"wrote {args.output}: {args.model} model of {', '.join(targets)} "
         f"fitted on {len(table)} rows.")
    return 0


# -- predict -------------------------------------------------------------------
def cmd_predict(args):
    import pandas as pd

    from ._cli_io import load_model, read_table, table_format, write_table

    table_format(args.output, "output")
    bundle = load_model(args.model, trust=args.trust or ())
    table = read_table(args.table)
    X, _ = _prepare_inputs(table, needs=bundle["reads"], source=args.table, frames=args.frames,
                           feature_columns=bundle["features"])
    pred = bundle["estimator"].predict(X)
    pred = pd.DataFrame(pred.reshape(len(table), -1), columns=bundle["targets"])
    if args.id_columns:
        ids = _columns(args.id_columns)
    else:
        ids = [c for c in ("video_id", "id", "video") if c in table.columns][:1]
    _require_columns(table, ids, "id column", args.table)
    out = pd.concat([table[ids].reset_index(drop=True), pred], axis=1)
    write_table(out, args.output)
    _say(f"wrote {args.output}: {', '.join(bundle['targets'])} for {len(out)} rows.")
    return 0


# -- screen --------------------------------------------------------------------
def cmd_screen(args):
    from matplotlib.figure import Figure

    from ._cli_io import _atomic, read_table, table_format, write_table
    from .independence import METHODS, DependencyScreen

    table_format(args.output, "output")
    if args.plot and Path(args.plot).suffix.lower() not in (".png", ".pdf", ".svg", ".jpg"):
        raise UsageError(f"--plot {args.plot!r}: use a .png, .pdf, .svg or .jpg file.")
    table = read_table(args.table)
    columns = _columns(args.columns) if args.columns else list(table.columns)
    against = _columns(args.against) if args.against else []
    conditioning = _columns(args.conditioning) if args.conditioning else []
    _require_columns(table, columns + against + conditioning, "column", args.table)
    columns = [c for c in columns if c not in conditioning]
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
    screen = DependencyScreen(methods, alpha=args.alpha, pairs=pairs,
                              conditioning=conditioning or None,
                              max_categories=args.max_categories, n_jobs=args.n_jobs,
                              random_state=args.random_state, verbose=_progress(args))
    screen.fit(data)
    agreement = screen.agreement_.reset_index() if "x" not in screen.agreement_.columns \
        else screen.agreement_
    report = screen.pvalues_
    on = [c for c in ("x", "y", "conditioning") if c in agreement.columns
          and c in report.columns]
    keep = [c for c in ("decision", "agreement") if c in agreement.columns]
    if {"x", "y"} <= set(on):
        report = report.merge(agreement[on + keep], on=on, how="left")
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


# -- parser --------------------------------------------------------------------
def _add_extraction_options(parser, *, resumable):
    group = parser.add_argument_group("AU extraction (py-feat)")
    group.add_argument("--fps", type=_positive_float, help="sample frames at about this rate "
                       "(default: every frame)")
    if resumable:
        group.add_argument("--step", type=_positive_int, help="keep every STEP-th frame")
    group.add_argument("--max-frames", type=_positive_int, help="at most this many frames "
                       "per video")
    group.add_argument("--max-size", type=_positive_int, help="downscale frames so the longer "
                       "side is at most this many pixels")
    group.add_argument("--weights-dir", help="a Hugging Face cache folder holding py-feat's "
                       "weights (models--py-feat--retinaface_r34, ...face_multitask_v2)")
    if resumable:
        group.add_argument("--multitask-weights", help="a local multitask .safetensors file")
        group.add_argument("--no-detect-faces", action="store_true", help="videos are already "
                           "cropped to the face: skip face detection")
        group.add_argument("--all-faces", action="store_true", help="one row per face instead "
                           "of the largest face only")
        group.add_argument("--face-threshold", type=float, default=0.5,
                           help="face detection threshold (default: %(default)s)")
        group.add_argument("--batch-size", type=_positive_int, help="frames per forward pass")
        group.add_argument("--device", help="cpu (default), cuda, mps or auto")
        group.add_argument("--torch-threads", type=_positive_int, help="torch threads per "
                           "extraction (default: torch's own choice)")


def build_parser():
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
    fmt = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser("demo", parents=[common], formatter_class=fmt,
                       help="run the end-to-end demo on synthetic interviews",
                       description="Synthetic interviews -> AU and text features -> trait "
                       "prediction with cross-validation -> a table and a plot.")
    p.add_argument("-o", "--output", default="demo_output",
                   help="folder for the result table and plot (default: %(default)s)")
    p.add_argument("--n-samples", type=_positive_int, default=300,
                   help="number of synthetic interviews (default: %(default)s)")
    p.add_argument("--random-state", type=int, default=0, help="seed (default: %(default)s)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "extract-aus", parents=[common], formatter_class=fmt,
        help="extract facial action units from a folder of videos",
        description="Extract per-frame action units from videos with py-feat into one table "
        "(Parquet or CSV by the output's suffix): a 'video' column (the file's path relative "
        "to the folder given), then frame, timestamp, face_id, confidence, face box and "
        "AU01 ... AU43 (probabilities, 0-1).\n\nResumable: the output is rewritten every "
        "--save-every seconds, at the end and when interrupted, with a manifest beside it "
        "(OUTPUT.manifest.json); running the same command again skips the videos already "
        "done. --cache-dir also keeps each "
        "video's result, keyed by the file's content and the settings.",
        epilog="example: skpersona extract-aus interviews/ -o aus.parquet --fps 5 "
               "--max-size 640 --cache-dir ~/.cache/skpersona --n-jobs 4")
    p.add_argument("inputs", nargs="+", metavar="VIDEOS", help="video files or folders of them")
    p.add_argument("-o", "--output", required=True, help="output table (.parquet or .csv)")
    p.add_argument("--recursive", action="store_true", help="also look in subfolders")
    p.add_argument("--images", action="store_true", help="also take image files")
    p.add_argument("--cache-dir", help="on-disk cache of each video's frame table")
    p.add_argument("--n-jobs", type=int, default=1, help="videos processed in parallel "
                   "(-1: all cores; default: %(default)s)")
    p.add_argument("--chunk-size", type=_positive_int, help="videos per call of the extractor "
                   "(default: n-jobs)")
    p.add_argument("--save-every", type=float, default=30.0, metavar="SECONDS",
                   help="rewrite the output at most this often (default: %(default)s; and at "
                   "the end, or when interrupted)")
    p.add_argument("--overwrite", action="store_true", help="start again instead of resuming")
    _add_extraction_options(p, resumable=True)
    p.set_defaults(func=cmd_extract_aus)

    p = sub.add_parser(
        "embed", parents=[common], formatter_class=fmt,
        help="embed transcripts with a sentence-transformers model",
        description="Embed a text column of a CSV/Parquet table with TextEmbedder and write "
        "the id columns plus one column per dimension (text__0, text__1, ...).",
        epilog="example: skpersona embed transcripts.csv -o embeddings.parquet "
               "--id-columns video_id")
    p.add_argument("input", help="table with a text column (.csv, .tsv or .parquet)")
    p.add_argument("-o", "--output", required=True, help="output table (.csv or .parquet)")
    p.add_argument("--column", default="transcript", help="text column (default: %(default)s)")
    p.add_argument("--id-columns", help="comma-separated columns copied to the output "
                   "(default: every other column)")
    p.add_argument("--model", help="sentence-transformers model: a local folder or a name in "
                   "the Hugging Face cache (default: all-MiniLM-L6-v2, shipped offline)")
    p.add_argument("--batch-size", type=_positive_int, help="texts per batch")
    p.add_argument("--device", help="cpu, cuda, mps")
    p.add_argument("--cache-dir", help="on-disk cache of embeddings")
    p.add_argument("--prefix", default="text__", help="output column prefix (default: "
                   "%(default)s)")
    p.set_defaults(func=cmd_embed)

    from ._cli_models import FUSIONS, MODELS

    models = "\n".join(f"  {name:17s} {text} (reads {reads})"
                       for name, (reads, text) in MODELS.items())
    p = sub.add_parser(
        "fit", parents=[common], formatter_class=fmt,
        help="fit a trait model on a table and save it (skops)",
        description="Fit a trait model on a table (.csv/.parquet) with trait columns and "
        "either numeric feature columns or 'video' and/or 'transcript' columns, and save it "
        "with skops.\n\n'video' holds paths to videos (AUs are then extracted by the model, "
        "so use --cache-dir), paths to frame tables (.csv/.parquet, OpenFace output "
        "included), or names found in an extract-aus output given with --frames.\n\n"
        f"models:\n{models}",
        epilog="example: skpersona fit train.csv --model ridge-multimodal --frames aus.parquet "
               "--cv 5 --groups youtube_id -o model.skops")
    p.add_argument("table", nargs="?", help="training table (.csv, .tsv or .parquet)")
    p.add_argument("-o", "--output", help="model file to write (.skops)")
    p.add_argument("--model", default="ridge-multimodal", choices=list(MODELS),
                   metavar="NAME", help="which model (default: %(default)s; see above)")
    p.add_argument("--list-models", action="store_true", help="list the models and exit")
    p.add_argument("--traits", help="trait columns: big_five, hexaco or a comma-separated "
                   "list (default: the Big Five/HEXACO columns present)")
    p.add_argument("--features", help="comma-separated feature columns for --model ridge "
                   "(default: every numeric column that is not a trait, id or group)")
    p.add_argument("--id-columns", help="comma-separated columns that are not features")
    p.add_argument("--frames", help="extract-aus output holding the frame tables of 'video'")
    p.add_argument("--cv", type=int, help="also report K-fold cross-validated scores")
    p.add_argument("--groups", help="group column for the cross-validation (e.g. the source "
                   "video id: clips of one person stay in one fold)")
    p.add_argument("--text-model", help="sentence-transformers model for 'transcript'")
    p.add_argument("--fusion", choices=FUSIONS, help="fusion of --model fusion")
    p.add_argument("--cache-dir", help="on-disk cache of AUs and embeddings")
    p.add_argument("--random-state", type=int, default=0, help="seed (default: %(default)s)")
    _add_extraction_options(p, resumable=False)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser(
        "predict", parents=[common], formatter_class=fmt,
        help="predict traits with a saved model",
        description="Predict traits for the rows of a table with a model written by "
        "'skpersona fit'; writes the id column(s) and one column per trait. Only skpersona's estimators "
        "and the types skops trusts by default are loaded unless you --trust others.",
        epilog="example: skpersona predict model.skops new.csv --frames aus.parquet "
               "-o predictions.csv")
    p.add_argument("model", help="model file written by 'skpersona fit'")
    p.add_argument("table", help="table with the columns the model reads")
    p.add_argument("-o", "--output", required=True, help="predictions table (.csv or .parquet)")
    p.add_argument("--frames", help="extract-aus output holding the frame tables of 'video'")
    p.add_argument("--id-columns", help="comma-separated columns copied to the output "
                   "(default: video_id, id or video, the first present)")
    p.add_argument("--trust", action="append", metavar="TYPE",
                   help="also trust this type in the model file (repeatable)")
    p.set_defaults(func=cmd_predict)

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
    p.add_argument("--against", help="comma-separated columns: test only pairs between "
                   "--columns and these")
    p.add_argument("--tests", help="comma-separated tests (default: the screen's own)")
    p.add_argument("--conditioning", help="comma-separated columns to condition every pair on")
    p.add_argument("--discrete", help="comma-separated columns to treat as discrete (besides "
                   "text columns and integer columns with few values)")
    p.add_argument("--max-categories", type=_positive_int, default=10,
                   help="integer columns with at most this many values are discrete "
                   "(default: %(default)s)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level "
                   "(default: %(default)s)")
    p.add_argument("--n-jobs", type=int, default=1, help="pairs tested in parallel")
    p.add_argument("--random-state", type=int, default=0, help="seed (default: %(default)s)")
    p.set_defaults(func=cmd_screen)
    return parser


def _version():
    from . import __version__

    return __version__


def _one_line(exc):
    text = " ".join(str(exc).split())
    if isinstance(exc, UsageError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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
