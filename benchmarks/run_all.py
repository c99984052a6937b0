"""Run the benchmarks: each run's full output to benchmarks/results/, a summary to RESULTS.md.

Each ``benchmarks/bench_*.py`` prints its results (markdown tables, with a reference
measured in the same run) to stdout and its progress to stderr. A run of a script is a
*block*. RESULTS.md holds, per block, the title, the command, the run stamp, a link to the
full output and its headline::

    <!-- begin: bench_name.py -->
    ## Title
    Command: `python benchmarks/bench_name.py`
    Run: 2026-12-07, Linux x86_64, 2 CPUs, Python 3.11.7; 312 s, load average 3.2 at the end
    Full output: [results/bench_name.md](results/bench_name.md)

    <the headline: one table of what the script printed>
    <!-- end: bench_name.py -->

and ``benchmarks/results/<slug>.md`` holds everything the script printed, under the same
title, ``Command:`` and ``Run:`` lines. The slug is the script's name without ``.py``,
followed for a block with arguments by ``.`` and the arguments in lower case with every run
of other characters than letters and digits turned into ``-`` (``bench_independence.py
--only heldout`` -> ``bench_independence.only-heldout.md``), cut at 40 characters with a
hash of the block name when longer.

The headline is what a script marks with a line ``<!-- headline -->``: the lines after the
marker up to the next blank line (a fenced code block up to its closing fence). Without a
marker it is the output's first markdown table, and without a table its first paragraph.
It is cut at ``HEADLINE_ROWS`` table rows (``HEADLINE_ROWS + 2`` lines of anything else),
and the ``Full output:`` line then says how much was left out. Nothing is lost: every
figure is in the full file.

A block may name arguments after the script (``<!-- begin: bench_name.py --only heldout
-->``): that run of the script is then a block of its own, so a script with several parts
(or a slow part run apart, or a run with other settings) keeps each part's figures with the
command that made them. The command of a block is always ``python benchmarks/`` + the block
name (plus ``--quick`` when run_all is run with it and the name lacks it).

A run writes the block's full file (atomically, before RESULTS.md, so a link never
dangles), then rewrites the block in RESULTS.md: its title (first heading) is kept, the
rest is regenerated. Text outside the blocks stays as it is. A script without a block gets
a new one at the end of the file (titled by its docstring's first line). A script that
fails or times out is reported and its block and file are left unchanged; the exit status
is then 1. RESULTS.md is rewritten atomically after each script, so an interrupted run
keeps what finished.

``--rebuild`` runs nothing: it rewrites every block (or those of ``--only``) from its full
file, e.g. after a change to the headline rule or a hand-marked headline. A block still in
the older inline form (``Command:`` and ``Run:`` lines followed by the output itself, no
``Full output:`` line) is moved into its full file by ``--rebuild``: this is how the
existing results were converted, without rerunning them.

A run made by hand (e.g. a slow CRL run). *Of a new command*: append a block in the inline
form at the end of RESULTS.md::

    <!-- begin: bench_crl.py --n-jobs 2 --seeds 3 -->
    ## Causal representation learning: three seeds
    Command: `python benchmarks/bench_crl.py --n-jobs 2 --seeds 3`
    Run: 2026-12-08, the shared 2-core machine, nice -n 10; 1520 s

    <what the script printed, and any notes on the run>
    <!-- end: bench_crl.py --n-jobs 2 --seeds 3 -->

The block name is the script and exactly the command's arguments (so that run_all can rerun
it), the ``Run:`` stamp starts with the date (YYYY-MM-DD), and a line ``<!-- headline -->``
may mark the headline. Then ``python benchmarks/run_all.py --rebuild --only bench_crl.py``
moves the output into ``results/`` and leaves the summary; commit both. *Of a command that
already has a block*: put the new output under the header lines of its file in
``results/``, update the ``Run:`` line there, and ``--rebuild``. Notes on a run go with its
output in the full file (a rerun replaces them); the research narrative goes to the
documentation (``doc/research/``). tests/test_benchmarks_run_all.py checks the real files:
one block or more per script, the command equal to the block name, a dated run stamp, the
full file with the same title, command and stamp, each block exactly what ``--rebuild``
writes, no file in ``results/`` without a block, and RESULTS.md under 400 lines (a block
costs 7 lines and its headline).

Run::

    python benchmarks/run_all.py [--quick] [--only bench_a.py bench_b.py] [--timeout S]
    python benchmarks/run_all.py --rebuild [--only bench_a.py]

``--only`` selects every block of the named scripts.
"""

import argparse
import ast
import datetime
import hashlib
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BLOCK = re.compile(
    r"(?P<begin><!-- begin: (?P<name>(?P<script>bench_[\w.-]+\.py)(?: (?P<args>[^<>\n]+?))?) -->\n)"
    r"(?P<body>.*?)(?P<end><!-- end: (?P=name) -->)",
    re.DOTALL,
)
HEADING = re.compile(r"#{1,6} \S")
HEADLINE_MARK = "<!-- headline -->"
HEADLINE_ROWS = 5
RESULTS_DIR = "results"
FULL = re.compile(r"^Full output: \[[^\]]*\]\([^)]+\)", re.MULTILINE)
TABLE_SEP = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$")


def find_scripts(bench_dir):
    """The benchmark scripts in ``bench_dir``, sorted by name."""
    return sorted(p.name for p in Path(bench_dir).glob("bench_*.py"))


def command_for(script, quick, bench_dir=HERE, args=()):
    """The command line (as a list) that runs ``script`` with ``args``; relative to the repo root."""
    rel = Path(bench_dir).name + "/" + script
    args = list(args)
    return ["python", rel] + args + (["--quick"] if quick and "--quick" not in args else [])


def runs_for(text, scripts):
    """The runs to make: ``(block name, script, args)`` for every block of ``scripts`` in
    ``text``, and one plain run for a script that has no block yet."""
    runs, seen = [], set()
    for match in BLOCK.finditer(text):
        script = match.group("script")
        if script in scripts and match.group("name") not in {r[0] for r in runs}:
            runs.append((match.group("name"), script, shlex.split(match.group("args") or "")))
            seen.add(script)
    runs += [(s, s, []) for s in scripts if s not in seen]
    return sorted(runs, key=lambda r: (scripts.index(r[1]), r[0]))


def machine():
    """The machine a run was made on, in one line."""
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}")


def _title(script_path):
    """A block title for a script that has no block yet: its docstring's first line."""
    try:
        doc = ast.get_docstring(ast.parse(Path(script_path).read_text()))
    except (OSError, SyntaxError, ValueError):
        doc = None
    first = (doc or "").strip().splitlines()
    return first[0].rstrip(".") if first else Path(script_path).name


def replace_block(text, script, command, output, title=None, run=None, full=None):
    """Return ``text`` with the body of block ``script`` set to ``output``.

    ``script`` is a block name: the script's file name, or the file name and the arguments
    of that run. The block's title line (its first markdown heading, if the block starts
    with one) is kept; the ``Command:`` line is rewritten to ``command`` (a string), and
    followed by ``Run: {run}`` when ``run`` is given (date, machine, time) and by
    ``Full output: {full}`` when ``full`` is given; everything after them is replaced by
    ``output``. Text outside the block is untouched. When the file has no such block, one
    is appended, titled ``title`` (default: the script name).
    """
    output = output.strip("\n")
    head = ([f"Command: `{command}`"] + ([f"Run: {run}"] if run else [])
            + ([f"Full output: {full}"] if full else []))
    match = find_block(text, script)
    if match:
        lines = match.group("body").splitlines()
        header = [lines[0]] if lines and HEADING.match(lines[0]) else []
        body = "\n".join(header + head) + "\n\n" + output + "\n"
        return text[: match.start("body")] + body + text[match.end("body") :]
    heading = "\n".join([f"## {title or script}"] + head)
    block = f"<!-- begin: {script} -->\n{heading}\n\n{output}\n<!-- end: {script} -->\n"
    return text.rstrip("\n") + "\n\n" + block


def find_block(text, name):
    """The ``BLOCK`` match of block ``name`` in ``text``, or None."""
    return next((m for m in BLOCK.finditer(text) if m.group("name") == name), None)


def block_title(text, name):
    """The title of block ``name`` in ``text`` (its first heading, without the #), or None."""
    match = find_block(text, name)
    first = match.group("body").splitlines()[:1] if match else []
    return first[0].lstrip("#").strip() if first and HEADING.match(first[0]) else None


def slug_for(name):
    """The file name (without ``.md``) of block ``name``'s full output in ``results/``."""
    script, _, args = name.partition(" ")
    slug = script.removesuffix(".py")
    if args:
        tail = re.sub(r"[^a-z0-9]+", "-", args.lower()).strip("-")
        if len(tail) > 40:
            # long argument lists: cut, and keep names apart by a hash of the whole name
            tail = tail[:40].rstrip("-") + "-" + hashlib.sha1(name.encode()).hexdigest()[:8]
        slug += "." + tail
    return slug


def headline(output, rows=HEADLINE_ROWS):
    """The headline of a script's ``output``: ``(text, note)``.

    The chunk after a ``<!-- headline -->`` line, else the first markdown table, else the
    first paragraph (see the module docstring); cut at ``rows`` table rows (``rows + 2``
    lines of anything else), ``note`` then saying what was cut ("" when nothing was).
    """
    lines = output.strip("\n").splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.strip() == HEADLINE_MARK), None)
    if start is None:
        start = next((i for i in range(len(lines) - 1) if lines[i].startswith("|")
                      and TABLE_SEP.match(lines[i + 1])), None)
    if start is None:
        start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    chunk, fence = [], False
    for line in lines[start:]:
        if not fence and not line.strip():
            break
        if not fence and chunk and chunk[0].startswith("|") and not line.startswith("|"):
            break  # a table ends where its rows end
        if line.lstrip().startswith("```"):
            fence = not fence
        chunk.append(line)
        if not fence and chunk[0].lstrip().startswith("```") and len(chunk) > 1:
            break  # the closing fence of a fenced block
    if chunk and chunk[0].startswith("|") and len(chunk) > 1 and TABLE_SEP.match(chunk[1]):
        if len(chunk) - 2 <= rows:
            return "\n".join(chunk), ""
        return "\n".join(chunk[: rows + 2]), f"headline: first {rows} of {len(chunk) - 2} rows"
    if len(chunk) <= rows + 2:
        return "\n".join(chunk), ""
    cut = chunk[: rows + 2] + (["```"] if chunk[0].lstrip().startswith("```") else [])
    return "\n".join(cut), f"headline: first {rows + 2} of {len(chunk)} lines"


def full_text(name, title, command, run, output):
    """The full-output file of block ``name``: title, command, run stamp, all the output."""
    script = name.partition(" ")[0]
    return (f"# {title}\nCommand: `{command}`\nRun: {run}\n\n"
            f"Block `{name}` of [RESULTS.md](../RESULTS.md), written by "
            f"`benchmarks/run_all.py --only {script}`; rerunning it replaces this file.\n\n"
            f"{output.strip(chr(10))}\n")


def parse_full(text):
    """``(command, run, output)`` of a full-output file written by ``full_text``."""
    head, _, rest = text.partition("\n\n")
    fields = dict(line.split(": ", 1) for line in head.splitlines()[1:] if ": " in line)
    if "Command" not in fields or "Run" not in fields:
        raise ValueError("no 'Command:' and 'Run:' lines under its title")
    rest = rest.split("\n\n", 1)[1] if rest.startswith("Block `") else rest
    return fields["Command"].strip("`"), fields["Run"], rest


def record(text, name, command, run, output, title, results_dir):
    """Write block ``name``'s full output to ``results_dir`` and return ``text`` with the
    block's summary (title, command, run stamp, link, headline) in place."""
    title = block_title(text, name) or title
    results_dir = Path(results_dir)
    results_dir.mkdir(exist_ok=True)
    path = results_dir / f"{slug_for(name)}.md"
    write_atomic(path, full_text(name, title, command, run, output))
    top, note = headline(output)
    rel = f"{results_dir.name}/{path.name}"
    full = f"[{rel}]({rel})" + (f" ({note})" if note else "")
    return replace_block(text, name, command, top, title=title, run=run, full=full)


def rebuild(text, name, results_dir):
    """Rewrite block ``name`` of ``text`` from its full file, or, for a block still in the
    inline form, from the block itself (which moves its output into ``results_dir``)."""
    body = find_block(text, name).group("body")
    if FULL.search(body):
        # the file's place follows from the block's name: a link in RESULTS.md never
        # chooses what is read
        source = Path(results_dir) / f"{slug_for(name)}.md"
        command, run, output = parse_full(source.read_text())
    else:
        lines = body.splitlines()
        lines = lines[1:] if lines and HEADING.match(lines[0]) else lines
        inline = re.fullmatch(r"Command: `([^`]+)`", lines[0]) if lines else None
        if not inline or len(lines) < 2 or not lines[1].startswith("Run: "):
            raise ValueError(f"block {name!r}: expected a 'Command: `...`' line (the command "
                             "alone) and a 'Run: ...' line under its title")
        command, run, output = inline.group(1), lines[1][len("Run: "):], "\n".join(lines[2:])
    return record(text, name, command, run, output, name, results_dir)


def write_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_script(script, quick, bench_dir, timeout, args=()):
    """Run one script from the repo root; return (ok, stdout, seconds, why)."""
    bench_dir = Path(bench_dir)
    root = bench_dir.parent
    cmd = [sys.executable, str(bench_dir / script)] + command_for(script, quick, bench_dir, args)[2:]
    env = dict(os.environ)
    # the checkout's own skpersona, whether or not it is pip-installed; never the hub
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    start = time.perf_counter()
    try:
        # stderr (progress, logs) goes straight to ours; stdout is the result
        proc = subprocess.run(
            cmd, cwd=root, env=env, stdout=subprocess.PIPE, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return False, "", time.perf_counter() - start, f"timed out after {timeout} s"
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        return False, proc.stdout, seconds, f"exit status {proc.returncode}"
    if not proc.stdout.strip():
        return False, "", seconds, "printed nothing on stdout"
    return True, proc.stdout, seconds, ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    parser.add_argument("--only", nargs="+", metavar="SCRIPT",
                        help="only the blocks of these scripts")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per script")
    parser.add_argument("--bench-dir", default=str(HERE), help=argparse.SUPPRESS)
    parser.add_argument("--results", default=None, help="default: <bench-dir>/RESULTS.md")
    parser.add_argument("--rebuild", action="store_true",
                        help="run nothing: rewrite the blocks from their full-output files")
    args = parser.parse_args(argv)

    bench_dir = Path(args.bench_dir).resolve()
    results = Path(args.results) if args.results else bench_dir / "RESULTS.md"
    results_dir = results.parent / RESULTS_DIR
    scripts = find_scripts(bench_dir)
    if args.only:
        unknown = sorted(set(args.only) - set(scripts))
        if unknown:
            parser.error(f"no such benchmark script(s): {', '.join(unknown)}; "
                         f"choose from {', '.join(scripts)}")
        scripts = [s for s in scripts if s in args.only]

    failed = []
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    if args.rebuild:
        names = [m.group("name") for m in BLOCK.finditer(text) if m.group("script") in scripts]
        for name in names:
            try:
                text = rebuild(text, name, results_dir)
            except (OSError, ValueError) as exc:
                print(f"cannot rebuild block {name!r}: {exc}; RESULTS.md is left unchanged",
                      file=sys.stderr)
                return 1
        write_atomic(results, text)
        print(f"{len(names)} blocks rebuilt in {results}", file=sys.stderr)
        return 0
    runs = runs_for(text, scripts)
    for i, (name, script, script_args) in enumerate(runs, 1):
        command = shlex.join(command_for(script, args.quick, bench_dir, script_args))
        print(f"[{i}/{len(runs)}] {command}", file=sys.stderr, flush=True)
        ok, output, seconds, why = run_script(script, args.quick, bench_dir, args.timeout,
                                              script_args)
        if not ok:
            failed.append(name)
            print(f"[{i}/{len(runs)}] {name} FAILED ({why}, {seconds:.0f} s); "
                  "its block and file are left unchanged", file=sys.stderr, flush=True)
            continue
        # the load says how far other work on the machine inflated the times
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        run = (f"{datetime.date.today().isoformat()}, {machine()}; {seconds:.0f} s, "
               f"load average {load:.1f} at the end")
        text = results.read_text() if results.exists() else "# Benchmark results\n"
        text = record(text, name, command, run, output, _title(bench_dir / script), results_dir)
        write_atomic(results, text)
        print(f"[{i}/{len(runs)}] {name} done in {seconds:.0f} s", file=sys.stderr, flush=True)

    print(f"{len(runs) - len(failed)} of {len(runs)} benchmark runs updated {results}"
          + (f"; failed: {', '.join(failed)}" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
