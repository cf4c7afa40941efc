"""Cells and sequence modules: gradcheck in float64, and equality with PyTorch where it is installed."""
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, strategies as st

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
    "GRUCell-reset-before": lambda: nn.GRUCell(3, 2, rng=np.random.default_rng(0), reset_after=False),
    "PeepholeLSTMCell": lambda: nn.PeepholeLSTMCell(3, 2, rng=np.random.default_rng(0)),
    "PeepholeLSTMCell-full": lambda: nn.PeepholeLSTMCell(3, 2, rng=np.random.default_rng(0), peephole="full"),
    "LSTMCell-nobias": lambda: nn.LSTMCell(3, 2, bias=False, rng=np.random.default_rng(0)),
    "GRUCell-reset-before-nobias": lambda: nn.GRUCell(3, 2, bias=False, rng=np.random.default_rng(0),
                                                      reset_after=False),
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
    ("GRU", dict(num_layers=2, bidirectional=True, reset_after=False)),
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
def _torch_default_dtype_restored():
    """The torch tests here build float64 modules; torch's default dtype is put back after each test."""
    yield
    if "torch" in sys.modules:
        sys.modules["torch"].set_default_dtype(sys.modules["torch"].float32)


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


# -- The tutorials' forms, written out by hand ----------------------------------------------------
# Each function below is the textbook equation, one line per gate, on torch-layout weights ``p``.
# ``lib`` supplies sigmoid, tanh and concatenation, so the same lines run on NumPy (a forward oracle)
# and on torch (a gradient oracle independent of minigrad's engine).
NUMPY = SimpleNamespace(sigmoid=lambda a: 1 / (1 + np.exp(-a)), tanh=np.tanh,
                        cat=lambda parts: np.concatenate(parts, axis=-1))


def _torch_lib(torch):
    return SimpleNamespace(sigmoid=torch.sigmoid, tanh=torch.tanh, cat=lambda parts: torch.cat(parts, dim=-1))


def gru_by_hand(lib, x, h, p, reset_after):
    """r, z = sigmoid(W [h, x] + b); n as below; h' = (1 - z) * n + z * h (torch's and Cho's role of z)."""
    H = h.shape[-1]
    rows = [slice(k * H, (k + 1) * H) for k in range(3)]
    W = [lib.cat([p["weight_hh"][r], p["weight_ih"][r]]) for r in rows]
    hx = lib.cat([h, x])
    r = lib.sigmoid(hx @ W[0].T + p["bias_ih"][rows[0]] + p["bias_hh"][rows[0]])
    z = lib.sigmoid(hx @ W[1].T + p["bias_ih"][rows[1]] + p["bias_hh"][rows[1]])
    if reset_after:   # torch: n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        n = lib.tanh(x @ p["weight_ih"][rows[2]].T + p["bias_ih"][rows[2]]
                     + r * (h @ p["weight_hh"][rows[2]].T + p["bias_hh"][rows[2]]))
    else:             # Cho et al.: n = tanh(W_n [r * h, x] + b_n)
        n = lib.tanh(lib.cat([r * h, x]) @ W[2].T + p["bias_ih"][rows[2]] + p["bias_hh"][rows[2]])
    return (1 - z) * n + z * h


def peephole_by_hand(lib, x, h, c, p, peephole):
    """i, f = sigmoid(W [C_{t-1}, h, x] + b), o = sigmoid(W_o [C_t, h, x] + b_o), or p_k * C for diagonal."""
    H = h.shape[-1]
    rows = [slice(k * H, (k + 1) * H) for k in range(4)]   # i, f, g, o
    hx = lib.cat([h, x])
    pre = [hx @ lib.cat([p["weight_hh"][r], p["weight_ih"][r]]).T + p["bias_ih"][r] + p["bias_hh"][r] for r in rows]

    def peep(k, cell):   # k: 0 = i, 1 = f, 2 = o
        if peephole == "diagonal":
            return p["weight_ch"][k] * cell
        return cell @ p["weight_ch"][k * H : (k + 1) * H].T

    i = lib.sigmoid(pre[0] + peep(0, c))
    f = lib.sigmoid(pre[1] + peep(1, c))
    c_new = f * c + i * lib.tanh(pre[2])
    o = lib.sigmoid(pre[3] + peep(2, c_new))
    return o * lib.tanh(c_new), c_new


SIZES = dict(batch=st.integers(1, 4), inputs=st.integers(1, 4), hidden=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))


def _inputs(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


@given(reset_after=st.booleans(), **SIZES)
def test_gru_cell_equals_its_equations_by_hand(reset_after, batch, inputs, hidden, seed):
    cell = nn.GRUCell(inputs, hidden, rng=np.random.default_rng(seed), dtype=np.float64, reset_after=reset_after)
    x, h = _inputs(seed + 1, (batch, inputs), (batch, hidden))
    expected = gru_by_hand(NUMPY, x, h, cell.state_dict(), reset_after)
    np.testing.assert_allclose(cell(x, mg.tensor(h)).data, expected, rtol=1e-12, atol=1e-12)


@given(peephole=st.sampled_from(["diagonal", "full"]), **SIZES)
def test_peephole_cell_equals_its_equations_by_hand(peephole, batch, inputs, hidden, seed):
    cell = nn.PeepholeLSTMCell(inputs, hidden, rng=np.random.default_rng(seed), dtype=np.float64, peephole=peephole)
    x, h, c = _inputs(seed + 1, (batch, inputs), (batch, hidden), (batch, hidden))
    h_ref, c_ref = peephole_by_hand(NUMPY, x, h, c, cell.state_dict(), peephole)
    h_out, c_out = cell(x, (mg.tensor(h), mg.tensor(c)))
    np.testing.assert_allclose(h_out.data, h_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c_out.data, c_ref, rtol=1e-12, atol=1e-12)


@given(reset_after=st.booleans(), batch_first=st.booleans(), steps=st.integers(1, 4), **SIZES)
def test_gru_sequence_is_the_equation_applied_step_by_step(reset_after, batch_first, steps, batch, inputs, hidden,
                                                           seed):
    gru = nn.GRU(inputs, hidden, batch_first=batch_first, rng=np.random.default_rng(seed), dtype=np.float64,
                 reset_after=reset_after)
    x, h0 = _inputs(seed + 1, (steps, batch, inputs), (batch, hidden))
    p = {k.replace("_l0", ""): v for k, v in gru.state_dict().items()}
    h, outputs = h0, []
    for t in range(steps):
        h = gru_by_hand(NUMPY, x[t], h, p, reset_after)
        outputs.append(h)
    out, h_n = gru(x.transpose(1, 0, 2) if batch_first else x, mg.tensor(h0[None]))
    expected = np.stack(outputs)
    np.testing.assert_allclose(out.data, expected.transpose(1, 0, 2) if batch_first else expected, atol=1e-12)
    np.testing.assert_allclose(h_n.data[0], outputs[-1], atol=1e-12)


@pytest.mark.parametrize("form", ["gru-reset-after", "gru-reset-before", "peephole-diagonal", "peephole-full"])
def test_variant_gradients_equal_torch_autograd_on_the_equations_by_hand(form):
    """torch differentiates the hand-written equations; minigrad differentiates its module: same gradients."""
    torch = _torch()
    lib = _torch_lib(torch)
    kind, mode = form.split("-", 1)
    if kind == "gru":
        reset_after = mode == "reset-after"
        cell = nn.GRUCell(3, 4, rng=np.random.default_rng(5), dtype=np.float64, reset_after=reset_after)
        run_by_hand = lambda x, h, c, p: (gru_by_hand(lib, x, h, p, reset_after),)
        run_module = lambda x, h, c: (cell(x, h),)
    else:
        cell = nn.PeepholeLSTMCell(3, 4, rng=np.random.default_rng(5), dtype=np.float64, peephole=mode)
        run_by_hand = lambda x, h, c, p: peephole_by_hand(lib, x, h, c, p, mode)
        run_module = lambda x, h, c: cell(x, (h, c))
    x, h, c = _inputs(6, (2, 3), (2, 4), (2, 4))
    weights = _inputs(7, (2, 4), (2, 4))
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in cell.state_dict().items()}
    leaves_t = [torch.tensor(a, requires_grad=True) for a in (x, h, c)]
    leaves_m = [mg.tensor(a, requires_grad=True) for a in (x, h, c)]
    sum(((o * torch.tensor(w)).sum() for o, w in zip(run_by_hand(*leaves_t, theirs), weights))).backward()
    sum(((o * w).sum() for o, w in zip(run_module(*leaves_m), weights))).backward()
    for name, ours, t in zip("xhc", leaves_m, leaves_t):
        if t.grad is not None:
            np.testing.assert_allclose(ours.grad, t.grad.numpy(), atol=1e-12, err_msg=name)
    for name, p in cell.named_parameters():
        np.testing.assert_allclose(p.grad, theirs[name].grad.numpy(), atol=1e-12, err_msg=name)


@given(**SIZES)
def test_the_tutorials_gru_is_cho_form_with_the_update_gate_negated(batch, inputs, hidden, seed):
    """h' = (1 - z') * h + z' * n (the tutorials) is h' = (1 - z) * n + z * h with z' = 1 - z = sigmoid(-a)."""
    cell = nn.GRUCell(inputs, hidden, rng=np.random.default_rng(seed), dtype=np.float64, reset_after=False)
    x, h = _inputs(seed + 1, (batch, inputs), (batch, hidden))
    p = cell.state_dict()
    z_rows = slice(hidden, 2 * hidden)
    negated = {k: v.copy() for k, v in p.items()}
    for k in negated:
        negated[k][z_rows] *= -1
    hx = np.concatenate([h, x], axis=-1)
    z_tutorial = NUMPY.sigmoid(hx @ np.concatenate([negated["weight_hh"][z_rows], negated["weight_ih"][z_rows]], 1).T
                               + negated["bias_ih"][z_rows] + negated["bias_hh"][z_rows])
    r = NUMPY.sigmoid(hx @ np.concatenate([p["weight_hh"][:hidden], p["weight_ih"][:hidden]], 1).T
                      + p["bias_ih"][:hidden] + p["bias_hh"][:hidden])
    rest = slice(2 * hidden, None)
    n = np.tanh(np.concatenate([r * h, x], -1) @ np.concatenate([p["weight_hh"][rest], p["weight_ih"][rest]], 1).T
                + p["bias_ih"][rest] + p["bias_hh"][rest])
    np.testing.assert_allclose(cell(x, mg.tensor(h)).data, (1 - z_tutorial) * h + z_tutorial * n, atol=1e-12)


@given(**SIZES)
def test_a_full_peephole_with_diagonal_blocks_is_the_diagonal_peephole(batch, inputs, hidden, seed):
    diagonal = nn.PeepholeLSTMCell(inputs, hidden, rng=np.random.default_rng(seed), dtype=np.float64)
    full = nn.PeepholeLSTMCell(inputs, hidden, dtype=np.float64, peephole="full")
    state = diagonal.state_dict()
    state["weight_ch"] = np.concatenate([np.diag(row) for row in state["weight_ch"]])
    full.load_state_dict(state)
    x, h, c = _inputs(seed + 1, (batch, inputs), (batch, hidden), (batch, hidden))
    for a, b in zip(diagonal(x, (mg.tensor(h), mg.tensor(c))), full(x, (mg.tensor(h), mg.tensor(c)))):
        np.testing.assert_allclose(a.data, b.data, atol=1e-12)


def test_both_gru_forms_keep_torchs_state_dict_keys_and_shapes():
    torch = _torch()
    theirs = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True)
    ours = nn.GRU(3, 4, num_layers=2, bidirectional=True, reset_after=False)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


@pytest.mark.parametrize("make,argument", [
    (lambda v: nn.GRUCell(3, 4, reset_after=v), "reset_after"),
    (lambda v: nn.GRU(3, 4, reset_after=v), "reset_after"),
    (lambda v: nn.PeepholeLSTMCell(3, 4, peephole=v), "peephole"),
    (lambda v: nn.RNN(3, 4, nonlinearity=v), "nonlinearity"),
    (lambda v: nn.RNNCell(3, 4, nonlinearity=v), "nonlinearity"),
])
@pytest.mark.parametrize("bad", ["yes", 1, None, "Full", "sigmoid"])
def test_bad_mode_values_are_refused_naming_the_argument_and_the_choices(make, argument, bad):
    with pytest.raises(ValueError, match=f"{argument} must be one of") as info:
        make(bad)
    assert repr(bad) in str(info.value)


def count(module):
    return sum(p.size for p in module.parameters())


@given(inputs=st.integers(1, 20), hidden=st.integers(1, 20), layers=st.integers(1, 3), bidirectional=st.booleans(),
       bias=st.booleans())
def test_an_lstm_has_four_times_a_simple_rnns_parameters_and_a_gru_three(inputs, hidden, layers, bidirectional,
                                                                         bias):
    sizes = dict(num_layers=layers, bidirectional=bidirectional, bias=bias)
    rnn = count(nn.RNN(inputs, hidden, **sizes))
    assert count(nn.LSTM(inputs, hidden, **sizes)) == 4 * rnn
    assert count(nn.GRU(inputs, hidden, **sizes)) == 3 * rnn == count(nn.GRU(inputs, hidden, reset_after=False, **sizes))
    per_direction = hidden * (inputs + hidden + 2 * bias)
    assert count(nn.RNN(inputs, hidden, bias=bias)) == per_direction
