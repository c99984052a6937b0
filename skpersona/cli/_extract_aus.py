"""``skpersona extract-aus``: the action units of a folder of videos, resumable."""

import argparse
import os
import sys
import warnings
from pathlib import Path

from ._common import (
    PROG,
    UsageError,
    _add_extraction_options,
    _n_jobs,
    _positive_int,
    _progress,
    _say,
    add_cluster_option,
)


def _extract_params(args):
    params = {
        "fps": args.fps, "step": args.step, "max_frames": args.max_frames,
        "max_size": args.max_size, "detect_faces": not args.no_detect_faces,
        "faces": "all" if args.all_faces else "largest",
        "face_threshold": args.face_threshold,
    }
    if args.backend != "py-feat":  # py-feat manifests written before --backend still resume
        params["backend"] = args.backend
    return params


def _stamp(path):
    """What tells a changed video apart: its size and modification time."""
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns]


def run(args):
    import time

    import pandas as pd
    from tqdm.auto import tqdm

    from ._io import (
        check_writable,
        find_videos,
        read_json,
        read_table,
        table_format,
        write_json,
        write_table,
    )
    from ._models import au_extractor

    output = Path(args.output)
    table_format(output, "output")
    manifest_path = Path(f"{output}.manifest.json")
    check_writable(output)
    check_writable(manifest_path, "progress manifest")
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
        manifest = read_json(manifest_path, "progress manifest")
        if not isinstance(manifest, dict) or not isinstance(manifest.get("videos"), dict):
            raise UsageError(f"progress manifest {manifest_path} is not an extract-aus manifest; "
                             "pass --overwrite to start again.")
        if manifest.get("params") != params:
            raise UsageError(
                f"{output} was extracted with other settings ({manifest.get('params')}); "
                "pass --overwrite to start again, or the same settings to resume."
            )
        # A video replaced or edited since (another size or modification time) is redone.
        done = {k: v for k, v in manifest["videos"].items() if isinstance(v, dict)
                and not v.get("error") and k in videos and v.get("stamp") == _stamp(videos[k])}
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
    options = dict(params, model_path=args.model_path, weights_dir=args.weights_dir,
                   multitask_weights=args.multitask_weights,
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
                        "path": os.fspath(videos[key]), "stamp": _stamp(videos[key]),
                        "rows": len(table),
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


def add_parser(sub, common):
    """The ``extract-aus`` sub-command's parser, in ``sub`` (``common``: shared options)."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "extract-aus", parents=[common], formatter_class=fmt,
        help="extract facial action units from a folder of videos",
        description="Extract per-frame action units from videos with py-feat into one table "
        "(Parquet or CSV by the output's suffix): a 'video' column (the file's path relative "
        "to the folder given), then frame, timestamp, face_id, confidence, face box and "
        "AU01 ... AU43 (probabilities, 0-1). With --backend mediapipe: MediaPipe's Face "
        "Landmarker instead (its 52 blendshapes, AU columns read from them, and a 'success' "
        "column: frames without a face are rows with success false).\n\nResumable: the output is rewritten every "
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
    add_cluster_option(p)
    p.set_defaults(func=run)
    return p
