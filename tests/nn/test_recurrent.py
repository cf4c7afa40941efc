"""Cells and sequence modules: gradcheck in float64, and equality with PyTorch where it is installed."""
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn



def params64(module):
    return tuple(module.double().parameters())


def rand(*shape, seed=0):
    return mg.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=np.float64, requires_grad=True)


CELLS = {
    "RNNCell": lambda: nn.RNNCell(3, 2, rng=np.random.default_rng(0)),
    "RNNCell-relu": lambda: nn.RNNCell(3, 2, nonlinearity="relu", rng=np.random.default_rng(0)),
    "LSTMCell": lambda: nn.LSTMCell(3, 2, rng=np.random.default_rng(0)),
    "GRUCell": lambda: nn.GRUCell(3, 2, rng=np.random.default_rng(0)),
    "PeepholeLSTMCell": lambda: nn.PeepholeLSTMCell(3, 2, rng=np.random.default_rng(0)),
    "LSTMCell-nobias": lambda: nn.LSTMCell(3, 2, bias=False, rng=np.random.default_rng(0)),
}


@pytest.mark.parametrize("name", sorted(CELLS))
def test_cell_gradcheck_inputs_state_and_every_parameter(name):
    cell = CELLS[name]()
    ps = params64(cell)
    x = rand(2, 3)
    h = rand(2, 2, seed=1)
    c = rand(2, 2, seed=2)

    def run(x, h, c, *params):
        state = (h, c) if cell.has_cell else h
        out = cell(x, state)
        return out if not cell.has_cell else (out[0], out[1])

    assert mg.gradcheck(run, (x, h, c, *ps))


SEQUENCES = [
    ("RNN", dict(num_layers=2)),
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(batch_first=True)),
    ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True)),
]


@pytest.mark.parametrize("kind,kwargs", SEQUENCES)
def test_sequence_gradcheck_multilayer_bidirectional(kind, kwargs):
    module = getattr(nn, kind)(2, 2, rng=np.random.default_rng(1), **kwargs)
    ps = params64(module)
    x = rand(3, 2, 2)

    def run(x, *params):
        out, final = module(x)
        return (out, *final) if isinstance(final, tuple) else (out, final)

    assert mg.gradcheck(run, (x, *ps))


def test_lstm_cell_gates_live_in_the_tutorials_name_scopes():
    cell = nn.LSTMCell(3, 2)
    h, c = cell(mg.randn(1, 3))
    scopes = {n.scope for n in mg.engine.forward_order([h._node]) if n.op is not None}
    for gate in ("input_gate", "forget_gate", "candidate", "cell", "output_gate", "hidden"):
        assert f"lstm_cell/{gate}" in scopes


def test_sequence_modules_scope_by_time_step():
    lstm = nn.LSTM(2, 3)
    out, _ = lstm(mg.randn(4, 1, 2))
    scopes = {n.scope for n in mg.engine.forward_order([out._node]) if n.op is not None}
    assert "layer0/t3/lstm_cell/forget_gate" in scopes and "layer0/input_projection" in scopes


def test_state_dict_keys_are_torchs():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    keys = list(lstm.state_dict())
    assert keys[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert "bias_hh_l1_reverse" in keys and len(keys) == 16
    assert lstm.weight_ih_l1.shape == (16, 8)


def test_initialisation_is_uniform_within_one_over_sqrt_hidden_and_seedable():
    a = nn.LSTMCell(5, 16, rng=np.random.default_rng(3))
    b = nn.LSTMCell(5, 16, rng=np.random.default_rng(3))
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert np.abs(p.data).max() <= 0.25 and np.abs(p.data).max() > 0.2, name
        np.testing.assert_array_equal(p.data, q.data)


def test_unbatched_input_and_bad_shapes():
    lstm = nn.LSTM(3, 4)
    out, (h, c) = lstm(mg.randn(5, 3))
    assert out.shape == (5, 4) and h.shape == (1, 4)
    with pytest.raises(ValueError, match="input_size=3"):
        lstm(mg.randn(5, 2, 7))
    with pytest.raises(ValueError, match=r"\(1, 2, 4\)"):
        lstm(mg.randn(5, 2, 3), (mg.zeros(2, 2, 4), mg.zeros(2, 2, 4)))


# -- PyTorch as the oracle ----------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _restore_torch_default_dtype():
    """_torch() sets torch's default dtype to float64; put it back, so later tests see torch's own default."""
    yield
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_default_dtype(torch.float32)


def _torch():
    t = pytest.importorskip("torch")
    t.set_default_dtype(t.float64)
    return t


def _copy_weights(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    back = {k: v for k, v in ours.state_dict().items()}
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(back[k], v.numpy())


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("shape", [(1, 1, 2, 3), (5, 3, 4, 6)])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_sequence_modules_equal_torch(kind, shape, batch_first, bidirectional):
    torch = _torch()
    steps, batch, features, hidden = shape
    layers = 2
    theirs = getattr(torch.nn, kind)(features, hidden, num_layers=layers, batch_first=batch_first,
                                      bidirectional=bidirectional)
    ours = getattr(nn, kind)(features, hidden, num_layers=layers, batch_first=batch_first,
                             bidirectional=bidirectional, dtype=np.float64)
    _copy_weights(ours, theirs)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, steps, features) if batch_first else (steps, batch, features))
    n = layers * (2 if bidirectional else 1)
    h0 = rng.standard_normal((n, batch, hidden))
    c0 = rng.standard_normal((n, batch, hidden))
    x_t = torch.tensor(x, requires_grad=True)
    x_m = mg.tensor(x, requires_grad=True)
    if kind == "LSTM":
        out_t, (h_t, c_t) = theirs(x_t, (torch.tensor(h0), torch.tensor(c0)))
        out_m, (h_m, c_m) = ours(x_m, (mg.tensor(h0), mg.tensor(c0)))
        np.testing.assert_allclose(c_m.data, c_t.detach().numpy(), atol=1e-6)
    else:
        out_t, h_t = theirs(x_t, torch.tensor(h0))
        out_m, h_m = ours(x_m, mg.tensor(h0))
    np.testing.assert_allclose(out_m.data, out_t.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(h_m.data, h_t.detach().numpy(), atol=1e-6)
    weights = rng.standard_normal(out_m.shape)
    ((out_t * torch.tensor(weights)).sum() + h_t.sum()).backward()
    ((out_m * weights).sum() + h_m.sum()).backward()
    np.testing.assert_allclose(x_m.grad, x_t.grad.numpy(), atol=1e-6)
    theirs_p = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, theirs_p[name].grad.numpy(), atol=1e-6, err_msg=name)


@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell", "RNNCell"])
@pytest.mark.parametrize("batch", [1, 4])
def test_cells_equal_torch(kind, batch):
    torch = _torch()
    theirs = getattr(torch.nn, kind)(3, 5)
    ours = getattr(nn, kind)(3, 5, dtype=np.float64)
    _copy_weights(ours, theirs)
    rng = np.random.default_rng(1)
    x, h, c = rng.standard_normal((batch, 3)), rng.standard_normal((batch, 5)), rng.standard_normal((batch, 5))
    if kind == "LSTMCell":
        (ht, ct) = theirs(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
        (hm, cm) = ours(x, (mg.tensor(h), mg.tensor(c)))
        (ht.sum() + (ct * 2).sum()).backward()
        (hm.sum() + (cm * 2).sum()).backward()
    else:
        ht = theirs(torch.tensor(x), torch.tensor(h))
        hm = ours(x, mg.tensor(h))
        (ht**2).sum().backward()
        (hm**2).sum().backward()
    np.testing.assert_allclose(hm.data, ht.detach().numpy(), atol=1e-6)
    theirs_p = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, theirs_p[name].grad.numpy(), atol=1e-6, err_msg=name)


def test_weights_move_back_to_torch():
    torch = _torch()
    ours = nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    theirs = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((6, 2, 3))
    np.testing.assert_allclose(ours(x)[0].data, theirs(torch.tensor(x))[0].detach().numpy(), atol=1e-6)
