import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# ---- state_dict / load_state_dict -------------------------------------------------------------------------

OPTIMIZERS = {
    "sgd": lambda params: optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01),
    "adam": lambda params: optim.Adam(params, lr=0.05, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.1),
}


def make_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [nn.Parameter(rng.standard_normal(shape), dtype=dtype) for shape in [(3, 2), (2,), ()]]


def train(opt, steps, seed=1):
    """``steps`` updates of a fixed smooth loss on ``opt``'s parameters; each step's data from ``seed``."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        opt.zero_grad()
        x = rng.standard_normal((4, 3))
        w, b, s = opt.params
        (((mg.tensor(x, dtype=w.dtype) @ w + b).tanh() * s - 0.5) ** 2).sum().backward()
        opt.step()
    return rng


def assert_state_dicts_equal(a, b):
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for k, entry in a["state"].items():
        assert entry.keys() == b["state"][k].keys()
        for name, value in entry.items():
            if name == "step":
                assert value == b["state"][k][name]
            else:
                assert value.dtype == b["state"][k][name].dtype
                np.testing.assert_array_equal(value, b["state"][k][name])


def clone(params):
    return [nn.Parameter(p.data.copy(), dtype=p.dtype) for p in params]


@pytest.mark.parametrize("kind", OPTIMIZERS)
@given(before=st.integers(0, 4), after=st.integers(1, 4))
@settings(max_examples=15, deadline=None)
def test_loading_a_state_dict_continues_exactly(kind, before, after):
    straight = OPTIMIZERS[kind](make_params())
    train(straight, before)
    resumed = OPTIMIZERS[kind](clone(straight.params))
    resumed.load_state_dict(straight.state_dict())
    for opt in (straight, resumed):
        train(opt, after, seed=2)
    for p, q in zip(straight.params, resumed.params):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("kind", OPTIMIZERS)
def test_the_flat_form_round_trips_through_a_file(kind, tmp_path):
    opt = OPTIMIZERS[kind](make_params(np.float32))
    train(opt, 3)
    flat = optim.flatten_state_dict(opt.state_dict())
    assert all(isinstance(v, np.ndarray) for v in flat.values())
    assert "param_groups.0.lr" in flat
    assert ("state.2.exp_avg_sq" if kind == "adam" else "state.2.momentum_buffer") in flat
    back = optim.unflatten_state_dict(mg.load(mg.save(flat, tmp_path / "opt.npz")))
    assert_state_dicts_equal(back, opt.state_dict())
    fresh = OPTIMIZERS[kind](make_params(np.float32))
    fresh.load_state_dict(back)
    assert_state_dicts_equal(fresh.state_dict(), opt.state_dict())


def test_state_dict_is_a_copy_and_only_updated_parameters_have_state():
    opt = OPTIMIZERS["adam"](make_params())
    assert opt.state_dict()["state"] == {}
    opt.params[0].grad = np.ones((3, 2))
    opt.step()
    sd = opt.state_dict()
    assert list(sd["state"]) == [0] and sd["state"][0]["step"] == 1
    sd["state"][0]["exp_avg"] += 1
    assert not np.array_equal(opt.state_dict()["state"][0]["exp_avg"], sd["state"][0]["exp_avg"])


def test_load_state_dict_restores_hyperparameters_and_casts_to_each_parameters_dtype():
    source = optim.SGD(make_params(np.float64), lr=0.5, momentum=0.5)
    train(source, 2)
    target = optim.SGD(make_params(np.float32), lr=0.1, momentum=0.9, weight_decay=0.3)
    target.load_state_dict(source.state_dict())
    assert (target.lr, target.momentum, target.weight_decay) == (0.5, 0.5, 0.0)
    assert target.state[0]["momentum_buffer"].dtype == np.float32


def mutate(sd, how):
    group, state = sd["param_groups"][0], sd["state"]
    if how == "not a dict":
        return [sd]
    if how == "extra top-level key":
        sd["epoch"] = 3
    elif how == "two groups":
        sd["param_groups"].append(dict(group))
    elif how == "one parameter too few":
        group["params"] = group["params"][:-1]
    elif how == "unknown group key":
        group["lr_decay"] = 0.1
    elif how == "missing hyperparameter":
        del group["lr"]
    elif how == "option minigrad lacks":
        group["nesterov" if "nesterov" in group else "amsgrad"] = True
    elif how == "negative lr":
        group["lr"] = -1.0
    elif how == "state for an unknown parameter":
        state[7] = state[0]
    elif how == "state entry lacks a key":
        state[0].popitem()
    elif how == "state entry has an extra key":
        state[0]["max_exp_avg_sq"] = np.zeros((3, 2))
    elif how == "wrong shape":
        state[1][next(k for k in state[1] if k != "step")] = np.zeros(3)
    elif how == "integer dtype":
        state[1][next(k for k in state[1] if k != "step")] = np.zeros(2, dtype=np.int64)
    return sd


MUTATIONS = {
    "not a dict": "expected a dict with the keys 'state' and 'param_groups'",
    "extra top-level key": r"got \['epoch', 'param_groups', 'state'\]",
    "two groups": "hold one parameter group, this state_dict has 2",
    "one parameter too few": "is for 2 parameters, this optimizer has 3",
    "unknown group key": r"unknown keys \['lr_decay'\]",
    "missing hyperparameter": r"lacks \['lr'\]",
    "option minigrad lacks": r"\]\[('nesterov'|'amsgrad')\] is True, but minigrad's (SGD|Adam) implements only",
    "negative lr": "learning rate must be positive, got -1.0",
    "state for an unknown parameter": "entry for parameter 7, which is not among",
    "state entry lacks a key": r"state\[0\] holds \[",
    "state entry has an extra key": r"state\[0\] holds \[.*'max_exp_avg_sq'",
    "wrong shape": r"state\[1\]\['\w+'\] has shape \(3,\), parameter 1 has shape \(2,\)",
    "integer dtype": r"state\[1\]\['\w+'\] has dtype int64; it must be floating point",
}


@pytest.mark.parametrize("kind", OPTIMIZERS)
@pytest.mark.parametrize("how", MUTATIONS)
def test_a_bad_state_dict_is_refused_and_changes_nothing(kind, how):
    opt = OPTIMIZERS[kind](make_params())
    train(opt, 2)
    other = OPTIMIZERS[kind](make_params(seed=5))
    train(other, 3, seed=7)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=MUTATIONS[how]) as e:
        opt.load_state_dict(mutate(other.state_dict(), how))
    assert "nothing was changed" in str(e.value)
    assert_state_dicts_equal(opt.state_dict(), before)


@given(step=st.one_of(st.integers(max_value=-1), st.floats(allow_nan=True).filter(lambda x: not float(x).is_integer() or x < 0)))
@settings(max_examples=30, deadline=None)
def test_adam_refuses_a_step_that_is_not_a_count(step):
    opt = OPTIMIZERS["adam"](make_params())
    train(opt, 1)
    sd = opt.state_dict()
    sd["state"][0]["step"] = step
    with pytest.raises(ValueError, match=r"state\[0\]\['step'\] must be a count of steps"):
        opt.load_state_dict(sd)
    assert opt.state[0]["step"] == 1


@pytest.mark.parametrize("bad, message", [
    ({"lr": "fast"}, "Adam: lr must be a real number, got 'fast'"),
    ({"betas": (0.9,)}, r"Adam: betas must be a pair \(beta1, beta2\), got \(0.9,\)"),
    ({"betas": (0.9, 1.0)}, r"Adam: beta2 must be in \[0, 1\), got 1.0"),
    ({"eps": -1e-8}, "Adam: eps must be a finite number >= 0, got -1e-08"),
    ({"weight_decay": float("nan")}, "Adam: weight_decay must be a finite number >= 0, got nan"),
])
def test_adam_refuses_bad_hyperparameters(bad, message):
    with pytest.raises((TypeError, ValueError), match=message):
        optim.Adam(make_params(), **bad)


def test_unflatten_refuses_keys_it_did_not_write():
    with pytest.raises(ValueError, match="key 'model.weight' is neither"):
        optim.unflatten_state_dict({"model.weight": np.zeros(2)})


# ---- moving state to torch and back -----------------------------------------------------------------------

TORCH_OPTIMIZERS = {"sgd": "SGD", "adam": "Adam"}


@pytest.mark.parametrize("kind", OPTIMIZERS)
def test_state_dict_has_torchs_layout_and_the_same_next_step_in_torch_and_back(kind):
    torch = pytest.importorskip("torch")
    opt = OPTIMIZERS[kind](make_params())
    rng = train(opt, 3)
    sd = opt.state_dict()
    tparams = [torch.nn.Parameter(torch.tensor(p.data)) for p in opt.params]
    hyper = {k: v for k, v in sd["param_groups"][0].items() if k != "params"}
    topt = getattr(torch.optim, TORCH_OPTIMIZERS[kind])(tparams, **hyper)  # torch takes every key minigrad writes
    topt.load_state_dict({"state": {k: {n: torch.tensor(v) for n, v in e.items()} for k, e in sd["state"].items()},
                          "param_groups": sd["param_groups"]})
    tsd = topt.state_dict()
    assert {k: set(e) for k, e in tsd["state"].items()} == {k: set(e) for k, e in sd["state"].items()}
    if kind == "adam":  # minigrad's float step becomes the kind of step torch keeps itself (a float scalar tensor)
        own = torch.optim.Adam([torch.nn.Parameter(torch.ones(1, dtype=torch.float64))])
        own.param_groups[0]["params"][0].grad = torch.ones(1, dtype=torch.float64)
        own.step()
        assert {e["step"].dtype for e in tsd["state"].values()} == {own.state_dict()["state"][0]["step"].dtype}
    own_keys = set(tsd["param_groups"][0]) - set(optim.TORCH_EXECUTION_KEYS)
    assert own_keys == set(sd["param_groups"][0])

    def same_step(opt, topt, rng):
        x = rng.standard_normal((4, 3))
        opt.zero_grad(), topt.zero_grad()
        w, b, s = opt.params
        (((mg.tensor(x) @ w + b).tanh() * s - 0.5) ** 2).sum().backward()
        tw, tb, ts = topt.param_groups[0]["params"]
        (((torch.tensor(x) @ tw + tb).tanh() * ts - 0.5) ** 2).sum().backward()
        opt.step(), topt.step()
        for p, tp in zip(opt.params, tparams):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-14)

    same_step(opt, topt, rng)
    back = OPTIMIZERS[kind](opt.params)  # other hyperparameters: load_state_dict brings torch's
    back.lr = 1.0
    back.load_state_dict(topt.state_dict())  # torch's own state_dict, tensors and all
    tsd = topt.state_dict()
    as_numpy = {"state": {k: {n: float(v) if n == "step" else v.numpy() for n, v in e.items()} for k, e in tsd["state"].items()},
                "param_groups": [{k: v for k, v in tsd["param_groups"][0].items() if k not in optim.TORCH_EXECUTION_KEYS}]}
    assert_state_dicts_equal(back.state_dict(), as_numpy)
    same_step(back, topt, rng)
