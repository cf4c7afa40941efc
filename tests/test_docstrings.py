"""Every public name has a docstring the API reference renders: Google style, examples under
`Examples:` (so mkdocstrings shows `>>>` lines as code), no Sphinx roles (they show literally)."""
import inspect
import re

import pytest

import minigrad
from minigrad import nn, optim, viz

ROLE = re.compile(r":(func|class|meth|mod|attr|exc):`")


def _public():
    """(qualified name, object) for every public function, class and public method."""
    seen = {}
    modules = {"minigrad": minigrad, "minigrad.nn": nn, "minigrad.optim": optim, "minigrad.viz": viz,
               "minigrad.nn.functional": nn.functional, "minigrad.nn.utils": nn.utils}
    for prefix, module in modules.items():
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if not getattr(obj, "__module__", "").startswith("minigrad"):
                continue
            seen.setdefault(f"{prefix}.{name}", obj)
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not (inspect.isfunction(member) or isinstance(member, (property, staticmethod, classmethod))):
                        continue
                    seen.setdefault(f"{prefix}.{name}.{attr}", member)
    return sorted(seen.items())


PUBLIC = _public()


@pytest.mark.parametrize("name, obj", PUBLIC, ids=[n for n, _ in PUBLIC])
def test_public_names_have_docstrings_the_reference_renders(name, obj):
    doc = inspect.getdoc(obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj)
    assert doc and doc.strip(), f"{name} has no docstring: the API reference would leave it out"
    assert not ROLE.search(doc), f"{name}: Sphinx roles show literally in the reference; write `name`"
    lines = doc.splitlines()
    for k, line in enumerate(lines):
        if line.lstrip().startswith(">>>"):
            assert any(l.strip() in ("Examples:", "Example:") for l in lines[:k]), \
                f"{name}: put the >>> lines under an 'Examples:' section, or they render as run-together quotes"
        if line.lstrip().startswith((">>>", "... ")):
            assert len(line.strip()) <= 88, f"{name}: wrap this example line at 88 characters: {line.strip()}"
