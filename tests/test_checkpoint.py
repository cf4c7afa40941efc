"""Resuming from a checkpoint in a fresh process continues bit for bit, dropout and optimizer state included."""
import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 8


class Tagger(nn.Module):
    """An LSTM with dropout on its outputs and a linear read-out."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 8)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(self.drop(out))


def make_optimizer(kind, model):
    if kind == "sgd":
        return optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    return optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-3)


def run(kind, steps, load_from=None, save_to=None, **load_options):
    """Train ``steps`` steps, from seed 0 or from a checkpoint; every batch and dropout mask comes from minigrad's generator."""
    mg.manual_seed(0 if load_from is None else 99)  # a resumed run starts elsewhere: the checkpoint must bring it all
    model = Tagger()
    opt = make_optimizer(kind, model)
    start = 0
    if load_from is not None:
        start = mg.load_checkpoint(load_from, model, **{"optimizer": opt, **load_options})["step"]
    for _ in range(steps):
        x = mg.randn(5, 4, 3)
        target = np.tanh(np.cumsum(x.data.sum(-1, keepdims=True), axis=0))
        opt.zero_grad()
        nn.functional.mse_loss(model(x), target).backward()
        opt.step()
    if save_to is not None:
        mg.save_checkpoint(save_to, model=model, optimizer=opt, step=start + steps)
    return model


@pytest.fixture(scope="module", params=["sgd", "adam"])
def halfway(request, tmp_path_factory):
    """(kind, the parameters after STEPS straight steps, a checkpoint after STEPS // 2)."""
    kind = request.param
    straight = run(kind, STEPS).state_dict()
    path = str(tmp_path_factory.mktemp(kind) / "half.npz")
    run(kind, STEPS // 2, save_to=path)
    return kind, straight, path


def test_resuming_in_a_fresh_process_gives_bit_identical_parameters(halfway, tmp_path):
    kind, straight, path = halfway
    out = tmp_path / "resumed.npz"
    subprocess.run([sys.executable, __file__, kind, path, str(out)], check=True, env={**os.environ, "PYTHONPATH": ROOT})
    resumed = mg.load(out)
    assert resumed.keys() == straight.keys()
    for key, value in straight.items():
        np.testing.assert_array_equal(resumed[key], value, err_msg=key)


@pytest.mark.parametrize("left_out", [{"restore_rng": False}, {"optimizer": None}])
def test_resuming_without_the_random_state_or_the_optimizer_state_differs(halfway, left_out):
    """The control: each part of the checkpoint matters, so the test above can fail."""
    kind, straight, path = halfway
    resumed = run(kind, STEPS - STEPS // 2, load_from=path, **left_out).state_dict()
    assert any(not np.array_equal(resumed[k], v) for k, v in straight.items())


def test_load_checkpoint_returns_step_and_extras(tmp_path):
    model = nn.Linear(2, 3)
    opt = optim.Adam(model.parameters())
    path = mg.save_checkpoint(tmp_path / "c.npz", model=model, optimizer=opt, step=7, best_loss=0.25, losses=np.arange(3.0))
    info = mg.load_checkpoint(path, nn.Linear(2, 3), optim.Adam(model.parameters()))
    assert info["step"] == 7 and info["best_loss"] == 0.25
    np.testing.assert_array_equal(info["losses"], np.arange(3.0))


def test_a_checkpoint_that_does_not_fit_changes_nothing(tmp_path):
    source = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    path = mg.save_checkpoint(tmp_path / "c.npz", model=source, optimizer=optim.SGD(source.parameters(), lr=0.1), step=1)
    mg.manual_seed(5)
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    opt = optim.Adam(model.parameters(), lr=0.5)  # an SGD state does not fit an Adam
    weights, rng = model.state_dict(), mg.get_rng_state()
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: param_groups\[0\] has unknown keys \['dampening'"):
        mg.load_checkpoint(path, model, opt)
    for k, v in weights.items():
        np.testing.assert_array_equal(model.state_dict()[k], v)
    np.testing.assert_array_equal(mg.get_rng_state(), rng)
    assert opt.lr == 0.5


def test_load_checkpoint_refuses_a_plain_state_dict_and_missing_parts(tmp_path):
    model = nn.Linear(2, 3)
    plain = mg.save(model.state_dict(), tmp_path / "plain.npz")
    with pytest.raises(ValueError, match="holds 'weight', which save_checkpoint does not write"):
        mg.load_checkpoint(plain, model)
    no_optimizer = mg.save_checkpoint(tmp_path / "c.npz", model=model)
    with pytest.raises(ValueError, match="holds no optimizer state"):
        mg.load_checkpoint(no_optimizer, model, optim.SGD(model.parameters(), lr=0.1))


if __name__ == "__main__":  # the fresh process of the resume test: kind, checkpoint in, parameters out
    kind, checkpoint, out = sys.argv[1:]
    mg.save(run(kind, STEPS - STEPS // 2, load_from=checkpoint).state_dict(), out)
