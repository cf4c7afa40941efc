"""minigrad.compile: a replay equals eager bit for bit, forward and backward, across calls and optimizer steps."""
import warnings

import numpy as np
import pytest
from hypothesis import event, given, strategies as st

import minigrad as mg
from minigrad import nn, optim
from minigrad.nn import functional as F

import strategies as S
from oracle import MG, run_program


def assert_same_training(make_model, make_batch, loss_fn, calls=4, dtype=np.float32):
    """Train two identical models side by side, one eagerly and one compiled; every loss and grad must match exactly."""
    eager, comp = make_model(), make_model()
    eager.to(dtype), comp.to(dtype)
    opt_e, opt_c = optim.SGD(eager.parameters(), lr=0.1), optim.SGD(comp.parameters(), lr=0.1)
    step = mg.compile(lambda *batch: loss_fn(comp, *batch))
    rng = np.random.default_rng(0)
    for _ in range(calls):
        batch = make_batch(rng, dtype)
        for model, opt, run in ((eager, opt_e, lambda *b: loss_fn(eager, *b)), (comp, opt_c, step)):
            opt.zero_grad()
            loss = run(*batch)
            loss.backward()
            opt.step()
            if model is eager:
                expected = (loss.data.copy(), {k: p.grad.copy() for k, p in model.named_parameters()})
        np.testing.assert_array_equal(loss.data, expected[0])
        for k, p in comp.named_parameters():
            assert p.grad.dtype == expected[1][k].dtype
            np.testing.assert_array_equal(p.grad, expected[1][k], err_msg=k)
    assert step.traces == 1
    return step


def seq_batch(T=5, B=3, I=4):
    def make(rng, dtype):
        return rng.standard_normal((T, B, I)).astype(dtype), rng.standard_normal((T, B, 6)).astype(dtype)

    return make


def seq_loss(model, x, r):
    out, _ = model(x)
    return (out * r).sum()


CELLS = {
    "RNNCell": lambda: nn.RNNCell(4, 3, rng=np.random.default_rng(1)),
    "LSTMCell": lambda: nn.LSTMCell(4, 3, rng=np.random.default_rng(1)),
    "GRUCell": lambda: nn.GRUCell(4, 3, rng=np.random.default_rng(1)),
    "PeepholeLSTMCell": lambda: nn.PeepholeLSTMCell(4, 3, rng=np.random.default_rng(1)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CELLS))
def test_a_compiled_loop_over_a_cell_trains_exactly_as_eager(name, dtype):
    def loss_fn(cell, x, r):
        state, hs = None, []
        for t in range(x.shape[0]):
            state = cell(x[t], state)  # x is a Tensor: x[t] is an op, replayed with each call's data
            hs.append(state[0] if cell.has_cell else state)
        return (mg.stack(hs) * r).sum()

    def batch(rng, dt):
        return mg.tensor(rng.standard_normal((6, 2, 4)), dtype=dt), rng.standard_normal((6, 2, 3)).astype(dt)

    assert_same_training(CELLS[name], batch, loss_fn, dtype=dtype)


SEQUENCES = {
    "RNN": lambda: nn.RNN(4, 3, rng=np.random.default_rng(2)),
    "LSTM-2-layers-bidirectional": lambda: nn.LSTM(4, 3, num_layers=2, bidirectional=True, rng=np.random.default_rng(2)),
    "GRU-bidirectional": lambda: nn.GRU(4, 3, bidirectional=True, rng=np.random.default_rng(2)),
    "LSTM": lambda: nn.LSTM(4, 6, rng=np.random.default_rng(2)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_a_compiled_sequence_module_trains_exactly_as_eager(name, dtype):
    model = SEQUENCES[name]
    width = 6 if name.startswith("LSTM") and "bidirectional" not in name else 3 * (2 if "bidirectional" in name else 1)
    assert_same_training(model, seq_batch(B=3, I=4) if width == 6 else
                         (lambda rng, dt: (rng.standard_normal((5, 3, 4)).astype(dt),
                                           rng.standard_normal((5, 3, width)).astype(dt))), seq_loss, dtype=dtype)


def test_batch_first_lstm_with_an_initial_state_and_a_head():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 5, batch_first=True, rng=np.random.default_rng(3))
            self.head = nn.Linear(5, 2, rng=np.random.default_rng(4))

        def forward(self, x, h0, c0):
            out, (h, c) = self.lstm(x, (h0, c0))
            return self.head(out[:, -1]), h, c

    def loss_fn(model, x, h0, c0, y):
        logits, h, c = model(x, h0, c0)
        return F.cross_entropy(logits, y) + (h * h).sum() + c.mean()

    def batch(rng, dt):
        return (rng.standard_normal((3, 7, 4)).astype(dt), mg.tensor(rng.standard_normal((1, 3, 5)), dtype=dt),
                mg.tensor(rng.standard_normal((1, 3, 5)), dtype=dt), rng.integers(0, 2, size=3))

    assert_same_training(Model, batch, loss_fn)


class HandLSTMStep(nn.Module):
    """The tutorial's step: one weight over [h, x], concat and matmul, gates by slicing."""

    def __init__(self, I, H):
        super().__init__()
        rng = np.random.default_rng(5)
        self.W = nn.Parameter(rng.uniform(-0.5, 0.5, (H + I, 4 * H)))
        self.b = nn.Parameter(np.zeros(4 * H))
        self.H = H

    def forward(self, x, h, c):
        H = self.H
        z = mg.concat([h, x], axis=1) @ self.W + self.b
        i, f, g, o = z[:, :H].sigmoid(), z[:, H:2 * H].sigmoid(), z[:, 2 * H:3 * H].tanh(), z[:, 3 * H:].sigmoid()
        c = f * c + i * g
        return o * c.tanh(), c


def test_a_hand_written_lstm_step_with_concat_and_matmul():
    def loss_fn(model, xs):
        h = c = mg.zeros(2, model.H, dtype=model.W.dtype)
        for t in range(xs.shape[0]):
            h, c = model(xs[t], h, c)
        return (h * h).sum()

    assert_same_training(lambda: HandLSTMStep(3, 4), lambda rng, dt: (mg.tensor(rng.standard_normal((4, 2, 3)),
                                                                                 dtype=dt),), loss_fn)


def test_indexing_with_repeated_indices_and_broadcasting():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 3, rng=np.random.default_rng(6))
            self.scale = nn.Parameter(np.ones((1, 3)))
            self.bias = nn.Parameter(np.zeros(3))

        def forward(self, ids):
            e = self.emb(ids)  # repeated ids: every copy adds its gradient
            return ((e * self.scale + self.bias) ** 2).sum(axis=0).mean() + e[np.array([0, 0, 2])].sum()

    assert_same_training(Model, lambda rng, dt: (np.array([1, 3, 1, 1, 4]),), lambda m, ids: m(ids))


def test_retraces_on_a_new_shape_not_on_a_repeated_one():
    lstm = nn.LSTM(2, 3)
    step = mg.compile(lambda x: lstm(x)[0].sum())
    for shape in [(4, 1, 2), (4, 1, 2), (5, 1, 2), (4, 1, 2), (5, 1, 2)]:
        step(np.ones(shape, np.float32)).backward()
    assert step.traces == 2
    with mg.no_grad():
        step(np.ones((4, 1, 2), np.float32))
    assert step.traces == 3  # grad mode is part of the signature


def test_a_new_batch_size_reuses_the_compiled_code_and_still_matches_eager():
    eager, comp = (nn.LSTM(4, 6, num_layers=2, rng=np.random.default_rng(1)) for _ in range(2))
    step = mg.compile(lambda x, r: seq_loss(comp, x, r))
    rng, forwards, backwards = np.random.default_rng(0), {}, {}
    for B in (3, 5, 3, 2):
        x, r = seq_batch(B=B)(rng, np.float32)
        for model in (eager, comp):
            model.zero_grad()
        loss_e, loss_c = seq_loss(eager, x, r), step(x, r)
        loss_e.backward()
        loss_c.backward()
        step(x, r).backward()  # a replay: its backward runs the written code
        np.testing.assert_array_equal(loss_c.data, loss_e.data)
        for (k, pe), pc in zip(eager.named_parameters(), comp.parameters()):
            np.testing.assert_array_equal(pc.grad, 2 * pe.grad, err_msg=k)
        forwards[B] = step.plan._forward.__code__
        (backwards[B],) = (f.__code__ for f in step.plan._backward_fns.values())
    assert step.traces == 3
    assert forwards[3] is forwards[5] is forwards[2] and backwards[3] is backwards[5] is backwards[2]


def test_a_function_that_keeps_retracing_gets_a_warning_naming_what_changed():
    step = mg.compile(lambda x: (x * 2).sum())
    with pytest.warns(UserWarning) as caught:
        for n in range(1, 7):
            step(mg.ones(n, requires_grad=True))
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert "what changed since the last call: argument 0: ('Tensor', (4,), '<f4', True, 0) -> " \
           "('Tensor', (5,), '<f4', True, 0)" in messages[0]
    assert "(5,), '<f4', True, 0) -> ('Tensor', (6,)" in messages[1]


def test_leaves_are_read_afresh_and_grads_accumulate_like_eager():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    step = mg.compile(lambda x: (x * w).sum())
    x = mg.tensor([3.0, 4.0])
    step(x).backward()
    step(x).backward()
    np.testing.assert_array_equal(w.grad, [6.0, 8.0])  # accumulated across calls, as eagerly
    w.data = np.array([10.0, 20.0], np.float32)  # replaced .data is seen
    assert step(x).item() == 110.0
    w.data *= 2  # in-place update is seen
    assert step(x).item() == 220.0
    assert w.grad.dtype == np.float32


def test_retain_graph_and_minigrad_grad_and_a_freed_graph():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    step = mg.compile(lambda x: ((x * w).tanh() * w).sum())
    x = mg.tensor([0.3, -0.2], requires_grad=True)
    step(x)
    loss = step(x)
    expected = ((x * w).tanh() * w).sum()
    for _ in range(2):
        loss.backward(retain_graph=True)
    np.testing.assert_array_equal(mg.grad(loss, [x, w], retain_graph=True), mg.grad(expected, [x, w]))
    w.grad = x.grad = None
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


def test_gradcheck_of_a_compiled_function():
    lstm = nn.LSTMCell(2, 2, rng=np.random.default_rng(0)).double()
    step = mg.compile(lambda x: lstm(x)[1] * 2)
    x = mg.tensor(np.random.default_rng(1).standard_normal((1, 2)), dtype=np.float64, requires_grad=True)
    assert mg.gradcheck(step, (x,))


def test_no_grad_replays_forward_only():
    lstm = nn.LSTM(2, 3)
    step = mg.compile(lambda x: lstm(x)[0])
    x = np.ones((3, 1, 2), np.float32)
    expected = lstm(x)[0].data
    with mg.no_grad():
        for _ in range(2):
            out = step(x)
            assert not out.requires_grad
            np.testing.assert_array_equal(out.data, expected)
    assert step.plan.backward_code == {}


def test_dropout_draws_fresh_masks_on_every_replay_and_none_in_eval():
    drop = nn.Dropout(0.5)
    step = mg.compile(lambda x: drop(x))
    x = mg.ones(1000)
    masks = [step(x).data.copy() for _ in range(3)]
    assert not np.array_equal(masks[1], masks[2]) and not np.array_equal(masks[0], masks[1])
    drop.eval()
    np.testing.assert_array_equal(step(x).data, x.data)  # the training flag is part of the signature
    assert step.traces == 2


def test_dropout_gradient_uses_the_replayed_mask():
    x = mg.ones(50, requires_grad=True)
    step = mg.compile(lambda x: F.dropout(x, 0.5).sum())
    step(x)
    out = step(x)
    out.backward()
    assert set(np.unique(x.grad)) <= {0.0, 2.0} and 0 < x.grad.sum() < 100


def test_numpy_arrays_made_inside_are_constants_and_check_catches_a_data_dependent_branch():
    def branchy(x):
        if x.data.sum() > 0:  # Python control flow on a value: frozen at the trace
            return x * 2
        return x * 3

    frozen = mg.compile(branchy)
    frozen(mg.tensor([1.0]))
    assert frozen(mg.tensor([-1.0])).item() == -2.0  # replays the branch taken at the trace
    checked = mg.compile(branchy, check=True)
    checked(mg.tensor([1.0]))
    with pytest.raises(mg.CompileCheckError, match="op 0, 'mul'"):
        checked(mg.tensor([-1.0]))


def test_bad_input_gets_the_eager_error():
    lstm = nn.LSTM(3, 4)
    step = mg.compile(lambda x, h: lstm(x, h)[0].sum())
    good = (mg.zeros(1, 2, 4), mg.zeros(1, 2, 4))
    step(np.ones((5, 2, 3), np.float32), good)
    step(np.ones((5, 2, 3), np.float32), good)
    with pytest.raises(ValueError, match="expects inputs with 3 features"):
        step(np.ones((5, 2, 7), np.float32), good)
    with pytest.raises(ValueError, match="the h of hx must have shape"):
        step(np.ones((5, 2, 3), np.float32), (mg.zeros(1, 3, 4), mg.zeros(1, 3, 4)))


def test_outputs_are_ordinary_tensors_with_names_and_the_code_is_readable():
    lstm = nn.LSTMCell(2, 3)
    step = mg.compile(lambda x: lstm(x))
    x = np.ones((1, 2), np.float32)
    step(x)
    h, c = step(x)
    assert isinstance(h, mg.Tensor) and h.name == "h" and c.name == "c" and h.requires_grad
    assert "def forward(A, L)" in step.code and "f_sigmoid(" in step.code and "# lstm_cell/input_gate: i" in step.code
    (h.sum() + c.sum()).backward()
    (backward,) = step.plan.backward_code.values()
    assert "def backward(S, G)" in backward


def test_a_non_tensor_result_is_refused():
    with pytest.raises(TypeError, match="returns Tensors"):
        mg.compile(lambda x: (x * 2).sum().item())(mg.ones(2))


def test_compile_is_a_decorator_with_and_without_options():
    @mg.compile
    def f(x):
        return x * 2

    @mg.compile(check=True)
    def g(x):
        return x * 2

    assert f(mg.ones(2)).tolist() == g(mg.ones(2)).tolist() == [2.0, 2.0]


def test_a_compiled_function_inside_another_is_traced_into_it():
    inner = mg.compile(lambda x: x.tanh())
    outer = mg.compile(lambda x: inner(x) * 2)
    x = mg.tensor([0.5], requires_grad=True)
    for _ in range(2):
        outer(x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * 2 * (1 - np.tanh(0.5) ** 2), rtol=1e-6)


# Random compositions of primitives: compiled must equal eager bit for bit.
UNARY = [lambda a: a.tanh(), lambda a: a.sigmoid(), lambda a: a * a, lambda a: a.exp() * 0.1, lambda a: -a,
         lambda a: a[:, ::-1] + 1.0, lambda a: a.relu(), lambda a: (a.T @ a)[:2].T if False else a @ a.T @ a,
         lambda a: mg.concat([a, a * 2], axis=1)[:, 1:4:2] * a[:, :2].sum(axis=1, keepdims=True)]
BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b.mean(axis=0), lambda a, b: a / (b * b + 1),
          lambda a, b: mg.stack([a, b]).max(axis=0)]


@given(st.lists(st.tuples(st.integers(0, len(UNARY) - 1), st.integers(0, len(BINARY) - 1), st.booleans()),
                min_size=1, max_size=6), st.integers(0, 2**16))
def test_random_compositions_of_primitives_compile_exactly(program, seed):
    rng = np.random.default_rng(seed)
    a = mg.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    b = mg.tensor(rng.standard_normal((2, 2)), requires_grad=True)

    def fn(a, b):
        for u, k, swap in program:
            a, b = (BINARY[k](UNARY[u](a), b), a) if swap else (UNARY[u](a), BINARY[k](a, b))
        return (a + b).sum()

    step = mg.compile(fn)
    for _ in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a.grad = b.grad = None
            fn(a, b).backward()
            expected = a.grad.copy(), b.grad.copy()
            a.grad = b.grad = None
            step(a, b).backward()
        np.testing.assert_array_equal(a.grad, expected[0])
        np.testing.assert_array_equal(b.grad, expected[1])
        a.data = a.data * 0.5


def test_to_dot_of_a_compiled_output_draws_the_traced_ops_with_scopes_and_names():
    from minigrad import viz

    cell = nn.LSTMCell(3, 2, rng=np.random.default_rng(0))
    step = mg.compile(lambda x: cell(x))
    x = np.ones((1, 3), np.float32)
    step(x)
    h, c = step(x)
    h.sum().backward(retain_graph=True)
    source = viz.to_dot([h, c], params=dict(cell.named_parameters()), show_grad=True).source
    for word in ("cluster", "forget_gate", "sigmoid", ">h<", "weight_hh", "|grad|"):
        assert word in source
    assert "compiled" not in source and "output" not in source.replace("output_gate", "")


def test_the_watch_counter_follows_traces_and_keep_values_even_when_they_raise():
    """Ops skip the per-thread trace and keep_values flags while engine.watch.count is 0, so it must count exactly."""
    watch = mg.engine.watch
    assert watch.count == 0

    def failing(x):
        assert watch.count == 1  # counted while the trace runs
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        mg.compile(failing)(mg.ones(2))
    assert watch.count == 0
    with mg.engine.keep_values():
        with mg.engine.keep_values():
            y = mg.ones(2, requires_grad=True) * 2
        assert watch.count == 1
    assert watch.count == 0 and y._node.values is not None
    assert (mg.ones(2, requires_grad=True) * 2)._node.values is None


@given(data=st.data())
def test_random_programs_over_broadcast_shapes_compile_exactly(data):
    """Shapes from 0-d to 4-d, size 0 and stretched axes included, both float dtypes: a compiled random program
    gives eager's values and gradients bit for bit on every call (the written code sums broadcast gradients
    itself, registers are reused, saved values are popped)."""
    shapes = data.draw(S.broadcast_pairs())
    dtype = data.draw(S.float_dtypes)
    program = data.draw(S.programs(2))
    v = data.draw(st.integers(0, 2 + len(program) - 1))  # which value is the output

    def fn(a, b):
        return run_program(MG, program, a, b)[v].sum()

    step = mg.compile(fn)
    for seed in range(3):  # a trace, a replay whose backward is written, a replay of the written code
        assert_same_call(fn, step, [S.values(s, seed + 10 * k, dtype=dtype) for k, s in enumerate(shapes)])
    assert step.traces == 1


def assert_same_call(fn, step, arrays):
    """fn eagerly and its compiled ``step`` on Tensors of ``arrays``: the same value and input gradients, bit for bit."""
    eager_in = [mg.tensor(a, requires_grad=True) for a in arrays]
    comp_in = [mg.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, got = fn(*eager_in), step(*comp_in)
        expected.backward()
        got.backward()
    np.testing.assert_array_equal(got.data, expected.data)
    for e, c in zip(eager_in, comp_in):
        assert (c.grad is None) == (e.grad is None)
        if e.grad is not None:
            assert c.grad.dtype == e.grad.dtype and c.grad.shape == e.grad.shape
            np.testing.assert_array_equal(c.grad, e.grad)


@given(data=st.data())
def test_random_recurrent_programs_compile_exactly_with_loops(data):
    """A random cell run over T steps (carried values, a weight read each step, a stacked output or none, broadcast
    shapes, both float dtypes): the compiled code, time steps written as loops where blocks repeat, gives eager's
    values and gradients bit for bit on every call."""
    from unittest import mock

    rec = data.draw(S.recurrent_programs())
    x_shape, w_shape = data.draw(S.broadcast_pairs())
    dtype = data.draw(S.float_dtypes)
    T, n_carry = rec["T"], rec["n_carry"]

    def fn(x, w, *c0):
        carried = [mg.tensor(np.full(x_shape, 0.5, dtype)) for _ in c0] if rec["inside"] else list(c0)
        stacked = []
        for t in range(T):
            program = rec["then"] if rec["then"] is not None and t >= rec["switch"] else rec["program"]
            values = run_program(MG, program, x[t], *carried, w)
            carried = [values[min(k, len(values) - 1)] for k in rec["next"]]
            if rec["stacked"] is not None:
                stacked.append(values[min(rec["stacked"], len(values) - 1)])
        out = sum((c.sum() for c in carried), (w * w).sum())  # w: so that the output always needs a gradient
        if len({v.shape for v in stacked}) == 1:
            return out + mg.stack(stacked).sum()  # every step's value read by one op after the loop
        return sum((v.sum() for v in stacked), out)

    with mock.patch.object(mg.loops, "MIN_SAVED", 2):  # loops even for short programs
        step = mg.compile(fn)
        for seed in range(3):  # a trace, a replay whose backward is written, a replay of the written code
            arrays = [S.values((T,) + tuple(x_shape), seed, dtype=dtype), S.values(w_shape, seed + 10, dtype=dtype)]
            arrays += [S.values(x_shape, seed + 20 + k, dtype=dtype) for k in range(n_carry)]
            assert_same_call(fn, step, arrays)
        assert step.traces == 1
        event(f"loops written: forward {'for ' in step.code}, backward "
              f"{any('for _ in' in code for code in step.plan.backward_code.values())}")
