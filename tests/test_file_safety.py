"""No capability comes from a file: the loader gives loaded estimators the user's values.

Real skops files built only from skpersona (and scikit-learn) classes, so skops
trusts them; ``skpersona predict`` run as a fresh process; real HTTP servers on
127.0.0.1; a real model folder with an ``auto_map`` and code. These files are the
threat model's examples (doc/user_guide/security.rst).
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline

import skpersona
from skpersona.au import AUExtractor
from skpersona.fusion import FusionRegressor
from skpersona.text import LLMTraitRater, TextEmbedder
from skpersona.text._models import model_code, resolve_model_name
from skpersona.utils import UnsafeModelError, check_loaded_estimator

from .text.test_rater import KEY, chat_server, serving

REPO = Path(__file__).resolve().parents[1]
RATER = "skpersona.text._rater.LLMTraitRater"
TEXTS = ["I love parties and meeting people."]
TABLE = pd.DataFrame({"video_id": ["a", "b", "c"], "a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 1.0],
                      "transcript": ["I love parties.", "I read alone.", "I plan ahead."]})


@pytest.fixture(scope="module")
def server():
    with serving(chat_server()) as httpd:
        yield httpd


@pytest.fixture
def url(server):
    server.state["requests"].clear()
    server.state["seen"].clear()
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


@pytest.fixture(autouse=True)
def no_allow_file(monkeypatch):
    """The user's own allow-list file must not decide these tests."""
    monkeypatch.setenv("SKPERSONA_ALLOW_FILE", "off")


@pytest.fixture(scope="module")
def code_folder(tmp_path_factory):
    """The default model's folder plus an auto_map to a module that leaves a mark."""
    folder = tmp_path_factory.mktemp("model") / "with_code"
    shutil.copytree(resolve_model_name("all-MiniLM-L6-v2"), folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "custom.Model"}
    (folder / "config.json").write_text(json.dumps(config))
    # transformers runs a copy of the module elsewhere: the mark goes to this folder by name
    (folder / "custom.py").write_text(
        f"import pathlib\npathlib.Path({str(folder / 'RAN')!r}).write_text('code ran')\n")
    return folder


def _bundle(estimator, reads="transcript", targets=("extraversion",), features=None):
    from skpersona.cli._io import MODEL_FORMAT

    return {"format": MODEL_FORMAT, "format_version": 1,
            "skpersona_version": skpersona.__version__, "model_name": "ridge-text",
            "targets": list(targets), "reads": reads, "features": features,
            "estimator": estimator}


def _dump(obj, path):
    from skpersona.cli._io import dump_model

    dump_model(obj, path)
    return path


def _files(root):
    return {p for p in Path(root).rglob("*") if p.is_file()}


def _env(tmp_path, **extra):
    """A fresh process's environment: its own home, caches and config, no session key."""
    env = {k: v for k, v in os.environ.items() if k != "SKPERSONA_SESSION_KEY"}
    env.update(PYTHONPATH=str(REPO), HOME=str(tmp_path / "home"),
               XDG_CACHE_HOME=str(tmp_path / "home" / ".cache"),
               XDG_CONFIG_HOME=str(tmp_path / "home" / ".config"),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    for name in ("SKPERSONA_CACHE_DIR", "SKPERSONA_ALLOW_FILE"):
        env.pop(name, None)
    env.update(extra)
    return env


def _predict(tmp_path, model, *flags, **env):
    """``skpersona predict`` as a fresh process: (exit status, stderr)."""
    TABLE.to_csv(tmp_path / "victim.csv", index=False)
    done = subprocess.run(
        [sys.executable, "-m", "skpersona.cli", "predict", str(model),
         str(tmp_path / "victim.csv"), "-o", str(tmp_path / "pred.csv"), *flags],
        env=_env(tmp_path, **env), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stderr


def _text_model(step):
    return make_pipeline(ColumnTransformer([("text", step, "transcript")]), Ridge())


# -- the High item: a file that shadows the old safety methods --------------------------

def test_a_file_that_shadows_safety_methods_sends_nothing(url, server, tmp_path, monkeypatch):
    """The attack of issue 24: ``_file_risks = list`` made the old seal see no risk."""
    monkeypatch.setenv("VICTIM_KEY", KEY)
    rater = LLMTraitRater(models=["high"], base_url=url, api_key_env="VICTIM_KEY",
                          traits=["extraversion"])
    model = _text_model(rater).fit(TABLE, [0.1, 0.5, 0.9])
    for item in (rater, model[0].transformers_[0][1]):
        item._file_risks = list  # skops trusts builtins.list
        item._check_file_risks = list
    _dump(_bundle(model), tmp_path / "evil.skops")
    server.state["requests"].clear()
    server.state["seen"].clear()
    before = _files(tmp_path)
    status, err = _predict(tmp_path, tmp_path / "evil.skops", VICTIM_KEY="victim-secret")
    assert status == 1, err
    assert f"--allow-base-url {url}" in err and "--allow-api-key-env VICTIM_KEY" in err
    assert server.state["requests"] == [] and not server.state["seen"]  # no key, no transcript
    assert _files(tmp_path) - before == {tmp_path / "victim.csv"}  # nothing written


def test_a_file_whose_embedder_runs_a_folders_code_runs_nothing(code_folder, tmp_path):
    model = _text_model(TextEmbedder(cache_dir=None)).fit(TABLE, [0.1, 0.5, 0.9])
    fitted = model[0].transformers_[0][1]
    fitted.model_name, fitted.trust_remote_code = str(code_folder), True
    fitted._file_risks = list
    _dump(_bundle(model), tmp_path / "evil.skops")
    before = _files(tmp_path)
    status, err = _predict(tmp_path, tmp_path / "evil.skops")
    assert not (code_folder / "RAN").exists()  # the code never ran
    assert _files(tmp_path) - before == {tmp_path / "victim.csv"}
    assert status == 1 and "--trust-remote-code" in err, err


def test_state_that_shadows_a_method_or_is_no_attribute_is_refused(tmp_path):
    for key, value in [("_render", list), ("transform", list), ("get_params", list),
                       ("__class__", list), ("base_url2", "http://x"),
                       ("_parameter_constraints", {})]:
        rater = LLMTraitRater().fit(TEXTS)
        setattr(rater, key, value) if key != "__class__" else vars(rater).update({key: value})
        path = tmp_path / "shadow.skops"
        sio.dump({"model": [rater]}, path)
        with pytest.raises(UnsafeModelError, match=f"holds state .*{key}"):
            skpersona.load(path)
        loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
        with pytest.raises(UnsafeModelError, match=f"holds state .*{key}"):
            check_loaded_estimator(loaded)


def test_the_walk_finds_estimators_in_meta_estimators_lists_and_dicts(url, tmp_path):
    hidden = [GridSearchCV(LLMTraitRater(base_url=url), {"temperature": [0.0]}),
              {"deep": [(Pipeline([("r", LLMTraitRater(base_url=url))]),)]},
              ColumnTransformer([("llm", LLMTraitRater(base_url=url), "transcript")])]
    for obj in hidden:
        sio.dump(obj, tmp_path / "m.skops")
        with pytest.raises(UnsafeModelError, match=f"base_url='{url}'"):
            skpersona.load(tmp_path / "m.skops")
        assert skpersona.load(tmp_path / "m.skops", allow={"base_url": url}) is not None


_SEARCH_TYPES = ["sklearn.metrics._scorer._PassthroughScorer",
                 "sklearn.model_selection._split.KFold"]  # what a fitted search holds


def _fitted_search():
    X = np.random.default_rng(0).normal(size=(20, 2))
    return GridSearchCV(Pipeline([("m", Ridge())]), {"m": [Ridge(), Ridge(alpha=2.0)]},
                        cv=2).fit(X, X[:, 0])


@pytest.mark.parametrize("masked", [False, True])
def test_the_walk_finds_an_estimator_in_a_searchs_object_array(url, tmp_path, masked):
    """``cv_results_["param_m"]`` is a masked object array: an estimator placed in it
    (under its mask too) is found; the old walk skipped arrays."""
    search = _fitted_search()
    param = search.cv_results_["param_m"]
    assert isinstance(param, np.ma.MaskedArray) and param.dtype == object
    param[1] = LLMTraitRater(base_url=url)
    if masked:
        param[1] = np.ma.masked  # hides the entry, keeps the object in the data
        assert param.data[1].base_url == url
    sio.dump(search, tmp_path / "m.skops")
    with pytest.raises(UnsafeModelError, match=f"base_url='{url}'"):
        skpersona.load(tmp_path / "m.skops", trusted=_SEARCH_TYPES)
    loaded = skpersona.load(tmp_path / "m.skops", trusted=_SEARCH_TYPES, allow={"base_url": url})
    assert loaded.cv_results_["param_m"].data[1].base_url == url


def test_the_walk_finds_estimators_in_arrays_and_other_objects_state(url, tmp_path):
    from sklearn.model_selection import KFold

    splitter = KFold(2)
    splitter.hidden = {"deep": np.array([[None, LLMTraitRater(base_url=url)]], dtype=object)}
    for obj, trusted in [({"a": np.array([1, LLMTraitRater(base_url=url)], dtype=object)}, []),
                         ([np.array([[LLMTraitRater(base_url=url)]] * 2, dtype=object)], []),
                         ({"cv": splitter}, ["sklearn.model_selection._split.KFold"])]:
        sio.dump(obj, tmp_path / "m.skops")
        with pytest.raises(UnsafeModelError, match=f"base_url='{url}'"):
            skpersona.load(tmp_path / "m.skops", trusted=trusted)
        loaded = sio.load(tmp_path / "m.skops", trusted=sio.get_untrusted_types(
            file=tmp_path / "m.skops"))
        with pytest.raises(UnsafeModelError, match=f"base_url='{url}'"):
            check_loaded_estimator(loaded)


class _TaggedDict(dict):
    """A dict subclass whose instances also have attributes (as sklearn's Bunch)."""


def test_the_walk_looks_into_the_state_of_container_subclasses():
    from skpersona.utils._file_safety import _walk

    tagged = _TaggedDict(a=1)
    tagged.hidden = [Ridge()]
    listed = type("TaggedList", (list,), {})([1])
    listed.hidden = Ridge(alpha=2.0)
    found = list(_walk({"x": tagged, "y": listed}))
    assert sorted(r.alpha for r in found) == [1.0, 2.0]


def test_the_walk_is_lazy_over_array_entries():
    """A large object array is walked entry by entry (a generator), not copied to a list."""
    import tracemalloc

    from skpersona.utils._file_safety import _walk

    big = np.empty(300_000, dtype=object)  # tracemalloc slows the walk: 3 s, not 25 s
    big[:] = 0.5  # one float object, 300,000 references
    big[-1] = Ridge()
    tracemalloc.start()
    try:
        found = list(_walk({"x": big}))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(found) == 1 and isinstance(found[0], Ridge)
    assert peak < 1 << 20  # a list of the entries alone would be 2.4 MB


def test_the_loader_refuses_and_names_what_allows_it(url, server, tmp_path, monkeypatch):
    monkeypatch.setenv("SKP_TEST_API_KEY", KEY)
    rater = LLMTraitRater(models=["high"], base_url=url, api_key_env="SKP_TEST_API_KEY")
    sio.dump(rater.fit(TEXTS), tmp_path / "r.skops")
    with pytest.raises(UnsafeModelError, match=f"base_url='{url}'.*--allow-base-url {url}"):
        skpersona.load(tmp_path / "r.skops")
    with pytest.raises(UnsafeModelError, match="--allow-api-key-env SKP_TEST_API_KEY"):
        skpersona.load(tmp_path / "r.skops", allow={"base_url": url})  # both must be named
    assert server.state["requests"] == []
    loaded = skpersona.load(tmp_path / "r.skops",
                            allow={"base_url": url, "api_key_env": "SKP_TEST_API_KEY"})
    np.testing.assert_array_equal(loaded.transform(TEXTS), [[3.0] * 5])
    assert [r["auth"] for r in server.state["requests"]] == [f"Bearer {KEY}"]


@pytest.mark.parametrize("step", ["size check", "type check"])
def test_the_file_is_read_once_and_a_swapped_file_is_never_loaded(tmp_path, monkeypatch, step):
    """A file swapped between the checks and the load (time of check, time of use):
    what is loaded is what was checked, and the file is opened once."""
    import builtins
    import io

    import skpersona._loading as loading

    path = tmp_path / "m.skops"
    sio.dump(LLMTraitRater(temperature=0.25), path)
    swapped = sio.dumps(LLMTraitRater(temperature=0.75))

    def swap_after(check):
        def hooked(*args, **kwargs):
            result = check(*args, **kwargs)
            path.write_bytes(swapped)  # the attacker's moment
            return result
        return hooked

    if step == "size check":
        monkeypatch.setattr(loading, "_check_unpacked_size",
                            swap_after(loading._check_unpacked_size))
    else:
        monkeypatch.setattr(sio, "get_untrusted_types", swap_after(sio.get_untrusted_types))
    reads = []  # the loader's opens of the file for reading (not the hook's write)

    def counting(real):
        def open_(file, mode="r", *args, **kwargs):
            if isinstance(file, str | os.PathLike) and "r" in mode:
                reads.append(os.fspath(file))
            return real(file, mode, *args, **kwargs)
        return open_

    for module in (builtins, io):
        monkeypatch.setattr(module, "open", counting(module.open))
    loaded = skpersona.load(path)
    monkeypatch.undo()
    assert loaded.temperature == 0.25  # the checked content, not the swapped file
    assert reads.count(os.fspath(path)) == 1
    assert skpersona.load(path).temperature == 0.75  # the swap did happen


def test_trusted_types_are_skpersonas_public_estimators_only():
    from skpersona._loading import _is_trusted
    from skpersona.utils import all_estimators

    for _, cls in all_estimators():
        assert _is_trusted(f"{cls.__module__}.{cls.__qualname__}", set())
    for name in ("builtins.object", "skpersona.crl._estimators.LatentNet",
                 "skpersona.text._chat.ChatClient", "skpersona.os.system", "skpersona.text"):
        assert not _is_trusted(name, set())
    assert _is_trusted("builtins.object", {"builtins.object"})  # named by the user


def test_no_secret_is_shared_between_processes():
    assert "SKPERSONA_SESSION_KEY" not in os.environ  # no seal, nothing for a child to carry


def test_the_users_own_setting_and_same_session_copies_work(url, server):
    """Copies for workers (pickle, clone, skops without the loader) keep the user's values."""
    rater = LLMTraitRater(models=["high"], base_url=url).fit(TEXTS)
    copies = [pickle.loads(pickle.dumps(rater)), clone(rater),
              sio.loads(sio.dumps(rater), trusted=[RATER])]  # e.g. joblib, Dask, Ray workers
    for copy in copies:
        np.testing.assert_array_equal(copy.fit(TEXTS).transform(TEXTS), [[3.0] * 5])
    assert len(server.state["requests"]) == 3


def test_default_destination_needs_no_allowance(tmp_path):
    sio.dump(LLMTraitRater(), tmp_path / "r.skops")
    assert skpersona.load(tmp_path / "r.skops").base_url == "http://localhost:11434/v1"


def test_model_folder_with_code_is_recognised(code_folder):
    assert "auto_map" in model_code(code_folder) or "custom.py" in model_code(code_folder)
    assert model_code("all-MiniLM-L6-v2") is None  # the shipped folder: weights only
    assert model_code("some/hub-name") is None


@pytest.mark.parametrize("trust", [True, False])
def test_a_loaded_embedder_never_runs_the_files_code(code_folder, tmp_path, trust):
    sio.dump(make_pipeline(TextEmbedder(model_name=str(code_folder), trust_remote_code=trust)),
             tmp_path / "e.skops")
    with pytest.raises(UnsafeModelError, match="--trust-remote-code"):
        skpersona.load(tmp_path / "e.skops")
    assert not (code_folder / "RAN").exists()


# -- a model name that is not a local folder is a download ------------------------------

HUB_NAME = "sentence-transformers/paraphrase-hub-only"


@pytest.fixture
def hub(tmp_path):
    """A loopback stand-in for the model hub (``HF_ENDPOINT``) that records every request
    and serves nothing."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            seen.append(self.path)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = _answer

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_hub_model_name_is_refused_unless_allowed(tmp_path, monkeypatch):
    plain = tmp_path / "plain_folder"
    shutil.copytree(resolve_model_name("all-MiniLM-L6-v2"), plain)
    for name in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", str(plain)):
        sio.dump(make_pipeline(TextEmbedder(model_name=name)), tmp_path / "e.skops")
        assert skpersona.load(tmp_path / "e.skops")[0].model_name == name  # no flag
    for name in (HUB_NAME, str(tmp_path / "no_such_folder")):
        sio.dump(make_pipeline(TextEmbedder(model_name=name)), tmp_path / "e.skops")
        with pytest.raises(UnsafeModelError, match=f"model_name='{name}'.*not a local folder"
                                                   f".*--allow-model-name {name}"):
            skpersona.load(tmp_path / "e.skops")
        assert skpersona.load(tmp_path / "e.skops", allow={"model_name": name})[0].model_name \
            == name
    allow = tmp_path / "allow.toml"
    allow.write_text(f'model_name = ["{HUB_NAME}"]\n')  # one line in the allow-list file
    monkeypatch.setenv("SKPERSONA_ALLOW_FILE", str(allow))
    sio.dump(make_pipeline(TextEmbedder(model_name=HUB_NAME)), tmp_path / "e.skops")
    assert skpersona.load(tmp_path / "e.skops")[0].model_name == HUB_NAME


@pytest.mark.slow  # three fresh processes, one loading the model: ~1 min on 2 cores
def test_predict_online_fetches_no_model_the_file_names(hub, tmp_path):
    """Online (a loopback hub): the default model loads from the package with no flag and
    no request; a file's hub name is refused before any request; allowed, it is fetched."""
    endpoint, seen = hub
    online = dict(HF_HUB_OFFLINE="0", TRANSFORMERS_OFFLINE="0", HF_ENDPOINT=endpoint,
                  HF_HUB_DISABLE_TELEMETRY="1")
    model = _text_model(TextEmbedder(cache_dir=None)).fit(TABLE, [0.1, 0.5, 0.9])
    _dump(_bundle(model), tmp_path / "default.skops")
    status, err = _predict(tmp_path, tmp_path / "default.skops", **online)
    assert status == 0, err  # the saved default: no flag, and nothing fetched
    assert seen == []
    model[0].transformers_[0][1].model_name = HUB_NAME
    _dump(_bundle(model), tmp_path / "hub.skops")
    status, err = _predict(tmp_path, tmp_path / "hub.skops", **online)
    assert status == 1 and f"--allow-model-name {HUB_NAME}" in err, err
    assert seen == []  # refused before any request
    status, err = _predict(tmp_path, tmp_path / "hub.skops", "--allow-model-name", HUB_NAME,
                           **online)
    assert status == 1, err  # the stand-in hub serves nothing
    assert any(HUB_NAME in path for path in seen)  # allowed: it was fetched


# -- the Low/medium item: folders and thread counts chosen by a file --------------------

def test_file_chosen_folders_and_thread_counts_are_the_users(tmp_path):
    evil = str(tmp_path / "evil")
    cpus = os.cpu_count() or 1
    obj = {"models": [AUExtractor(weights_dir=evil, multitask_weights=evil + "/w.safetensors",
                                  cache_dir=evil, torch_threads=5000, n_jobs=5000),
                      AUExtractor(backend="mediapipe", model_path=evil + "/face.task"),
                      Pipeline([("e", TextEmbedder(cache_dir=evil))], memory=evil),
                      LLMTraitRater(cache_dir=evil, n_jobs=-5000),
                      FusionRegressor(torch_threads=5000)]}
    sio.dump(obj, tmp_path / "m.skops")
    with pytest.warns(UserWarning, match="may not choose where files are written") as caught:
        loaded = skpersona.load(tmp_path / "m.skops")
    extractor, mediapipe, pipe, rater, fusion = loaded["models"]
    assert (extractor.weights_dir, extractor.multitask_weights, extractor.cache_dir) == (
        None, None, None)
    assert mediapipe.model_path is None  # the user's $SKPERSONA_MEDIAPIPE_MODEL or default
    assert (extractor.torch_threads, extractor.n_jobs, fusion.torch_threads) == (cpus,) * 3
    assert (pipe.memory, pipe[0].cache_dir, rater.cache_dir, rater.n_jobs) == (
        None, "auto", None, -1)
    message = str(caught[0].message)
    assert f"TextEmbedder.cache_dir='{evil}'" in message and "--allow-cache-dir" in message
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the thread counts are still bounded
        allowed = skpersona.load(tmp_path / "m.skops",
                                 allow={"cache_dir": evil, "weights_dir": evil})
    assert allowed["models"][0].weights_dir == evil and allowed["models"][3].cache_dir == evil
    assert allowed["models"][0].torch_threads == cpus


def test_a_file_chosen_cache_dir_gets_nothing_through_predict(url, server, tmp_path):
    """Embeddings and replies go to the user's cache (or none), never the file's folder."""
    evil = tmp_path / "evil"
    embedder = TextEmbedder(cache_dir=None)
    rater = LLMTraitRater(models=["high"], base_url=url, traits=["extraversion"])
    model = make_pipeline(ColumnTransformer([("text", embedder, "transcript"),
                                             ("llm", rater, "transcript")]), Ridge())
    model.fit(TABLE, [0.1, 0.5, 0.9])
    for step in (embedder, rater, *(t for _, t, _ in model[0].transformers_[:2])):
        step.cache_dir = str(evil)
    _dump(_bundle(model), tmp_path / "m.skops")
    server.state["requests"].clear()
    status, err = _predict(tmp_path, tmp_path / "m.skops", "--allow-base-url", url)
    assert status == 0, err
    assert not evil.exists()
    assert "TextEmbedder.cache_dir=" in err and "replaced by 'auto'" in err
    assert len(server.state["requests"]) == 3  # the allowed server, once per row
    assert list((tmp_path / "home" / ".cache" / "skpersona" / "embeddings").rglob("*.npz"))
    assert pd.read_csv(tmp_path / "pred.csv")["video_id"].tolist() == ["a", "b", "c"]


# -- a model saved in one process loads in a fresh one ----------------------------------

def _save(url, out):
    """Two model files written by this process (the test's): a plain one and one with a
    server; ``skpersona predict`` reads them as a fresh process (no shared state)."""
    from sklearn.preprocessing import StandardScaler

    from skpersona.cli._io import MODEL_FORMAT, dump_model

    table = pd.DataFrame({"video_id": ["a", "b", "c"], "a": [1.0, 2.0, 3.0],
                          "b": [0.0, 1.0, 0.0],
                          "transcript": ["I love parties.", "I read alone.", "I plan ahead."]})
    bundle = dict(format=MODEL_FORMAT, format_version=1, skpersona_version="0",
                  model_name="m", targets=["extraversion"])
    plain = make_pipeline(ColumnTransformer([("f", StandardScaler(), ["a", "b"])]), Ridge())
    plain.fit(table, [0.1, 0.5, 0.9])
    dump_model({**bundle, "reads": "features", "features": ["a", "b"], "estimator": plain},
               out / "plain.skops")
    rater = LLMTraitRater(models=["high"], base_url=url, traits=["extraversion"])
    llm = make_pipeline(ColumnTransformer([("llm", rater, "transcript")]), Ridge())
    llm.fit(table, [0.1, 0.5, 0.9])
    dump_model({**bundle, "reads": "transcript", "features": None, "estimator": llm},
               out / "llm.skops")


def test_a_model_saved_in_one_process_loads_in_a_fresh_one(url, server, tmp_path):
    _save(url, tmp_path)  # saved here, loaded by three fresh processes below
    server.state["requests"].clear()
    status, err = _predict(tmp_path, tmp_path / "plain.skops")  # no capability: no flag
    assert status == 0, err
    status, err = _predict(tmp_path, tmp_path / "llm.skops", "--allow-base-url", url)
    assert status == 0, err  # exactly one flag
    assert len(server.state["requests"]) == 3
    allow = tmp_path / "home" / ".config" / "skpersona" / "allow.toml"
    allow.parent.mkdir(parents=True)
    allow.write_text(f'base_url = ["{url}"]\n')  # exactly one line
    status, err = _predict(tmp_path, tmp_path / "llm.skops")
    assert status == 0, err
    assert len(server.state["requests"]) == 6


def test_the_allow_list_file(url, tmp_path, monkeypatch):
    sio.dump(LLMTraitRater(base_url=url), tmp_path / "r.skops")
    allow = tmp_path / "allow.toml"
    monkeypatch.setenv("SKPERSONA_ALLOW_FILE", str(allow))
    with pytest.raises(UnsafeModelError, match=str(allow)):  # the message says where it is
        skpersona.load(tmp_path / "r.skops")
    allow.write_text(f'base_url = "{url}"\n')
    assert skpersona.load(tmp_path / "r.skops").base_url == url
    allow.write_text(f'base_urls = ["{url}"]\n')
    with pytest.raises(UnsafeModelError, match="unknown option.*base_urls"):
        skpersona.load(tmp_path / "r.skops")
    allow.write_text("base_url = [\n")
    with pytest.raises(UnsafeModelError, match="cannot be read"):
        skpersona.load(tmp_path / "r.skops")


def test_predict_in_process_refuses_a_server_then_allows_it(url, server, tmp_path, capsys):
    from skpersona.cli import main

    model = _text_model(LLMTraitRater(models=["high"], base_url=url, traits=["extraversion"]))
    _dump(_bundle(model.fit(TABLE, [0.1, 0.5, 0.9])), tmp_path / "m.skops")
    TABLE.to_csv(tmp_path / "new.csv", index=False)
    sent = len(server.state["requests"])
    args = ["predict", str(tmp_path / "m.skops"), str(tmp_path / "new.csv"), "-o",
            str(tmp_path / "pred.csv")]
    assert main(args) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"base_url='{url}'" in line and f"--allow-base-url {url}" in line
    assert len(server.state["requests"]) == sent and not (tmp_path / "pred.csv").exists()
    assert main([*args, "--allow-base-url", "http://127.0.0.1:1/v1"]) == 1  # another URL
    assert main([*args, "--allow-base-url", url]) == 0
    assert len(server.state["requests"]) == sent + 3
