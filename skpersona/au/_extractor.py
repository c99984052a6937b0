"""AUExtractor: frame tables of AUs from videos and images, cached, in parallel.

The detectors are backends of their own modules: py-feat's Detectorv2 in
``_pyfeat``, MediaPipe's Face Landmarker in ``_mediapipe``; this module decodes,
caches and schedules.
"""

import json
import os
import warnings
from numbers import Integral, Real

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
from ._pyfeat import (
    _default_au_names,
    _empty_table,
    _feat_table,
    _feat_version,
    _resolve_weights,
)
from ._video import decoded as _decoded
from ._video import is_image, iter_video, read_image, video_fps

_CACHE_FORMAT = 1
_MODELS = {"detectorv2"}
_MEDIAPIPE = "mediapipe"
_BACKENDS = {"py-feat", _MEDIAPIPE}


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
