import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import functional as F
from minigrad.nn.utils import clip_grad_norm_


def t64(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def test_mse_loss_closed_form_and_gradcheck():
    x, y = np.array([1.0, 2.0, 4.0]), np.array([0.0, 2.0, 1.0])
    assert F.mse_loss(t64(x), y).item() == pytest.approx(np.mean((x - y) ** 2))
    assert F.mse_loss(t64(x), y, reduction="sum").item() == pytest.approx(10.0)
    assert mg.gradcheck(lambda a: F.mse_loss(a, y), (t64(x),))
    with pytest.raises(ValueError, match="shape"):
        F.mse_loss(t64(x), np.zeros(2))


def test_cross_entropy_matches_the_definition_and_is_stable():
    logits = np.array([[1.0, 2.0, 0.5], [1000.0, -1000.0, 0.0]])
    target = np.array([1, 0])
    expected = np.mean([np.log(np.exp(logits[0]).sum()) - 2.0, 0.0])
    assert F.cross_entropy(t64(logits), target).item() == pytest.approx(expected)
    assert mg.gradcheck(lambda z: F.cross_entropy(z, target), (t64(np.random.rand(2, 3)),))
    assert mg.gradcheck(lambda z: F.cross_entropy(z, mg.tensor(np.array([2, 0, 1, 1]))), (t64(np.random.rand(4, 3)),))
    with pytest.raises(TypeError, match="integer"):
        F.cross_entropy(t64(logits), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.cross_entropy(t64(logits), np.array([0, 3]))


def test_bce_with_logits_matches_the_definition_and_is_stable():
    x = np.array([-800.0, -2.0, 0.0, 3.0, 800.0])
    z = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(t64(x), z, reduction="none").data
    s = 1 / (1 + np.exp(-x[1:4]))
    np.testing.assert_allclose(loss[1:4], -(z[1:4] * np.log(s) + (1 - z[1:4]) * np.log(1 - s)))
    np.testing.assert_allclose(loss[[0, 4]], [800.0, 800.0])
    assert mg.gradcheck(lambda a: F.binary_cross_entropy_with_logits(a, z[1:4]), (t64(x[1:4] + 0.1),))


def test_softmax_and_log_softmax():
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1000.0]])
    s = F.softmax(t64(x)).data
    np.testing.assert_allclose(s.sum(axis=1), [1.0, 1.0])
    np.testing.assert_allclose(s[0], np.exp(x[0]) / np.exp(x[0]).sum())
    np.testing.assert_allclose(F.log_softmax(t64(x)).data[1], [-1000.0, -1000.0, 0.0])
    assert mg.gradcheck(lambda a: F.softmax(a, axis=0), (t64(np.random.rand(3, 2)),))


def test_dropout_scales_what_it_keeps():
    x = mg.ones(10000)
    y = F.dropout(x, 0.25, rng=np.random.default_rng(0))
    assert abs(y.data.mean() - 1.0) < 0.03 and set(np.unique(y.data)) == {0.0, np.float32(1 / 0.75)}
    assert F.dropout(x, 0.25, training=False) is x


def test_clip_grad_norm_scales_all_gradients_together():
    a, b = t64([3.0]), t64([4.0])
    a.grad, b.grad = np.array([3.0]), np.array([4.0])
    total = clip_grad_norm_([a, b], 1.0)
    assert total == pytest.approx(5.0)
    assert np.hypot(a.grad[0], b.grad[0]) == pytest.approx(1.0, rel=1e-5)
    assert a.grad[0] / b.grad[0] == pytest.approx(0.75)
