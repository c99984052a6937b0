"""Write ``api.rst``: one autosummary section per skpersona subpackage.

Every public name in a subpackage's ``__all__`` is listed, so the reference can
never fall behind the code. A subpackage that is not in this checkout yet (its
module does not exist) is left out; any other import error fails the build.
"""

import importlib
import inspect
import re
from pathlib import Path

# (module, title) in reading order; the first docstring line becomes the lead.
SECTIONS = [
    ("skpersona.datasets", "Datasets"),
    ("skpersona.au", "Facial action units"),
    ("skpersona.text", "Text"),
    ("skpersona.fusion", "Multimodal fusion"),
    ("skpersona.independence", "Independence tests and the dependency screen"),
    ("skpersona.crl", "Causal representation learning"),
    ("skpersona.metrics", "Metrics and scorers"),
    ("skpersona.automl", "AutoML search spaces and adapters"),
    ("skpersona.plotting", "Plotting"),
    ("skpersona.traits", "Trait sets"),
    ("skpersona.utils", "Utilities"),
]

HEADER = """\
.. _api_ref:

=============
API reference
=============

Every public class and function of skpersona, by subpackage. Estimators follow
the scikit-learn API (``fit``, ``transform``/``predict``, ``get_params``,
``set_output``); see the :ref:`user_guide` for how they compose.

.. This file is written by doc/_api.py at every build; do not edit it by hand.
"""


def _kind(obj):
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def _import(name):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:  # the subpackage itself is absent from this checkout
            return None
        raise


def _public_names(module):
    """``__all__``, else the public classes and functions defined in the module and
    its upper-case constants."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, obj in vars(module).items()
            if not name.startswith("_")
            and (getattr(obj, "__module__", None) == module.__name__
                 or (name.isupper() and not inspect.ismodule(obj)))]


def _constant_comment(module, name):
    """The ``#`` comment block right above ``NAME = ...`` in the module or its submodules."""
    files = [Path(module.__file__)]
    if files[0].name == "__init__.py":
        files += sorted(files[0].parent.glob("*.py"))
    pattern = re.compile(rf"^{re.escape(name)}\s*(:[^=]*)?=")
    for file in files:
        lines = file.read_text().splitlines()
        for i, line in enumerate(lines):
            if pattern.match(line):
                comment = []
                j = i - 1
                while j >= 0 and lines[j].lstrip().startswith("#"):
                    comment.insert(0, lines[j].lstrip().lstrip("#:").strip())
                    j -= 1
                return " ".join(comment)
    return ""


def _constant(module, name):
    value = getattr(module, name)
    shown = repr(value)
    if len(shown) > 160:
        shown = shown[:150].rstrip() + " ..."
    comment = _constant_comment(module, name) or f"A {type(value).__name__} constant."
    return (f".. py:data:: {name}\n   :type: {type(value).__name__}\n\n"
            f"   {comment}\n\n   Value: ``{shown}``\n")


def api_sections():
    """Yield ``(module_name, title, lead, {kind: [names]})`` for each present subpackage."""
    for module_name, title in SECTIONS:
        module = _import(module_name)
        if module is None:
            continue
        names = _public_names(module)
        if not names:
            continue
        doc = inspect.getdoc(module) or ""
        lead = " ".join(doc.split("\n\n")[0].split())
        groups = {"class": [], "function": [], "data": []}
        for name in sorted(names, key=str.lower):
            if name.startswith("__"):
                continue
            groups[_kind(getattr(module, name))].append(name)
        yield module, title, lead, groups


def render():
    parts = [HEADER]
    for module, title, lead, groups in api_sections():
        module_name = module.__name__
        anchor = module_name.replace(".", "-")
        parts.append(f".. _{anchor}:\n\n{title}\n{'=' * len(title)}\n")
        parts.append(f".. automodule:: {module_name}\n   :no-members:\n   :no-index:\n")
        parts.append(f".. currentmodule:: {module_name}\n")
        if lead:
            parts.append(f"``{module_name}``: {lead}\n")
        for kind, heading in (("class", "Classes"), ("function", "Functions")):
            names = groups[kind]
            if not names:
                continue
            template = f"{kind}.rst"
            parts.append(f"{heading}\n{'-' * len(heading)}\n")
            parts.append(f".. autosummary::\n   :toctree: generated/\n   :template: {template}\n"
                         + "".join(f"\n   {name}" for name in names) + "\n")
        if groups["data"]:
            parts.append("Constants\n---------\n")
            parts.extend(_constant(module, name) for name in groups["data"])
    return "\n".join(parts)


def write_api_reference(path):
    """Write the reference to ``path`` unless it already holds the same text."""
    path = Path(path)
    text = render()
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
