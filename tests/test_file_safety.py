"""A model file's parameters may not choose network destinations or load code.

Real skops files built only from skpersona classes (so skops trusts them), real
HTTP servers on 127.0.0.1 and a real model folder with an ``auto_map`` and code.
"""

import json
import pickle
import shutil

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from skpersona.text import LLMTraitRater, TextEmbedder
from skpersona.text._models import model_code, resolve_model_name
from skpersona.utils import UnsafeModelError, check_loaded_estimator

from .text.test_rater import KEY, chat_server, serving

RATER = "skpersona.text._rater.LLMTraitRater"
EMBEDDER = "skpersona.text._embedder.TextEmbedder"
TEXTS = ["I love parties and meeting people."]


@pytest.fixture(scope="module")
def server():
    with serving(chat_server()) as httpd:
        yield httpd


@pytest.fixture
def url(server):
    server.state["requests"].clear()
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


def _from_elsewhere(obj, monkeypatch):
    """skops bytes as another session (another machine, an attacker) would write them."""
    with monkeypatch.context() as patch:
        patch.setenv("SKPERSONA_SESSION_KEY", "someone else's session")
        return sio.dumps(obj)


@pytest.fixture(scope="module")
def code_folder(tmp_path_factory):
    """The default model's folder plus an auto_map to a module that leaves a mark."""
    folder = tmp_path_factory.mktemp("model") / "with_code"
    shutil.copytree(resolve_model_name("all-MiniLM-L6-v2"), folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "custom.Model"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "custom.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_name('RAN').write_text('code ran')\n")
    return folder


def test_a_loaded_rater_does_not_call_the_files_server(url, server, monkeypatch):
    monkeypatch.setenv("SKP_TEST_API_KEY", KEY)
    rater = LLMTraitRater(models=["high"], base_url=url, api_key_env="SKP_TEST_API_KEY")
    loaded = sio.loads(_from_elsewhere(rater.fit(TEXTS), monkeypatch), trusted=[RATER])
    with pytest.raises(UnsafeModelError, match=f"base_url='{url}'.*--allow-base-url {url}"):
        loaded.transform(TEXTS)
    with pytest.raises(UnsafeModelError, match="api_key_env='SKP_TEST_API_KEY'"):
        clone(loaded).fit(TEXTS).transform(TEXTS)  # a clone is as unconfirmed as its source
    assert server.state["requests"] == []  # no text and no key left this process
    with pytest.raises(UnsafeModelError, match="--allow-api-key-env SKP_TEST_API_KEY"):
        check_loaded_estimator(loaded, allow_base_urls=[url])  # both must be named
    check_loaded_estimator(loaded, allow_base_urls=[url], allow_api_key_envs=["SKP_TEST_API_KEY"])
    np.testing.assert_array_equal(loaded.transform(TEXTS), [[3.0] * 5])
    assert [r["auth"] for r in server.state["requests"]] == [f"Bearer {KEY}"]


def test_the_users_own_setting_and_same_session_copies_work(url, server):
    rater = LLMTraitRater(models=["high"], base_url=url).fit(TEXTS)
    copies = [pickle.loads(pickle.dumps(rater)), clone(rater),
              sio.loads(sio.dumps(rater), trusted=[RATER])]  # e.g. joblib workers
    for copy in copies:
        np.testing.assert_array_equal(copy.fit(TEXTS).transform(TEXTS), [[3.0] * 5])
    assert len(server.state["requests"]) == 3


def test_default_destination_needs_no_confirmation(monkeypatch):
    loaded = sio.loads(_from_elsewhere(LLMTraitRater(), monkeypatch), trusted=[RATER])
    assert check_loaded_estimator(loaded) is loaded
    assert loaded._file_risks() == []


def test_a_forged_seal_is_not_accepted(url, monkeypatch):
    rater = LLMTraitRater(models=["high"], base_url=url).fit(TEXTS)
    state = rater.__getstate__()
    state["_risk_seal"] = "0" * 64
    state["_unconfirmed_risks"] = []  # a file cannot confirm itself either
    forged = LLMTraitRater.__new__(LLMTraitRater)
    forged.__setstate__(state)
    with pytest.raises(UnsafeModelError):
        forged.transform(TEXTS)


def test_model_folder_with_code_is_recognised(code_folder):
    assert "auto_map" in model_code(code_folder) or "custom.py" in model_code(code_folder)
    assert model_code("all-MiniLM-L6-v2") is None  # the shipped folder: weights only
    assert model_code("some/hub-name") is None


@pytest.mark.parametrize("trust", [True, False])
def test_a_loaded_embedder_never_runs_the_files_code(code_folder, monkeypatch, trust):
    embedder = TextEmbedder(model_name=str(code_folder), trust_remote_code=trust)
    pipe = make_pipeline(embedder)
    loaded = sio.loads(_from_elsewhere(pipe, monkeypatch),
                       trusted=[EMBEDDER, "sklearn.pipeline.Pipeline"])
    with pytest.raises(UnsafeModelError, match="--trust-remote-code"):
        loaded.fit(TEXTS)
    with pytest.raises(UnsafeModelError, match="code"):
        check_loaded_estimator(loaded)
    assert not (code_folder / "RAN").exists()


def test_walk_finds_estimators_inside_bundles_and_fitted_steps(url, monkeypatch):
    from sklearn.compose import ColumnTransformer

    inner = ColumnTransformer([("llm", LLMTraitRater(base_url=url), "transcript")])
    bundle = {"format": "x", "estimator": make_pipeline(inner)}
    with pytest.raises(UnsafeModelError, match="LLMTraitRater in the model file"):
        check_loaded_estimator(bundle)
    assert check_loaded_estimator(bundle, allow_base_urls=[url]) is bundle


def _bundle(estimator, reads, targets):
    from skpersona import __version__
    from skpersona.cli._io import MODEL_FORMAT

    return {"format": MODEL_FORMAT, "format_version": 1, "skpersona_version": __version__,
            "model_name": "ridge-text", "targets": targets, "reads": reads, "features": None,
            "estimator": estimator}


def _last_error(capsys):
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_predict_refuses_a_model_file_that_names_a_server(url, server, tmp_path, capsys):
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge

    from skpersona.cli import main
    from skpersona.cli._io import dump_model

    table = pd.DataFrame({"video_id": ["a", "b", "c"], "transcript": ["x", "y", "z"]})
    rater = LLMTraitRater(models=["high"], base_url=url, traits=["extraversion"])
    model = make_pipeline(ColumnTransformer([("llm", rater, "transcript")]), Ridge())
    model.fit(table, [0.1, 0.5, 0.9])
    dump_model(_bundle(model, "transcript", ["extraversion"]), tmp_path / "m.skops")
    table.to_csv(tmp_path / "new.csv", index=False)
    sent = len(server.state["requests"])
    args = ["predict", str(tmp_path / "m.skops"), str(tmp_path / "new.csv"), "-o",
            str(tmp_path / "pred.csv")]
    assert main(args) == 1
    line = _last_error(capsys)
    assert f"base_url='{url}'" in line and f"--allow-base-url {url}" in line
    assert len(server.state["requests"]) == sent and not (tmp_path / "pred.csv").exists()
    assert main([*args, "--allow-base-url", "http://127.0.0.1:1/v1"]) == 1  # another URL
    assert main([*args, "--allow-base-url", url]) == 0
    assert len(server.state["requests"]) == sent + 3
    assert pd.read_csv(tmp_path / "pred.csv")["video_id"].tolist() == ["a", "b", "c"]


def test_predict_refuses_a_model_file_that_runs_a_folders_code(code_folder, tmp_path, capsys):
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge

    from skpersona.cli import main
    from skpersona.cli._io import dump_model

    embedder = TextEmbedder(model_name=str(code_folder), trust_remote_code=True)
    model = make_pipeline(ColumnTransformer([("text", embedder, "transcript")]), Ridge())
    dump_model(_bundle(model, "transcript", ["extraversion"]), tmp_path / "m.skops")
    pd.DataFrame({"video_id": ["a"], "transcript": ["x"]}).to_csv(tmp_path / "new.csv",
                                                                  index=False)
    assert main(["predict", str(tmp_path / "m.skops"), str(tmp_path / "new.csv"), "-o",
                 str(tmp_path / "pred.csv")]) == 1
    line = _last_error(capsys)
    assert "trust_remote_code=True" in line and "--trust-remote-code" in line
    assert not (code_folder / "RAN").exists()
