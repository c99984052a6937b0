"""The ``skpersona`` command, run through ``main([...])`` on real small inputs."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skpersona.cli import build_parser, main
from skpersona.datasets import make_interviews
from skpersona.traits import BIG_FIVE
from skpersona.utils import default_cache_dir

from ._tables import dependent_table

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["demo", "extract-aus", "embed", "fit", "predict", "screen"]


class NotTrusted:
    """A type no model file of skpersona's may hold."""

    def __init__(self):
        self.value = 1


@pytest.fixture(scope="module")
def interviews(tmp_path_factory):
    """Small synthetic interviews on disk: per-video frame CSVs, a frames file, tables."""
    root = tmp_path_factory.mktemp("interviews")
    bunch = make_interviews(n_samples=48, n_frames=40, random_state=0)
    (root / "frames").mkdir()
    rows, parts = [], []
    for i, (table, text) in enumerate(zip(bunch.data["video"], bunch.data["transcript"])):
        table.to_csv(root / "frames" / f"v{i:03d}.csv", index=False)
        parts.append(table.assign(video=f"clips/v{i:03d}.mp4"))
        rows.append({"video_id": f"v{i:03d}", "transcript": text, "group": i // 4,
                     **bunch.target.iloc[i].to_dict()})
    samples = pd.DataFrame(rows)
    samples.assign(video=[f"frames/v{i:03d}.csv" for i in range(len(rows))]).to_csv(
        root / "samples.csv", index=False)
    samples.assign(video=[f"v{i:03d}.mp4" for i in range(len(rows))]).to_csv(
        root / "samples_by_name.csv", index=False)
    long = pd.concat(parts, ignore_index=True)
    long = long[["video", *[c for c in long.columns if c != "video"]]]
    long.attrs = {"au_scale": "0-5"}
    long.to_parquet(root / "aus.parquet", index=False)
    return root, bunch


def test_help_of_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert f"usage: skpersona {command}" in capsys.readouterr().out


def test_module_runs_as_a_command():
    result = subprocess.run([sys.executable, "-m", "skpersona.cli", "--help"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "extract-aus" in result.stdout and "predict" in result.stdout
    result = subprocess.run([sys.executable, "-m", "skpersona.cli", "fit", "nope.csv", "-o",
                             "m.skops"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == "skpersona fit: error: table 'nope.csv' does not exist."
    assert "Traceback" not in result.stderr


def test_malformed_command_line_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "t.csv", "--model", "no-such-model"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2


def _error_line(capsys):
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def test_user_mistakes_are_one_line(tmp_path, capsys, interviews):
    root, _ = interviews
    table = pd.DataFrame({"a": [1.0, 2.0], "openness": [0.1, 0.2]})
    table.to_csv(tmp_path / "t.csv", index=False)
    cases = [
        (["fit", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "m.skops")],
         "does not exist"),
        (["fit", str(tmp_path / "t.xlsx"), "-o", str(tmp_path / "m.skops")], "unknown suffix"),
        (["fit", str(tmp_path / "t.csv"), "--traits", "grit", "-o", str(tmp_path / "m.skops")],
         "trait column 'grit' not in"),
        (["fit", str(tmp_path / "t.csv"), "--model", "ridge-text", "-o",
          str(tmp_path / "m.skops")], "column 'transcript' not in"),
        (["fit", str(tmp_path / "t.csv"), "--cv", "1", "-o", str(tmp_path / "m.skops")],
         "--cv needs at least 2 folds"),
        (["fit", str(tmp_path / "t.csv")], "needs a TABLE and -o"),
        (["fit", str(tmp_path / "t.csv"), "-o", str(tmp_path / "m.pkl")],
         "ends in '.pkl', but skpersona fit writes a skops file"),
        (["fit", str(tmp_path / "t.csv"), "-o", str(tmp_path / "model")],
         "has no suffix, but skpersona fit writes a skops file"),
        (["predict", str(tmp_path / "t.csv"), str(tmp_path / "t.csv"), "-o",
          str(tmp_path / "p.csv")], "is not a skops model file"),
        (["fit", str(root / "samples_by_name.csv"), "--model", "ridge-au", "-o",
          str(tmp_path / "m.skops")], "does not exist"),
        (["extract-aus", str(tmp_path / "no_videos_here"), "-o", str(tmp_path / "a.csv")],
         "neither a video file nor a folder"),
        (["extract-aus", str(tmp_path), "-o", str(tmp_path / "a.csv")], "no video files found"),
        (["embed", str(tmp_path / "t.csv"), "-o", str(tmp_path / "e.csv")],
         "text column 'transcript' not in"),
    ]
    for argv, message in cases:
        assert main(argv) == 1, argv
        err = _error_line(capsys)
        assert err.startswith(f"skpersona {argv[0]}: error: "), err
        assert message in err, (argv, err)


def test_verbose_shows_the_traceback(tmp_path):
    from skpersona.cli._io import UsageError

    with pytest.raises(UsageError, match="does not exist"):
        main(["fit", str(tmp_path / "missing.csv"), "-o", "m.skops", "--verbose"])
    with pytest.raises(UsageError, match="does not exist"):
        main(["--verbose", "fit", str(tmp_path / "missing.csv"), "-o", "m.skops"])


def test_fit_and_predict_numeric_features(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = 1 / (1 + np.exp(-X @ rng.normal(size=(4, 5))))
    table = pd.DataFrame(X, columns=["f1", "f2", "f3", "f4"]).assign(
        id=[f"s{i}" for i in range(60)], source=np.arange(60) // 3)
    table[list(BIG_FIVE)] = y
    table.to_csv(tmp_path / "train.csv", index=False)
    model = tmp_path / "model.skops"
    assert main(["fit", str(tmp_path / "train.csv"), "--model", "ridge", "--id-columns", "id",
                 "--cv", "3", "--groups", "source", "-o", str(model)]) == 0
    out = capsys.readouterr().out
    assert "GroupKFold(3) by 'source'" in out and "mean accuracy" in out
    for trait in BIG_FIVE:
        assert trait in out

    table.drop(columns=list(BIG_FIVE)).to_parquet(tmp_path / "new.parquet", index=False)
    assert main(["predict", str(model), str(tmp_path / "new.parquet"), "--id-columns", "id",
                 "-o", str(tmp_path / "pred.csv")]) == 0
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["id", *BIG_FIVE]
    assert len(pred) == 60
    # The saved model is a ridge on the four features, refitted here the same way.
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    scaled = StandardScaler().fit_transform(X)
    expected = RidgeCV(alphas=np.logspace(-2, 4, 13)).fit(scaled, y).predict(scaled)
    np.testing.assert_allclose(pred[list(BIG_FIVE)].to_numpy(), expected, rtol=1e-6)

    # Features missing at prediction time: one clear line.
    table[["id", "f1"]].to_csv(tmp_path / "bad.csv", index=False)
    assert main(["predict", str(model), str(tmp_path / "bad.csv"), "-o",
                 str(tmp_path / "p.csv")]) == 1
    assert "feature column 'f2', 'f3', 'f4' not in" in _error_line(capsys)


def test_fit_au_model_from_frame_files_and_frames_file(tmp_path, capsys, interviews):
    root, bunch = interviews
    by_path, by_name = tmp_path / "by_path.skops", tmp_path / "by_name.skops"
    assert main(["fit", str(root / "samples.csv"), "--model", "ridge-au", "--cv", "3",
                 "--groups", "group", "-o", str(by_path)]) == 0
    out = capsys.readouterr().out
    scores = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()
              if line.split() and line.split()[0] in BIG_FIVE}
    assert set(scores) == set(BIG_FIVE)
    assert main(["fit", str(root / "samples_by_name.csv"), "--model", "ridge-au", "--frames",
                 str(root / "aus.parquet"), "-o", str(by_name)]) == 0
    assert main(["predict", str(by_path), str(root / "samples.csv"), "-o",
                 str(tmp_path / "p1.csv")]) == 0
    assert main(["predict", str(by_name), str(root / "samples_by_name.csv"), "--frames",
                 str(root / "aus.parquet"), "-o", str(tmp_path / "p2.csv")]) == 0
    p1, p2 = pd.read_csv(tmp_path / "p1.csv"), pd.read_csv(tmp_path / "p2.csv")
    assert list(p1.columns) == ["video_id", *BIG_FIVE]
    # The same frame tables, given as per-video CSVs or through an extract-aus file.
    np.testing.assert_allclose(p1[list(BIG_FIVE)], p2[list(BIG_FIVE)], rtol=1e-6)
    # The face carries neuroticism entirely in these interviews: the AU model tracks it.
    r = np.corrcoef(p1["neuroticism"], bunch.target["neuroticism"])[0, 1]
    assert r > 0.5

    # A video the frames file does not hold.
    names = pd.read_csv(root / "samples_by_name.csv")
    names.loc[0, "video"] = "unknown.mp4"
    names.to_csv(tmp_path / "names.csv", index=False)
    assert main(["predict", str(by_name), str(tmp_path / "names.csv"), "--frames",
                 str(root / "aus.parquet"), "-o", str(tmp_path / "p3.csv")]) == 1
    assert "video 'unknown.mp4' is not in the frames file" in _error_line(capsys)


def test_model_file_with_untrusted_types_is_refused(tmp_path, capsys):
    import skops.io as sio

    from skpersona.cli._io import MODEL_FORMAT

    path = tmp_path / "evil.skops"
    sio.dump({"format": MODEL_FORMAT, "estimator": NotTrusted(), "targets": ["openness"],
              "reads": "features", "features": ["a"]}, path)
    pd.DataFrame({"a": [1.0]}).to_csv(tmp_path / "t.csv", index=False)
    assert main(["predict", str(path), str(tmp_path / "t.csv"), "-o",
                 str(tmp_path / "p.csv")]) == 1
    err = _error_line(capsys)
    assert "not trusted: tests.test_cli.NotTrusted" in err and "--trust" in err
    assert not (tmp_path / "p.csv").exists()

    # Types of trusted libraries are not trusted wholesale: skops calls stored types with
    # stored arguments (builtins.exec, numpy.load, ... would run code).
    sio.dump({"format": MODEL_FORMAT, "estimator": pd.Series([1.0]), "targets": ["openness"],
              "reads": "features", "features": ["a"]}, path)
    assert main(["predict", str(path), str(tmp_path / "t.csv"), "-o",
                 str(tmp_path / "p.csv")]) == 1
    assert "not trusted: builtins.object" in _error_line(capsys)

    # A skops file of something else than `skpersona fit` wrote.
    sio.dump({"a": 1}, tmp_path / "other.skops")
    assert main(["predict", str(tmp_path / "other.skops"), str(tmp_path / "t.csv"), "-o",
                 str(tmp_path / "p.csv")]) == 1
    assert "was not written by `skpersona fit`" in _error_line(capsys)


def test_parser_lists_every_model():
    from skpersona.cli._models import FUSIONS, MODELS
    from skpersona.fusion._modules import FUSIONS as fusion_kinds

    assert FUSIONS == fusion_kinds  # --fusion offers exactly what FusionRegressor takes

    fit = build_parser()._subparsers._group_actions[0].choices["fit"]
    help_text = fit.format_help()
    for name in MODELS:
        assert name in help_text


def test_manifest_and_resume_logic_refuse_foreign_output(tmp_path, capsys):
    video_dir = tmp_path / "videos"
    video_dir.mkdir()
    (video_dir / "a.mp4").write_bytes(b"not really a video")
    out = tmp_path / "aus.csv"
    pd.DataFrame({"x": [1]}).to_csv(out, index=False)
    assert main(["extract-aus", str(video_dir), "-o", str(out)]) == 1
    assert "was not written by extract-aus" in _error_line(capsys)
    (tmp_path / "aus.csv.manifest.json").write_text(json.dumps(
        {"au_scale": "0-1", "params": {"fps": 99}, "videos": {}}))
    assert main(["extract-aus", str(video_dir), "-o", str(out)]) == 1
    assert "extracted with other settings" in _error_line(capsys)




def test_screen_writes_report_and_heatmap(tmp_path, capsys):
    dependent_table().to_csv(tmp_path / "table.csv", index=False)
    report, plot = tmp_path / "report.csv", tmp_path / "heatmap.png"
    assert main(["screen", str(tmp_path / "table.csv"), "-o", str(report), "--plot", str(plot),
                 "--random-state", "0", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "extraversion ~ smiles" in out and "gender ~ agreeableness" in out
    table = pd.read_csv(report)
    assert {"x", "y", "method", "pvalue", "pvalue_adjusted", "decision", "pvalue_combined",
            "pvalue_combined_adjusted"} <= set(table.columns)
    assert len(table.groupby(["x", "y"])) == 10  # every pair of 5 columns
    # the decision is the corrected combined p-value's, the same on every row of a pair
    per_pair = table.groupby(["x", "y"])
    assert (per_pair["pvalue_combined_adjusted"].nunique() == 1).all()
    assert ((per_pair["pvalue_combined_adjusted"].first() < 0.05)
            == (per_pair["decision"].first() == "dependent")).all()
    decision = table.groupby(["x", "y"])["decision"].first()
    assert decision[("extraversion", "smiles")] == "dependent"
    assert decision[("gender", "agreeableness")] == "dependent"
    assert decision[("extraversion", "age")] == "independent"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Chosen tests, a subset of pairs, a column forced to be discrete.
    assert main(["screen", str(tmp_path / "table.csv"), "-o", str(tmp_path / "r2.parquet"),
                 "--columns", "extraversion,age", "--against", "smiles,gender",
                 "--tests", "kci,hsic", "--discrete", "gender", "--no-progress"]) == 0
    table = pd.read_parquet(tmp_path / "r2.parquet")
    assert set(table["method"]) == {"kci", "hsic"}
    assert set(zip(table["x"], table["y"])) == {("extraversion", "smiles"),
                                                ("extraversion", "gender"),
                                                ("age", "smiles"), ("age", "gender")}

    for argv, message in [
        (["--tests", "kci,magic"], "unknown test 'magic'"),
        (["--columns", "extraversion,height"], "column 'height' not in"),
        (["--columns", "age"], "at least two columns"),
        (["--plot", str(tmp_path / "x.gif")], "use a .png"),
    ]:
        assert main(["screen", str(tmp_path / "table.csv"), "-o", str(tmp_path / "r.csv"),
                     *argv]) == 1
        assert message in _error_line(capsys)


def test_screen_and_fit_on_youtube_personality(shared_data, tmp_path, capsys):
    from skpersona.datasets import load_youtube_personality

    yt = load_youtube_personality(data_home=shared_data)
    cues = ["mean.pitch", "time.speaking", "hogv.entropy", "mean.energy"]
    table = yt.data.loc[yt.target.index, ["gender", *cues]].join(yt.target)
    table.index.name = "vlog"
    table.reset_index().to_csv(tmp_path / "yt.csv", index=False)

    assert main(["screen", str(tmp_path / "yt.csv"), "-o", str(tmp_path / "report.csv"),
                 "--columns", "gender,mean.pitch,extraversion,time.speaking",
                 "--tests", "kci,hsic", "--random-state", "0", "--no-progress"]) == 0
    report = pd.read_csv(tmp_path / "report.csv")
    decision = report.groupby(["x", "y"])["decision"].first()
    # Voice pitch differs between women and men: the screen must find it.
    assert decision[("gender", "mean.pitch")] == "dependent"

    # A ridge model of the five impressions (1-7 scale) from the nonverbal cues.
    traits = ",".join(yt.target.columns)
    assert main(["fit", str(tmp_path / "yt.csv"), "--model", "ridge", "--features",
                 ",".join(cues), "--traits", traits, "--cv", "3", "-o",
                 str(tmp_path / "yt.skops")]) == 0
    assert "extraversion" in capsys.readouterr().out
    assert main(["predict", str(tmp_path / "yt.skops"), str(tmp_path / "yt.csv"),
                 "--id-columns", "vlog", "-o", str(tmp_path / "pred.csv")]) == 0
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["vlog", *yt.target.columns]
    # Speaking time and motion carry extraversion impressions (Biel & Gatica-Perez).
    r = np.corrcoef(pred["extraversion"], table["extraversion"])[0, 1]
    assert r > 0.2


@pytest.mark.slow  # about 35-60 s on the 2-core CI machine
def test_embed_writes_the_text_embedder_vectors(tmp_path, interviews):
    from skpersona.text import TextEmbedder

    root, bunch = interviews
    texts = pd.DataFrame({"clip": [f"c{i}" for i in range(6)],
                          "answer": list(bunch.data["transcript"][:5]) + [None]})
    texts.to_csv(tmp_path / "texts.csv", index=False)
    assert main(["embed", str(tmp_path / "texts.csv"), "--column", "answer", "--id-columns",
                 "clip", "-o", str(tmp_path / "emb.parquet"), "--no-progress"]) == 0
    emb = pd.read_parquet(tmp_path / "emb.parquet")
    assert emb.shape == (6, 1 + 384)
    assert list(emb.columns[:3]) == ["clip", "text__0", "text__1"]
    expected = TextEmbedder().fit_transform(texts["answer"].fillna("").tolist())
    np.testing.assert_allclose(emb.iloc[:, 1:].to_numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["semantic", "ridge-multimodal", "fusion"])
def test_fit_and_predict_text_models(tmp_path, interviews, name):
    root, _ = interviews
    table = pd.read_csv(root / "samples.csv").head(24)
    table["video"] = [str(root / v) for v in table["video"]]
    table.to_csv(tmp_path / "train.csv", index=False)
    model = tmp_path / f"{name}.skops"
    assert main(["fit", str(tmp_path / "train.csv"), "--model", name, "--cache-dir",
                 str(tmp_path / "cache"), "-o", str(model)]) == 0
    assert main(["predict", str(model), str(tmp_path / "train.csv"), "-o",
                 str(tmp_path / "pred.csv")]) == 0
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["video_id", *BIG_FIVE] and len(pred) == 24
    if name == "fusion":  # the network sees the AU and text blocks as two modalities
        from skpersona.cli._io import load_model

        assert load_model(model)["estimator"][-1].modality_names_ == ["au", "text"]
    # A ridge on the training rows tracks their targets.
    for trait in BIG_FIVE:
        assert np.corrcoef(pred[trait], table[trait])[0, 1] > 0.3, trait


def test_extract_aus_resumes_and_reports_broken_videos(tmp_path, capsys, feat_weights,
                                                       feat_videos):
    import shutil

    videos = tmp_path / "videos"
    (videos / "day2").mkdir(parents=True)
    shutil.copy(feat_videos / "single_face.mp4", videos / "a.mp4")
    shutil.copy(feat_videos / "no_face.mp4", videos / "day2" / "b.mp4")
    (videos / "notes.txt").write_text("not a video")
    out = tmp_path / "aus.csv"
    argv = ["extract-aus", str(videos), "-o", str(out), "--weights-dir", str(feat_weights),
            "--max-frames", "3", "--max-size", "128", "--torch-threads", "1",
            "--cache-dir", str(tmp_path / "cache"), "--no-progress"]
    assert main(argv) == 0
    first = pd.read_csv(out)
    assert set(first["video"]) == {"a.mp4"}  # not recursive
    assert {"frame", "timestamp", "face_id", "confidence", "AU01", "AU12"} <= set(first.columns)
    assert (first.filter(regex=r"^AU\d\d$").to_numpy() <= 1).all()
    assert len(first) == 3

    # More videos, one of them broken: only the new ones are extracted.
    (videos / "broken.mp4").write_bytes(b"\x00" * 100)
    assert main([*argv, "--recursive"]) == 1
    captured = capsys.readouterr()
    assert "1 of 3 videos already in" in captured.out
    assert "could not read broken.mp4" in captured.err
    assert captured.err.strip().splitlines()[-1] == (
        "skpersona extract-aus: error: 1 of 3 videos failed (listed above); the others are "
        "in the output.")
    second = pd.read_csv(out)
    assert set(second["video"]) == {"a.mp4", "day2/b.mp4"}
    pd.testing.assert_frame_equal(second[second["video"] == "a.mp4"], first)
    manifest = json.loads(Path(f"{out}.manifest.json").read_text())
    assert manifest["videos"]["broken.mp4"]["error"]
    assert manifest["videos"]["day2/b.mp4"]["rows"] == 3

    # Other settings on the same output are refused; --overwrite starts again (from cache).
    assert main([*argv[:-1], "--max-frames", "2", "--recursive", "--no-progress"]) == 1
    assert "extracted with other settings" in _error_line(capsys)
    (videos / "broken.mp4").unlink()
    assert main([*argv, "--recursive", "--overwrite"]) == 0
    third = pd.read_csv(out)
    pd.testing.assert_frame_equal(third.sort_values("video", kind="stable").reset_index(
        drop=True), second.sort_values("video", kind="stable").reset_index(drop=True))

    # A crash between writing the table and the manifest: the video the manifest does
    # not list is extracted again, without duplicating its rows.
    manifest = json.loads(Path(f"{out}.manifest.json").read_text())
    del manifest["videos"]["day2/b.mp4"]
    Path(f"{out}.manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    assert main([*argv, "--recursive"]) == 0
    assert "1 of 2 videos already in" in capsys.readouterr().out
    fourth = pd.read_csv(out)
    assert (fourth["video"] == "day2/b.mp4").sum() == 3 and len(fourth) == 6


def test_model_extracting_aus_from_video_paths(tmp_path, feat_weights, feat_videos):
    import shutil

    rows = []
    for i in range(3):  # two distinct videos; the copy is read from the cache
        source = "single_face.mp4" if i % 2 == 0 else "no_face.mp4"
        shutil.copy(feat_videos / source, tmp_path / f"v{i}.mp4")
        rows.append({"video": f"v{i}.mp4", "extraversion": 0.2 + 0.2 * i})
    pd.DataFrame(rows).to_csv(tmp_path / "train.csv", index=False)
    model = tmp_path / "au.skops"
    assert main(["fit", str(tmp_path / "train.csv"), "--model", "ridge-au", "--weights-dir",
                 str(feat_weights), "--max-frames", "1", "--max-size", "128", "--cache-dir",
                 str(tmp_path / "cache"), "-o", str(model)]) == 0
    # the folders the model names are the user's to allow at load time (issue 24)
    assert main(["predict", str(model), str(tmp_path / "train.csv"), "-o",
                 str(tmp_path / "pred.csv"), "--allow-weights-dir", str(feat_weights),
                 "--allow-cache-dir", str(tmp_path / "cache")]) == 0
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["video", "extraversion"]
    assert np.isfinite(pred["extraversion"]).all()
    # The saved model holds the extractor with the settings given on the command line.
    from skpersona.cli._io import load_model

    extractor = load_model(model)["estimator"][0].transformers_[0][1][0]
    assert type(extractor).__name__ == "AUExtractor"
    assert extractor.max_frames == 1 and extractor.max_size == 128


@pytest.mark.slow
def test_fit_text_model_on_first_impressions(shared_data, tmp_path, capsys):
    from skpersona.datasets import load_first_impressions

    fi = load_first_impressions(data_home=shared_data, split="training")
    table = fi.data.join(fi.target).head(240)
    table.to_csv(tmp_path / "fi.csv", index=False)
    # the default cache's folder (the run's, conftest.py), named: predict (which replaces
    # a file's folder by the default) reads its embeddings, README's snippet shares them
    assert main(["fit", str(tmp_path / "fi.csv"), "--model", "ridge-text", "--cv", "4",
                 "--groups", "youtube_id", "--id-columns", "video_id", "-o",
                 str(tmp_path / "fi.skops"),
                 "--cache-dir", str(default_cache_dir("embeddings"))]) == 0
    out = capsys.readouterr().out
    assert "GroupKFold(4) by 'youtube_id'" in out
    accuracy = float(out.split("mean accuracy ")[1].split(",")[0])
    assert 0.8 < accuracy < 1.0
    assert main(["predict", str(tmp_path / "fi.skops"), str(tmp_path / "fi.csv"), "-o",
                 str(tmp_path / "pred.csv")]) == 0
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["video_id", *BIG_FIVE] and len(pred) == 240


@pytest.mark.slow  # about 35-60 s on the 2-core CI machine
def test_demo_writes_its_table_and_plot(tmp_path):
    argv = ["demo", "--output", str(tmp_path / "demo"), "--n-samples", "60"]
    assert main(argv) == 0
    written = list((tmp_path / "demo").iterdir())
    assert any(p.suffix == ".png" for p in written) and any(p.suffix == ".csv" for p in written)
