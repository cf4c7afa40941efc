"""MkDocs hook: run the build, and so the code blocks markdown-exec executes, in a scratch folder.

A page's code may write files (`viz.render(y, "first_graph.svg")`, `mg.save(..., "lstm.npz")`);
they land in a temporary directory, as they do in tests/test_docs.py, never in the checkout.
"""
import os
import shutil
import sys
import tempfile

_state = {}


def on_config(config):
    # the checkout's package, importable after the change of directory
    root = os.path.dirname(os.path.abspath(config.config_file_path))
    if root not in sys.path:
        sys.path.insert(0, root)
    # paths other extensions resolve against the working directory, made absolute
    snippets = config.mdx_configs.get("pymdownx.snippets", {})
    snippets["base_path"] = [os.path.join(root, p) for p in snippets.get("base_path", ["."])]
    return config


def on_pre_build(config):
    _state["cwd"] = os.getcwd()
    _state["tmp"] = tempfile.mkdtemp(prefix="minigrad-docs-")
    os.chdir(_state["tmp"])


def on_post_build(config):
    os.chdir(_state.pop("cwd"))
    shutil.rmtree(_state.pop("tmp"), ignore_errors=True)


def on_build_error(error):
    if "cwd" in _state:
        on_post_build(None)
