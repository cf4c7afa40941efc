import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim


def quadratic_step(opt, p):
    opt.zero_grad()
    ((p - 3.0) ** 2).sum().backward()
    opt.step()


def test_sgd_matches_the_update_rule_with_momentum_and_weight_decay():
    p = nn.Parameter(np.array([1.0]), dtype=np.float64)
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    v, x = 0.0, 1.0
    for _ in range(3):
        quadratic_step(opt, p)
        g = 2 * (x - 3) + 0.01 * x
        v = 0.9 * v + g if _ else g
        x -= 0.1 * v
        assert p.data[0] == pytest.approx(x)


def test_adam_matches_the_update_rule():
    p = nn.Parameter(np.array([1.0]), dtype=np.float64)
    opt = optim.Adam([p], lr=0.1)
    m = v = 0.0
    x = 1.0
    for t in range(1, 4):
        quadratic_step(opt, p)
        g = 2 * (x - 3)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        x -= 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        assert p.data[0] == pytest.approx(x)


def test_adam_equals_torch_on_a_small_model():
    torch = pytest.importorskip("torch")
    lin = nn.Linear(3, 2, dtype=np.float64)
    tlin = torch.nn.Linear(3, 2).double()
    tlin.load_state_dict({k: torch.tensor(v) for k, v in lin.state_dict().items()})
    opt, topt = optim.Adam(lin.parameters(), lr=0.05, weight_decay=0.1), torch.optim.Adam(tlin.parameters(), lr=0.05, weight_decay=0.1)
    x = np.random.default_rng(0).standard_normal((5, 3))
    for _ in range(5):
        opt.zero_grad(), topt.zero_grad()
        (lin(x).tanh() ** 2).sum().backward()
        (tlin(torch.tensor(x)).tanh() ** 2).sum().backward()
        opt.step(), topt.step()
    for k, v in tlin.state_dict().items():
        np.testing.assert_allclose(lin.state_dict()[k], v.numpy(), atol=1e-10)


def test_optimizer_refuses_empty_parameters():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)


def test_training_loop_lowers_the_loss():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = optim.Adam(model.parameters(), lr=0.05)
    x = np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32)
    y = (x[:, :1] * x[:, 1:]).astype(np.float32)
    losses = []
    for _ in range(200):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
