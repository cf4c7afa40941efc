"""Optimizers: SGD (momentum, weight decay) and Adam, updating parameters in place.

Each keeps its per-parameter state in ``self.state[k]`` under torch's names, so that
``state_dict()`` / ``load_state_dict()`` have torch's layout and move between the two.
"""
from collections.abc import Mapping

import numpy as np

from .engine import no_grad

# torch's param_groups keys that choose a kernel and change no number: accepted from torch and ignored
TORCH_EXECUTION_KEYS = ("foreach", "capturable", "differentiable", "fused", "param_names")


class Optimizer:
    """Base class: a list of parameters, one group of hyperparameters, and torch-named state per parameter.

    Subclasses name their hyperparameters (``_hyper``), the torch options whose only value minigrad
    implements (``_fixed``), the keys of their per-parameter state (``_state_keys``) and ``_update``.
    """

    _hyper, _fixed, _state_keys = ("lr",), {}, ()

    def __init__(self, params, **hyperparameters):
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimizer got an empty parameter list: pass model.parameters()")
        for name, value in hyperparameters.items():
            setattr(self, name, _hyperparameter(type(self).__name__, name, value))
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        """Forget every parameter's gradient (set ``.grad`` to None)."""
        for p in self.params:
            p.grad = None

    @no_grad()
    def step(self):
        """Update every parameter that has a gradient."""
        for k, p in enumerate(self.params):
            if p.grad is not None:
                self._update(k, p, p.grad)

    def state_dict(self):
        """Copies of the state in torch's layout: ``{"state": {k: {...}}, "param_groups": [{..., "params": [...]}]}``.

        Parameters are numbered in the order the optimizer was given them; a parameter that has
        not been updated yet has no entry in ``state``, and Adam's ``step`` is a float, as in torch.

        Examples:
            >>> opt.state_dict()
            {"state": {0: {"step": 3.0, "exp_avg": ..., "exp_avg_sq": ...}},
             "param_groups": [{"lr": 0.001, ...}]}
        """
        state = {k: {name: float(value) if name == "step" else value.copy() for name, value in s.items()}
                 for k, s in enumerate(self.state) if s}
        group = {name: getattr(self, name) for name in self._hyper}
        group.update(self._fixed, params=list(range(len(self.params))))
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict):
        """Take hyperparameters and state from ``state_dict`` (this optimizer's, or torch's for the same parameters).

        Everything is checked first; on any problem a ValueError says what, and nothing changes.
        Arrays (or torch tensors) are copied and cast to their parameter's dtype.

        Examples:
            >>> opt.load_state_dict(minigrad.optim.unflatten_state_dict(flat))
        """
        hyper, state = self._checked(state_dict)
        for name, value in hyper.items():
            setattr(self, name, value)
        self.state = state

    def _checked(self, state_dict):
        """The hyperparameters and per-parameter state that ``state_dict`` holds, validated; changes nothing."""
        name = type(self).__name__

        def fail(problem):
            raise ValueError(f"{name}.load_state_dict: {problem}; nothing was changed") from None

        if not isinstance(state_dict, Mapping) or set(state_dict) != {"state", "param_groups"}:
            got = sorted(map(str, state_dict)) if isinstance(state_dict, Mapping) else type(state_dict).__name__
            fail(f"expected a dict with the keys 'state' and 'param_groups' (from optimizer.state_dict()), got {got}")
        groups = state_dict["param_groups"]
        if len(groups) != 1:
            fail(f"minigrad's optimizers hold one parameter group, this state_dict has {len(groups)}")
        group = dict(groups[0])
        ids = list(group.pop("params", []))
        if len(ids) != len(self.params):
            fail(f"the state_dict is for {len(ids)} parameters, this optimizer has {len(self.params)}: "
                 "build the optimizer over the same model's parameters()")
        known = set(self._hyper) | set(self._fixed) | set(TORCH_EXECUTION_KEYS)
        unknown = sorted(k for k in group if k not in known)
        missing = [k for k in self._hyper if k not in group]
        if unknown or missing:
            fail(f"param_groups[0] has unknown keys {unknown} and lacks {missing}; {name} takes {sorted(known)}")
        for key, value in self._fixed.items():
            if key in group and group[key] != value:
                fail(f"param_groups[0][{key!r}] is {group[key]!r}, but minigrad's {name} implements only "
                     f"{key}={value!r}; use torch for that option or set it to {value!r}")
        try:
            hyper = {key: _hyperparameter(name, key, group[key]) for key in self._hyper}
        except (TypeError, ValueError) as e:
            fail(f"in param_groups[0]: {e}")

        if not isinstance(state_dict["state"], Mapping):
            fail(f"'state' must be a dict of parameter index -> dict, got {type(state_dict['state']).__name__}")
        position = {pid: k for k, pid in enumerate(ids)}
        state = [{} for _ in self.params]
        for pid, entry in state_dict["state"].items():
            if pid not in position:
                fail(f"'state' has an entry for parameter {pid!r}, which is not among param_groups[0]['params'] {ids}")
            k, p = position[pid], self.params[position[pid]]
            if not isinstance(entry, Mapping) or set(entry) != set(self._state_keys):
                keys = sorted(entry) if isinstance(entry, Mapping) else type(entry).__name__
                fail(f"state[{pid!r}] holds {keys}; {name} keeps {list(self._state_keys)}")
            for key, value in entry.items():
                where = f"state[{pid!r}][{key!r}]"
                array = np.asarray(value)
                if key == "step":
                    if array.ndim or array.dtype.kind not in "iuf" or not 0 <= array < np.inf or array != np.floor(array):
                        fail(f"{where} must be a count of steps taken (a whole number >= 0), got {value!r}")
                    state[k]["step"] = int(array)
                elif value is not None:  # older torch stored momentum_buffer=None for momentum 0
                    if array.dtype.kind != "f":
                        fail(f"{where} has dtype {array.dtype}; it must be floating point, like parameter {k} ({p.dtype})")
                    if array.shape != p.shape:
                        fail(f"{where} has shape {array.shape}, parameter {k} has shape {p.shape}: "
                             "was the state saved for another model?")
                    state[k][key] = array.astype(p.dtype)
        return hyper, state


def _hyperparameter(owner, name, value):
    """``value`` as a float (betas: a pair of floats) after checking its range; a clear error otherwise."""
    if name == "betas":
        try:
            b1, b2 = value
        except (TypeError, ValueError):
            raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), got {value!r}") from None
        return (_hyperparameter(owner, "beta1", b1), _hyperparameter(owner, "beta2", b2))
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}") from None
    if name == "lr" and not x > 0:
        raise ValueError(f"learning rate must be positive, got {value!r}")
    if name.startswith("beta") and not 0 <= x < 1:
        raise ValueError(f"{owner}: {name} must be in [0, 1), got {value!r}")
    if not (0 <= x < np.inf):
        raise ValueError(f"{owner}: {name} must be a finite number >= 0, got {value!r}")
    return x


class SGD(Optimizer):
    """p -= lr * v, with v = momentum * v + (g + weight_decay * p)  (torch's convention).

    Examples:
        >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    """

    _hyper = ("lr", "momentum", "weight_decay")
    _fixed = {"dampening": 0, "nesterov": False, "maximize": False}
    _state_keys = ("momentum_buffer",)

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def _update(self, k, p, g):
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            v = self.state[k].get("momentum_buffer")
            self.state[k]["momentum_buffer"] = v = np.array(g) if v is None else np.add(self.momentum * v, g, out=v)
            g = v
        p.data -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction; ``weight_decay`` adds wd * p to the gradient, as torch.

    Examples:
        >>> opt = Adam(model.parameters(), lr=1e-2)
    """

    _hyper = ("lr", "betas", "eps", "weight_decay")
    _fixed = {"amsgrad": False, "maximize": False, "decoupled_weight_decay": False}
    _state_keys = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _update(self, k, p, g):
        b1, b2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        s = self.state[k]
        if not s:
            s.update(step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
        s["step"] += 1
        t, m, v = s["step"], s["exp_avg"], s["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        p.data -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(p.data.dtype)


def flatten_state_dict(state_dict):
    """An optimizer's state_dict as flat keys and arrays, which `minigrad.save` writes.

    Examples:
        >>> flat = flatten_state_dict(opt.state_dict())
        >>> flat   # {"state.0.step": array(3), "param_groups.0.lr": array(0.01), ...}
        >>> minigrad.save(flat, "adam.npz")
    """
    flat = {}
    for pid, entry in state_dict["state"].items():
        flat.update({f"state.{pid}.{key}": np.asarray(value) for key, value in entry.items()})
    for i, group in enumerate(state_dict["param_groups"]):
        flat.update({f"param_groups.{i}.{key}": np.asarray(value) for key, value in group.items()})
    return flat


def unflatten_state_dict(flat):
    """The nested state_dict back from `flatten_state_dict`'s form (for ``load_state_dict`` or torch).

    Examples:
        >>> opt.load_state_dict(unflatten_state_dict(minigrad.load("adam.npz")))
    """
    state, groups = {}, {}
    for key, value in flat.items():
        top, index, name = (key.split(".", 2) + ["", ""])[:3]
        if not (top in ("state", "param_groups") and index.isdigit() and name):
            raise ValueError(f"unflatten_state_dict: key {key!r} is neither 'state.<index>.<name>' nor "
                             "'param_groups.<index>.<name>'; pass what flatten_state_dict returned")
        value = np.asarray(value)
        if top == "state":
            state.setdefault(int(index), {})[name] = value.item() if name == "step" else value
        elif name == "params":
            groups.setdefault(int(index), {})[name] = [int(i) for i in value.reshape(-1)]
        else:
            groups.setdefault(int(index), {})[name] = tuple(value.tolist()) if value.ndim else value.item()
    if sorted(groups) != list(range(len(groups))):
        raise ValueError(f"unflatten_state_dict: param_groups are numbered {sorted(groups)}; expected 0, 1, ...")
    return {"state": state, "param_groups": [groups[i] for i in range(len(groups))]}
