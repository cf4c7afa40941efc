import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTMCell(3, 4)
        self.head = nn.Linear(4, 2)
        self.scale = nn.Parameter(np.ones(2))

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.head(h) * self.scale


def test_parameters_and_submodules_register_in_order():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["rnn.weight_ih", "rnn.weight_hh", "rnn.bias_ih", "rnn.bias_hh", "head.weight", "head.bias", "scale"]
    assert all(p.requires_grad for p in net.parameters())


def test_parameter_data_and_grad_can_be_assigned():
    p = nn.Parameter(np.zeros(3))
    p.data = np.ones(3, dtype=np.float32)
    p.grad = np.full(3, 2.0, dtype=np.float32)
    assert p.data.sum() == 3 and p.grad.sum() == 6 and p.is_leaf


def test_zero_grad_train_eval():
    net = Net()
    net(mg.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert not net.eval().head.training and net.train().rnn.training


def test_state_dict_round_trip_casts_to_the_parameters_dtype():
    a, b = Net(), Net()
    dtypes = {k: p.dtype for k, p in b.named_parameters()}
    assert dtypes["head.weight"] == np.float32 and dtypes["scale"] == np.float64
    state = {k: v.astype(np.float64 if v.dtype == np.float32 else np.float32) for k, v in a.state_dict().items()}
    b.load_state_dict(state)
    for (k, p) in b.named_parameters():
        assert p.dtype == dtypes[k]
        np.testing.assert_array_equal(p.data, state[k].astype(dtypes[k]))
    x = mg.randn(2, 3)
    np.testing.assert_allclose(a(x).data, b(x).data)


def test_state_dict_is_a_copy():
    net = Net()
    state = net.state_dict()
    state["scale"][:] = 5
    assert net.scale.data[0] == 1


def test_a_failed_load_changes_nothing_and_lists_every_problem():
    net = Net()
    before = net.state_dict()
    bad = dict(before)
    bad["head.weight"] = np.zeros((3, 3))  # wrong shape
    del bad["scale"]  # missing
    bad["extra"] = np.zeros(1)  # unexpected
    bad["rnn.bias_ih"] = np.zeros(16)  # fine on its own: must not be applied either
    with pytest.raises(ValueError) as info:
        net.load_state_dict(bad)
    message = str(info.value)
    assert "Missing keys: ['scale']" in message and "Unexpected keys: ['extra']" in message
    assert "head.weight: shape (3, 3) in the state_dict, (2, 4) in the model" in message
    assert "no parameter was changed" in message
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_non_strict_load_reports_missing_and_unexpected():
    net = Net()
    result = net.load_state_dict({"scale": np.full(2, 3.0), "other": np.zeros(1)}, strict=False)
    assert result.unexpected_keys == ["other"] and "head.bias" in result.missing_keys
    assert net.scale.data.tolist() == [3.0, 3.0]


def test_linear_matches_closed_form_and_initialisation_bound():
    lin = nn.Linear(4, 3, rng=np.random.default_rng(0))
    assert np.abs(lin.weight.data).max() <= 0.5
    x = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(lin(x).data, x @ lin.weight.data.T + lin.bias.data, rtol=1e-6)


def test_sequential_embedding_dropout():
    model = nn.Sequential(nn.Embedding(10, 4, rng=np.random.default_rng(0)), nn.Linear(4, 3), nn.Tanh())
    assert model(np.array([1, 2, 2])).shape == (3, 3) and len(model) == 3
    with pytest.raises(TypeError, match="integer ids"):
        model(np.array([0.5]))
    drop = nn.Dropout(0.5, rng=np.random.default_rng(0))
    x = mg.ones(1000)
    y = drop(x)
    assert set(np.unique(y.data)) <= {0.0, 2.0} and 400 < (y.data == 0).sum() < 600
    assert drop.eval()(x) is x


def test_module_to_float64_for_gradcheck():
    cell = nn.LSTMCell(2, 2).to(np.float64)
    assert all(p.dtype == np.float64 for p in cell.parameters())
    x = mg.tensor(np.random.rand(1, 2), dtype=np.float64, requires_grad=True)
    assert mg.gradcheck(lambda x: cell(x)[0], (x,))
