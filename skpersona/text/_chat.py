"""A minimal OpenAI-compatible chat client: timeouts, retries with back-off, a cache.

Standard library only (``urllib``). API keys are read from the environment at
request time, sent only in the ``Authorization`` header to ``base_url``, and never
stored, logged or written to the cache. A server's reply is input like any other:
redirects are not followed (the key would travel with them), each request has a
total deadline (a server that drips bytes cannot hold it longer), replies are
read up to a size limit, and a broken reply is a failed request, never an
exception out of :meth:`ChatClient.complete`.
"""

import http.client
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import numpy as np

from ..utils import ArrayCache, cache_key

logger = logging.getLogger("skpersona.text")

#: HTTP statuses worth another try (timeouts, conflicts, rate limits, server errors).
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_MAX_SLEEP = 60.0
#: Largest reply body read (bytes); a chat completion is a few kB.
MAX_REPLY_BYTES = 8 << 20


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
        Seconds one request may take in all (connecting, sending, waiting and
        reading the reply), however slowly the server sends.
    max_retries : int
        Further tries after a failed one (timeouts, connection errors, HTTP 408,
        409, 425, 429 and 5xx). Other HTTP errors (401, 404, ...) are not retried.
    backoff : float
        Seconds before the first retry, doubled for each next one (a server's
        ``Retry-After`` header wins when present); at most 60 s. All the waits of
        one request together stay within ``timeout``: a wait that would pass it
        ends the retries, so a call takes at most ``timeout`` per try plus
        ``timeout`` of waiting.
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
        error, waited, gave_up = None, 0.0, ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                delay = min(self.backoff * 2 ** (attempt - 1), _MAX_SLEEP)
                if isinstance(error, urllib.error.HTTPError):
                    delay = _retry_after(error) if _retry_after(error) is not None else delay
                # the waits between tries share one budget, `timeout`: a server's
                # Retry-After cannot hold a call (and transform) beyond it
                if waited + delay > self.timeout:
                    gave_up = (f"; not retried: a wait of {delay:g} s exceeds what is left of "
                               f"timeout={self.timeout:g} s for waiting "
                               f"({max(self.timeout - waited, 0):g} s)")
                    break
                waited += delay
                logger.info("%s: %s; retry %d/%d in %.2f s", model,
                            _describe(error, self._secret()), attempt, self.max_retries, delay)
                time.sleep(delay)
            request = urllib.request.Request(self.url, data=body, headers=self._headers(),
                                             method="POST")
            try:
                raw = _post(request, self.timeout)
            except urllib.error.HTTPError as exc:
                error = exc
                exc.close()
                if exc.code not in RETRY_STATUSES:
                    break
                continue
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                # OSError covers timeouts and connection errors; HTTPException a garbage
                # status line or a body cut short (BadStatusLine, IncompleteRead, ...).
                error = exc
                continue
            if len(raw) > MAX_REPLY_BYTES:
                return ChatReply(None, "bad_response", attempt + 1,
                                 error=f"reply larger than {MAX_REPLY_BYTES} bytes")
            try:
                content = json.loads(raw)["choices"][0]["message"]["content"]
                if not isinstance(content, str):
                    raise TypeError("content is not a string")
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                return ChatReply(None, "bad_response", attempt + 1, error=(
                    f"not an OpenAI chat completion ({clip(exc, 80, self._secret())})"))
            content = redact(content, self._secret())  # an echoed key is not kept or cached
            if self.cache is not None:
                self.cache.save(key, {"content": np.asarray(content)})
            return ChatReply(content, "ok", attempt + 1)
        described = _describe(error, self._secret()) + gave_up
        attempt -= bool(gave_up)  # the try that was not made
        logger.warning("%s: request failed after %d attempt(s): %s", model, attempt + 1,
                       described)
        return ChatReply(None, "error", attempt + 1, error=described)

    def _secret(self):
        """The API key, which a server may echo (a reason phrase, a reply) and is never kept."""
        return os.environ.get(self.api_key_env) if self.api_key_env else None


def redact(text, secret):
    """``text`` with every occurrence of ``secret`` (when long enough to matter) as ``***``."""
    if text is None or not secret or len(secret) < 4:
        return text
    return str(text).replace(secret, "***")


def clip(text, limit, secret):
    """A server's words as kept in a message: the key redacted first, then cut to ``limit``.

    In this order, a cut can never leave part of the key behind (a key at the end of
    a long reason phrase, cut in the middle, would no longer match whole).
    """
    return f"{redact(str(text), secret):.{limit}}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are reported, not followed: the key must not go to another server."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status


class _Watchdog:
    """Shut a socket down when a request's total deadline passes.

    The socket timeout bounds each read, not a reply dripped one byte at a time;
    shutting the socket down ends the blocked read at once.
    """

    def __init__(self, deadline):
        self.deadline = deadline
        self.fired = False
        self._timers = []

    def arm(self, sock):
        def fire():
            self.fired = True
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), fire)
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def cancel(self):
        for timer in self._timers:
            timer.cancel()


def _handlers(watchdog):
    def connection(base):
        class Connection(base):
            def connect(self):
                super().connect()
                watchdog.arm(self.sock)

        return Connection

    class HTTP(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(connection(http.client.HTTPConnection), req)

    class HTTPS(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(connection(http.client.HTTPSConnection), req,
                                context=self._context)

    return [_NoRedirect(), HTTP(), HTTPS()]


def _post(request, timeout):
    """Send ``request``: the reply body (up to ``MAX_REPLY_BYTES + 1`` bytes) within ``timeout`` s."""
    watchdog = _Watchdog(time.monotonic() + timeout)
    opener = urllib.request.build_opener(*_handlers(watchdog))
    try:
        with opener.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) <= MAX_REPLY_BYTES:
                raw = response.read()  # IncompleteRead when the body is cut short
            else:  # no length, or more than allowed: at most one byte past the limit
                raw = response.read(MAX_REPLY_BYTES + 1)
    except urllib.error.HTTPError:
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        # the per-read socket timeout equals the total deadline, so under load it may end
        # the request before the watchdog's timer thread runs: the same failure, one message
        timed_out = isinstance(error, TimeoutError) or isinstance(
            getattr(error, "reason", None), TimeoutError)
        if watchdog.fired or timed_out:
            raise TimeoutError(f"no complete reply within {timeout:g} s") from None
        raise
    finally:
        watchdog.cancel()
    if watchdog.fired:  # the socket was shut down mid-reply: what was read is cut short
        raise TimeoutError(f"no complete reply within {timeout:g} s")
    return raw


def _describe(error, secret=None):
    """A short description of a request error (never includes request headers).

    What the server chose (a reason phrase, a Location, a status line) is kept
    through :func:`clip`: ``secret`` redacted before anything is cut.
    """
    if isinstance(error, urllib.error.HTTPError):
        if 300 <= error.code < 400:
            target = urllib.parse.urlsplit(error.headers.get("Location", "") or "")
            where = f" to {target.scheme}://{target.netloc}" if target.netloc else ""
            return (f"HTTP {error.code} redirect{clip(where, 100, secret)} not followed "
                    "(requests go only to base_url; set base_url to the final address)")
        return f"HTTP {error.code} {clip(error.reason, 100, secret)}"
    if isinstance(error, urllib.error.URLError):
        reason = error.reason
        if isinstance(reason, TimeoutError):
            return "timed out"
        return f"connection failed ({clip(reason, 100, secret)})"
    if isinstance(error, TimeoutError):
        return f"timed out ({clip(error, 100, secret)})" if str(error) else "timed out"
    return f"{type(error).__name__}: {clip(error, 100, secret)}"
