"""AU extraction from videos and images with py-feat's detector."""

import contextlib
import json
import os
import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from joblib.parallel import get_active_backend
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ..utils import ArrayCache, cache_key
from ..utils._cache import memoised_file_digest as _digest
from ..utils._torch import torch_threads
from . import _mediapipe
from ._answers import is_missing_video, missing_video
from ._frames import as_items, object_column
from ._video import is_image, iter_video, read_image, video_fps

_CACHE_FORMAT = 1
_META = ["frame", "timestamp", "face_id", "confidence", "face_x", "face_y", "face_width",
         "face_height"]
_MODELS = {"detectorv2"}
_MEDIAPIPE = "mediapipe"
_BACKENDS = {"py-feat", _MEDIAPIPE}
_DETECTORS = {}  # one built detector per process, keyed by its weights and device


def _feat_version():
    try:
        from feat.version import __version__
    except ImportError as exc:  # pragma: no cover - feat is an optional dependency
        raise ImportError(
            "AUExtractor needs py-feat: pip install 'skpersona[feat]' (py-feat and av)."
        ) from exc
    return __version__


def _default_au_names():
    from feat.multitask import AU_COLUMNS_V2

    return list(AU_COLUMNS_V2)


@contextlib.contextmanager
def _resource_dir(weights_dir):
    """Point py-feat's model cache (``feat.utils.io.get_resource_path``) at weights_dir.

    py-feat downloads and reads its hub weights with
    ``cache_dir=get_resource_path()``; this makes it read a Hugging Face cache
    folder of the user's choice instead (nothing else of py-feat reads it while
    the detector is built).
    """
    if weights_dir is None:
        yield
        return
    import feat.utils.io as feat_io

    original = feat_io.get_resource_path
    feat_io.get_resource_path = lambda: os.fspath(weights_dir)
    try:
        yield
    finally:
        feat_io.get_resource_path = original


def _resolve_weights(weights_dir, multitask_weights):
    """Local paths of the RetinaFace and multitask weights, through py-feat's own lookup."""
    from feat.multitask.inference import MultitaskModel
    from feat.utils import hf_hub_download_with_fallback
    from feat.utils.io import get_resource_path

    where = os.fspath(weights_dir) if weights_dir is not None else None
    try:
        with _resource_dir(weights_dir):
            import feat.utils.io as feat_io

            face = hf_hub_download_with_fallback(
                repo_id="py-feat/retinaface_r34", filename="model.safetensors",
                fallback_filename="retinaface_r34.safetensors",
                cache_dir=feat_io.get_resource_path(),
            )
            multitask = MultitaskModel._resolve_weights(
                os.fspath(multitask_weights) if multitask_weights is not None else None)
    except Exception as exc:
        raise RuntimeError(
            "py-feat's model weights (py-feat/retinaface_r34 and py-feat/face_multitask_v2) "
            f"are not available in {where or get_resource_path()!r} and cannot be downloaded "
            f"({type(exc).__name__}: {exc}). Run once online (with HF_HUB_OFFLINE unset) so "
            "py-feat caches them, or pass weights_dir= a Hugging Face cache folder holding "
            "them (models--py-feat--retinaface_r34/...), and/or multitask_weights= a local "
            ".safetensors file."
        ) from exc
    if not Path(multitask).is_file():
        raise FileNotFoundError(f"multitask_weights {multitask!r} is not a file.")
    return os.fspath(face), os.fspath(multitask)


def _detector(weights_dir, multitask_path, face_path, device, threshold):
    key = (os.fspath(weights_dir) if weights_dir else None, multitask_path, face_path, str(device))
    if key not in _DETECTORS:
        import torch
        from feat.detector_v2 import Detectorv2

        _DETECTORS.clear()
        grad = torch.is_grad_enabled()
        try:
            with _resource_dir(weights_dir):
                _DETECTORS[key] = Detectorv2(device=device, face_detection_threshold=threshold,
                                             identity_model=None,
                                             multitask_weights=multitask_path)
        finally:  # py-feat's RetinaFace switches autograd off for the whole thread
            torch.set_grad_enabled(grad)
    return _DETECTORS[key]


def _empty_table(au_names, attrs):
    table = pd.DataFrame({c: pd.Series(dtype="int64" if c in ("frame", "face_id") else "float64")
                          for c in _META + list(au_names)})
    table.attrs = dict(attrs)
    return table


def _batch_data(images):
    import torch

    n = images.shape[0]
    zeros = torch.zeros(n, dtype=torch.float64)
    return {"Image": images, "Scale": torch.ones(n, dtype=torch.float64),
            "Padding": {"Left": zeros, "Top": zeros, "Right": zeros, "Bottom": zeros}}


def _no_face(detector, image_size):
    """detect_faces' placeholder for a frame without a face (one NaN box, score 0)."""
    import torch

    device = detector.device
    nan = torch.full((1, 4), float("nan"), device=device)
    return {"face_id": 0,
            "faces": torch.zeros(1, 3, detector.face_size, detector.face_size, device=device),
            "boxes": nan, "new_boxes": nan.clone(), "scores": torch.zeros(1, device=device),
            "image_size": image_size}


def _detect_sparse(detector, images, threshold, is_key, held):
    """RetinaFace on the key frames only; the others reuse the last key frame's boxes.

    ``held`` is the last key frame's detection (from an earlier batch) or None; the
    new one is returned with the per-frame face data (detect_faces' structure).
    """
    import torch

    key = np.flatnonzero(is_key)
    found = {}
    if len(key):
        for i, face in zip(key, detector.detect_faces(images[key], face_detection_threshold=threshold)):
            found[int(i)] = face
    faces, reuse = [None] * len(images), []
    for i in range(len(images)):
        if i in found:
            held = found[i]
            faces[i] = held
        elif held is None or not torch.isfinite(held["boxes"]).all():
            faces[i] = _no_face(detector, tuple(images.shape[-2:]))
        else:
            reuse.append((i, held))
    if reuse:  # one crop call for every frame that reuses boxes
        crops = detector.crop_faces_from_boxes(images[[i for i, _ in reuse]],
                                               [h["boxes"] for _, h in reuse])
        for (i, h), crop in zip(reuse, crops):
            crop["scores"] = h["scores"].clone()  # the key frame's detection confidence
            faces[i] = crop
    for i, face in enumerate(faces):
        face["face_id"] = i
    return faces, held


def _run_batch(detector, frames, detect_faces, threshold, is_key=None, held=None):
    """py-feat's Detectorv2 on a batch of RGB frames -> per-face DataFrame + frame positions.

    With ``is_key`` (a boolean per frame), faces are detected on the key frames only
    (see :func:`_detect_sparse`); the last detection is returned for the next batch.
    """
    import torch

    images = torch.from_numpy(np.ascontiguousarray(np.stack(frames))).permute(0, 3, 1, 2)
    if detect_faces and is_key is not None:
        faces, held = _detect_sparse(detector, images, threshold, is_key, held)
    elif detect_faces:
        faces = detector.detect_faces(images, face_detection_threshold=threshold)
    else:  # every frame is a face chip: the whole frame is the face box
        height, width = images.shape[-2:]
        box = torch.tensor([[0.0, 0.0, float(width), float(height)]])
        faces = detector.crop_faces_from_boxes(images, [box] * images.shape[0])
    result = detector.forward(faces, _batch_data(images))
    position = np.repeat(np.arange(len(faces)), [len(f["scores"]) for f in faces])
    return result, position, held


def _decoded(frames, path):
    """The frames of an iterator; a decoding error becomes a ValueError naming the file."""
    while True:
        try:
            item = next(frames)
        except StopIteration:
            return
        except Exception as exc:
            raise ValueError(f"Cannot decode {path!r} as a video or image: {exc}") from exc
        yield item


def _batches(frames, batch_size, path):
    """Lists of up to batch_size decoded frames; a decoding error names the file."""
    frames = _decoded(frames, path)
    while True:
        batch = [item for _, item in zip(range(batch_size), frames)]
        if not batch:
            return
        yield batch


def _from_cache_entry(stored, path):
    """The frame table of a cache entry, or None when the entry is absent or malformed."""
    if stored is None:
        return None
    try:
        table = pd.DataFrame(stored["values"], columns=[str(c) for c in stored["columns"]])
        for column in ("frame", "face_id"):
            table[column] = table[column].astype("int64")
        if "success" in table:
            table["success"] = table["success"].astype(bool)
        attrs = json.loads(str(stored["attrs"]))
        if not isinstance(attrs, dict):
            raise TypeError("attrs is not a dict")
    except (KeyError, ValueError, TypeError) as exc:  # well-formed npz, wrong content: a miss
        warnings.warn(f"AU cache entry of {path!r} is malformed ({exc!s:.100}); extracting "
                      "again.", RuntimeWarning, stacklevel=2)
        return None
    table.attrs = dict(attrs, path=path)
    return table


def _decode(path, params):
    """The sampled frames of a video or image, and the video's frame rate (None: image)."""
    try:  # decoding errors name the file; errors of the model itself pass through
        if is_image(path):
            images, indices, times, width = read_image(path, params["max_size"])
            return iter(zip(indices, times, images, [width])), None
        fps = video_fps(path)
        return iter_video(path, fps=params["fps"], step=params["step"],
                          max_frames=params["max_frames"], max_size=params["max_size"]), fps
    except Exception as exc:
        raise ValueError(f"Cannot decode {path!r} as a video or image: {exc}") from exc


def _source_attrs(params, path):
    if params.get("backend") == _MEDIAPIPE:
        return {"au_scale": "0-1", "source": "mediapipe", "path": path,
                "model": "face_landmarker"}
    return {"au_scale": "0-1", "source": "py-feat", "path": path, "model": params["model"]}


def _feat_table(path, frames, params, batch_size, weights):
    """py-feat's Detectorv2 over the frames -> (frame table or None, frames looked at)."""
    face_path, multitask_path = weights
    detector = _detector(params["weights_dir"], multitask_path, face_path, params["device"],
                         params["face_threshold"])
    au_names = list(detector.multitask.au_names)
    parts, n_sampled, held = [], 0, None
    every = params.get("detect_every", 1)
    for batch in _batches(frames, batch_size, path):
        is_key = None if every == 1 else (np.arange(n_sampled, n_sampled + len(batch)) % every == 0)
        n_sampled += len(batch)
        result, position, held = _run_batch(detector, [b[2] for b in batch],
                                            params["detect_faces"], params["face_threshold"],
                                            is_key, held)
        # boxes back in the pixels of the original (not downscaled) frames
        zoom = np.asarray([b[3] / b[2].shape[1] for b in batch])[position]
        ok = ~np.isnan(result["FaceRectX"].to_numpy(dtype=float))
        part = pd.DataFrame({
            "frame": np.asarray([b[0] for b in batch], dtype=np.int64)[position],
            "timestamp": np.asarray([b[1] for b in batch], dtype=float)[position],
            "face_id": np.zeros(len(position), dtype=np.int64),
            "confidence": result["FaceScore"].to_numpy(dtype=float),
            "face_x": result["FaceRectX"].to_numpy(dtype=float) * zoom,
            "face_y": result["FaceRectY"].to_numpy(dtype=float) * zoom,
            "face_width": result["FaceRectWidth"].to_numpy(dtype=float) * zoom,
            "face_height": result["FaceRectHeight"].to_numpy(dtype=float) * zoom,
        })
        for name in au_names:
            part[name] = result[name].to_numpy(dtype=float)
        parts.append(part.loc[ok])
    if not parts:
        return _empty_table(au_names, {}), n_sampled
    table = pd.concat(parts, ignore_index=True)
    if len(table):
        area = table["face_width"] * table["face_height"]
        table = table.assign(_area=area.to_numpy()).sort_values(
            ["frame", "_area"], ascending=[True, False], kind="stable")
        table["face_id"] = table.groupby("frame").cumcount().to_numpy()
        if params["faces"] == "largest":
            table = table.loc[table["face_id"] == 0]
        table = table.drop(columns="_area").reset_index(drop=True)
    return table, n_sampled


def _cache_identity(path, params, weights):
    if params.get("backend") == _MEDIAPIPE:
        return ("AUExtractor", _CACHE_FORMAT, _digest(path), _mediapipe.mediapipe_version(),
                _digest(weights), params)
    face_path, multitask_path = weights
    return ("AUExtractor", _CACHE_FORMAT, _digest(path), _feat_version(), _digest(face_path),
            _digest(multitask_path), params)


def _extract(path, params, batch_size, weights, cache_dir):
    """Frame table of one video or image (runs in a joblib worker)."""
    path = os.fspath(path)
    attrs = _source_attrs(params, path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Video or image {path!r} does not exist or is not a file.")
    cache = ArrayCache(cache_dir) if cache_dir is not None else None
    if cache is not None:
        key = cache_key(*_cache_identity(path, params, weights))
        table = _from_cache_entry(cache.load(key), path)
        if table is not None:
            return table
    frames, fps = _decode(path, params)
    if params.get("backend") == _MEDIAPIPE:
        table, n_sampled = _mediapipe.landmark_frames(
            _decoded(frames, path), weights, params["face_threshold"], video=not is_image(path),
            faces=params["faces"])
        if table is None:
            table = _mediapipe.empty_table({})
    else:
        table, n_sampled = _feat_table(path, frames, params, batch_size, weights)
    attrs.update({"fps": fps, "n_frames_sampled": n_sampled})
    table.attrs = attrs
    if cache is not None:
        cache.save(key, {
            "values": table.to_numpy(dtype=np.float64),
            "columns": np.asarray(table.columns, dtype=str),
            "attrs": np.asarray(json.dumps(attrs)),
        })
    return table


def _extract_or_warn(path, params, batch_size, weights, cache_dir, on_error, n_threads=None):
    try:
        with torch_threads(n_threads):
            return _extract(path, params, batch_size, weights, cache_dir)
    except (FileNotFoundError, ValueError) as exc:
        if on_error == "raise":
            raise
        warnings.warn(f"AUExtractor: {exc} An empty frame table is returned for it.",
                      stacklevel=3)
        attrs = dict(_source_attrs(params, os.fspath(path)), error=str(exc))
        attrs.pop("model")
        if params.get("backend") == _MEDIAPIPE:
            return _mediapipe.empty_table(attrs)
        return _empty_table(_default_au_names(), attrs)


class AUExtractor(TransformerMixin, BaseEstimator):
    """Extract per-frame action units from videos or images with py-feat or MediaPipe.

    Frames are decoded with PyAV (which bundles FFmpeg; no system FFmpeg or
    torchcodec needed) and sampled. With ``backend="py-feat"`` (the default,
    a FACS AU detector) batches of frames go through py-feat's ``Detectorv2``
    (RetinaFace face detection, then the multitask model, whose AU head
    gives 20 AU probabilities). Weights load through py-feat's own lookup:
    its Hugging Face cache (downloaded on first use when online), a cache
    folder of your choice (``weights_dir``), or local files.

    With ``backend="mediapipe"`` (the ``mediapipe`` extra), Google's MediaPipe
    Face Landmarker runs instead, in its video mode over a video's frames
    (faces tracked from frame to frame) and its image mode on an image; it is
    some 20 to 50 times faster on a CPU. Its 52 blendshape scores (0-1, e.g.
    ``mouthSmileLeft``) are kept as columns, and 23 FACS AU columns are read
    from them (see Notes). Its model file is a local ``.task`` bundle
    (``model_path``); nothing is downloaded.

    Parameters
    ----------
    model : {"detectorv2"}, default="detectorv2"
        py-feat's recommended detector (RetinaFace + multitask v2).
    backend : {"py-feat", "mediapipe"}, default="py-feat"
        Which detector runs (see above).
    fps : float or None, default=None
        Sample frames at about this rate; None keeps every frame.
    step : int or None, default=None
        Keep every ``step``-th frame (applied before ``fps``).
    max_frames : int or None, default=None
        Stop after this many sampled frames.
    max_size : int or None, default=None
        Downscale frames so the longer side is at most this (faster, and
        enough for faces that fill much of the frame).
    batch_size : int, default=8
        Frames per forward pass.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"mps"`` or ``"auto"``.
    face_threshold : float, default=0.5
        Face detection threshold (RetinaFace's, or MediaPipe's BlazeFace's).
    detect_faces : bool, default=True
        False treats each whole frame as the face (videos already cropped to
        the face); RetinaFace is then skipped. py-feat only.
    detect_every : int, default=1
        Run RetinaFace on every ``detect_every``-th sampled frame of a video only
        and reuse its face boxes (and confidences) on the frames in between; the
        AUs are still computed on every frame. 1 (the default) detects on every
        frame (exact). Face detection is about half of the work, so 5 to 10 nearly
        halves the time; the AUs of the frames in between then come from a box up
        to ``detect_every - 1`` frames old (fine for a seated speaker, not for fast
        head motion); a face that appears or leaves between key frames is seen at
        the next key frame. py-feat only (MediaPipe's video mode tracks faces
        between detections itself).
    faces : {"largest", "all"}, default="largest"
        One row per frame for the largest face, or one row per face.
    weights_dir : str, path-like or None, default=None
        A Hugging Face cache folder holding ``models--py-feat--retinaface_r34``
        and ``models--py-feat--face_multitask_v2``; None uses py-feat's own
        (inside the installed package).
    multitask_weights : str, path-like or None, default=None
        A local multitask ``.safetensors`` file (py-feat's own parameter;
        ``$FEAT_MULTITASK_WEIGHTS`` also works).
    model_path : str, path-like or None, default=None
        MediaPipe's Face Landmarker bundle with blendshapes (a ``.task``
        file; ``backend="mediapipe"`` only). None: ``$SKPERSONA_MEDIAPIPE_MODEL``,
        else ``face_landmarker_v2_with_blendshapes.task`` in the ``models``
        folder of the user cache directory (``~/.cache/skpersona/models/`` on
        Linux). A missing file is an error saying where to download it (the
        Face Landmarker model page of MediaPipe). This path is a capability
        (it chooses a file to load): a loaded estimator's ``model_path`` is
        reset by the loader, never taken from the file.
    model_sha256 : str or None, default=None
        When given, the bundle's SHA-256 must equal it (an error otherwise),
        e.g. ``skpersona.au._mediapipe.KNOWN_SHA256`` for the bundle the
        tests use.
    cache_dir : str, path-like or None, default=None
        On-disk cache of frame tables, keyed by the file's content, the
        py-feat version, the weights' content and every parameter above that
        changes the output; a second run or a grid search never re-detects.
        None: no cache.
    on_error : {"raise", "warn"}, default="raise"
        A missing or undecodable file raises an error naming it, or warns and
        gives an empty frame table (``attrs["error"]`` says why).
    n_jobs : int or None, default=None
        Files processed in parallel with joblib (each worker loads the model).
    torch_threads : int or None, default=None
        Torch intra-op threads while extracting (restored afterwards); None
        leaves torch's setting. 1 is often fastest with ``n_jobs`` > 1 or on
        a busy machine.
    verbose : bool, default=False
        A tqdm progress bar over files.

    Notes
    -----
    Input: paths (a list, Series, 1-column DataFrame or object array); items
    that already are frame tables pass through unchanged, and an empty item (None,
    NaN, "": an interview answer without video) gives an empty frame table
    (:func:`missing_video`), read downstream as a video without a face. Output: an
    (n_inputs, 1) object array, one frame table per input, with columns
    ``frame`` (index in the file), ``timestamp`` (s), ``face_id`` (0 = the
    largest face of the frame), ``confidence`` (detection score),
    ``face_x``, ``face_y``, ``face_width``, ``face_height`` (py-feat's square
    face crop, in pixels of the original frame) and
    ``AU01`` ... ``AU43`` (probabilities, ``attrs["au_scale"] == "0-1"``).
    Frames without a face have no row; a file without any face gives an
    empty table (``attrs["n_frames_sampled"]`` says how many frames were
    looked at).

    MediaPipe's frame tables have the same columns plus ``success``, the 52
    blendshapes (MediaPipe's names, ``_neutral`` ... ``noseSneerRight``) and
    AU columns read from them (``attrs["source"] == "mediapipe"``,
    ``au_scale`` "0-1"). A frame without a face is one row with ``success``
    False, ``confidence`` 0 and NaN AUs, so that :class:`KeyframeWindows`,
    :class:`AUStatistics` and :class:`AUDescriber` see the gap. MediaPipe
    gives no per-face score: ``confidence`` is 1 for a face it returns (one
    that passed ``face_threshold``). The face box bounds the 478 landmarks.
    AUs from blendshapes (``skpersona.au._mediapipe.BLENDSHAPE_AUS``; a
    left/right pair is pooled by its maximum, since FACS codes a one-sided
    action as that AU):

    ====  ==================================  ====  ==============================
    AU01  browInnerUp                         AU17  mouthShrugLower
    AU02  browOuterUpLeft/Right               AU18  mouthPucker
    AU04  browDownLeft/Right                  AU20  mouthStretchLeft/Right
    AU05  eyeWideLeft/Right                   AU22  mouthFunnel
    AU06  cheekSquintLeft/Right               AU24  mouthPressLeft/Right
    AU07  eyeSquintLeft/Right                 AU26  jawOpen
    AU09  noseSneerLeft/Right                 AU28  mouthRollLower/Upper
    AU10  mouthUpperUpLeft/Right              AU29  jawForward
    AU12  mouthSmileLeft/Right                AU30  jawLeft/Right
    AU14  mouthDimpleLeft/Right               AU34  cheekPuff
    AU15  mouthFrownLeft/Right                AU43  eyeBlinkLeft/Right
    AU16  mouthLowerDownLeft/Right
    ====  ==================================  ====  ==============================

    No blendshape measures AU11 (nasolabial deepener), AU23 (lip tightener)
    or AU25 (lips part; ``jawOpen`` is AU26): these py-feat AUs have no
    column. Gaze (``eyeLook*``), ``mouthClose``, ``mouthLeft``/``Right``,
    ``mouthShrugUpper`` and ``_neutral`` feed no AU. Blendshape scores are
    intensities of a shape, not AU detection probabilities; the two
    backends' AU values are not interchangeable in one model.

    Examples
    --------
    >>> from skpersona.au import AUExtractor
    >>> AUExtractor(fps=5, max_frames=50).get_params()["fps"]
    5
    >>> AUExtractor(backend="mediapipe").get_params()["model_path"] is None
    True
    """

    _parameter_constraints = {
        "model": [StrOptions(_MODELS)],
        "backend": [StrOptions(_BACKENDS)],
        "fps": [Interval(Real, 0, None, closed="neither"), None],
        "step": [Interval(Integral, 1, None, closed="left"), None],
        "max_frames": [Interval(Integral, 1, None, closed="left"), None],
        "max_size": [Interval(Integral, 16, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "face_threshold": [Interval(Real, 0, 1, closed="both")],
        "detect_faces": ["boolean"],
        "detect_every": [Interval(Integral, 1, None, closed="left")],
        "faces": [StrOptions({"largest", "all"})],
        "weights_dir": [str, os.PathLike, None],
        "multitask_weights": [str, os.PathLike, None],
        "model_path": [str, os.PathLike, None],
        "model_sha256": [str, None],
        "cache_dir": [str, os.PathLike, None],
        "on_error": [StrOptions({"raise", "warn"})],
        "n_jobs": [Integral, None],
        "torch_threads": [Interval(Integral, 1, None, closed="left"), None],
        "verbose": ["boolean"],
    }

    def __init__(self, model="detectorv2", backend="py-feat", fps=None, step=None,
                 max_frames=None, max_size=None, batch_size=8, device="cpu",
                 face_threshold=0.5, detect_faces=True, detect_every=1, faces="largest",
                 weights_dir=None, multitask_weights=None, model_path=None, model_sha256=None,
                 cache_dir=None, on_error="raise", n_jobs=None, torch_threads=None,
                 verbose=False):
        self.model = model
        self.backend = backend
        self.fps = fps
        self.step = step
        self.max_frames = max_frames
        self.max_size = max_size
        self.batch_size = batch_size
        self.device = device
        self.face_threshold = face_threshold
        self.detect_faces = detect_faces
        self.detect_every = detect_every
        self.faces = faces
        self.weights_dir = weights_dir
        self.multitask_weights = multitask_weights
        self.model_path = model_path
        self.model_sha256 = model_sha256
        self.cache_dir = cache_dir
        self.on_error = on_error
        self.n_jobs = n_jobs
        self.torch_threads = torch_threads
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Check that the backend is importable (the detector is pre-trained; nothing is learnt).

        ``transform`` also works on an unfitted extractor.

        Parameters
        ----------
        X : ignored
        y : ignored

        Returns
        -------
        self
        """
        self._check_backend()
        if self.backend == _MEDIAPIPE:
            _mediapipe.mediapipe_version()
        else:
            _feat_version()
        self.fitted_ = True
        return self

    def _check_backend(self):
        if self.backend == _MEDIAPIPE and (not self.detect_faces or self.detect_every != 1):
            raise ValueError(
                "detect_faces=False and detect_every > 1 are py-feat options; MediaPipe always "
                "detects faces (its video mode tracks them between detections). Leave them at "
                "their defaults with backend='mediapipe'."
            )

    def _params(self):
        """Every parameter that changes the output (part of the cache key; not batch_size)."""
        if self.backend == _MEDIAPIPE:  # the model file's content is keyed apart
            return {"backend": _MEDIAPIPE, "fps": self.fps, "step": self.step,
                    "max_frames": self.max_frames, "max_size": self.max_size,
                    "face_threshold": float(self.face_threshold), "faces": self.faces}
        params = {
            "model": self.model, "fps": self.fps, "step": self.step,
            "max_frames": self.max_frames, "max_size": self.max_size, "device": self.device,
            "face_threshold": float(self.face_threshold), "detect_faces": bool(self.detect_faces),
            "faces": self.faces,
            "weights_dir": os.fspath(self.weights_dir) if self.weights_dir else None,
        }
        if self.detect_every != 1 and self.detect_faces:  # old cache keys stay valid
            params["detect_every"] = int(self.detect_every)
        return params

    def transform(self, X):
        """Extract a frame table from each video or image.

        Parameters
        ----------
        X : list, Series, 1-column DataFrame or object array of paths
            (or of frame tables, passed through).

        Returns
        -------
        ndarray of shape (n_inputs, 1), dtype=object
            One frame table per input.
        """
        items = as_items(X, what="video or image paths")
        # an empty cell (None, NaN, "") is an answer without video: no frames, no face
        items = [missing_video(f"item {i}: no video") if is_missing_video(item) else item
                 for i, item in enumerate(items)]
        todo = [i for i, item in enumerate(items) if not isinstance(item, pd.DataFrame)]
        for i in todo:
            if not isinstance(items[i], str | os.PathLike):
                raise TypeError(
                    f"Item {i} of X is a {type(items[i]).__name__}; AUExtractor takes paths of "
                    "videos or images (or already extracted frame tables)."
                )
        out = list(items)
        if todo:
            self._check_backend()
            if self.backend == _MEDIAPIPE:
                _mediapipe.mediapipe_version()
                weights = _mediapipe.resolve_model(self.model_path, self.model_sha256)
            else:
                weights = _resolve_weights(self.weights_dir, self.multitask_weights)
            params = self._params()
            jobs = (delayed(_extract_or_warn)(items[i], params, self.batch_size, weights,
                                              self.cache_dir, self.on_error, self.torch_threads)
                    for i in todo)
            # Results as they come, for the progress bar, where the joblib backend can
            # (loky, threading, Dask); Ray's and multiprocessing's give a list.
            backend, _ = get_active_backend()
            ordered = "generator" if backend.supports_return_generator else "list"
            results = Parallel(n_jobs=self.n_jobs, return_as=ordered)(jobs)
            if self.verbose:
                from tqdm.auto import tqdm

                results = tqdm(results, total=len(todo), desc="AUExtractor")
            for i, table in zip(todo, results):
                out[i] = table
        return object_column(out)

    def get_feature_names_out(self, input_features=None):
        """One output column: ``["frame_table"]``."""
        return np.asarray(["frame_table"], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = False
        tags.non_deterministic = False
        return tags
