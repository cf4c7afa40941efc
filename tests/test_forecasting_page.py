"""docs/forecasting.md (and its Chinese twin): the tutorials' PyTorch LSTMModel and the minigrad one differ only in
their imports, and, where torch is installed, have the same parameter count and the same outputs on the same weights."""
import os
import re

import numpy as np
import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")
PAGES = ["forecasting.md", "forecasting.zh.md"]
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```", re.S | re.M)


def blocks(page):
    """The PyTorch block (fenced ```py, not run by the site) and the minigrad blocks that follow it."""
    fences = FENCE.findall(open(os.path.join(ROOT, "docs", page), encoding="utf-8").read())
    torch_code = next(body for lang, _, body in fences if lang == "py")
    minigrad = [body for lang, _, body in fences if lang == "python"]
    return torch_code, minigrad


def split_imports(code):
    lines = code.splitlines()
    imports = [line for line in lines if line.startswith("import ")]
    return imports, "\n".join(line for line in lines if not line.startswith("import ")).strip()


@pytest.mark.parametrize("page", PAGES)
def test_the_pytorch_and_minigrad_programs_differ_only_in_their_imports(page):
    torch_code, minigrad = blocks(page)
    torch_imports, torch_rest = split_imports(torch_code)
    model_imports, model_rest = split_imports(minigrad[0])
    assert torch_rest == (model_rest + "\n\n" + minigrad[1].strip())
    assert [line.replace("torch", "minigrad") for line in torch_imports] == [
        line.replace("minigrad as torch", "minigrad") for line in model_imports]


@pytest.mark.parametrize("page", PAGES)
def test_the_pytorch_model_matches_minigrads_parameters_and_outputs(page):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    torch_code, minigrad = blocks(page)
    theirs, ours = {}, {}
    default = torch.get_default_dtype()   # other tests set float64; the page assumes torch's float32
    torch.set_default_dtype(torch.float32)
    try:
        exec(torch_code.split("optimizer =")[0], theirs)   # the model and data, not the training
    finally:
        torch.set_default_dtype(default)
    exec(minigrad[0], ours)
    count = lambda model: sum(int(np.prod(p.shape)) for p in model.parameters())
    assert count(theirs["model"]) == count(ours["model"]) == 3409
    theirs["model"].load_state_dict({k: torch.tensor(v) for k, v in ours["model"].state_dict().items()})
    with torch.no_grad():
        expected = theirs["model"](theirs["x"]).numpy()
    np.testing.assert_allclose(ours["model"](ours["x"]).data, expected, rtol=1e-4, atol=1e-5)
