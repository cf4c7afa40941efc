import gc
import weakref

import numpy as np
import pytest

import minigrad as mg


def test_gradients_accumulate_like_pytorch():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [3 + 2, 3 + 4])
    x.zero_grad()
    assert x.grad is None


def test_broadcast_gradients_are_reduced_to_the_leaf_shape():
    w = mg.tensor(np.ones((1, 3)), requires_grad=True)
    b = mg.tensor(2.0, requires_grad=True)
    (w * mg.ones(4, 3) + b).sum().backward()
    np.testing.assert_allclose(w.grad, np.full((1, 3), 4.0))
    assert b.grad.shape == () and b.grad == 12


def test_a_tensor_used_twice_gets_both_gradients():
    x = mg.tensor(3.0, requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad == 7


def test_a_100000_op_chain_backpropagates_without_recursion_error():
    x = mg.tensor(np.ones(2), requires_grad=True)
    h = x
    for _ in range(100_000):
        h = h * 1.0
    h.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0, 1.0])


def test_saved_arrays_are_freed_after_backward_and_a_second_backward_says_retain_graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    t = x.tanh()
    y = (t * 2).sum()
    probe = weakref.ref(t.data)  # held now only by the closures of tanh and mul
    del t
    gc.collect()
    assert probe() is not None
    y.backward()
    gc.collect()
    assert probe() is None
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, [4.0, 8.0])


def test_a_failed_backward_changes_nothing():
    x = mg.tensor([1.0], requires_grad=True)
    shared = x * 2
    a = (shared * 3).sum()
    b = (shared * 5).sum()
    a.backward()  # frees `shared`'s closure
    before = x.grad.copy()
    with pytest.raises(RuntimeError, match="retain_graph"):
        b.backward()
    np.testing.assert_array_equal(x.grad, before)


def test_a_backward_that_fails_midway_writes_no_leaf_and_leaves_nothing_behind():
    x = mg.tensor([1.0], requires_grad=True)
    shared = x * 2
    (shared * 3).sum().backward()  # frees `shared`'s closure
    w = mg.tensor([4.0], requires_grad=True)  # recorded after `shared`: reached before the failure
    with pytest.raises(RuntimeError, match="retain_graph"):
        (shared * w).sum().backward()
    assert w.grad is None
    np.testing.assert_array_equal(x.grad, [6.0])
    (w * 3).sum().backward()  # no gradient left over from the failed pass
    np.testing.assert_array_equal(w.grad, [3.0])


def test_no_grad_as_context_and_decorator():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        assert not (x * 2).requires_grad
        assert not mg.is_grad_enabled()
        with mg.enable_grad():
            assert (x * 2).requires_grad
    assert mg.is_grad_enabled()

    @mg.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and (x * 2).requires_grad


def test_name_scopes_nest_and_tag_each_op():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.name_scope("lstm_cell"):
        a = x * 2
        with mg.name_scope("forget_gate"):
            f = a.sigmoid()
    g = f + 1
    assert (a._node.scope, f._node.scope, g._node.scope) == ("lstm_cell", "lstm_cell/forget_gate", "")
    with pytest.raises(ValueError, match="non-empty"):
        mg.name_scope("")


def test_backward_errors_say_what_to_do():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        mg.tensor([1.0]).backward()
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"y.sum\(\).backward\(\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        (x * 2).backward(grad=np.ones(3))
    (x * 2).backward(grad=np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad, [2.0, 20.0])


def test_detect_anomaly_names_the_op_and_scope_where_nan_first_appears():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    with mg.name_scope("norm"):
        y = x.sqrt()
    loss = (y * 2).sum()
    with mg.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(FloatingPointError, match="op 'sqrt' in scope 'norm'"):
            loss.backward()


def test_float32_stays_float32_through_ops_and_gradients():
    w = mg.randn(3, 4, requires_grad=True)
    x = mg.randn(2, 3)
    y = ((x @ w).tanh() * 0.5 + 1.0).sigmoid().mean()
    assert y.dtype == np.float32
    y.backward()
    assert w.grad.dtype == np.float32
