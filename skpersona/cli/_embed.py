"""``skpersona embed``: sentence embeddings of a table's transcripts."""

import argparse
import sys

from ._common import (
    _columns,
    _device,
    _n_jobs,
    _positive_int,
    _progress,
    _require_columns,
    _say,
    add_cluster_option,
)


def run(args):
    import numpy as np
    import pandas as pd
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    from ._io import check_writable, read_table, table_format, write_table
    from ._models import text_embedder

    table_format(args.output, "output")
    check_writable(args.output)
    # Every column is copied as it is written ("007" stays "007", "NA" stays "NA").
    table = read_table(args.input, "transcripts table", text_columns=True)
    _require_columns(table, [args.column], "text column", args.input)
    ids = _columns(args.id_columns) if args.id_columns else [
        c for c in table.columns if c != args.column]
    _require_columns(table, ids, "id column", args.input)
    texts = table[args.column].fillna("").astype(str).to_frame()
    embedder = text_embedder({"text_model": args.model, "text_batch_size": args.batch_size,
                              "cache_dir": args.cache_dir, "device": args.device,
                              "progress": False})
    embedder.set_output(transform="default")
    embedder.fit(texts)
    # Embedded a chunk at a time: with --cache-dir each chunk is saved as it is done, so
    # an interrupted run keeps its work and the same command picks it up from the cache.
    chunk = args.chunk_size or max(256, 8 * embedder.batch_size)
    parts = [np.zeros((0, embedder.embedding_dim_), dtype=np.float32)]
    # --n-jobs chunks at a time go to joblib's workers (a cluster's with --cluster).
    width = max(1, _n_jobs(args.n_jobs))
    starts = list(range(0, len(texts), chunk))
    with tqdm(total=len(texts), desc="texts", unit="text", disable=not _progress(args),
              file=sys.stderr) as bar:
        for first in range(0, len(starts), width):
            group = [texts.iloc[start:start + chunk] for start in starts[first:first + width]]
            if len(group) == 1:
                done = [embedder.transform(group[0])]
            else:
                done = Parallel(n_jobs=args.n_jobs)(delayed(embedder.transform)(part)
                                                    for part in group)
            for values in done:
                parts.append(values)
                bar.update(len(values))
    values = np.vstack(parts)
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
    p.add_argument("--device", type=_device, help="cpu, cuda, cuda:N or mps")
    p.add_argument("--cache-dir", help="on-disk cache of embeddings, saved a chunk at a time: "
                   "an interrupted run keeps what it embedded, and the same command resumes")
    p.add_argument("--chunk-size", type=_positive_int, help="texts embedded (and cached) "
                   "per step (default: 8 batches, at least 256)")
    p.add_argument("--prefix", default="text__", help="output column prefix (default: "
                   "%(default)s)")
    p.add_argument("--n-jobs", type=int, default=1, help="chunks embedded in parallel, each "
                   "worker loading the model once (default: %(default)s)")
    add_cluster_option(p)
    p.set_defaults(func=run)
    return p
