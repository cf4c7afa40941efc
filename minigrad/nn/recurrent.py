"""Recurrent cells and sequence modules, written with the library's own primitives.

Weights follow torch's layout and gate order, so a state_dict moves between the two:
``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H), ``bias_ih`` and ``bias_hh`` (G*H), with
G = 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n).  Each gate is computed inside
its own name scope, so drawings and gradcheck reports speak the tutorial's language.
Two tutorial forms sit beside torch's: the GRU of Cho et al. (``reset_after=False``, the
reset gate applied before the matmul) and the full-matrix peephole (``peephole="full"``).

Each kind of cell is one small "math" class holding its step; a cell module applies
that step once, a sequence module along a sequence, per layer and direction.
"""
import math

import numpy as np

from ..tensor import concat, stack, zeros
from ..engine import name_scope
from . import functional as F
from .module import Module, uniform


def _check_choice(owner, argument, value, choices):
    """A ValueError naming ``argument`` unless ``value`` is a key of ``choices`` (value -> what it means)."""
    if not any(value is c or (type(value) is type(c) and value == c) for c in choices):
        options = "; ".join(f"{c!r}: {meaning}" for c, meaning in choices.items())
        raise ValueError(f"{owner}: {argument} must be one of {list(choices)} ({options}), got {value!r}")


def _named(t, name, record):
    """Name a tensor after the tutorial's symbol; also hand it to the caller's ``gates`` dict, if any."""
    t.name = name
    if record is not None:
        record[name] = t
    return t


class _RNNMath:
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)  (or relu)."""

    gates, scope, fold_hh_bias, has_cell = 1, "rnn_cell", True, False

    def step(self, xp, h, w_hh, b_hh, record=None):
        with name_scope("hidden"):
            pre = F.linear(h, w_hh, xp)
            return _named(pre.tanh() if self.nonlinearity == "tanh" else pre.relu(), "h", record)


class _LSTMMath:
    """The tutorial's LSTM: gates i, f, o = sigmoid(.), candidate g = tanh(.), c = f*c + i*g, h = o*tanh(c)."""

    gates, scope, fold_hh_bias, has_cell = 4, "lstm_cell", True, True

    def step(self, xp, state, w_hh, b_hh, record=None):
        h, c = state
        H = h.shape[-1]
        with name_scope("gates"):
            z = F.linear(h, w_hh, xp)  # all four pre-activations: W [h_{t-1}, x_t] + b
        with name_scope("input_gate"):
            i = _named(z[..., :H].sigmoid(), "i", record)
        with name_scope("forget_gate"):
            f = _named(z[..., H : 2 * H].sigmoid(), "f", record)
        with name_scope("candidate"):
            g = _named(z[..., 2 * H : 3 * H].tanh(), "g", record)
        with name_scope("output_gate"):
            o = _named(z[..., 3 * H :].sigmoid(), "o", record)
        with name_scope("cell"):
            c = _named(f * c + i * g, "c", record)
        with name_scope("hidden"):
            h = _named(o * c.tanh(), "h", record)
        return h, c


class _PeepholeMath(_LSTMMath):
    """An LSTM whose gates also see the cell: i, f peep at c_{t-1}, o at c_t.

    ``peephole="diagonal"`` (Gers et al. 2002): gate k adds ``weight_ch[k] * c``, one weight per unit.
    ``peephole="full"`` (the tutorials' W [C, h, x]): gate k adds ``c @ weight_ch[kH:(k+1)H]^T``.
    """

    scope = "peephole_lstm_cell"

    def peep(self, c, k):
        """Gate k's (0 = i, 1 = f, 2 = o) look at the cell ``c``."""
        if self.peephole == "diagonal":
            return self.weight_ch[k] * c
        H = c.shape[-1]
        return F.linear(c, self.weight_ch[k * H : (k + 1) * H])

    def step(self, xp, state, w_hh, b_hh, record=None):
        h, c_prev = state
        H = h.shape[-1]
        with name_scope("gates"):
            z = F.linear(h, w_hh, xp)
        with name_scope("input_gate"):
            i = _named((z[..., :H] + self.peep(c_prev, 0)).sigmoid(), "i", record)
        with name_scope("forget_gate"):
            f = _named((z[..., H : 2 * H] + self.peep(c_prev, 1)).sigmoid(), "f", record)
        with name_scope("candidate"):
            g = _named(z[..., 2 * H : 3 * H].tanh(), "g", record)
        with name_scope("cell"):
            c = _named(f * c_prev + i * g, "c", record)
        with name_scope("output_gate"):
            o = _named((z[..., 3 * H :] + self.peep(c, 2)).sigmoid(), "o", record)
        with name_scope("hidden"):
            h = _named(o * c.tanh(), "h", record)
        return h, c


class _GRUMath:
    """A GRU step.  r, z = sigmoid(.), h = (1 - z) * n + z * h_prev, and the candidate n is

    ``reset_after=True`` (torch, cuDNN):  n = tanh(W_in x + b_in + r * (W_hn h + b_hn));
    ``reset_after=False`` (Cho et al. 2014, Keras' option): n = tanh(W_in x + b_in + W_hn (r * h) + b_hn).
    """

    gates, scope, has_cell = 3, "gru_cell", False
    reset_after = True

    @property
    def fold_hh_bias(self):
        """Every bias is added unchanged, except b_hn when the reset gate scales it (torch's form)."""
        return not self.reset_after

    def step(self, xp, h, w_hh, b_hh, record=None):
        H = h.shape[-1]
        with name_scope("gates"):
            hp = F.linear(h, w_hh, b_hh) if self.reset_after else F.linear(h, w_hh[: 2 * H])
        with name_scope("reset_gate"):
            r = _named((xp[..., :H] + hp[..., :H]).sigmoid(), "r", record)
        with name_scope("update_gate"):
            z = _named((xp[..., H : 2 * H] + hp[..., H : 2 * H]).sigmoid(), "z", record)
        with name_scope("candidate"):
            if self.reset_after:
                n = _named((xp[..., 2 * H :] + r * hp[..., 2 * H :]).tanh(), "n", record)
            else:
                n = _named(F.linear(r * h, w_hh[2 * H :], xp[..., 2 * H :]).tanh(), "n", record)
        with name_scope("hidden"):
            return _named((1 - z) * n + z * h, "h", record)

    def extra_repr(self):
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")


_NONLINEARITY = {"tanh": "h = tanh(.)", "relu": "h = max(0, .)"}
_RESET_AFTER = {True: "torch's form, r * (W_hn h + b_hn)", False: "Cho et al.'s and Keras', W_hn (r * h)"}
_PEEPHOLE = {"diagonal": "one weight per unit, Gers et al. 2002", "full": "a matrix on the cell, W [C, h, x]"}


def _init_weights(module, suffix, input_size, hidden_size, bias, rng, dtype):
    """torch's initialisation: every weight and bias U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1 / math.sqrt(hidden_size)
    rows = module.gates * hidden_size
    setattr(module, "weight_ih" + suffix, uniform((rows, input_size), bound, rng, dtype))
    setattr(module, "weight_hh" + suffix, uniform((rows, hidden_size), bound, rng, dtype))
    setattr(module, "bias_ih" + suffix, uniform((rows,), bound, rng, dtype) if bias else None)
    setattr(module, "bias_hh" + suffix, uniform((rows,), bound, rng, dtype) if bias else None)


class _Recurrence(Module):
    """What cells and sequence modules share: the input projection and one step."""

    def _weights(self, suffix):
        return tuple(getattr(self, name + suffix) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def _project(self, x, w_ih, b_ih, b_hh):
        """x @ W_ih^T + b_ih (+ b_hh where the step adds it unchanged): the input's share of every gate."""
        bias = b_ih if b_ih is None or not self.fold_hh_bias else b_ih + b_hh
        return F.linear(x, w_ih, bias)

    def _zero_state(self, batch_shape, dtype):
        h = zeros(*batch_shape, self.hidden_size, dtype=dtype)
        return (h, zeros(*batch_shape, self.hidden_size, dtype=dtype)) if self.has_cell else h

    def _check_input(self, x, expected, ndims):
        if x.ndim not in ndims:
            raise ValueError(
                f"{type(self).__name__} takes an input of shape {self._input_forms}, got one of shape {x.shape}"
            )
        if x.shape[-1] != expected:
            raise ValueError(
                f"{type(self).__name__} expects inputs with {expected} features in the last axis "
                f"(input_size={expected}), got shape {x.shape}"
            )

    def _check_state(self, state, expected, what, layout):
        """``state`` is h (or the tuple (h, c) for LSTMs) with every part of shape ``expected``."""
        name = type(self).__name__
        if self.has_cell:
            if not (isinstance(state, (tuple, list)) and len(state) == 2):
                raise TypeError(f"{name} takes its {what} as a tuple (h, c), got a {type(state).__name__}")
        elif isinstance(state, (tuple, list)):
            raise TypeError(f"{name} takes its {what} as one tensor h, got a {type(state).__name__}: "
                            "(h, c) pairs are for LSTMs")
        for part, p in zip("hc", state if self.has_cell else (state,)):
            if tuple(np.shape(p)) != expected:
                raise ValueError(f"{name}: the {part} of {what} must have shape {expected} {layout}, "
                                 f"got {tuple(np.shape(p))}")

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class _Cell(_Recurrence):
    _input_forms = "(B, I) or (I,)"

    def __init__(self, input_size, hidden_size, bias=True, rng=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        _init_weights(self, "", input_size, hidden_size, bias, rng, dtype)

    def forward(self, x, state=None, gates=None):
        """One step: ``x`` (B, I) or (I,), ``state`` from the previous step (zeros when None).

        Pass a dict as ``gates`` to get the step's named tensors (an LSTM's i, f, g, o, c, h).
        """
        w_ih, w_hh, b_ih, b_hh = self._weights("")
        x = F.as_tensor(x, w_ih.dtype)
        self._check_input(x, self.input_size, (1, 2))
        if state is None:
            state = self._zero_state(x.shape[:-1], w_ih.dtype)
        else:
            self._check_state(state, x.shape[:-1] + (self.hidden_size,), "state", "(batch, hidden_size)")
        with name_scope(self.scope):
            xp = self._project(x, w_ih, b_ih, b_hh)
            return self.step(xp, state, w_hh, None if self.fold_hh_bias else b_hh, gates)


class RNNCell(_RNNMath, _Cell):
    """The simple RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh); ``forward(x, h) -> h'``."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", rng=None, dtype=None):
        _check_choice("RNNCell", "nonlinearity", nonlinearity, _NONLINEARITY)
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, rng, dtype)


class LSTMCell(_LSTMMath, _Cell):
    """torch.nn.LSTMCell from primitives: ``forward(x, (h, c)) -> (h', c')``, gate order (i, f, g, o).

    Examples:
        >>> cell = LSTMCell(3, 5)
        >>> h, c = cell(minigrad.randn(2, 3))
    """


class GRUCell(_GRUMath, _Cell):
    """torch.nn.GRUCell from primitives: ``forward(x, h) -> h'``, gate order (r, z, n).

    ``reset_after=False`` applies the reset gate before the matmul, as Cho et al. (2014) and Keras
    (``reset_after=False``) do; same parameters and state_dict keys, a different function of them.

    Examples:
        >>> cho = GRUCell(3, 5, reset_after=False)
        >>> h = cho(minigrad.randn(2, 3))
    """

    def __init__(self, input_size, hidden_size, bias=True, rng=None, dtype=None, *, reset_after=True):
        _check_choice("GRUCell", "reset_after", reset_after, _RESET_AFTER)
        self.reset_after = reset_after
        super().__init__(input_size, hidden_size, bias, rng, dtype)


class PeepholeLSTMCell(_PeepholeMath, _Cell):
    """An LSTMCell whose gates also look at the cell state through ``weight_ch``.

    ``peephole="diagonal"``: ``weight_ch`` has shape (3, H), one weight per unit for i, f, o.
    ``peephole="full"``: shape (3H, H), a full matrix per gate, the tutorials' W [C_{t-1}, h_{t-1}, x_t].

    Examples:
        >>> cell = PeepholeLSTMCell(3, 5, peephole="full")
        >>> h, c = cell(minigrad.randn(2, 3))
    """

    def __init__(self, input_size, hidden_size, bias=True, rng=None, dtype=None, *, peephole="diagonal"):
        _check_choice("PeepholeLSTMCell", "peephole", peephole, _PEEPHOLE)
        self.peephole = peephole
        super().__init__(input_size, hidden_size, bias, rng, dtype)
        rows = 3 if peephole == "diagonal" else 3 * hidden_size
        self.weight_ch = uniform((rows, hidden_size), 1 / math.sqrt(hidden_size), rng, dtype)

    def extra_repr(self):
        return super().extra_repr() + f", peephole={self.peephole!r}"


class _Sequence(_Recurrence):
    _input_forms = "(T, B, I) ((B, T, I) when batch_first) or (T, I)"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 bidirectional=False, nonlinearity="tanh", rng=None, dtype=None):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first, self.bidirectional, self.nonlinearity = batch_first, bidirectional, nonlinearity
        for layer in range(num_layers):
            for suffix in self._suffixes(layer):
                size = input_size if layer == 0 else hidden_size * self.num_directions
                _init_weights(self, suffix, size, hidden_size, bias, rng, dtype)

    def extra_repr(self):
        options = {"num_layers": (self.num_layers, 1), "batch_first": (self.batch_first, False),
                   "bidirectional": (self.bidirectional, False)}
        shown = "".join(f", {k}={v}" for k, (v, default) in options.items() if v != default)
        return super().extra_repr() + shown

    @property
    def num_directions(self):
        return 2 if self.bidirectional else 1

    def _each_part(self, state, fn):
        """``fn`` applied to each part of a state: (h, c) for LSTMs, h otherwise."""
        return tuple(fn(p) for p in state) if self.has_cell else fn(state)

    def _suffixes(self, layer):
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.num_directions]

    def _initial_states(self, hx, batch, dtype):
        """One initial state per (layer, direction), from ``hx`` of shape (layers * directions, B, H)."""
        n = self.num_layers * self.num_directions
        if hx is None:
            return [self._zero_state((batch,), dtype)] * n
        self._check_state(hx, (n, batch, self.hidden_size), "hx", "(layers * directions, batch, hidden)")
        parts = [F.as_tensor(p, dtype) for p in (hx if self.has_cell else (hx,))]
        return [tuple(p[k] for p in parts) if self.has_cell else parts[0][k] for k in range(n)]

    def forward(self, x, hx=None):
        """Run over a sequence ``x`` of shape (T, B, I) ((B, T, I) when batch_first; (T, I) unbatched).

        Returns ``output`` (T, B, D*H) and the final state: ``h_n`` (L*D, B, H), or ``(h_n, c_n)`` for LSTMs.
        """
        dtype = self.weight_ih_l0.dtype
        x = F.as_tensor(x, dtype)
        self._check_input(x, self.input_size, (2, 3))
        unbatched = x.ndim == 2
        if unbatched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
            if hx is not None:
                n = self.num_layers * self.num_directions
                self._check_state(hx, (n, self.hidden_size), "hx", "(layers * directions, hidden)")
                hx = self._each_part(hx, lambda p: p.reshape(p.shape[0], 1, -1))
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        steps, batch = x.shape[0], x.shape[1]
        if steps == 0:
            raise ValueError(f"{type(self).__name__} got an empty sequence (T = 0)")
        initial = self._initial_states(hx, batch, dtype)
        finals = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(self._suffixes(layer)):
                with name_scope(f"layer{layer}" + ("_reverse" if d else "")):
                    hs, state = self._run_direction(layer_input, suffix, initial[len(finals)], reverse=d == 1)
                outputs.append(hs)
                finals.append(state)
            layer_input = outputs[0] if len(outputs) == 1 else concat(outputs, axis=2)
        output = layer_input
        if self.has_cell:
            final = (stack([s[0] for s in finals]), stack([s[1] for s in finals]))
        else:
            final = stack(finals)
        if unbatched:
            output = output.reshape(steps, -1)
            final = self._each_part(final, lambda f: f.reshape(f.shape[0], -1))
        elif self.batch_first:
            output = output.transpose(1, 0, 2)
        return output, final

    def _run_direction(self, x, suffix, state, reverse):
        w_ih, w_hh, b_ih, b_hh = self._weights(suffix)
        steps, batch, features = x.shape
        with name_scope("input_projection"):
            # One matmul for the inputs of every time step; the loop does only the recurrent part.
            xp = self._project(x.reshape(steps * batch, features), w_ih, b_ih, b_hh).reshape(steps, batch, -1)
        b_step = None if self.fold_hh_bias else b_hh
        hs = [None] * steps
        for t in reversed(range(steps)) if reverse else range(steps):
            with name_scope(f"t{t}"), name_scope(self.scope):
                state = self.step(xp[t], state, w_hh, b_step)
            hs[t] = state[0] if self.has_cell else state
        return stack(hs), state


class RNN(_RNNMath, _Sequence):
    """torch.nn.RNN from primitives (Elman RNN with tanh or relu), torch's shapes and state_dict keys."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 bidirectional=False, rng=None, dtype=None):
        _check_choice("RNN", "nonlinearity", nonlinearity, _NONLINEARITY)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, bidirectional, nonlinearity, rng, dtype)


class LSTM(_LSTMMath, _Sequence):
    """torch.nn.LSTM from primitives: ``output, (h_n, c_n) = lstm(x, (h_0, c_0))``, torch's state_dict keys.

    Examples:
        >>> lstm = LSTM(8, 16, num_layers=2, bidirectional=True)
        >>> out, (h, c) = lstm(minigrad.randn(5, 3, 8))     # out: (5, 3, 32)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 bidirectional=False, rng=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, bidirectional, "tanh", rng, dtype)


class GRU(_GRUMath, _Sequence):
    """torch.nn.GRU from primitives: ``output, h_n = gru(x, h_0)``, torch's state_dict keys.

    ``reset_after=False``: Cho et al.'s candidate, tanh(W_in x + b_in + W_hn (r * h) + b_hn), as in GRUCell.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 bidirectional=False, rng=None, dtype=None, *, reset_after=True):
        _check_choice("GRU", "reset_after", reset_after, _RESET_AFTER)
        self.reset_after = reset_after
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, bidirectional, "tanh", rng, dtype)
