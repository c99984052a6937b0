"""benchmarks/run_all.py: blocks in RESULTS.md and full outputs in results/ (on temp files, no
real benchmark), and the real RESULTS.md against what run_all writes."""

import filecmp
import importlib.util
import re
import shlex
import shutil
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


STAMP = re.compile(r"Run: \d{4}-\d\d-\d\d, \w+ \w+, \d+ CPUs, Python [\d.]+; \d+ s, "
                   r"load average [\d.]+ at the end\n")


def test_run_all_end_to_end(run_all, tmp_path, capsys):
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "RESULTS.md").write_text(RESULTS)
    (bench / "bench_a.py").write_text(
        '"""A."""\nimport sys\n'
        'print("progress to stderr", file=sys.stderr)\n'
        'print("Intro line.\\n\\n| quick |\\n|---|\\n| 1 |" if "--quick" in sys.argv else "| full |")\n'
    )
    (bench / "bench_b.py").write_text('"""B."""\nprint("| half |")\nraise SystemExit(3)\n')
    (bench / "bench_new.py").write_text('"""Brand new benchmark."""\nprint("| fresh |")\n')

    status = run_all.main(["--quick", "--bench-dir", str(bench)])
    text = (bench / "RESULTS.md").read_text()
    assert status == 1  # bench_b failed
    text = STAMP.sub("Run: STAMP\n", text)
    # the block: title kept, command, stamp, link, headline (the first table, not the intro)
    assert ("## Speed of A\nCommand: `python benchmarks/bench_a.py --quick`\nRun: STAMP\n"
            "Full output: [results/bench_a.md](results/bench_a.md)\n\n| quick |\n|---|\n| 1 |\n"
            "<!-- end: bench_a.py") in text
    # the full file: same title, command and stamp, then everything the script printed
    full = STAMP.sub("Run: STAMP\n", (bench / "results" / "bench_a.md").read_text())
    assert full.startswith("# Speed of A\nCommand: `python benchmarks/bench_a.py --quick`\n"
                           "Run: STAMP\n\n")
    assert full.endswith("\n\nIntro line.\n\n| quick |\n|---|\n| 1 |\n")
    # the failing script's block is unchanged, has no file, and is reported
    assert "B's old prose, kept when B fails." in text and "| half |" not in text
    assert not (bench / "results" / "bench_b.md").exists()
    assert "bench_b.py FAILED (exit status 3" in capsys.readouterr().err
    assert text.endswith("<!-- begin: bench_new.py -->\n## Brand new benchmark\n"
                         "Command: `python benchmarks/bench_new.py --quick`\nRun: STAMP\n"
                         "Full output: [results/bench_new.md](results/bench_new.md)\n\n"
                         "| fresh |\n<!-- end: bench_new.py -->\n")
    assert (bench / "results" / "bench_new.md").read_text().startswith("# Brand new benchmark\n")
    assert "Intro text that no run may touch." in text and "trailing text" in text
    assert not [p for p in bench.rglob("*") if p.name.endswith(".tmp")]

    assert run_all.main(["--only", "bench_a.py", "--bench-dir", str(bench)]) == 0
    text = STAMP.sub("Run: STAMP\n", (bench / "RESULTS.md").read_text())
    assert "Command: `python benchmarks/bench_a.py`\nRun: STAMP\nFull output: " in text
    assert (bench / "results" / "bench_a.md").read_text().endswith("\n\n| full |\n")
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
    assert ("Full output: [results/bench_a.only-slow.md](results/bench_a.only-slow.md)\n\n"
            "| args: --only slow |\n<!-- end: bench_a.py --only slow -->") in text
    assert "old\n" not in text.split("A's slow part")[1]
    assert (bench / "results" / "bench_a.only-slow.md").read_text().endswith("| args: --only slow |\n")
    assert (bench / "results" / "bench_a.md").read_text().endswith("| args: |\n")


def test_slugs(run_all):
    assert run_all.slug_for("bench_a.py") == "bench_a"
    assert run_all.slug_for('bench_siop.py --models "(default)"') == "bench_siop.models-default"
    long_a = "bench_a.py --sets " + "1" * 50 + " --x 1"
    long_b = "bench_a.py --sets " + "1" * 50 + " --x 2"
    assert run_all.slug_for(long_a) != run_all.slug_for(long_b)  # cut, told apart by the hash
    assert len(run_all.slug_for(long_a)) < 60


TABLE = "| a | b |\n|---|--:|\n" + "".join(f"| {i} | {i * i} |\n" for i in range(8))


def test_headline_is_the_first_table_cut_with_a_note(run_all):
    top, note = run_all.headline("Some prose.\nMore.\n\n" + TABLE + "\n| other | table |\n|---|---|\n")
    assert top == "\n".join(TABLE.splitlines()[:7]) and note == "headline: first 5 of 8 rows"
    top, note = run_all.headline("x\n\n| a |\n|---|\n| 1 |\ntext right after the table\n")
    assert (top, note) == ("| a |\n|---|\n| 1 |", "")


def test_headline_marker_and_fallbacks(run_all):
    marked = TABLE + "\n<!-- headline -->\n| best | 0.9 |\n|---|---|\n| x | 1 |\n\nafter\n"
    assert run_all.headline(marked) == ("| best | 0.9 |\n|---|---|\n| x | 1 |", "")
    # a marked paragraph, and the first paragraph when there is no table
    assert run_all.headline("a\n\n<!-- headline -->\nThe finding.\n\nz\n") == ("The finding.", "")
    assert run_all.headline("\nFirst para\nline 2\n\nsecond\n") == ("First para\nline 2", "")
    # a long fenced block is cut and closed again
    fenced = "```\n" + "".join(f"row {i}\n" for i in range(20)) + "```\n"
    top, note = run_all.headline(fenced)
    assert top.splitlines()[0] == "```" and top.splitlines()[-1] == "```"
    assert len(top.splitlines()) == 8 and note == "headline: first 7 of 22 lines"


LEGACY = """# Benchmark results

<!-- begin: bench_a.py --only x -->
## Speed of A
Command: `python benchmarks/bench_a.py --only x`
Run: 2026-11-23, a shared machine; 12 s

Notes on the run.

| model | score |
|---|---|
| ours | 0.9 |
| reference | 0.8 |
<!-- end: bench_a.py --only x -->
"""


def test_rebuild_moves_an_inline_block_into_its_file(run_all, tmp_path):
    """--rebuild converts a block written by hand (or by the older run_all) without running it."""
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "bench_a.py").write_text("raise SystemExit('must not run')\n")
    (bench / "RESULTS.md").write_text(LEGACY)
    assert run_all.main(["--rebuild", "--bench-dir", str(bench)]) == 0
    text = (bench / "RESULTS.md").read_text()
    assert text == ("# Benchmark results\n\n<!-- begin: bench_a.py --only x -->\n## Speed of A\n"
                    "Command: `python benchmarks/bench_a.py --only x`\n"
                    "Run: 2026-11-23, a shared machine; 12 s\n"
                    "Full output: [results/bench_a.only-x.md](results/bench_a.only-x.md)\n\n"
                    "| model | score |\n|---|---|\n| ours | 0.9 |\n| reference | 0.8 |\n"
                    "<!-- end: bench_a.py --only x -->\n")
    full = (bench / "results" / "bench_a.only-x.md").read_text()
    assert full.startswith("# Speed of A\nCommand: `python benchmarks/bench_a.py --only x`\n"
                           "Run: 2026-11-23, a shared machine; 12 s\n\n")
    assert full.endswith("\n\nNotes on the run.\n\n| model | score |\n|---|---|\n| ours | 0.9 |\n"
                         "| reference | 0.8 |\n")
    # a second rebuild reads the full file back and changes nothing
    assert run_all.main(["--rebuild", "--bench-dir", str(bench)]) == 0
    assert (bench / "RESULTS.md").read_text() == text
    assert (bench / "results" / "bench_a.only-x.md").read_text() == full
    # a headline marked in the full file by hand is taken up by the next rebuild
    (bench / "results" / "bench_a.only-x.md").write_text(full.replace(
        "Notes on the run.\n", "Notes on the run.\n\n<!-- headline -->\nOurs beat the reference.\n"))
    assert run_all.main(["--rebuild", "--bench-dir", str(bench)]) == 0
    assert "\n\nOurs beat the reference.\n<!-- end" in (bench / "RESULTS.md").read_text()


def test_rebuild_refuses_a_block_without_a_run_stamp(run_all, tmp_path, capsys):
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "bench_a.py").write_text("")
    stampless = LEGACY.replace("Run: 2026-11-23, a shared machine; 12 s\n", "")
    (bench / "RESULTS.md").write_text(stampless)
    assert run_all.main(["--rebuild", "--bench-dir", str(bench)]) == 1
    assert "expected a 'Command: `...`' line" in capsys.readouterr().err
    assert (bench / "RESULTS.md").read_text() == stampless


def test_real_results_file_has_a_block_per_script(run_all):
    """Every benchmark script has a well-formed block in the real RESULTS.md, one per run,
    whose command is the block's name: the command run_all reruns."""
    text = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    blocks = list(run_all.BLOCK.finditer(text))
    names = [m.group("name") for m in blocks]
    assert len(names) == len(set(names))
    assert sorted({m.group("script") for m in blocks}) == run_all.find_scripts(ROOT / "benchmarks")
    for m in blocks:
        lines = m.group("body").splitlines()
        assert lines[0].startswith("## "), m.group("name")
        command = re.fullmatch(r"Command: `([^`]+)`", lines[1])
        runs = [run_all.command_for(m.group("script"), quick, args=shlex.split(m.group("args") or ""))
                for quick in (False, True)]
        assert command and shlex.split(command.group(1)) in runs, m.group("name")
        assert re.match(r"Run: \d{4}-\d\d-\d\d\b", lines[2]), m.group("name")


def test_real_results_are_what_run_all_writes(run_all, tmp_path):
    """Every block links its full file in results/, with the same title, command and run
    stamp; the block is exactly what ``run_all.py --rebuild`` writes from that file; no file
    in results/ is left without a block; RESULTS.md stays a summary (under 400 lines)."""
    bench = ROOT / "benchmarks"
    text = (bench / "RESULTS.md").read_text()
    assert len(text.splitlines()) < 400
    names = [m.group("name") for m in run_all.BLOCK.finditer(text)]
    for name in names:
        lines = run_all.find_block(text, name).group("body").splitlines()
        slug = run_all.slug_for(name)
        assert lines[3].startswith(f"Full output: [results/{slug}.md](results/{slug}.md)"), name
        full = (bench / "results" / f"{slug}.md").read_text().splitlines()
        assert full[:3] == ["# " + lines[0][3:]] + lines[1:3], name
    assert sorted(p.name for p in (bench / "results").iterdir()) == sorted(
        f"{run_all.slug_for(name)}.md" for name in names)
    copy = tmp_path / "results"
    shutil.copytree(bench / "results", copy)
    rebuilt = text
    for name in names:
        rebuilt = run_all.rebuild(rebuilt, name, copy)
    assert rebuilt == text
    assert not filecmp.dircmp(bench / "results", copy).diff_files


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
