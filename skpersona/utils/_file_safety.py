"""What a loaded estimator may do: its file may not choose destinations or load code.

skops (and a restricted unpickler) load only trusted *types*, but the *parameters*
of a trusted type come from the file. A few parameters are capabilities rather
than settings: where an :class:`~skpersona.text.LLMTraitRater` sends texts and an
API key, and whether a :class:`~skpersona.text.TextEmbedder` runs code from a
model folder. Estimators with such parameters inherit :class:`FileSafeParamsMixin`:

- when they are unpickled or loaded by skops with risky values (anything but the
  safe defaults) that this process tree did not itself write, those values are
  *unconfirmed*, and using them (``transform``, loading the model) raises
  :class:`UnsafeModelError`;
- the user confirms them by name with :func:`check_loaded_estimator` (the
  ``skpersona predict`` flags ``--allow-base-url``, ``--allow-api-key-env`` and
  ``--trust-remote-code`` call it).

Estimators that this process tree pickles itself (joblib workers, Dask workers
started from it) carry a seal: an HMAC of their risky values under a per-session
key held in the environment variable ``SKPERSONA_SESSION_KEY`` (created on first
import and inherited by child processes), so they work in workers unchanged. A
file from elsewhere cannot carry a valid seal. Set the same
``SKPERSONA_SESSION_KEY`` on remote workers to extend the trust to them.
"""

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass

_KEY_ENV = "SKPERSONA_SESSION_KEY"
os.environ.setdefault(_KEY_ENV, secrets.token_hex(32))


class UnsafeModelError(ValueError):
    """A loaded estimator's parameters ask for something the user has not allowed.

    ``risks`` lists them (:class:`Risk`), ``flags`` the ``skpersona predict``
    options that would allow them.
    """

    def __init__(self, message, risks=(), flags=()):
        super().__init__(message)
        self.risks = list(risks)
        self.flags = list(flags)


@dataclass(frozen=True)
class Risk:
    """One risky parameter value of an estimator.

    ``option`` is what allows it: ``"base_url"``, ``"api_key_env"`` or
    ``"trust_remote_code"`` (the keyword of :func:`check_loaded_estimator`).
    """

    param: str
    value: object
    option: str
    why: str


_FLAGS = {"base_url": "--allow-base-url {value}", "api_key_env": "--allow-api-key-env {value}",
          "trust_remote_code": "--trust-remote-code"}
_KEYWORDS = {"base_url": "allow_base_urls=[{value!r}]",
             "api_key_env": "allow_api_key_envs=[{value!r}]",
             "trust_remote_code": "trust_remote_code=True"}


def _seal(risks):
    payload = json.dumps([[r.param, str(r.value)] for r in risks], sort_keys=True).encode()
    return hmac.new(os.environ[_KEY_ENV].encode(), payload, hashlib.sha256).hexdigest()


class FileSafeParamsMixin:
    """Mixin for estimators whose parameters can name destinations or load code.

    Subclasses implement ``_file_risks()`` (a list of :class:`Risk` for the
    current parameters; empty for safe values) and call ``_check_file_risks()``
    before using them.
    """

    def _file_risks(self):  # pragma: no cover - every subclass defines it
        return []

    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state)
        state.pop("_unconfirmed_risks", None)
        risks = self._file_risks()
        if risks and not getattr(self, "_unconfirmed_risks", None):
            state["_risk_seal"] = _seal(risks)  # written by this session: trusted here
        return state

    def __setstate__(self, state):
        state = dict(state)
        seal = state.pop("_risk_seal", None)
        state.pop("_unconfirmed_risks", None)  # a file cannot confirm itself
        super().__setstate__(state)
        risks = self._file_risks()
        if risks and not (isinstance(seal, str) and hmac.compare_digest(seal, _seal(risks))):
            self._unconfirmed_risks = [(r.param, str(r.value)) for r in risks]

    def __sklearn_clone__(self):
        clone = super().__sklearn_clone__()
        if getattr(self, "_unconfirmed_risks", None):  # a clone is as unconfirmed as its source
            clone._unconfirmed_risks = list(self._unconfirmed_risks)
        return clone

    def _check_file_risks(self):
        """Raise :class:`UnsafeModelError` if a risky value came from a file unconfirmed."""
        marked = set(getattr(self, "_unconfirmed_risks", None) or ())
        pending = [r for r in self._file_risks() if (r.param, str(r.value)) in marked]
        if pending:
            raise UnsafeModelError(_message(type(self).__name__, pending, loaded=True),
                                   pending, _flags(pending))


def _flags(risks):
    return list(dict.fromkeys(_FLAGS[r.option].format(value=r.value) for r in risks))


def describe_risks(risks):
    """One line naming each risky value and what it would do."""
    return "; ".join(f"{r.param}={r.value!r} ({r.why})" for r in risks)


def _message(name, risks, loaded=False):
    parts = describe_risks(risks)
    flags = " ".join(_flags(risks))
    keywords = ", ".join(dict.fromkeys(_KEYWORDS[r.option].format(value=r.value)
                                       for r in risks))
    origin = "was loaded from a file whose parameters say" if loaded else "in the model file:"
    return (f"{name} {origin} {parts}. A model file may not choose where data is sent or run "
            f"code; if you trust it, allow this by name: {flags} (skpersona predict) or "
            f"skpersona.utils.check_loaded_estimator(estimator, {keywords}).")


def _walk(obj, seen, depth=0):
    """Every estimator reachable from ``obj`` (parameters, steps, fitted attributes)."""
    from sklearn.base import BaseEstimator

    if depth > 50 or id(obj) in seen:
        return
    if isinstance(obj, BaseEstimator):
        seen.add(id(obj))
        yield obj
        for value in vars(obj).values():
            yield from _walk(value, seen, depth + 1)
    elif isinstance(obj, list | tuple | set):
        seen.add(id(obj))
        for value in obj:
            yield from _walk(value, seen, depth + 1)
    elif isinstance(obj, dict):
        seen.add(id(obj))
        for value in obj.values():
            yield from _walk(value, seen, depth + 1)


def check_loaded_estimator(estimator, *, allow_base_urls=(), allow_api_key_envs=(),
                           trust_remote_code=False):
    """Refuse a loaded estimator whose parameters name destinations or code not allowed.

    Walks every estimator inside ``estimator`` (pipeline steps, column
    transformers, nested parameters, fitted attributes) and checks the risky
    parameters of skpersona's estimators: an ``LLMTraitRater``'s ``base_url`` (other
    than the local default) and ``api_key_env``, a ``TextEmbedder``'s
    ``trust_remote_code`` and a ``model_name`` folder that holds code. Each must be
    allowed by name; the allowed ones are then confirmed, so that the estimators
    use them.

    Parameters
    ----------
    estimator : object
        What was loaded (an estimator, or a dict/list holding estimators).
    allow_base_urls : sequence of str, default=()
        ``base_url`` values that may be contacted (exact strings).
    allow_api_key_envs : sequence of str, default=()
        Environment variables whose value may be sent as an API key.
    trust_remote_code : bool, default=False
        Allow model folders with code and ``trust_remote_code=True``.

    Returns
    -------
    estimator
        The same object, its allowed risky values confirmed.

    Raises
    ------
    UnsafeModelError
        Naming every risky value not allowed, and the option that allows it.

    Examples
    --------
    >>> import skops.io as sio
    >>> from skpersona.text import LLMTraitRater
    >>> from skpersona.utils import check_loaded_estimator
    >>> blob = sio.dumps(LLMTraitRater(base_url="https://llm.example.org/v1"))
    >>> rater = sio.loads(blob, trusted=["skpersona.text._rater.LLMTraitRater"])
    >>> check_loaded_estimator(rater)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    skpersona.utils._file_safety.UnsafeModelError: LLMTraitRater in the model file: ...
    >>> check_loaded_estimator(rater, allow_base_urls=["https://llm.example.org/v1"])
    LLMTraitRater(base_url='https://llm.example.org/v1')
    """
    allowed = {"base_url": {str(u) for u in allow_base_urls},
               "api_key_env": {str(n) for n in allow_api_key_envs}}
    found = [e for e in _walk(estimator, set()) if isinstance(e, FileSafeParamsMixin)]
    problems, refused = [], []
    for item in found:
        mine = [r for r in item._file_risks()
                if not (trust_remote_code if r.option == "trust_remote_code"
                        else str(r.value) in allowed[r.option])]
        if mine:
            problems.append(_message(type(item).__name__, mine))
            refused += mine
    if problems:
        raise UnsafeModelError(" ".join(dict.fromkeys(problems)), refused, _flags(refused))
    for item in found:
        item._unconfirmed_risks = []
    return estimator
