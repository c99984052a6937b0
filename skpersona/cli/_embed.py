"""``skpersona embed``: sentence embeddings of a table's transcripts."""

import argparse

from ._common import _columns, _positive_int, _progress, _require_columns, _say


def run(args):
    import pandas as pd

    from ._io import read_table, table_format, write_table
    from ._models import text_embedder

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


def add_parser(sub, common):
    """The ``embed`` sub-command's parser, in ``sub`` (``common``: shared options)."""
    fmt = argparse.RawDescriptionHelpFormatter
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
    p.set_defaults(func=run)
    return p
