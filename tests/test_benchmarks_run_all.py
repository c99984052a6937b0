"""benchmarks/run_all.py: block replacement in RESULTS.md (on temp files, no real benchmark)."""

import importlib.util
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RESULTS = """# Benchmark results

Intro text that no run may touch.

<!-- begin: bench_a.py -->
## Speed of A
Command: `python benchmarks/bench_a.py --n 5`

| old | table |
|---|---|
| 1 | 2 |
<!-- end: bench_a.py -->

Text between blocks.

<!-- begin: bench_b.py -->
## B's figures
Command: `python benchmarks/bench_b.py`

B's old prose, kept when B fails.
<!-- end: bench_b.py -->

## demo (not a script)
trailing text
"""


def test_replace_block_keeps_title_and_other_text(run_all):
    new = run_all.replace_block(RESULTS, "bench_a.py", "python benchmarks/bench_a.py --quick",
                                "| new | table |\n|---|---|\n| 3 | 4 |\n")
    assert "| old | table |" not in new
    assert ("<!-- begin: bench_a.py -->\n## Speed of A\n"
            "Command: `python benchmarks/bench_a.py --quick`\n\n| new | table |\n|---|---|\n"
            "| 3 | 4 |\n<!-- end: bench_a.py -->") in new
    # everything outside bench_a's body is byte-identical
    before, after = RESULTS.split("## Speed of A\n")[0], RESULTS.split("<!-- end: bench_a.py -->")[1]
    assert new.startswith(before) and new.endswith(after)
    # idempotent: the same output twice gives the same file
    assert run_all.replace_block(new, "bench_a.py", "python benchmarks/bench_a.py --quick",
                                 "| new | table |\n|---|---|\n| 3 | 4 |") == new


def test_replace_block_appends_missing_block(run_all):
    new = run_all.replace_block(RESULTS, "bench_c.py", "python benchmarks/bench_c.py", "| c |",
                                title="Speed of C")
    assert new.startswith(RESULTS.rstrip("\n"))
    assert new.endswith("<!-- begin: bench_c.py -->\n## Speed of C\n"
                        "Command: `python benchmarks/bench_c.py`\n\n| c |\n<!-- end: bench_c.py -->\n")


def test_run_all_end_to_end(run_all, tmp_path, capsys):
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "RESULTS.md").write_text(RESULTS)
    (bench / "bench_a.py").write_text(
        '"""A."""\nimport sys\n'
        'print("progress to stderr", file=sys.stderr)\n'
        'print("| quick |" if "--quick" in sys.argv else "| full |")\n'
    )
    (bench / "bench_b.py").write_text('"""B."""\nprint("| half |")\nraise SystemExit(3)\n')
    (bench / "bench_new.py").write_text('"""Brand new benchmark."""\nprint("| fresh |")\n')

    status = run_all.main(["--quick", "--bench-dir", str(bench)])
    text = (bench / "RESULTS.md").read_text()
    assert status == 1  # bench_b failed
    stamp = re.compile(r"Run: \d{4}-\d\d-\d\d, \w+ \w+, \d+ CPUs, Python [\d.]+; \d+ s, "
                       r"load average [\d.]+ at the end\n")
    text = stamp.sub("Run: STAMP\n", text)
    assert ("Command: `python benchmarks/bench_a.py --quick`\nRun: STAMP\n\n| quick |\n"
            "<!-- end: bench_a.py") in text
    # the failing script's block is unchanged, and it is reported
    assert "B's old prose, kept when B fails." in text and "| half |" not in text
    assert "bench_b.py FAILED (exit status 3" in capsys.readouterr().err
    assert text.endswith("<!-- begin: bench_new.py -->\n## Brand new benchmark\n"
                         "Command: `python benchmarks/bench_new.py --quick`\nRun: STAMP\n\n"
                         "| fresh |\n<!-- end: bench_new.py -->\n")
    assert "Intro text that no run may touch." in text and "trailing text" in text
    assert not [p for p in bench.iterdir() if p.name.endswith(".tmp")]

    assert run_all.main(["--only", "bench_a.py", "--bench-dir", str(bench)]) == 0
    text = stamp.sub("Run: STAMP\n", (bench / "RESULTS.md").read_text())
    assert "Command: `python benchmarks/bench_a.py`\nRun: STAMP\n\n| full |\n" in text
    with pytest.raises(SystemExit):
        run_all.main(["--only", "bench_zzz.py", "--bench-dir", str(bench)])


def test_blocks_with_arguments_are_runs_of_their_own(run_all, tmp_path):
    """A block that names arguments is rerun with them, apart from the plain block."""
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "bench_a.py").write_text('import sys\nprint("| args:", *sys.argv[1:], "|")\n')
    (bench / "RESULTS.md").write_text(
        RESULTS.replace("<!-- end: bench_a.py -->", "<!-- end: bench_a.py -->\n\n"
                        "<!-- begin: bench_a.py --only slow -->\n## A's slow part\n"
                        "Command: `python benchmarks/bench_a.py --only slow`\n\nold\n"
                        "<!-- end: bench_a.py --only slow -->"))
    assert run_all.main(["--only", "bench_a.py", "--bench-dir", str(bench)]) == 0
    text = (bench / "RESULTS.md").read_text()
    assert "| args: |\n<!-- end: bench_a.py -->" in text
    assert "## A's slow part\nCommand: `python benchmarks/bench_a.py --only slow`\nRun: " in text
    assert "| args: --only slow |\n<!-- end: bench_a.py --only slow -->" in text
    assert "old\n" not in text.split("A's slow part")[1]


def test_real_results_file_has_a_block_per_script(run_all):
    """Every benchmark script has a well-formed block in the real RESULTS.md, one per run."""
    text = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    blocks = list(run_all.BLOCK.finditer(text))
    names = [m.group("name") for m in blocks]
    assert len(names) == len(set(names))
    assert sorted({m.group("script") for m in blocks}) == run_all.find_scripts(ROOT / "benchmarks")
    for m in blocks:
        lines = m.group("body").splitlines()
        command = f"Command: `python benchmarks/{m.group('name')}"
        assert lines[0].startswith("## ") and lines[1].startswith(command)


_LINES = st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
                  .filter(lambda s: "<!--" not in s and "-->" not in s), max_size=6)


@settings(max_examples=60, deadline=None)
@given(old=_LINES, new=_LINES)
def test_replacement_touches_only_the_block(run_all, old, new):
    """Any script output replaces exactly the block's body; a second run with it changes nothing."""
    text = RESULTS.replace("| old | table |", "\n".join(old))
    out = run_all.replace_block(text, "bench_a.py", "python benchmarks/bench_a.py", "\n".join(new))
    head, tail = text.split("## Speed of A\n")[0], text.split("<!-- end: bench_a.py -->")[1]
    assert out.startswith(head + "## Speed of A\nCommand: `python benchmarks/bench_a.py`\n")
    assert out.endswith("<!-- end: bench_a.py -->" + tail)
    assert [m.group("name") for m in run_all.BLOCK.finditer(out)] == ["bench_a.py", "bench_b.py"]
    assert run_all.replace_block(out, "bench_a.py", "python benchmarks/bench_a.py",
                                 "\n".join(new)) == out
