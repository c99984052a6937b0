"""LLMTraitRater against a real OpenAI-format HTTP server on 127.0.0.1 (a thread)."""

import contextlib
import json
import logging
import pickle
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from skpersona import BIG_FIVE
from skpersona.independence import aggregate_ratings
from skpersona.text import DEFAULT_PROMPT, LLMTraitRater, aggregate_votes, parse_ratings

KEY = "sekrit-test-key-123"
TRAITS = list(BIG_FIVE)


def _reply(content):
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
    }


def _ratings(value, traits=TRAITS):
    return json.dumps({t: value for t in traits})


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeOpenAI/1.0"

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, code, payload=None, raw=None, headers=()):
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 - http.server API
        state = self.server.state
        if self.path != "/v1/chat/completions":
            return self._send(404, {"error": {"message": "not found"}})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = body["model"]
        text = body["messages"][-1]["content"]
        with state["lock"]:
            state["requests"].append({"model": model, "auth": self.headers.get("Authorization")})
            state["seen"][(model, text)] += 1
            seen = state["seen"][(model, text)]
        if model == "high":
            return self._send(200, _reply(_ratings(3)))
        if model == "low":
            return self._send(200, _reply(_ratings(1)))
        if model == "medium":
            return self._send(200, _reply(_ratings(2)))
        if model == "unsure":
            return self._send(200, _reply(_ratings(0)))
        if model == "fenced":
            content = "Sure! Here are the ratings:\n```json\n" + _ratings(2) + "\n```\nHope it helps."
            return self._send(200, _reply(content))
        if model == "garbage":
            return self._send(200, _reply("I'm sorry, I cannot rate people."))
        if model == "partial":
            return self._send(200, _reply(json.dumps({"Openness": 1, "extraversion": "high"})))
        if model == "badjson":
            return self._send(200, raw=b"<html>proxy error</html>")
        if model == "flaky":
            if seen == 1:
                return self._send(500, {"error": {"message": "overloaded"}})
            return self._send(200, _reply(_ratings(3)))
        if model == "ratelimited":
            if seen == 1:
                return self._send(429, {"error": {"message": "slow down"}},
                                  headers=[("Retry-After", "0")])
            return self._send(200, _reply(_ratings(1)))
        if model == "broken":
            return self._send(503, {"error": {"message": "down"}})
        if model == "slow":
            time.sleep(3.0)
            return self._send(200, _reply(_ratings(2)))
        if model == "auth":
            if self.headers.get("Authorization") != f"Bearer {KEY}":
                return self._send(401, {"error": {"message": "bad key"}})
            return self._send(200, _reply(_ratings(3)))
        if model == "wordy":  # rates extraversion from the text itself
            value = 3 if "parties" in text else 1
            return self._send(200, _reply(json.dumps({"extraversion": value})))
        return self._send(404, {"error": {"message": f"model {model} not found"}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # the client gave up on a slow reply (the timeout test): not an error here
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serving(httpd):
    """``httpd`` answering on a daemon thread for the block, then shut down."""
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def chat_server():
    """The well-behaved chat server of these tests on a free loopback port (not yet serving)."""
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.state = {"lock": threading.Lock(), "requests": [], "seen": Counter()}
    return httpd


@pytest.fixture(scope="module")
def server():
    with serving(chat_server()) as httpd:
        yield httpd


@pytest.fixture
def base_url(server):
    server.state["requests"].clear()
    server.state["seen"].clear()
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


def _rater(base_url, models, **kwargs):
    kwargs.setdefault("backoff", 0.01)
    kwargs.setdefault("timeout", 5.0)
    return LLMTraitRater(models=models, base_url=base_url, **kwargs)


TEXTS = ["I love parties and meeting people.", "I keep to myself most of the time."]


def test_median_over_models_after_dropping_zeros(base_url):
    rater = _rater(base_url, ["high", "low", "unsure"]).fit(TEXTS)
    out = rater.transform(TEXTS)
    assert out.shape == (2, 5)
    np.testing.assert_array_equal(out, 2.0)  # median of [3, 1]; the 0 is dropped
    assert rater.n_malformed_ == 0 and rater.n_failed_ == 0
    assert len(rater.report_) == 6
    assert set(rater.report_["status"]) == {"ok"}
    assert rater.report_.loc[rater.report_["model"] == "unsure", TRAITS].eq(0).all().all()
    assert rater.get_feature_names_out().tolist() == TRAITS


def test_even_number_of_votes_gives_halves_and_rescale(base_url):
    out = _rater(base_url, ["high", "medium"]).fit(TEXTS).transform(TEXTS)
    np.testing.assert_array_equal(out, 2.5)
    scaled = _rater(base_url, ["high", "medium"], rescale=True).fit(TEXTS).transform(TEXTS)
    np.testing.assert_array_equal(scaled, 0.75)


def test_all_zeros_give_fill_value(base_url):
    out = _rater(base_url, ["unsure"]).fit(TEXTS).transform(TEXTS)
    assert np.isnan(out).all()
    out = _rater(base_url, ["unsure"], fill_value=0.0).fit(TEXTS).transform(TEXTS)
    np.testing.assert_array_equal(out, 0.0)


def test_malformed_replies_are_counted_not_fatal(base_url):
    rater = _rater(base_url, ["high", "garbage", "partial", "fenced", "badjson"]).fit(TEXTS)
    with pytest.warns(UserWarning, match="6 malformed"):
        out = rater.transform(TEXTS)
    report = rater.report_.set_index(["sample", "model"])
    assert (report.xs("garbage", level="model")["status"] == "malformed").all()
    assert (report.xs("partial", level="model")["status"] == "partial").all()
    assert (report.xs("fenced", level="model")["status"] == "ok").all()
    assert (report.xs("badjson", level="model")["status"] == "bad_response").all()
    assert rater.n_malformed_ == 6 and rater.n_failed_ == 0
    # openness: votes 3 (high), 1 (partial), 2 (fenced) -> 2; the others: 3 and 2 -> 2.5
    np.testing.assert_array_equal(out[:, 0], 2.0)
    np.testing.assert_array_equal(out[:, 1:], 2.5)
    # the partial reply's invalid "high" is not a vote
    assert np.isnan(report.xs("partial", level="model")["extraversion"]).all()


def test_retries_after_server_error_and_rate_limit(base_url, server):
    rater = _rater(base_url, ["flaky", "ratelimited"]).fit(TEXTS)
    out = rater.transform(TEXTS)
    np.testing.assert_array_equal(out, 2.0)
    assert rater.n_failed_ == 0
    assert (rater.report_["attempts"] == 2).all()
    assert len(server.state["requests"]) == 8


def test_retries_are_bounded_and_failures_reported(base_url, server, caplog):
    rater = _rater(base_url, ["broken", "high"], max_retries=2).fit(TEXTS)
    with caplog.at_level(logging.INFO, logger="skpersona.text"):
        with pytest.warns(UserWarning, match="2 failed"):
            out = rater.transform(TEXTS)
    np.testing.assert_array_equal(out, 3.0)  # the working model still votes
    broken = rater.report_[rater.report_["model"] == "broken"]
    assert (broken["status"] == "error").all() and (broken["attempts"] == 3).all()
    assert broken["error"].str.contains("HTTP 503").all()
    assert rater.n_failed_ == 2
    assert "retry 1/2" in caplog.text


def test_client_errors_are_not_retried(base_url, server):
    rater = _rater(base_url, ["no-such-model"]).fit(TEXTS)
    with pytest.warns(UserWarning):
        out = rater.transform(TEXTS[:1])
    assert np.isnan(out).all()
    assert rater.report_["attempts"].tolist() == [1]
    assert rater.report_["error"].str.contains("404").all()


def test_timeout(base_url):
    rater = _rater(base_url, ["slow"], timeout=0.3, max_retries=1, backoff=0.0).fit(TEXTS)
    start = time.perf_counter()
    with pytest.warns(UserWarning, match="1 failed"):
        out = rater.transform(TEXTS[:1])
    assert time.perf_counter() - start < 2.5  # two tries of 0.3 s, not the 3 s reply
    assert np.isnan(out).all()
    assert rater.report_["error"].tolist() == ["timed out (no complete reply within 0.3 s)"]
    assert rater.report_["attempts"].tolist() == [2]


def test_timeout_message_does_not_depend_on_which_timer_ends_the_read(base_url, monkeypatch):
    # under load the per-read socket timeout can end the read before the watchdog thread
    # runs; a watchdog that never fires reproduces that: the message must stay the same
    from skpersona.text import _chat

    monkeypatch.setattr(_chat._Watchdog, "arm", lambda self, sock: None)
    rater = _rater(base_url, ["slow"], timeout=0.3, max_retries=0, backoff=0.0).fit(TEXTS)
    with pytest.warns(UserWarning, match="1 failed"):
        rater.transform(TEXTS[:1])
    assert rater.report_["error"].tolist() == ["timed out (no complete reply within 0.3 s)"]


def test_connection_refused_is_a_failure_not_a_crash():
    import socket

    with socket.socket() as sock:  # a free loopback port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rater = LLMTraitRater(models=["m"], base_url=f"http://127.0.0.1:{port}/v1",
                          max_retries=1, backoff=0.0, timeout=2.0).fit(TEXTS)
    with pytest.warns(UserWarning):
        out = rater.transform(TEXTS[:1])
    assert np.isnan(out).all()
    assert rater.report_["error"].str.contains("connection failed").all()


def test_api_key_from_environment_never_leaks(base_url, server, monkeypatch, caplog):
    monkeypatch.setenv("SKP_TEST_API_KEY", KEY)
    rater = _rater(base_url, ["auth", "broken"], api_key_env="SKP_TEST_API_KEY", max_retries=1)
    with caplog.at_level(logging.DEBUG):
        with pytest.warns(UserWarning) as record:
            out = rater.fit(TEXTS).transform(TEXTS)
    np.testing.assert_array_equal(out, 3.0)
    assert {r["auth"] for r in server.state["requests"]} == {f"Bearer {KEY}"}
    assert KEY not in caplog.text
    assert all(KEY not in str(w.message) for w in record)
    assert KEY not in repr(rater) and KEY.encode() not in pickle.dumps(rater)
    assert KEY not in rater.report_.to_string()
    # without the key the server refuses, and nothing crashes
    no_key = _rater(base_url, ["auth"])
    with pytest.warns(UserWarning):
        assert np.isnan(no_key.fit(TEXTS).transform(TEXTS)).all()
    assert no_key.report_["error"].str.contains("401").all()


def test_missing_key_variable_is_an_error_in_fit(monkeypatch):
    monkeypatch.delenv("SKP_TEST_ABSENT_KEY", raising=False)
    with pytest.raises(ValueError, match="SKP_TEST_ABSENT_KEY"):
        LLMTraitRater(api_key_env="SKP_TEST_ABSENT_KEY").fit(TEXTS)


def test_cache_avoids_repeated_requests(base_url, server, tmp_path):
    rater = _rater(base_url, ["high", "wordy"], cache_dir=tmp_path, traits=["extraversion"])
    first = rater.fit(TEXTS).transform(TEXTS)
    n_requests = len(server.state["requests"])
    assert n_requests == 4 and not rater.report_["cached"].any()
    second = clone(rater).fit(TEXTS).transform(TEXTS)
    assert len(server.state["requests"]) == n_requests
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first[:, 0], [3.0, 2.0])
    # a changed prompt is a different request, so it is not served from the cache
    rater.set_params(prompt="Traits: {traits}. Reply like {example}.\n{text}").fit(TEXTS)
    rater.transform(TEXTS)
    assert len(server.state["requests"]) == n_requests + 4


def test_empty_texts_are_not_sent(base_url, server):
    rater = _rater(base_url, ["high"]).fit(["a"])
    out = rater.transform(["Hello there.", "", None, "   "])
    assert len(server.state["requests"]) == 1
    np.testing.assert_array_equal(out[0], 3.0)
    assert np.isnan(out[1:]).all()
    assert rater.report_["status"].tolist() == ["ok", "empty", "empty", "empty"]


def test_threads_give_the_same_result(base_url):
    texts = [f"Text number {i} about parties." for i in range(12)]
    serial = _rater(base_url, ["high", "low", "medium"]).fit(texts).transform(texts)
    threaded = _rater(base_url, ["high", "low", "medium"], n_jobs=4).fit(texts).transform(texts)
    np.testing.assert_array_equal(serial, threaded)


def test_prompt_says_scale_and_text(base_url, server):
    rater = _rater(base_url, ["high"], traits="hexaco").fit(TEXTS)
    payload = rater._payload("high", "My answer.")
    user = payload["messages"][-1]["content"]
    assert "0 = the text does not give enough information" in user
    assert "honesty_humility" in user and "My answer." in user
    assert payload["messages"][0]["role"] == "system"
    with pytest.warns(UserWarning, match="2 malformed"):  # it rates the Big Five only
        assert rater.transform(TEXTS).shape == (2, 6)
    assert (rater.report_["status"] == "partial").all()


def test_in_a_pipeline(base_url):
    texts = ["I love parties."] * 3 + ["I stay home."] * 3
    y = np.array([0.9, 0.8, 0.85, 0.2, 0.3, 0.25])
    pipe = make_pipeline(
        _rater(base_url, ["wordy"], traits=["extraversion"]),
        SimpleImputer(),
        Ridge(alpha=1e-3),
    )
    pred = pipe.fit(texts, y).predict(texts)
    assert pred[:3].mean() > 0.8 and pred[3:].mean() < 0.3


def test_parameter_errors():
    with pytest.raises(ValueError, match="non-empty"):
        LLMTraitRater(models=[]).fit(TEXTS)
    with pytest.raises(ValueError, match="duplicates"):
        LLMTraitRater(models=["a", "a"]).fit(TEXTS)
    with pytest.raises(ValueError, match="placeholder"):
        LLMTraitRater(prompt="no text here").fit(TEXTS)
    with pytest.raises(ValueError, match="unknown placeholder"):
        LLMTraitRater(prompt="{text} {oops}").fit(TEXTS)
    with pytest.raises(ValueError, match="http"):
        LLMTraitRater(base_url="localhost:1234").fit(TEXTS)
    with pytest.raises(TypeError, match="Row 1"):
        LLMTraitRater().fit(["ok", 3])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"openness": 3, "conscientiousness": 2, "extraversion": 1, "agreeableness": 0, '
         '"neuroticism": 2}', ({t: v for t, v in zip(TRAITS, [3, 2, 1, 0, 2])}, "ok")),
        ("Ratings: {\"Openness\": 2.0}. Done {not json}", ({"openness": 2}, "partial")),
        ('{"openness": 5, "extraversion": -1}', ({}, "malformed")),
        ('{"openness": true}', ({}, "malformed")),
        ("[1, 2, 3]", ({}, "malformed")),
        ("", ({}, "malformed")),
        ('{"Emotional Stability": 3, "open-ness": 1, "openness": "2"}', ({"openness": 2}, "partial")),
    ],
)
def test_parse_ratings(content, expected):
    assert parse_ratings(content, TRAITS) == expected


def test_aggregate_votes():
    votes = np.array([[[3, 0, np.nan], [1, 0, 2], [2, 0, np.nan]]])
    out = aggregate_votes(votes)
    assert out[0, 0] == 2.0 and np.isnan(out[0, 1]) and out[0, 2] == 2.0
    assert aggregate_votes(votes, fill_value=-1)[0, 1] == -1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([np.nan, 0.0, 1.0, 2.0, 3.0]), min_size=24, max_size=24))
def test_aggregate_votes_agrees_with_aggregate_ratings(flat):
    # the two public medians share one core: on PersonaX votes (0 = no information,
    # NaN = no reply) the rater's cube form equals the table form, trait by trait
    votes = np.array(flat).reshape(4, 3, 2)
    out = aggregate_votes(votes)
    for trait in range(2):
        np.testing.assert_array_equal(out[:, trait], aggregate_ratings(votes[:, :, trait]))
        expected = [np.median([v for v in row if v > 0]) if any(v > 0 for v in row) else np.nan
                    for row in votes[:, :, trait]]
        np.testing.assert_array_equal(out[:, trait], expected)


def test_default_prompt_is_persona_x_style():
    assert "1 = low, 2 = medium, 3 = high" in DEFAULT_PROMPT
    assert "{text}" in DEFAULT_PROMPT


def test_truncated_cache_entry_is_asked_again(base_url, server, tmp_path):
    rater = _rater(base_url, ["high"], cache_dir=tmp_path, traits=["extraversion"])
    first = rater.fit(TEXTS[:1]).transform(TEXTS[:1])
    n_requests = len(server.state["requests"])
    (entry,) = tmp_path.rglob("*.npz")
    entry.write_bytes(b"")
    with pytest.warns(RuntimeWarning, match=f"cache entry {entry} is unreadable"):
        fresh = clone(rater).fit(TEXTS[:1])
        again = fresh.transform(TEXTS[:1])
    np.testing.assert_array_equal(again, first)
    assert len(server.state["requests"]) == n_requests + 1
    assert not fresh.report_["cached"].any()
