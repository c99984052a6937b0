"""Run every benchmark script and regenerate its block in benchmarks/RESULTS.md.

Each ``benchmarks/bench_*.py`` prints its results (markdown tables, with a reference
measured in the same run) to stdout and its progress to stderr. RESULTS.md holds one
block per script run::

    <!-- begin: bench_name.py -->
    ## Title
    Command: `python benchmarks/bench_name.py --quick`
    Run: 2026-12-07, Linux x86_64, 2 CPUs, Python 3.11.7; 312 s
    <what the script printed to stdout>
    <!-- end: bench_name.py -->

A block may name arguments after the script (``<!-- begin: bench_name.py --only heldout
-->``): that run of the script is then a block of its own, so a script with several parts
(or a slow part run apart) keeps each part's figures with the command that made them.
A run replaces the body of each block with the fresh stdout and rewrites the
``Command:`` and ``Run:`` lines (the exact command, the date, the machine and the wall
time); the title and all text outside the blocks stay as they are. A script without a block gets a new one at the end of the
file (titled by its docstring's first line). A script that fails or times out is
reported and its block is left unchanged; the exit status is then 1. RESULTS.md is
rewritten atomically after each script, so an interrupted run keeps what finished.

Run::

    python benchmarks/run_all.py [--quick] [--only bench_a.py bench_b.py] [--timeout S]

``--only`` runs every block of the named scripts.
"""

import argparse
import ast
import datetime
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


def replace_block(text, script, command, output, title=None, run=None):
    """Return ``text`` with the body of block ``script`` set to ``output``.

    ``script`` is a block name: the script's file name, or the file name and the arguments
    of that run. The block's title line (its first markdown heading, if the block starts
    with one) is kept; the ``Command:`` line is rewritten to ``command`` (a string), and
    followed by ``Run: {run}`` when ``run`` is given (date, machine, time); everything after
    them is replaced by ``output``. Text outside the block is untouched. When the file has
    no such block, one is appended, titled ``title`` (default: the script name).
    """
    output = output.strip("\n")
    head = [f"Command: `{command}`"] + ([f"Run: {run}"] if run else [])
    for match in BLOCK.finditer(text):
        if match.group("name") != script:
            continue
        lines = match.group("body").splitlines()
        header = [lines[0]] if lines and HEADING.match(lines[0]) else []
        body = "\n".join(header + head) + "\n\n" + output + "\n"
        return text[: match.start("body")] + body + text[match.end("body") :]
    heading = "\n".join([f"## {title or script}"] + head)
    block = f"<!-- begin: {script} -->\n{heading}\n\n{output}\n<!-- end: {script} -->\n"
    return text.rstrip("\n") + "\n\n" + block


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
    parser.add_argument("--only", nargs="+", metavar="SCRIPT", help="run only these scripts")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per script")
    parser.add_argument("--bench-dir", default=str(HERE), help=argparse.SUPPRESS)
    parser.add_argument("--results", default=None, help="default: <bench-dir>/RESULTS.md")
    args = parser.parse_args(argv)

    bench_dir = Path(args.bench_dir).resolve()
    results = Path(args.results) if args.results else bench_dir / "RESULTS.md"
    scripts = find_scripts(bench_dir)
    if args.only:
        unknown = sorted(set(args.only) - set(scripts))
        if unknown:
            parser.error(f"no such benchmark script(s): {', '.join(unknown)}; "
                         f"choose from {', '.join(scripts)}")
        scripts = [s for s in scripts if s in args.only]

    failed = []
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    runs = runs_for(text, scripts)
    for i, (name, script, script_args) in enumerate(runs, 1):
        command = shlex.join(command_for(script, args.quick, bench_dir, script_args))
        print(f"[{i}/{len(runs)}] {command}", file=sys.stderr, flush=True)
        ok, output, seconds, why = run_script(script, args.quick, bench_dir, args.timeout,
                                              script_args)
        if not ok:
            failed.append(name)
            print(f"[{i}/{len(runs)}] {name} FAILED ({why}, {seconds:.0f} s); "
                  "its block is left unchanged", file=sys.stderr, flush=True)
            continue
        # the load says how far other work on the machine inflated the times
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        run = (f"{datetime.date.today().isoformat()}, {machine()}; {seconds:.0f} s, "
               f"load average {load:.1f} at the end")
        text = results.read_text() if results.exists() else "# Benchmark results\n"
        text = replace_block(text, name, command, output, title=_title(bench_dir / script),
                             run=run)
        write_atomic(results, text)
        print(f"[{i}/{len(runs)}] {name} done in {seconds:.0f} s", file=sys.stderr, flush=True)

    print(f"{len(runs) - len(failed)} of {len(runs)} benchmark runs updated {results}"
          + (f"; failed: {', '.join(failed)}" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
