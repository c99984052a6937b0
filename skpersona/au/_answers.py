"""Several answer videos per candidate: a missing answer, and the answers joined in time."""

import numbers

import numpy as np
import pandas as pd

from ._frames import as_frame_tables

#: Frames and seconds put between two joined answers: far beyond any keyframe window,
#: so no window, smoothing or run reaches from one answer into the next.
GAP_FRAMES = 100_000
GAP_SECONDS = 3_600.0


def is_missing_video(value):
    """Whether a cell of a video column says "no video": None, NaN, pd.NA or blank text."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return bool(np.isnan(value))
    return isinstance(value, str) and not value.strip()


def missing_video(where="no video"):
    """The frame table of an answer that has no video: no frames at all.

    Every AU transformer reads it as a video without a tracked face:
    ``AUStatistics(missing="impute")`` gives it the training means, its ``no_face``
    column and a warning naming ``where``; :class:`AUDescriber` says no face was seen;
    :class:`AUExtractor` passes it through.
    """
    table = pd.DataFrame()
    table.attrs = {"path": where, "missing_video": True}
    return table


def join_answer_videos(tables):
    """One candidate's answer videos as one interview: their frames, answer after answer.

    The frame tables are stacked in the order given (the question order). Each
    answer's ``frame`` numbers (its row positions when it has none) and, when every
    answer has them, its ``timestamp`` seconds are shifted to start
    :data:`GAP_FRAMES` frames / :data:`GAP_SECONDS` seconds after the previous
    answer ends: a gap, so that :class:`KeyframeWindows` never puts a window across
    two answers, and no activation run spans two. A ``keyframe`` column (the answer's
    position among the answers with frames) makes each answer one window of
    :class:`AUStatistics` and :class:`AUDescriber`, so onsets and runs are counted
    within an answer, then pooled over the answers; an ``answer`` column keeps the
    position in ``tables``. Answers without frames (:func:`missing_video`, or a
    video where no frame was read) add nothing; when no answer has frames the result
    is an empty table, read downstream as a video without a face.

    Parameters
    ----------
    tables : sequence of DataFrame
        The candidate's answer frame tables, one per question, in order.

    Returns
    -------
    DataFrame
        The joined frame table; ``attrs["au_scale"]`` is the answers' common scale
        (when they have one) and ``attrs["path"]`` lists their sources.

    Examples
    --------
    >>> import pandas as pd
    >>> from skpersona.au import join_answer_videos
    >>> first = pd.DataFrame({"frame": [0, 1, 2], "AU12": [0.1, 0.9, 0.8]})
    >>> second = pd.DataFrame({"frame": [0, 1], "AU12": [0.7, 0.2]})
    >>> joined = join_answer_videos([first, second])
    >>> joined[["answer", "keyframe", "frame"]].values.tolist()
    [[0, 0, 0], [0, 0, 1], [0, 0, 2], [1, 1, 100002], [1, 1, 100003]]
    """
    tables = as_frame_tables(list(tables), what="answer frame tables")
    scales = {str(t.attrs["au_scale"]) for t in tables if t.attrs.get("au_scale") is not None}
    if len(scales) > 1:
        raise ValueError(f"The answer videos of one candidate have different AU scales "
                         f"{sorted(scales)}; extract every answer with the same detector.")
    sources = [str(t.attrs.get("path", f"answer {i}")) for i, t in enumerate(tables)]
    attrs = {"path": " + ".join(sources)}
    if scales:
        attrs["au_scale"] = scales.pop()
    present = [(i, t) for i, t in enumerate(tables) if len(t)]
    if not present:
        out = pd.DataFrame()
        out.attrs = dict(attrs, missing_video=True)
        return out
    timed = all("timestamp" in t.columns for _, t in present)
    parts, frame_end, time_end = [], -GAP_FRAMES, -GAP_SECONDS
    for window, (answer, table) in enumerate(present):
        part = table.drop(columns=[c for c in ("keyframe", "answer") if c in table.columns])
        frames = (pd.to_numeric(part["frame"], errors="raise").to_numpy(dtype=float)
                  if "frame" in part.columns else np.arange(len(part), dtype=float))
        start = np.nanmin(frames) if np.isfinite(frames).any() else 0.0
        part["frame"] = frames - start + frame_end + GAP_FRAMES
        frame_end = float(np.nanmax(part["frame"]))
        if timed:
            seconds = pd.to_numeric(part["timestamp"], errors="raise").to_numpy(dtype=float)
            start = np.nanmin(seconds) if np.isfinite(seconds).any() else 0.0
            part["timestamp"] = seconds - start + time_end + GAP_SECONDS
            time_end = float(np.nanmax(part["timestamp"]))
        elif "timestamp" in part.columns:
            part = part.drop(columns="timestamp")  # one time axis for all answers: frames
        part.insert(0, "keyframe", window)
        part.insert(0, "answer", answer)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    if np.all(out["frame"] == np.round(out["frame"])):
        out["frame"] = out["frame"].astype(np.int64)
    out.attrs = attrs
    return out
