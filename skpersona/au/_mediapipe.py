"""MediaPipe Face Landmarker backend: 52 blendshapes per face, mapped to FACS AUs.

Google's Face Landmarker bundle (BlazeFace short-range detection, 478 landmarks,
and a blendshape head giving 52 ARKit-style scores in [0, 1]) runs on CPU at
tens of milliseconds a frame. Its blendshapes are kept as columns, and the FACS
AU columns the rest of the AU chain reads are derived from them by
:data:`BLENDSHAPE_AUS`.
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils._cache import memoised_file_digest
from ..utils._cache_dir import _user_cache_root

#: Environment variable naming the Face Landmarker bundle (``.task`` file).
ENV_VAR = "SKPERSONA_MEDIAPIPE_MODEL"
MODEL_NAME = "face_landmarker_v2_with_blendshapes.task"
#: SHA-256 of the bundle the project's tests use (MediaPipe's published v2 bundle).
KNOWN_SHA256 = "81121f0527e9b71660e53bd7f4bd94b3795c5ed7de6f42ebd601fc3e95febe28"
_MODEL_PAGE = "https://ai.google.dev/edge/mediapipe/solutions/vision/face_landmarker#models"

#: FACS AU -> the blendshapes it is read from. A left/right pair is pooled by its
#: maximum: FACS codes an action shown on one side as that AU (L12, R12), so a
#: one-sided smile is AU12 at the smiling side's intensity, not at half of it.
BLENDSHAPE_AUS = {
    "AU01": ("browInnerUp",),
    "AU02": ("browOuterUpLeft", "browOuterUpRight"),
    "AU04": ("browDownLeft", "browDownRight"),
    "AU05": ("eyeWideLeft", "eyeWideRight"),
    "AU06": ("cheekSquintLeft", "cheekSquintRight"),
    "AU07": ("eyeSquintLeft", "eyeSquintRight"),
    "AU09": ("noseSneerLeft", "noseSneerRight"),
    "AU10": ("mouthUpperUpLeft", "mouthUpperUpRight"),
    "AU12": ("mouthSmileLeft", "mouthSmileRight"),
    "AU14": ("mouthDimpleLeft", "mouthDimpleRight"),
    "AU15": ("mouthFrownLeft", "mouthFrownRight"),
    "AU16": ("mouthLowerDownLeft", "mouthLowerDownRight"),
    "AU17": ("mouthShrugLower",),
    "AU18": ("mouthPucker",),
    "AU20": ("mouthStretchLeft", "mouthStretchRight"),
    "AU22": ("mouthFunnel",),
    "AU24": ("mouthPressLeft", "mouthPressRight"),
    "AU26": ("jawOpen",),
    "AU28": ("mouthRollLower", "mouthRollUpper"),
    "AU29": ("jawForward",),
    "AU30": ("jawLeft", "jawRight"),
    "AU34": ("cheekPuff",),
    "AU43": ("eyeBlinkLeft", "eyeBlinkRight"),
}

#: py-feat's AUs that no blendshape measures (no column is made for them).
UNMAPPED_AUS = ("AU11", "AU23", "AU25")

#: The 52 blendshapes in the model's output order.
BLENDSHAPES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)
AU_NAMES = tuple(BLENDSHAPE_AUS)
#: Faces looked for per frame (the largest is face_id 0).
MAX_FACES = 5

def mediapipe_version():
    try:
        from mediapipe import __version__
    except ImportError as exc:  # pragma: no cover - mediapipe is an optional dependency
        raise ImportError(
            "AUExtractor(backend='mediapipe') needs MediaPipe: pip install "
            "'skpersona[mediapipe]'."
        ) from exc
    return __version__


def default_model_path():
    """Where the bundle is looked for when neither model_path nor the variable is set."""
    return _user_cache_root() / "models" / MODEL_NAME


def resolve_model(model_path=None, sha256=None):
    """The Face Landmarker bundle's path: ``model_path``, ``$SKPERSONA_MEDIAPIPE_MODEL``
    or :func:`default_model_path`; a missing file or a wrong checksum is an error."""
    if model_path is not None:
        path, origin = Path(os.path.expanduser(os.fspath(model_path))), "model_path"
    elif os.environ.get(ENV_VAR, "").strip():
        path, origin = Path(os.path.expanduser(os.environ[ENV_VAR].strip())), f"${ENV_VAR}"
    else:
        path, origin = default_model_path(), "the default location"
    if not path.is_file():
        raise FileNotFoundError(
            f"MediaPipe's Face Landmarker bundle was not found at {os.fspath(path)!r} "
            f"({origin}). Download 'face_landmarker.task' (the Face Landmarker model with "
            f"blendshapes) from {_MODEL_PAGE}, then pass model_path= its path, set "
            f"${ENV_VAR} to it, or save it as {os.fspath(default_model_path())!r}."
        )
    if sha256 is not None:
        found = memoised_file_digest(path)
        if found != str(sha256).strip().lower():
            raise ValueError(
                f"The Face Landmarker bundle {os.fspath(path)!r} has SHA-256 {found}, not the "
                f"expected {sha256}; the file is another version or damaged. Download it "
                f"again from {_MODEL_PAGE}."
            )
    return os.fspath(path)


def _options(model, video, face_threshold):
    from mediapipe.tasks.python import BaseOptions, vision

    mode = vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE
    return vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=model), running_mode=mode,
        num_faces=MAX_FACES, output_face_blendshapes=True,
        min_face_detection_confidence=face_threshold)


def _rgb(array):
    """A C-contiguous uint8 RGB frame (MediaPipe refuses one-channel input)."""
    array = np.asarray(array, dtype=np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.shape[2] == 4:
        array = array[:, :, :3]
    elif array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array)


def _face_rows(result, height, width, zoom):
    """(box, blendshape scores) of each face of one frame's result, largest first."""
    faces = []
    for landmarks, shapes in zip(result.face_landmarks, result.face_blendshapes):
        xs = np.clip([p.x for p in landmarks], 0.0, 1.0) * width * zoom
        ys = np.clip([p.y for p in landmarks], 0.0, 1.0) * height * zoom
        box = (xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min())
        scores = dict.fromkeys(BLENDSHAPES, np.nan)
        scores.update({c.category_name: float(c.score) for c in shapes})
        faces.append((box, scores))
    faces.sort(key=lambda face: -face[0][2] * face[0][3])
    return faces


def columns():
    """Column order of a MediaPipe frame table."""
    return ["frame", "timestamp", "face_id", "success", "confidence", "face_x", "face_y",
            "face_width", "face_height", *AU_NAMES, *BLENDSHAPES]


def empty_table(attrs):
    table = pd.DataFrame({c: pd.Series(dtype="int64" if c in ("frame", "face_id") else
                                       "bool" if c == "success" else "float64")
                          for c in columns()})
    table.attrs = dict(attrs)
    return table


def landmark_frames(frames, model, face_threshold, video, faces="largest"):
    """Run the Face Landmarker over decoded frames -> (frame table, frames looked at).

    ``frames`` yields ``(index, timestamp, RGB array, original width)``. ``video``
    runs MediaPipe's VIDEO mode (faces tracked from frame to frame, timestamps
    strictly increasing), else IMAGE mode. A frame without a face gives one row
    with ``success`` False and NaN AUs.
    """
    mediapipe_version()
    import mediapipe as mp
    from mediapipe.tasks.python import vision

    # one landmarker per file (about 40 ms to build), closed at once: its video mode holds
    # the tracking state of one stream, and one left open fails at interpreter exit
    rows, n_frames, last_ms = [], 0, -1
    with vision.FaceLandmarker.create_from_options(
            _options(model, video, face_threshold)) as landmarker:
        for index, timestamp, array, width in frames:
            array = _rgb(array)
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=array)
            if video:  # MediaPipe needs strictly increasing integer milliseconds
                ms = int(round(timestamp * 1000)) if np.isfinite(timestamp) else last_ms + 1
                last_ms = max(ms, last_ms + 1)
                result = landmarker.detect_for_video(image, last_ms)
            else:
                result = landmarker.detect(image)
            n_frames += 1
            found = _face_rows(result, array.shape[0], array.shape[1], width / array.shape[1])
            if faces == "largest":
                found = found[:1]
            if not found:
                rows.append((index, timestamp, 0, False, 0.0, (np.nan,) * 4, {}))
            for face_id, (box, scores) in enumerate(found):
                rows.append((index, timestamp, face_id, True, 1.0, box, scores))
    if not rows:
        return None, n_frames
    shapes = np.array([[r[6].get(b, np.nan) for b in BLENDSHAPES] for r in rows], dtype=float)
    boxes = np.array([r[5] for r in rows], dtype=float)
    table = pd.DataFrame({
        "frame": np.array([r[0] for r in rows], dtype=np.int64),
        "timestamp": np.array([r[1] for r in rows], dtype=float),
        "face_id": np.array([r[2] for r in rows], dtype=np.int64),
        "success": np.array([r[3] for r in rows], dtype=bool),
        "confidence": np.array([r[4] for r in rows], dtype=float),
        "face_x": boxes[:, 0], "face_y": boxes[:, 1],
        "face_width": boxes[:, 2], "face_height": boxes[:, 3],
    })
    position = {b: i for i, b in enumerate(BLENDSHAPES)}
    aus = {au: shapes[:, [position[b] for b in sources]].max(axis=1)
           for au, sources in BLENDSHAPE_AUS.items()}
    table = pd.concat([table, pd.DataFrame(aus), pd.DataFrame(shapes, columns=BLENDSHAPES)],
                      axis=1)
    return table, n_frames
