"""LLMTraitRater against servers that misbehave: redirects, garbage, drips, echoed keys.

Real sockets on 127.0.0.1 (two ports are two origins); every failure must be a
failed request in ``report_``, never an exception out of ``transform``, and the
API key must never reach another server, a log line or the report.
"""

import http.server
import json
import logging
import socketserver
import threading
import time
import warnings

import numpy as np
import pytest

from skpersona.text import LLMTraitRater

from .test_rater import KEY, _reply, chat_server, serving

TEXT = ["I love parties and meeting people."]


class _Raw(socketserver.StreamRequestHandler):
    """Answers by the first path segment: garbage, short, drip, echo, redirect-<port>."""

    def handle(self):
        request_line = self.rfile.readline().decode("latin-1")
        headers = {}
        while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        self.rfile.read(int(headers.get("content-length", 0)))
        mode = request_line.split()[1].split("/")[1]
        with self.server.lock:
            self.server.seen.append((mode, headers.get("authorization")))
        try:
            if mode == "garbage":
                self.wfile.write(b"HELLO THERE\r\n\r\n")
            elif mode == "short":  # promises 500 bytes, sends 10 and hangs up
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"choices\"")
            elif mode == "drip":  # a byte every 0.5 s, for as long as the client listens
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                for _ in range(200):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            elif mode == "echo":  # a reason phrase that echoes the key
                token = (headers.get("authorization") or "").removeprefix("Bearer ")
                self.wfile.write(f"HTTP/1.1 401 bad key {token}\r\nContent-Length: 0\r\n"
                                 "\r\n".encode())
            elif mode == "echo-content":  # a 200 whose content echoes the key
                token = (headers.get("authorization") or "").removeprefix("Bearer ")
                body = json.dumps(_reply(f"your key is {token}")).encode()
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
                                 + body)
            elif mode.startswith("pad"):  # pad-<kind>-<n>: the key after n characters
                _, kind, n = mode.split("-")
                token = (headers.get("authorization") or "").removeprefix("Bearer ")
                said = "x" * int(n) + token
                if kind == "reason":
                    self.wfile.write(f"HTTP/1.1 401 {said}\r\nContent-Length: 0\r\n\r\n"
                                     .encode())
                elif kind == "location":
                    self.wfile.write(f"HTTP/1.1 302 Found\r\nLocation: http://{said}@h/\r\n"
                                     "Content-Length: 0\r\n\r\n".encode())
                else:  # a 200 whose content holds no ratings
                    body = json.dumps(_reply(said)).encode()
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
                                     % len(body) + body)
            elif mode.startswith("redirect"):
                code, port = mode.split("-")[1:]
                self.wfile.write(
                    f"HTTP/1.1 {code} Found\r\nLocation: http://127.0.0.1:{port}/v1/chat/"
                    "completions\r\nContent-Length: 0\r\n\r\n".encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the deadline test)


class _RawServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture(scope="module")
def raw():
    httpd = _RawServer(("127.0.0.1", 0), _Raw)
    httpd.lock, httpd.seen = threading.Lock(), []
    with serving(httpd):
        yield httpd


@pytest.fixture(scope="module")
def server():
    """A well-behaved chat server (the one of test_rater.py), on its own port."""
    with serving(chat_server()) as httpd:
        yield httpd


def _url(raw, mode):
    return f"http://127.0.0.1:{raw.server_address[1]}/{mode}/v1"


def _transform(rater):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = rater.fit(TEXT).transform(TEXT)
    return out, rater.report_.iloc[0]


@pytest.mark.parametrize("code", [302, 307, 308])
def test_redirect_to_another_origin_is_not_followed_and_the_key_stays(raw, server, monkeypatch,
                                                                      code):
    monkeypatch.setenv("SKP_TEST_API_KEY", KEY)
    other = server.server_address[1]  # a real chat server on another port: another origin
    server.state["requests"].clear()
    rater = LLMTraitRater(models=["high"], base_url=_url(raw, f"redirect-{code}-{other}"),
                          api_key_env="SKP_TEST_API_KEY", max_retries=0, timeout=5)
    out, row = _transform(rater)
    assert server.state["requests"] == []  # nothing, and no key, reached the other origin
    assert np.isnan(out).all() and row["status"] == "error"
    assert f"HTTP {code} redirect to http://127.0.0.1:{other} not followed" in row["error"]


@pytest.mark.parametrize("mode,message", [("garbage", "BadStatusLine"),
                                          ("short", "IncompleteRead")])
def test_garbage_status_line_or_short_body_is_a_failed_request(raw, mode, message):
    rater = LLMTraitRater(models=["m"], base_url=_url(raw, mode), max_retries=1, backoff=0.01,
                          timeout=5)
    out, row = _transform(rater)
    assert np.isnan(out).all()
    assert row["status"] == "error" and message in row["error"] and row["attempts"] == 2
    assert rater.n_failed_ == 1


def test_a_dripping_server_cannot_outlast_the_timeout(raw):
    rater = LLMTraitRater(models=["m"], base_url=_url(raw, "drip"), max_retries=0, timeout=2)
    start = time.monotonic()
    out, row = _transform(rater)
    elapsed = time.monotonic() - start
    assert elapsed < 4.0, f"took {elapsed:.1f} s for timeout=2"  # was 30 s and more
    assert row["status"] == "error" and "no complete reply within 2 s" in row["error"]


def test_a_key_echoed_by_the_server_is_redacted_everywhere(raw, monkeypatch, caplog):
    monkeypatch.setenv("SKP_TEST_API_KEY", KEY)
    for mode in ("echo", "echo-content"):
        rater = LLMTraitRater(models=["m"], base_url=_url(raw, mode), max_retries=1,
                              backoff=0.01, timeout=5, api_key_env="SKP_TEST_API_KEY")
        with caplog.at_level(logging.DEBUG):
            _, row = _transform(rater)
        assert row["status"] in ("error", "malformed")
        assert "***" in row["error"] and KEY not in rater.report_.to_string()
    assert "bad key ***" in caplog.text and KEY not in caplog.text
    with raw.lock:
        assert (("echo", f"Bearer {KEY}")) in raw.seen  # it was sent, to base_url only


def test_report_is_persisted_by_skops_with_plain_types(server, tmp_path):
    import skops.io as sio

    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    rater = LLMTraitRater(models=["high", "garbage"], base_url=url, traits=["extraversion"])
    _transform(rater)
    path = tmp_path / "rater.skops"
    sio.dump(rater, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted == ["skpersona.text._rater.LLMTraitRater"]  # no pandas internals
    loaded = sio.load(path, trusted=untrusted)
    assert loaded.report_.equals(rater.report_)
    assert loaded.report_["status"].tolist() == ["ok", "malformed"]


def test_no_deadline_timer_outlives_the_request(raw):
    rater = LLMTraitRater(models=["m"], base_url=_url(raw, "garbage"), max_retries=0, timeout=5)
    _transform(rater)
    time.sleep(0.05)
    assert not [t for t in threading.enumerate() if isinstance(t, threading.Timer) and t.is_alive()]


LONG_KEY = "sk-" + "".join(np.random.default_rng(24).choice(list("ABCDEFGHJKLMNPQRSTUVWYZ"
                                                                   "0123456789"), 53))


def _fragments(text, key=LONG_KEY, size=6):
    """The pieces of ``key`` (``size`` characters or more) that ``text`` holds."""
    return {key[i:i + size] for i in range(len(key) - size + 1)} & {
        text[i:i + size] for i in range(len(text) - size + 1)}


def test_the_key_is_redacted_before_any_cut_at_every_offset():
    import http.client
    import urllib.error
    from email.message import Message

    from skpersona.text._chat import _describe
    from skpersona.text._rater import unreadable

    for n in range(0, 260):
        said = "x" * n + LONG_KEY
        location = Message()
        location["Location"] = f"http://{said}@h/"
        kept = [
            _describe(urllib.error.HTTPError("u", 401, said, Message(), None), LONG_KEY),
            _describe(urllib.error.HTTPError("u", 302, "Found", location, None), LONG_KEY),
            _describe(urllib.error.URLError(said), LONG_KEY),
            _describe(http.client.BadStatusLine(said), LONG_KEY),
            _describe(TimeoutError(said), LONG_KEY),
            unreadable(said, LONG_KEY),
            unreadable("'\\" + said, LONG_KEY),  # characters that repr escapes
        ]
        for text in kept:
            assert not _fragments(text), (n, text)


@pytest.mark.parametrize("kind", ["reason", "location", "content"])
def test_no_piece_of_an_echoed_key_is_kept_in_report_logs_cache_or_file(raw, monkeypatch,
                                                                        caplog, tmp_path, kind):
    import zipfile

    import skops.io as sio

    monkeypatch.setenv("SKP_TEST_API_KEY", LONG_KEY)
    for n in (0, 50, 80, 99, 110, 119, 150):
        rater = LLMTraitRater(models=["m"], base_url=_url(raw, f"pad-{kind}-{n}"),
                              max_retries=1, backoff=0.01, timeout=5,
                              api_key_env="SKP_TEST_API_KEY", cache_dir=tmp_path / "cache")
        with caplog.at_level(logging.DEBUG):
            _, row = _transform(rater)
        assert row["status"] in ("error", "malformed")
        assert "***" in row["error"] or n > 90  # beyond the cut, not even the stars
        sio.dump(rater, tmp_path / "rater.skops")
        with zipfile.ZipFile(tmp_path / "rater.skops") as archive:
            saved = b"".join(archive.read(name) for name in archive.namelist())
        cached = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*.npz"))
        for text in (rater.report_.to_string(), caplog.text,
                     saved.decode("latin-1"), cached.decode("latin-1"),
                     cached.decode("utf-32-le", errors="replace")):
            assert not _fragments(text), (kind, n)
class _SlowDown(http.server.BaseHTTPRequestHandler):
    """Every request: 429 with ``Retry-After: <the first path segment>`` seconds."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.seen += 1
        self.send_response(429)
        self.send_header("Retry-After", self.path.split("/")[1])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("retry_after, attempts", [("60", 1), ("1", 3)])
def test_retry_after_cannot_hold_transform_past_the_timeout(retry_after, attempts):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowDown)
    httpd.seen = 0
    url = f"http://127.0.0.1:{httpd.server_address[1]}/{retry_after}/v1"
    rater = LLMTraitRater(models=["m"], base_url=url, max_retries=3, timeout=2.5)
    done = {}
    with serving(httpd):
        start = time.monotonic()
        # in a thread: the old client slept 60 s per retry (3 minutes) before failing
        worker = threading.Thread(target=lambda: done.update(row=_transform(rater)[1]),
                                  daemon=True)
        worker.start()
        worker.join(timeout=15)
        elapsed = time.monotonic() - start
    assert not worker.is_alive(), "transform still waiting on Retry-After"
    row = done["row"]
    assert elapsed < 2.5 + 2 and httpd.seen == attempts == row["attempts"]
    assert row["status"] == "error" and "HTTP 429" in row["error"]
    assert f"not retried: a wait of {retry_after} s exceeds" in row["error"]
