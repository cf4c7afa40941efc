"""One LSTM step written from the tutorial's equations, shown equal to nn.LSTMCell, gradchecked, and drawn.

    f_t  = sigmoid(W_f [h_{t-1}, x_t] + b_f)          forget gate
    i_t  = sigmoid(W_i [h_{t-1}, x_t] + b_i)          input gate
    C~_t = tanh(W_C [h_{t-1}, x_t] + b_C)             candidate
    C_t  = f_t * C_{t-1} + i_t * C~_t                 cell update
    o_t  = sigmoid(W_o [h_{t-1}, x_t] + b_o)          output gate
    h_t  = o_t * tanh(C_t)                            hidden state

    python examples/lstm_from_primitives.py [--quick] [--out out/lstm_step.svg]
"""
import argparse
import os

import numpy as np

import minigrad as mg
from minigrad import nn, viz


def lstm_step(x, h_prev, c_prev, W, b):
    """The tutorial's equations, one line each; every W[k] acts on the concatenation [h_{t-1}, x_t]."""
    hx = mg.concat([h_prev, x], axis=1)
    with mg.name_scope("forget_gate"):
        f = (hx @ W["f"].T + b["f"]).sigmoid()
    with mg.name_scope("input_gate"):
        i = (hx @ W["i"].T + b["i"]).sigmoid()
    with mg.name_scope("candidate"):
        c_tilde = (hx @ W["C"].T + b["C"]).tanh()
    with mg.name_scope("cell"):
        c = f * c_prev + i * c_tilde
    with mg.name_scope("output_gate"):
        o = (hx @ W["o"].T + b["o"]).sigmoid()
    with mg.name_scope("hidden"):
        h = o * c.tanh()
    for t, name in ((f, "f_t"), (i, "i_t"), (c_tilde, "C~_t"), (c, "C_t"), (o, "o_t"), (h, "h_t")):
        t.name = name
    return h, c, {"f_t": f, "i_t": i, "C~_t": c_tilde, "C_t": c, "o_t": o, "h_t": h}


def tutorial_weights(cell):
    """Regroup nn.LSTMCell's weights (torch's layout: rows i, f, g, o; W_ih and W_hh apart) per gate."""
    H = cell.hidden_size
    state = cell.state_dict()
    W, b = {}, {}
    for k, gate in enumerate(["i", "f", "C", "o"]):
        rows = slice(k * H, (k + 1) * H)
        W[gate] = mg.tensor(np.concatenate([state["weight_hh"][rows], state["weight_ih"][rows]], axis=1),
                            dtype=np.float64, requires_grad=True, name=f"W_{gate}")
        b[gate] = mg.tensor(state["bias_ih"][rows] + state["bias_hh"][rows], dtype=np.float64,
                            requires_grad=True, name=f"b_{gate}")
    return W, b


def main(argv=None):
    parser = argparse.ArgumentParser(description="One LSTM step from the tutorial's equations")
    parser.add_argument("--out", default="out/lstm_step.svg", help="where to draw the graph (.svg, .png or .gv)")
    parser.add_argument("--quick", action="store_true",
                        help="accepted as every example accepts it; this one takes about a second already")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    I, H = 3, 4
    cell = nn.LSTMCell(I, H, rng=rng).double()
    W, b = tutorial_weights(cell)
    x = mg.tensor(rng.standard_normal((1, I)), dtype=np.float64, requires_grad=True, name="x_t")
    h_prev = mg.tensor(rng.standard_normal((1, H)) * 0.5, dtype=np.float64, requires_grad=True, name="h_{t-1}")
    c_prev = mg.tensor(rng.standard_normal((1, H)), dtype=np.float64, requires_grad=True, name="C_{t-1}")

    print(__doc__.split("\n\n")[1])
    print(f"A tiny example: input size {I}, hidden size {H}, one sequence.")
    print(f"  x_t     = {np.round(x.data[0], 3)}")
    print(f"  h_{{t-1}} = {np.round(h_prev.data[0], 3)}")
    print(f"  C_{{t-1}} = {np.round(c_prev.data[0], 3)}")
    h, c, values = lstm_step(x, h_prev, c_prev, W, b)
    for name, t in values.items():
        print(f"  {name:<7} = {np.round(t.data[0], 3)}")

    h_ref, c_ref = cell(x, (h_prev, c_prev))
    diff = max(np.abs(h.data - h_ref.data).max(), np.abs(c.data - c_ref.data).max())
    print(f"\nnn.LSTMCell on the same weights: max |difference| in h_t and C_t = {diff:.1e}")
    assert diff < 1e-12, "the hand-written step and nn.LSTMCell disagree"

    inputs = (x, h_prev, c_prev, *W.values(), *b.values())
    ok = mg.gradcheck(lambda x, h, c, *params: lstm_step(x, h, c, W, b)[:2], inputs)
    print(f"gradcheck of h_t and C_t with respect to x_t, h_{{t-1}}, C_{{t-1}} and all 8 weights: "
          f"{'passed' if ok else 'FAILED'}")

    loss = h.sum()
    loss.name = "sum(h_t)"
    loss.backward(retain_graph=True)
    print("\nd sum(h_t) / d C_{t-1} =", np.round(c_prev.grad[0], 4), " (through the cell path: f_t * ...)")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    path = viz.render(loss, args.out, params={**{f"W_{k}": v for k, v in W.items()}, **{f"b_{k}": v for k, v in b.items()}},
                      show_grad=True)
    print(f"\nResult: the hand-written LSTM step equals nn.LSTMCell (max |diff| {diff:.1e}), its gradients pass "
          f"gradcheck, and its graph, coloured by gradient norm, is in {path}")


if __name__ == "__main__":
    main()
