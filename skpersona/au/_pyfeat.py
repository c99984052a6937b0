"""py-feat backend of AUExtractor: Detectorv2 (RetinaFace + multitask AU network).

The weights are found through py-feat's own lookup (a Hugging Face cache folder of
the user's choice), one detector is built per process, and frames go through it in
batches, with face detection on every ``detect_every``-th frame only when asked.
"""

import contextlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._video import batches as _batches

_META = ["frame", "timestamp", "face_id", "confidence", "face_x", "face_y", "face_width",
         "face_height"]
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
