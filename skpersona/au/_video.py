"""Frame decoding with PyAV (bundled FFmpeg) and Pillow; no system FFmpeg needed."""

import os
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def _target_size(width, height, max_size):
    if max_size is None or max(width, height) <= max_size:
        return width, height
    scale = max_size / max(width, height)
    # even sizes keep swscale happy with subsampled formats
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


def is_image(path):
    return Path(os.fspath(path)).suffix.lower() in IMAGE_SUFFIXES


def read_image(path, max_size=None):
    """One RGB frame: (frames (1, H, W, 3) uint8, frame indices, timestamps, original width)."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        width = image.width
        size = _target_size(image.width, image.height, max_size)
        if size != (image.width, image.height):
            image = image.resize(size, Image.BILINEAR)
        array = np.asarray(image, dtype=np.uint8)
    return array[None], np.zeros(1, dtype=np.int64), np.zeros(1), width


def iter_video(path, fps=None, step=None, max_frames=None, max_size=None):
    """Yield sampled RGB frames of a video as ``(index, timestamp, array HxWx3, width)``.

    ``width`` is the frame's width before any downscaling to ``max_size``.

    Sampling: every ``step``-th frame, or the frames nearest a regular grid of
    ``fps`` per second (never more than the source rate); stop after
    ``max_frames`` kept frames.
    """
    import av

    with av.open(os.fspath(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{os.fspath(path)!r} has no video stream.")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        size = None
        next_time = 0.0
        kept = 0
        for index, frame in enumerate(container.decode(stream)):
            timestamp = float(frame.time) if frame.time is not None else np.nan
            if step is not None and index % step:
                continue
            if fps is not None and np.isfinite(timestamp):
                if timestamp + 1e-6 < next_time:
                    continue
                next_time = (np.floor(timestamp * fps + 1e-6) + 1.0) / fps
            if size is None:
                size = _target_size(frame.width, frame.height, max_size)
            array = frame.to_ndarray(width=size[0], height=size[1], format="rgb24")
            yield index, timestamp, array, frame.width
            kept += 1
            if max_frames is not None and kept >= max_frames:
                break


def video_fps(path):
    import av

    with av.open(os.fspath(path)) as container:
        rate = container.streams.video[0].average_rate
        return float(rate) if rate else None


def decoded(frames, path):
    """The frames of an iterator; a decoding error becomes a ValueError naming the file."""
    while True:
        try:
            item = next(frames)
        except StopIteration:
            return
        except Exception as exc:
            raise ValueError(f"Cannot decode {path!r} as a video or image: {exc}") from exc
        yield item


def batches(frames, batch_size, path):
    """Lists of up to batch_size decoded frames; a decoding error names the file."""
    frames = decoded(frames, path)
    while True:
        batch = [item for _, item in zip(range(batch_size), frames)]
        if not batch:
            return
        yield batch
