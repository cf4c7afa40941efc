"""minigrad.loops: which runs of a trace's steps compile writes as for loops."""
import os
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest

import minigrad as mg
from minigrad import loops as looping, nn
from minigrad.loops import find_loops, longest_equal_run, same_value, scope_pattern

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def traced(fn, *args):
    step = mg.compile(fn)
    step(*args)
    return step.plan


@pytest.mark.parametrize("T", [6, 30])
def test_an_lstm_has_one_loop_over_its_time_steps_after_the_first(T):
    lstm = nn.LSTM(3, 4, rng=np.random.default_rng(0))
    plan = traced(lambda x: lstm(x)[0].sum(), np.ones((T, 2, 3), np.float32))
    (loop,) = plan.loops
    assert (loop.period, loop.count) == (15, T - 1)  # t0 reads constant h and c: written out
    assert plan.steps[loop.start].scope == "layer0/t1/lstm_cell"
    assert sorted(loop.carried()) == [12, 14]  # c and h: read by the next block
    ops = [plan.steps[loop.start + r].op.name for r in range(loop.period)]
    assert ops.count("sigmoid") == 3 and ops.count("tanh") == 2 and ops.count("linear") == 1


@pytest.mark.parametrize("make", [lambda: nn.LSTM(3, 4, num_layers=2, rng=np.random.default_rng(0)),
                                  lambda: nn.GRU(3, 4, bidirectional=True, rng=np.random.default_rng(0))])
def test_stacked_and_bidirectional_modules_get_a_loop_per_layer_or_direction(make):
    model = make()
    plan = traced(lambda x: model(x)[0].sum(), np.ones((12, 2, 3), np.float32))
    assert len(plan.loops) == 2
    assert all(loop.count >= 10 for loop in plan.loops)
    assert plan.loops[0].end <= plan.loops[1].start


def test_a_value_from_two_blocks_back_is_not_read_across_a_loop():
    """h_t = tanh(h_{t-1} + h_{t-2}): a block reads the block before and the one before that; the loop, if any,
    must take the older value through the block before it, and the code must still equal eager."""
    w = mg.tensor(np.full(3, 0.5), requires_grad=True)

    def fn(x):
        a, b = x[0] * w, x[1] * w
        for t in range(2, 20):
            a, b = b, (a + b * w + x[t]).tanh()
        return b.sum()

    step = mg.compile(fn)
    x = mg.tensor(np.linspace(-1, 1, 60).reshape(20, 3))
    for _ in range(3):
        w.grad = None
        fn(x).backward()
        expected = w.grad.copy()
        w.grad = None
        step(x).backward()
        np.testing.assert_array_equal(w.grad, expected)
    for loop in step.plan.loops:
        for row in loop.refs:
            assert all(ref is None or ref[0] != "ext" or step.plan.sources[ref[1]][0] != "op"
                       or step.plan.sources[ref[1]][1] < loop.start for ref in row)


def test_short_repeats_are_written_out():
    plan = traced(lambda x: (x.tanh().tanh() * 2).sum(), mg.ones(3, requires_grad=True))
    assert plan.loops == [] and find_loops(plan.steps, plan.sources, plan.meta) == []


def test_helpers():
    assert longest_equal_run([1, 2, 2, 2, 3, 3]) == (1, 3)
    assert longest_equal_run([5]) == (0, 1)
    assert scope_pattern("layer0/t1/lstm_cell/gates", "layer0/t12/lstm_cell/gates") == "layer0/t*/lstm_cell/gates"
    assert scope_pattern("a/b", "a/b") == "a/b"
    a = np.zeros(2)
    assert same_value((slice(None), 3), (slice(None), 3)) and not same_value((slice(None), 3), (slice(None), 4))
    assert same_value(a, a) and not same_value(a, np.zeros(2)) and not same_value(1, 1.0)
    assert not same_value((a,), (np.zeros(2),))


@pytest.mark.parametrize("split", [6, 12, 20])
def test_two_loops_back_to_back_hand_their_state_and_its_gradient_over(split):
    """Steps of one kind, then of another, on one carried h: the second loop starts from the first one's last
    value (an earlier loop's block), forward and backward; the code must equal eager and both be loops."""
    w = mg.tensor(np.full(3, 0.5), requires_grad=True)
    v = mg.tensor(np.full(3, -0.25), requires_grad=True)

    def fn(x):
        h, hs = x[0] * w, []
        for t in range(1, 30):
            h = (h * w + x[t]).tanh() if t < split else (h * v - x[t]).sigmoid() * w
            hs.append(h)
        return h.sum() + mg.stack(hs).sum()

    step = mg.compile(fn)
    x = mg.tensor(np.linspace(-1, 1, 90).reshape(30, 3))
    with mock.patch.object(looping, "MIN_SAVED", 2):  # a loop of even 3 short blocks
        for _ in range(3):
            w.grad = v.grad = None
            fn(x).backward()
            expected = w.grad.copy(), v.grad.copy()
            w.grad = v.grad = None
            step(x).backward()
            np.testing.assert_array_equal(w.grad, expected[0])
            np.testing.assert_array_equal(v.grad, expected[1])
    assert len(step.plan.loops) == 2
    (backward,) = step.plan.backward_code.values()
    assert backward.count("for _ in range(") == 2


def test_the_written_code_is_the_same_in_every_process():
    """The code's text must not depend on string hashing (set order): the code cache and the docs rely on it.
    Two lists stacked in one op: only one of them can be the line's starred target."""
    script = (
        "import numpy as np, minigrad as mg\n"
        "from minigrad import loops\n"
        "loops.MIN_SAVED = 2\n"
        "w = mg.tensor(np.full(3, 0.5), requires_grad=True)\n"
        "def fn(x):\n"
        "    h, hs = x[0] * w, []\n"
        "    for t in range(1, 20):\n"
        "        h = (h * w + x[t]).tanh() if t < 9 else (h * w - x[t]).sigmoid() * w\n"
        "        hs.append(h)\n"
        "    return mg.stack(hs).sum()\n"
        "step = mg.compile(fn)\n"
        "x = mg.tensor(np.ones((20, 3)))\n"
        "step(x).backward(); step(x).backward()\n"
        "print(step.code, *step.plan.backward_code.values())\n"
    )
    texts = set()
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=ROOT)
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "*gs" in out.stdout and "*E" in out.stdout
        texts.add(out.stdout)
    assert len(texts) == 1
