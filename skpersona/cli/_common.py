"""Helpers shared by the sub-commands of the ``skpersona`` command."""

import argparse
import contextlib
import re
from pathlib import Path

from ._io import UsageError

PROG = "skpersona"


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


_DEVICE = re.compile(r"^(cpu|mps|auto|cuda(:\d+)?)$")


def _device(text):
    """A torch device name, checked when the command line is read."""
    if not _DEVICE.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a device: use cpu, cuda, cuda:N, mps or auto")
    return text


def _columns(text):
    return [c.strip() for c in text.split(",") if c.strip()]


def _require_columns(table, columns, what, source):
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise UsageError(
            f"{what} {', '.join(map(repr, missing))} not in {source} (its columns: "
            f"{', '.join(map(str, table.columns[:20]))}{' ...' if table.shape[1] > 20 else ''})."
        )


def _prepare_inputs(table, *, needs, source, frames, feature_columns=None, text_columns=None,
                    video_columns=None):
    """The model's input table: videos resolved, text columns as str, features checked.

    ``text_columns`` (default ``["transcript"]``): the answer columns of a model that
    reads ``"text"``; a model that reads ``"transcript"`` takes one, under that name.
    ``video_columns`` (default ``["video"]``): the video columns of a model that reads
    ``"video"``, one answer video per question; an empty cell is a missing answer video.
    """
    import pandas as pd

    from ._io import frame_tables_from_file, resolve_videos

    X = table.copy()
    extract = False
    if "video" in needs:
        video_columns = list(video_columns or ["video"])
        _require_columns(table, video_columns, "video column", source)
        tables = frame_tables_from_file(frames) if frames else None
        kinds = set()
        for column in video_columns:
            resolved = resolve_videos(table[column], frames=tables,
                                      base_dir=Path(source).parent, column=column)
            kinds |= {isinstance(v, str) for v in resolved
                      if not getattr(v, "attrs", {}).get("missing_video")}
            X[column] = pd.Series(resolved, index=X.index, dtype=object)
        if len(kinds) > 1:
            raise UsageError(f"the video column(s) {', '.join(video_columns)} mix video files "
                             "and frame tables; use one.")
        extract = True in kinds
    text_columns = list(text_columns or ["transcript"])
    if "transcript" in needs:
        if len(text_columns) != 1:
            raise UsageError(f"this model reads one text column, got --text "
                             f"{','.join(text_columns)}; use --model answers for several.")
        _require_columns(table, text_columns, "column", source)
        X["transcript"] = table[text_columns[0]].fillna("").astype(str)
    if needs == "text":
        _require_columns(table, text_columns, "text column", source)
        for column in text_columns:
            X[column] = table[column].fillna("").astype(str)
    if feature_columns is not None:
        _require_columns(table, feature_columns, "feature column", source)
    return X, extract


def _add_extraction_options(parser, *, resumable):
    group = parser.add_argument_group("AU extraction (py-feat or MediaPipe)")
    group.add_argument("--backend", choices=["py-feat", "mediapipe"], default="py-feat",
                       help="py-feat's FACS AU detector (default) or MediaPipe's Face "
                       "Landmarker with blendshapes mapped to AUs (fast on a CPU; needs "
                       "pip install 'skpersona[mediapipe]' and --model-path)")
    group.add_argument("--model-path", help="MediaPipe's Face Landmarker bundle (.task; "
                       "default: $SKPERSONA_MEDIAPIPE_MODEL, else face_landmarker_v2_with_"
                       "blendshapes.task in ~/.cache/skpersona/models)")
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
        group.add_argument("--device", type=_device, help="cpu (default), cuda, cuda:N, mps or "
                           "auto")
        group.add_argument("--torch-threads", type=_positive_int, help="torch threads per "
                           "extraction (default: torch's own choice)")


def add_cluster_option(parser):
    """``--cluster ADDRESS``: run a command's parallel work on a Dask or Ray cluster.

    ``main`` opens :func:`cluster_backend` around every command that has this option.
    """
    parser.add_argument(
        "--cluster", metavar="ADDRESS",
        help="run the parallel work (--n-jobs) on a running cluster: dask://HOST:PORT "
             "(or tcp://HOST:PORT) for a Dask scheduler, ray://HOST:PORT for a Ray head "
             "node's client port, ray://auto for the Ray cluster this machine is part of")


@contextlib.contextmanager
def cluster_backend(address):
    """Inside the block, joblib's ``n_jobs`` work goes to the cluster at ``address``.

    None: nothing changes (local processes). ``dask://HOST:PORT`` / ``tcp://`` /
    ``tls://``: a ``dask.distributed`` client and joblib's ``"dask"`` backend.
    ``ray://HOST:PORT`` or ``ray://auto``: ``ray.init`` and Ray's joblib backend (a
    Ray session already open in this process is used as it is).
    """
    if not address:
        yield
        return
    import joblib

    scheme, sep, rest = address.partition("://")
    if not sep or not rest or scheme not in ("dask", "tcp", "tls", "ray"):
        raise UsageError(f"--cluster {address!r}: give dask://HOST:PORT, tcp://HOST:PORT, "
                         "ray://HOST:PORT or ray://auto.")
    if scheme == "ray":
        try:
            import ray
            from ray.util.joblib import register_ray
        except ImportError:
            raise UsageError("--cluster ray://...: Ray is not installed "
                             "(pip install 'skpersona[ray]').") from None
        started = not ray.is_initialized()
        if started:
            ray.init(address="auto" if rest == "auto" else address, log_to_driver=False)
        register_ray()
        try:
            with joblib.parallel_backend("ray"):
                yield
        finally:
            if started:
                ray.shutdown()
        return
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--cluster dask://...: dask.distributed is not installed "
                         "(pip install 'skpersona[dask]').") from None
    target = address if scheme != "dask" else f"tcp://{rest}"
    try:
        client = Client(target, timeout="20s")
    except OSError as exc:
        raise UsageError(f"--cluster {address!r}: no Dask scheduler answered at {target} "
                         f"({exc}).") from None
    with client, joblib.parallel_backend("dask"):
        yield
