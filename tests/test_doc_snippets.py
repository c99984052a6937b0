"""Every python code block of README.md and the user guide runs as written.

Each page's blocks are joined in order into one script (a later block may use what
an earlier one defined, as a reader following the page would) and run in a fresh
interpreter, in a temporary folder, with the test run's temporary skpersona cache
(shared by the pages and the tests: its entries are keyed by content). The snippets
are written to be cheap as they stand (small synthetic data, few epochs); nothing
shrinks them behind the reader's back.

A block that cannot run here is marked by a comment on the line before it, with
its reason; the only reasons allowed are a cluster, a GPU or online access:

- reStructuredText: ``.. snippet-skip: needs a running Dask cluster``
- Markdown (README): ``<!-- snippet-skip: needs an OpenAI-compatible server -->``

The comment is invisible in the rendered page.
"""

import os
import re
import subprocess
import sys
import textwrap

import pytest

from .conftest import REPO_ROOT, SHARED_DATA

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "doc" / "user_guide").glob("*.rst"))]
# Pages whose snippets embed real data (First Impressions), run searches or start
# local clusters (25 s to minutes on a 2-core machine).
SLOW_PAGES = {"README.md", "pipelines.rst", "scaling_out.rst", "automl.rst"}
ALLOWED_REASONS = ("cluster", "gpu", "online", "server")

_RST_BLOCK = re.compile(  # also indented blocks (inside a list item)
    r"(?:^ *\.\. snippet-skip: *(?P<skip>.+)\n\n?)?"
    r"^(?P<indent> *)\.\. code-block:: python\n(?:(?P=indent)   :.*\n)*\n"
    r"(?P<body>(?:(?:(?P=indent)   .*)?\n)+)",
    re.MULTILINE,
)
_MD_BLOCK = re.compile(
    r"(?:^<!-- snippet-skip: *(?P<skip>.+?) *-->\n)?^```python\n(?P<body>.*?)^```",
    re.MULTILINE | re.DOTALL,
)


def snippets(page):
    """``[(code, skip_reason or None), ...]`` of a page, in order."""
    text = page.read_text(encoding="utf-8")
    pattern = _MD_BLOCK if page.suffix == ".md" else _RST_BLOCK
    return [(textwrap.dedent(m.group("body")), m.group("skip")) for m in pattern.finditer(text)]


def _script(page):
    parts = []
    for i, (code, skip) in enumerate(snippets(page)):
        if skip:
            parts.append(f"# block {i + 1} not run: {skip}\n")
        else:
            parts.append(f"# ---- block {i + 1}\n{code}\n")
    return "".join(parts)


@pytest.fixture(scope="session")
def snippet_cache():
    """One skpersona cache for every page: the test run's temporary one (conftest.py),
    whose entries are keyed by content. README and pipelines.rst embed the same First
    Impressions transcripts, and tests/test_cli.py embeds most of them too."""
    return os.environ["SKPERSONA_CACHE_DIR"]


def _page_param(page):
    marks = [pytest.mark.slow] if page.name in SLOW_PAGES else []
    return pytest.param(page, id=page.name, marks=marks)


def test_every_page_with_python_is_collected():
    """A guide page's blocks are found (a changed directive spelling would hide them)."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        expected = text.count("```python") if page.suffix == ".md" else text.count(
            ".. code-block:: python")
        assert len(snippets(page)) == expected, page.name


def test_skipped_blocks_name_an_allowed_reason():
    for page in PAGES:
        for _, skip in snippets(page):
            if skip:
                assert any(word in skip.lower() for word in ALLOWED_REASONS), (page.name, skip)


@pytest.mark.parametrize("page", [_page_param(p) for p in PAGES
                                  if any(not skip for _, skip in snippets(p))])
def test_page_snippets_run_as_written(page, tmp_path, snippet_cache):
    script = tmp_path / f"{page.stem}_snippets.py"
    script.write_text(_script(page), encoding="utf-8")
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
           "SKPERSONA_CACHE_DIR": str(snippet_cache),
           "SKPERSONA_DATA": str(SHARED_DATA),
           "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (
        f"{page.name}'s snippets failed (script {script}):\n{result.stderr[-4000:]}")
