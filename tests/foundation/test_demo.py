import matplotlib
import pandas as pd
import pytest

from skpersona._demo import run_demo


@pytest.mark.slow  # about 35-60 s on the 2-core CI machine
def test_demo_writes_table_and_plot(tmp_path):
    lines = []
    backend = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        table = run_demo(output=tmp_path, n_samples=120, n_splits=3, random_state=0,
                         show=lines.append)
        assert matplotlib.get_backend() == "svg"  # the caller's backend is left alone
    finally:
        matplotlib.use(backend)
    assert (tmp_path / "demo_results.png").stat().st_size > 10_000
    saved = pd.read_csv(tmp_path / "demo_results.csv", index_col="model")
    assert saved.shape == (3, 6)
    assert any("Pearson r" in line for line in lines)
    au, text = table.loc["AU only (ridge)"], table.loc["text only (ridge)"]
    # Each modality predicts the trait it shows and not the one it hides.
    assert au["neuroticism"] > 0.5 > text["neuroticism"]
    assert text["openness"] > 0.5 > au["openness"]
    assert table.loc["AU + text (late fusion)", "mean accuracy"] > 0.85
