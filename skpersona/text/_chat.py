"""A minimal OpenAI-compatible chat client: timeouts, retries with back-off, a cache.

Standard library only (``urllib``). API keys are read from the environment at
request time, sent only in the ``Authorization`` header, and never stored,
logged or written to the cache.
"""

import json
import logging
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import numpy as np

from ..utils import ArrayCache, cache_key

logger = logging.getLogger("skpersona.text")

#: HTTP statuses worth another try (timeouts, conflicts, rate limits, server errors).
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_MAX_SLEEP = 60.0


@dataclass
class ChatReply:
    """Outcome of one chat completion request.

    ``status`` is ``"ok"`` (``content`` holds the reply text), ``"bad_response"``
    (the server answered 200 with a body that is not an OpenAI chat completion)
    or ``"error"`` (HTTP error, timeout or connection failure after the retries;
    ``error`` says which).
    """

    content: str | None
    status: str
    attempts: int = 0
    cached: bool = False
    error: str | None = None


def _retry_after(error):
    value = error.headers.get("Retry-After") if error.headers is not None else None
    try:
        return min(max(float(value), 0.0), _MAX_SLEEP) if value is not None else None
    except ValueError:
        return None


class ChatClient:
    """POST ``{base_url}/chat/completions`` requests with retries and a cache.

    Parameters
    ----------
    base_url : str
        API root, e.g. ``"http://localhost:11434/v1"`` (Ollama),
        ``"http://localhost:8000/v1"`` (vLLM, llama.cpp server) or a hosted API.
    api_key_env : str or None
        Name of the environment variable that holds the API key; None sends no key.
    timeout : float
        Seconds to wait for each request.
    max_retries : int
        Further tries after a failed one (timeouts, connection errors, HTTP 408,
        409, 425, 429 and 5xx). Other HTTP errors (401, 404, ...) are not retried.
    backoff : float
        Seconds before the first retry, doubled for each next one (a server's
        ``Retry-After`` header wins when present); at most 60 s.
    cache_dir : str, path-like or None
        Folder of the reply cache; None: no cache.
    """

    def __init__(self, base_url, api_key_env=None, timeout=60.0, max_retries=3, backoff=1.0,
                 cache_dir=None):
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.cache = (None if cache_dir is None
                      else ArrayCache(os.path.expanduser(os.fspath(cache_dir))))

    @property
    def url(self):
        return self.base_url.rstrip("/") + "/chat/completions"

    def _headers(self):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if key:
                headers["Authorization"] = f"Bearer {key}"
        return headers

    def complete(self, payload):
        """Send one chat completion request (a dict with ``model`` and ``messages``)."""
        key = None
        if self.cache is not None:
            key = cache_key("chat/1", self.url, payload)
            entry = self.cache.load(key)
            if entry is not None and "content" in entry:
                return ChatReply(str(entry["content"]), "ok", 0, cached=True)
        body = json.dumps(payload).encode("utf-8")
        model = payload.get("model")
        error = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                delay = min(self.backoff * 2 ** (attempt - 1), _MAX_SLEEP)
                if isinstance(error, urllib.error.HTTPError):
                    delay = _retry_after(error) if _retry_after(error) is not None else delay
                logger.info("%s: %s; retry %d/%d in %.2f s", model, _describe(error), attempt,
                            self.max_retries, delay)
                time.sleep(delay)
            request = urllib.request.Request(self.url, data=body, headers=self._headers(),
                                             method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
            except urllib.error.HTTPError as exc:
                error = exc
                exc.close()
                if exc.code not in RETRY_STATUSES:
                    break
                continue
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                error = exc
                continue
            try:
                content = json.loads(raw)["choices"][0]["message"]["content"]
                if not isinstance(content, str):
                    raise TypeError("content is not a string")
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                return ChatReply(None, "bad_response", attempt + 1,
                                 error=f"not an OpenAI chat completion ({exc!s:.80})")
            if self.cache is not None:
                self.cache.save(key, {"content": np.asarray(content)})
            return ChatReply(content, "ok", attempt + 1)
        logger.warning("%s: request failed after %d attempt(s): %s", model, attempt + 1,
                       _describe(error))
        return ChatReply(None, "error", attempt + 1, error=_describe(error))


def _describe(error):
    """A short description of a request error (never includes request headers)."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        reason = error.reason
        if isinstance(reason, TimeoutError):
            return "timed out"
        return f"connection failed ({reason})"
    if isinstance(error, TimeoutError):
        return "timed out"
    return f"{type(error).__name__}: {error}"
