"""``skpersona predict``: predict traits with a model written by ``skpersona fit``."""

import argparse

from ._common import _columns, _prepare_inputs, _require_columns, _say


def run(args):
    import pandas as pd

    from ._io import check_writable, load_model, read_table, table_format, write_table

    table_format(args.output, "output")
    check_writable(args.output)
    allow = {"base_url": args.allow_base_url or [], "api_key_env": args.allow_api_key_env or [],
             "trust_remote_code": args.trust_remote_code,
             "model_name": args.allow_model_name or [],
             "cache_dir": args.allow_cache_dir or [], "weights_dir": args.allow_weights_dir or []}
    bundle = load_model(args.model, trust=args.trust or (), allow=allow)
    # models written before --text read 'transcript'
    text_columns = list(bundle.get("text_columns") or ["transcript"])
    video_columns = list(bundle.get("video_columns") or ["video"])  # models before --video
    table = read_table(args.table, text_columns=_columns(args.id_columns or "") + text_columns
                       + video_columns)
    X, _ = _prepare_inputs(table, needs=bundle["reads"], source=args.table, frames=args.frames,
                           feature_columns=bundle["features"], text_columns=text_columns,
                           video_columns=video_columns)
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


def add_parser(sub, common):
    """The ``predict`` sub-command's parser, in ``sub`` (``common``: shared options)."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "predict", parents=[common], formatter_class=fmt,
        help="predict traits with a saved model",
        description="Predict traits for the rows of a table with a model written by "
        "'skpersona fit'; writes the id column(s) and one column per trait. Only skpersona's "
        "estimators and the types skops trusts by default are loaded unless you --trust others. "
        "Capabilities come from you, never from the file: a model whose parameters send data "
        "to a server, run a model folder's code or download a model by name (a text model "
        "that is not a local folder) is refused unless you allow that by name "
        "(--allow-base-url, --allow-api-key-env, --trust-remote-code, --allow-model-name); "
        "folders the file names "
        "(cache_dir, weights_dir) are replaced by the defaults unless allowed "
        "(--allow-cache-dir, --allow-weights-dir); thread counts are bounded by the CPUs. "
        "Your allow-list file (~/.config/skpersona/allow.toml or $SKPERSONA_ALLOW_FILE) "
        "allows values for every run.",
        epilog="example: skpersona predict model.skops new.csv --frames aus.parquet "
               "-o predictions.csv")
    p.add_argument("model", help="model file written by 'skpersona fit'")
    p.add_argument("table", help="table with the columns the model reads (the text and video "
                   "columns it was fitted on, by name)")
    p.add_argument("-o", "--output", required=True, help="predictions table (.csv or .parquet)")
    p.add_argument("--frames", help="extract-aus output holding the frame tables of 'video'")
    p.add_argument("--id-columns", help="comma-separated columns copied to the output "
                   "(default: video_id, id or video, the first present)")
    p.add_argument("--trust", action="append", metavar="TYPE",
                   help="also trust this type in the model file (repeatable)")
    p.add_argument("--allow-base-url", action="append", metavar="URL",
                   help="let an LLMTraitRater in the model file send texts to this API root "
                   "(repeatable; a model file cannot choose destinations on its own)")
    p.add_argument("--allow-api-key-env", action="append", metavar="NAME",
                   help="let the model file send the value of this environment variable as "
                   "an API key (repeatable)")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="let a TextEmbedder in the model file run code from its model folder "
                   "(trust_remote_code, auto_map, custom modules)")
    p.add_argument("--allow-model-name", action="append", metavar="NAME",
                   help="let a TextEmbedder in the model file load this model by name from "
                   "the model hub (downloaded when online; repeatable). Local folders and "
                   "the default all-MiniLM-L6-v2 need no flag")
    p.add_argument("--allow-cache-dir", action="append", metavar="DIR",
                   help="let the model file's estimators write their caches to this folder "
                   "(repeatable; otherwise the defaults are used)")
    p.add_argument("--allow-weights-dir", action="append", metavar="PATH",
                   help="let the model file's AU extractor read weights from this folder or "
                   "file (repeatable; otherwise py-feat's own are used)")
    p.set_defaults(func=run)
    return p
