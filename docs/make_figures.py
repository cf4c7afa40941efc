"""Make every figure the docs use, from the library itself, and the table of gradient rules.

    python docs/make_figures.py             # writes docs/figures/* and docs/vjp_table.md
    python docs/make_figures.py variants    # only that group (names: see FIGURES_BY_NAME)

Graphs are drawn by minigrad.viz; the gradient-norm plot needs matplotlib.
"""
import os
import sys
import warnings

import numpy as np

import minigrad as mg
from minigrad import nn, viz
from minigrad.ops import REGISTRY

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURES = os.path.join(HERE, "figures")
sys.path.insert(0, os.path.join(HERE, "..", "examples"))


def vjp_table():
    """A Markdown table of every registered primitive's forward and vector-Jacobian product."""
    rows = ["| op | forward | vector-Jacobian product (g is the output's gradient) |", "|---|---|---|"]
    for name in sorted(REGISTRY):
        forward, _, vjp = REGISTRY[name].doc.partition(";")
        rows.append(f"| `{name}` | `{forward.strip()}` | `{vjp.strip()}` |")
    return "\n".join(rows) + "\n"


def save(outputs, name, **options):
    path = viz.render(outputs, os.path.join(FIGURES, name), **options)
    print("wrote", os.path.relpath(path, HERE))


def first_graph():
    x = mg.tensor([0.5, -1.0, 2.0], requires_grad=True, name="x")
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True, name="w")
    y = (x * w).tanh().sum()
    y.name = "y"
    y.backward(retain_graph=True)
    save(y, "first_graph.svg", show_grad=True)


def lstm_stages():
    """The hand-written LSTM step of the tutorial page, drawn stage by stage."""
    import lstm_from_primitives as demo

    rng = np.random.default_rng(0)
    cell = nn.LSTMCell(3, 4, rng=rng).double()
    W, b = demo.tutorial_weights(cell)
    x = mg.tensor(rng.standard_normal((1, 3)), dtype=np.float64, requires_grad=True, name="x_t")
    h = mg.tensor(rng.standard_normal((1, 4)) * 0.5, dtype=np.float64, requires_grad=True, name="h_{t-1}")
    c = mg.tensor(rng.standard_normal((1, 4)), dtype=np.float64, requires_grad=True, name="C_{t-1}")
    _, _, stage = demo.lstm_step(x, h, c, W, b)
    params = {**{f"W_{k}": v for k, v in W.items()}, **{f"b_{k}": v for k, v in b.items()}}
    for key, name in (("f_t", "forget"), ("i_t", "input"), ("C~_t", "candidate"), ("C_t", "cell"),
                      ("o_t", "output"), ("h_t", "hidden")):
        save(stage[key], f"lstm_stage_{name}.svg", params=params)
    loss = stage["h_t"].sum()
    loss.name = "sum(h_t)"
    loss.backward(retain_graph=True)
    save(loss, "lstm_step_grad.svg", params=params, show_grad=True)


def unrolled(kind, steps=12):
    rng = np.random.default_rng(0)
    cell = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell}[kind](2, 8, rng=rng)
    state = None
    for t in range(steps):
        with mg.name_scope(f"t{t}"):
            state = cell(mg.tensor(rng.standard_normal((4, 2)).astype(np.float32)), state)
    h = state[0] if kind == "lstm" else state
    loss = h.sum()
    loss.name = f"sum(h_{steps - 1})"
    loss.backward(retain_graph=True)
    save(loss, f"unrolled_{kind}_grad.svg", show_grad=True, collapse=1, leaves=False, rankdir="LR")


def gradient_plot():
    import long_memory as lm
    from plotting import figure, save as save_plot

    path = os.path.join(FIGURES, "gradient_norms.png")
    drawn = figure(path, "the gradient-norm plot", figsize=(7.5, 4))
    if drawn is None:
        return
    fig, ax = drawn
    steps = 50
    rng = np.random.default_rng(0)
    curves = {}
    for kind in ("RNN", "LSTM"):
        curves[kind, "at initialisation"] = lm.gradient_norms(lm.Regressor(kind, 32, rng), steps, 1)
        model, mse = lm.train(kind, steps, 400, 32, 64, seed=steps)
        curves[kind, f"trained (MSE {mse:.3f})"] = lm.gradient_norms(model, steps, 1)
        print(f"trained {kind} at T={steps}: MSE {mse:.4f}")
    for (kind, when), values in curves.items():
        ax.semilogy(range(steps), values, label=f"{'simple RNN' if kind == 'RNN' else kind}, {when}",
                    linestyle="--" if when.startswith("at") else "-", color="tab:red" if kind == "RNN" else "tab:blue")
    ax.set_xlabel("time step t (the loss reads h at t = 49)")
    ax.set_ylabel("||d loss / d h_t||")
    ax.set_title("The adding problem, T = 50: gradient reaching each step")
    ax.legend(fontsize=8)
    save_plot(fig, path, dpi=90)


def variants():
    """The code of docs/variants.md, drawn: the same sizes, the same inputs."""
    rng = np.random.default_rng(0)
    for name, cls in (("gru", nn.GRUCell), ("peephole", nn.PeepholeLSTMCell)):
        cell = cls(3, 4, rng=rng)
        h = cell(mg.randn(2, 3, rng=rng))
        h = h[0] if isinstance(h, tuple) else h
        save(h.sum(), f"cell_{name}.svg", params=dict(cell.named_parameters()))
    stacked = nn.LSTM(3, 4, num_layers=2, rng=rng)
    out, _ = stacked(mg.randn(5, 2, 3, rng=rng))  # (T, B, I)
    save(out.sum(), "stacked_lstm.svg", params=dict(stacked.named_parameters()), collapse=3)
    both = nn.LSTM(3, 4, bidirectional=True, batch_first=True, rng=rng)
    out, _ = both(mg.randn(2, 5, 3, rng=rng))  # (B, T, I)
    save(out.sum(), "bidirectional_lstm.svg", params=dict(both.named_parameters()), collapse=3)


FIGURES_BY_NAME = {"first_graph": first_graph, "lstm_stages": lstm_stages, "variants": variants,
                   "unrolled": lambda: (unrolled("rnn"), unrolled("lstm")), "gradient_plot": gradient_plot}


def main(names):
    """Write the table and the figures named (all of them when none is named)."""
    os.makedirs(FIGURES, exist_ok=True)
    with open(os.path.join(HERE, "vjp_table.md"), "w") as f:
        f.write(vjp_table())
    print("wrote vjp_table.md")
    warnings.simplefilter("ignore")
    unknown = set(names) - set(FIGURES_BY_NAME)
    if unknown:
        sys.exit(f"unknown figure group(s) {sorted(unknown)}: choose from {sorted(FIGURES_BY_NAME)}")
    for name in names or FIGURES_BY_NAME:
        FIGURES_BY_NAME[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
