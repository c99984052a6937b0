"""Loading a model file: trusted types only, and the user's capabilities, never the file's."""

import os
from pathlib import Path

#: Largest model file content (unpacked) that :func:`load` reads; a fitted skpersona
#: model is megabytes, a crafted compressed member could unpack to gigabytes.
MAX_MODEL_BYTES = 2 << 30


class ModelFileError(ValueError):
    """A file that is not a loadable skops model (missing, damaged, untrusted types).

    ``untrusted`` lists the types that would have to be trusted by name.
    """

    def __init__(self, message, untrusted=()):
        super().__init__(message)
        self.untrusted = list(untrusted)


def _is_trusted(name, extra):
    """Whether type ``name`` may be built: named by the user, or a public estimator of
    skpersona (looked up in its own subpackage only, so that loading a text model does
    not import the video and network stacks)."""
    if name in extra:
        return True
    import importlib
    import inspect

    from sklearn.base import BaseEstimator

    from .utils.discovery import _SUBPACKAGES

    parts = name.split(".")
    if len(parts) < 3 or parts[0] != "skpersona" or parts[1] not in _SUBPACKAGES:
        return False
    try:
        package = importlib.import_module(f"skpersona.{parts[1]}")
    except ImportError:
        return False
    for public in getattr(package, "__all__", ()):
        obj = getattr(package, public, None)
        if (inspect.isclass(obj) and issubclass(obj, BaseEstimator)
                and not inspect.isabstract(obj) and not public.startswith("_")
                and f"{obj.__module__}.{obj.__qualname__}" == name):
            return True
    return False


def _read_once(path):
    """The file's bytes, read once: checking and loading both use them, so a file
    swapped between the check and the load is never loaded."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_MODEL_BYTES + 1)
    except FileNotFoundError as exc:
        raise ModelFileError(f"model file {os.fspath(path)!r} does not exist.") from exc
    except OSError as exc:
        raise ModelFileError(f"model file {os.fspath(path)!r} cannot be read ({exc}).") from exc
    if len(data) > MAX_MODEL_BYTES:
        raise ModelFileError(f"model file {os.fspath(path)!r} is larger than a model needs "
                             f"(limit {MAX_MODEL_BYTES / 2**30:.0f} GiB); it is not loaded.")
    return data


def _check_unpacked_size(data, path):
    """Refuse content whose members unpack to more than :data:`MAX_MODEL_BYTES`.

    The sizes are those the zip directory declares; Python's zipfile never reads
    a member past its declared size, so this bounds what loading can unpack.
    """
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            size = sum(info.file_size for info in archive.infolist())
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"{os.fspath(path)!r} is not a skops model file ({exc}).") from exc
    if size > MAX_MODEL_BYTES:
        raise ModelFileError(f"model file {os.fspath(path)!r} unpacks to {size / 2**30:.1f} GiB, "
                             f"more than a model needs (limit {MAX_MODEL_BYTES / 2**30:.0f} GiB); "
                             "it is damaged or crafted, and is not loaded.")


def load(path, *, allow=None, trusted=()):
    """Load a skops model file; capabilities come from you, never from the file.

    The file is read once; its types are checked and it is loaded from those same
    bytes. Only skpersona's estimator classes, the types skops trusts by default and
    the types named in ``trusted`` are built. Then every estimator in the file gets
    your values for the parameters that are capabilities
    (:func:`skpersona.utils.check_loaded_estimator`): a destination
    (``base_url``), an API-key variable (``api_key_env``), code
    (``trust_remote_code``, a model folder with code) or a download (a
    ``model_name`` that is not a local folder; the default model is the installed
    package's folder) is refused unless allowed by name; a file-chosen folder
    (``cache_dir``, ``weights_dir``) is reset to the class default unless allowed;
    thread counts are bounded by the CPUs. What your allow-list file allows
    (:func:`skpersona.utils.allow_file_path`) is allowed too.

    Parameters
    ----------
    path : str or path-like
        A file written by ``skops.io.dump`` (or ``skpersona fit``).
    allow : dict or None, default=None
        Values allowed by name, e.g. ``{"base_url": "https://llm.example.org/v1",
        "api_key_env": "OPENAI_API_KEY"}``; options ``base_url``, ``api_key_env``,
        ``trust_remote_code`` (a bool), ``model_name`` (hub names, e.g.
        ``"sentence-transformers/all-mpnet-base-v2"``), ``cache_dir`` and
        ``weights_dir``.
    trusted : sequence of str, default=()
        Further types to build (``"module.Class"``), if you trust the file.

    Returns
    -------
    object
        What the file holds (an estimator, or ``skpersona fit``'s dict).

    Raises
    ------
    ModelFileError
        The file is missing, not a skops file, too large unpacked, or holds
        untrusted types.
    skpersona.utils.UnsafeModelError
        The file asks for a capability that is not allowed, or holds state that
        its classes do not have.

    Examples
    --------
    >>> import os, tempfile, skops.io as sio
    >>> import skpersona
    >>> from skpersona.text import LLMTraitRater
    >>> path = os.path.join(tempfile.mkdtemp(), "rater.skops")
    >>> sio.dump(LLMTraitRater(base_url="https://llm.example.org/v1"), path)
    >>> skpersona.load(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    skpersona.utils._file_safety.UnsafeModelError: LLMTraitRater in the model file: ...
    >>> skpersona.load(path, allow={"base_url": "https://llm.example.org/v1"})
    LLMTraitRater(base_url='https://llm.example.org/v1')
    """
    import skops.io as sio

    from .utils import check_loaded_estimator

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {os.fspath(path)!r} does not exist.")
    data = _read_once(path)
    _check_unpacked_size(data, path)
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:
        raise ModelFileError(f"{os.fspath(path)!r} is not a skops model file ({exc}).") from exc
    # skops calls a stored type with stored arguments, so trusting whole libraries by
    # prefix would let a crafted file run e.g. builtins.exec or numpy.load(allow_pickle);
    # only skpersona's estimator classes are trusted beyond skops' own defaults.
    refused = [t for t in untrusted if not _is_trusted(t, set(trusted))]
    if refused:
        raise ModelFileError(f"model file {os.fspath(path)!r} holds types that are not trusted: "
                             f"{', '.join(refused)}.", refused)
    obj = sio.loads(data, trusted=untrusted)
    return check_loaded_estimator(obj, allow=allow)
