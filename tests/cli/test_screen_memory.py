"""``skpersona screen``: exact kernel tests over the memory limit (issue 13 item 7)."""

import numpy as np
import pandas as pd

from skpersona.cli import main

from .conftest import error_line


def test_screen_refuses_a_kernel_test_over_the_memory_limit(tmp_path, capsys):
    rng = np.random.default_rng(0)
    big = tmp_path / "big.csv"
    pd.DataFrame(rng.normal(size=(20_000, 3)), columns=["a", "b", "c"]).to_csv(big, index=False)
    out = tmp_path / "report.csv"
    argv = ["screen", str(big), "-o", str(out), "--tests", "kci", "--conditioning", "c",
            "--no-progress"]
    assert main(argv) == 1
    line = error_line(capsys)
    assert "MemoryLimitError" in line or "would need about 15." in line
    assert "max_memory" in line and "kci_rff" in line
    assert not out.exists()  # refused before any test ran or anything was written

    assert main([*argv, "--max-memory", "lots"]) == 1
    assert "--max-memory must be" in error_line(capsys)

    small = tmp_path / "small.csv"
    pd.read_csv(big).iloc[:600].to_csv(small, index=False)
    base = ["screen", str(small), "-o", str(out), "--tests", "kci", "--conditioning", "c",
            "--no-progress"]
    assert main([*base, "--max-memory", "10MB"]) == 1  # 600 rows given z need ~15 MB
    assert "would need about" in error_line(capsys)
    assert main([*base, "--max-memory", "20MB"]) == 0
    report = pd.read_csv(out)
    assert (report.status == "ok").all() and set(report.method_used) == {"kci"}
