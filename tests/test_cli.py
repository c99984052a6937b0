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
    from skpersona._cli_io import UsageError

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

    from skpersona._cli_io import MODEL_FORMAT

    path = tmp_path / "evil.skops"
    sio.dump({"format": MODEL_FORMAT, "estimator": NotTrusted(), "targets": ["openness"],
              "reads": "features", "features": ["a"]}, path)
    pd.DataFrame({"a": [1.0]}).to_csv(tmp_path / "t.csv", index=False)
    assert main(["predict", str(path), str(tmp_path / "t.csv"), "-o",
                 str(tmp_path / "p.csv")]) == 1
    err = _error_line(capsys)
    assert "not trusted: tests.test_cli.NotTrusted" in err and "--trust" in err
    assert not (tmp_path / "p.csv").exists()

    # A skops file of something else than `skpersona fit` wrote.
    sio.dump({"a": 1}, tmp_path / "other.skops")
    assert main(["predict", str(tmp_path / "other.skops"), str(tmp_path / "t.csv"), "-o",
                 str(tmp_path / "p.csv")]) == 1
    assert "was not written by `skpersona fit`" in _error_line(capsys)


def test_parser_lists_every_model():
    from skpersona._cli_models import MODELS

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


def _dependent_table(n=150, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    group = rng.choice(["f", "m"], size=n)
    return pd.DataFrame({
        "extraversion": a,
        "smiles": np.sin(2 * a) + 0.3 * rng.normal(size=n),
        "age": rng.normal(size=n),
        "gender": group,
        "agreeableness": (group == "f") + 0.5 * rng.normal(size=n),
    })


def test_screen_writes_report_and_heatmap(tmp_path, capsys):
    _dependent_table().to_csv(tmp_path / "table.csv", index=False)
    report, plot = tmp_path / "report.csv", tmp_path / "heatmap.png"
    assert main(["screen", str(tmp_path / "table.csv"), "-o", str(report), "--plot", str(plot),
                 "--random-state", "0", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "extraversion ~ smiles" in out and "gender ~ agreeableness" in out
    table = pd.read_csv(report)
    assert {"x", "y", "method", "pvalue", "pvalue_adjusted", "decision"} <= set(table.columns)
    assert len(table.groupby(["x", "y"])) == 10  # every pair of 5 columns
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
