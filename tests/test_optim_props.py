"""SGD and Adam against torch.optim (float64) over drawn hyperparameters, shapes and gradients.

Needs torch as the oracle (an optimizer's update has no finite-difference check); skips without it.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
import strategies as S
from oracle import torch

pytestmark = pytest.mark.skipif(torch is None, reason="torch is the oracle for optimizer updates: pip install torch")

lrs = st.sampled_from([1e-3, 0.01, 0.1, 0.5])
decays = st.sampled_from([0.0, 0.0, 1e-2])


@st.composite
def sgd(draw):
    kw = {"lr": draw(lrs), "momentum": draw(st.sampled_from([0.0, 0.5, 0.9])), "weight_decay": draw(decays)}
    return mg.optim.SGD, torch.optim.SGD, kw, kw


@st.composite
def adam(draw):
    kw = {"lr": draw(lrs), "betas": (draw(st.sampled_from([0.0, 0.9])), draw(st.sampled_from([0.9, 0.999]))),
          "eps": draw(st.sampled_from([1e-8, 1e-3])), "weight_decay": draw(decays)}
    return mg.optim.Adam, torch.optim.Adam, kw, kw


@given(opt=sgd() | adam(), data=st.data())
def test_optimizer_steps_match_torch(opt, data):
    mine, theirs, kw_mine, kw_theirs = opt
    shapes = data.draw(st.lists(S.shapes(max_dims=3), min_size=1, max_size=3))
    values = [data.draw(S.arrays(s)) for s in shapes]
    ps = [mg.nn.Parameter(v, dtype=np.float64) for v in values]
    ts = [torch.tensor(v, requires_grad=True) for v in values]
    o, t = mine(ps, **kw_mine), theirs(ts, **kw_theirs)
    for step in range(data.draw(st.integers(1, 4))):
        for p, q, g in zip(ps, ts, [data.draw(S.arrays(s)) for s in shapes]):
            p.grad, q.grad = g.copy(), torch.tensor(g)
        o.step()
        t.step()
        for p, q in zip(ps, ts):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=f"step {step}")
