"""Why an LSTM remembers: the adding problem (Hochreiter & Schmidhuber, 1997), simple RNN vs LSTM.

Each sequence has two channels: values drawn from U(0, 1), and a marker that is 1 at one
random position in each half.  The target is the sum of the two marked values.  Always
predicting the mean scores MSE 0.167: that is chance.  A network must carry the first
marked value across up to T steps to do better.

We train a simple tanh RNN and an LSTM of the same size for T = 20, 50, 100, then show the
reason: the norm of d loss / d h_t for every t, at initialisation and after training.  The
RNN's gradient vanishes geometrically going back in time; a trained LSTM keeps its forget
gate open, and the cell path (dC_t/dC_{t-1} = f_t) carries the gradient back.

Learning on the adding problem starts abruptly, after a number of steps that varies with the
seed and grows with T; T = 100 takes about 1500 steps (measured here: MSE 0.0011 after 1500
steps, default initialisation).  Each training step runs under ``minigrad.compile``: traced
once, then replayed as generated NumPy code, with the same results as eager mode.

    python examples/long_memory.py                  # T = 20 and 50, ITERATIONS steps per run
    python examples/long_memory.py --lengths 20 50 100 --iterations 1500
    python examples/long_memory.py --quick          # a short smoke run
"""
import argparse
import os
import time

# Matrices of 64 x 32 gain nothing from BLAS threads, which only add synchronisation, and on a busy
# machine a thread that waits spinning for a descheduled one slowed training several times over.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.nn.functional import mse_loss
from minigrad.nn.utils import clip_grad_norm_
from plotting import figure, save
from progress import Progress

CHANCE = 1 / 6  # the variance of the sum of two U(0, 1) values: predicting the mean scores this
ITERATIONS = 800


def adding_batch(rng, steps, batch):
    """Inputs (T, B, 2) and targets (B, 1) of the adding problem."""
    values = rng.uniform(0, 1, size=(steps, batch))
    marker = np.zeros((steps, batch))
    half = steps // 2
    first = rng.integers(0, half, size=batch)
    second = rng.integers(half, steps, size=batch)
    marker[first, np.arange(batch)] = 1
    marker[second, np.arange(batch)] = 1
    x = np.stack([values, marker], axis=-1).astype(np.float32)
    y = (values * marker).sum(axis=0, keepdims=True).T.astype(np.float32)
    return x, y


class Regressor(nn.Module):
    """A recurrent layer, then a linear read-out of the last hidden state."""

    def __init__(self, kind, hidden, rng):
        super().__init__()
        self.rnn = getattr(nn, kind)(2, hidden, rng=rng)
        self.head = nn.Linear(hidden, 1, rng=rng)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[-1])


def train(kind, steps, iterations, hidden, batch, seed):
    """Train one model; return it and its mean MSE over the last 10% of steps."""
    rng = np.random.default_rng(seed)
    model = Regressor(kind, hidden, rng)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    step = mg.compile(lambda x, y: mse_loss(model(x), y))  # traced on the first batch, replayed after
    progress = Progress(iterations, f"T={steps:3d} {kind:4s}")
    losses = []
    for it in range(iterations):
        x, y = adding_batch(rng, steps, batch)
        opt.zero_grad()
        loss = step(x, y)
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        progress.update(it + 1, losses[-1])
    return model, float(np.mean(losses[-max(1, iterations // 10):]))


def gradient_norms(model, steps, seed):
    """||d loss / d h_t|| for t = 0..T-1 on one batch, in float64 (float32 underflows far back in time).

    The trained sequence module's weights go into a cell of the same kind, stepped by hand,
    so that every h_t is a tensor we can ask the gradient of.
    """
    kind = type(model.rnn).__name__
    cell = {"RNN": nn.RNNCell, "LSTM": nn.LSTMCell}[kind](2, model.rnn.hidden_size)
    cell.load_state_dict({k.replace("_l0", ""): v for k, v in model.rnn.state_dict().items()})
    cell.double()
    head = nn.Linear(model.rnn.hidden_size, 1)
    head.load_state_dict(model.head.state_dict())
    head.double()
    x, y = adding_batch(np.random.default_rng(seed), steps, 64)
    state, hs = None, []
    for t in range(steps):
        state = cell(x[t].astype(np.float64), state)
        hs.append(state[0] if kind == "LSTM" else state)
    loss = mse_loss(head(hs[-1]), y.astype(np.float64))
    return [float(np.linalg.norm(g)) for g in mg.grad(loss, hs)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run for smoke tests")
    parser.add_argument("--iterations", type=int, default=None, help=f"training steps per run (default {ITERATIONS})")
    parser.add_argument("--lengths", type=int, nargs="+", default=None, help="sequence lengths T (default 20 50)")
    parser.add_argument("--plot", default="out/long_memory_gradients.png", help="gradient-norm plot (needs matplotlib)")
    args = parser.parse_args(argv)
    lengths = args.lengths or ((10, 20) if args.quick else (20, 50))
    iterations = args.iterations or (30 if args.quick else ITERATIONS)
    hidden, batch = (8, 16) if args.quick else (32, 64)

    print(f"Adding problem: hidden size {hidden}, batch {batch}, Adam lr 1e-2, {iterations} steps per run, "
          f"grad norm clipped at 1; chance MSE = {CHANCE:.3f}")
    results, models = {}, {}
    for steps in lengths:
        for kind in ("RNN", "LSTM"):
            start = time.perf_counter()
            models[kind, steps], results[kind, steps] = train(kind, steps, iterations, hidden, batch, seed=steps)
            print(f"  T={steps:3d}  {kind:4s}  final MSE {results[kind, steps]:.4f}  "
                  f"({time.perf_counter() - start:.1f} s)", flush=True)

    print(f"\nFinal MSE (mean of the last 10% of {iterations} steps); chance is {CHANCE:.3f}, below 0.01 is solved")
    print(f"{'T':>5} | {'simple RNN':>10} | {'LSTM':>8}")
    for steps in lengths:
        print(f"{steps:>5} | {results['RNN', steps]:>10.4f} | {results['LSTM', steps]:>8.4f}")

    # The gradient that reaches each step: at initialisation, and after training at the middle length.
    probe = lengths[len(lengths) // 2]
    rng = np.random.default_rng(0)
    fresh = {kind: Regressor(kind, hidden, rng) for kind in ("RNN", "LSTM")}
    norms = {
        ("RNN", "initial"): gradient_norms(fresh["RNN"], probe, 1),
        ("LSTM", "initial"): gradient_norms(fresh["LSTM"], probe, 1),
        ("RNN", "trained"): gradient_norms(models["RNN", probe], probe, 1),
        ("LSTM", "trained"): gradient_norms(models["LSTM", probe], probe, 1),
    }
    print(f"\n||d loss / d h_t||, T = {probe} (t = {probe - 1} is the last step, where the loss is read out):")
    print(f"{'t':>5} | {'RNN init':>10} | {'LSTM init':>10} | {'RNN trained':>11} | {'LSTM trained':>12}")
    for t in sorted({0, probe // 4, probe // 2, 3 * probe // 4, probe - 1}):
        print(f"{t:>5} | " + " | ".join(f"{norms[key][t]:>{w}.2e}" for key, w in zip(norms, (10, 10, 11, 12))))
    _plot(norms, args.plot)

    def decay(key):
        return norms[key][0] / norms[key][-1]

    print(f"\nResult: at T={probe} the LSTM reaches MSE {results['LSTM', probe]:.4f} and the simple RNN "
          f"{results['RNN', probe]:.4f} (chance {CHANCE:.3f}). From the last step back to the first, the gradient "
          f"keeps a fraction {decay(('RNN', 'trained')):.1e} in the trained RNN and {decay(('LSTM', 'trained')):.1e} "
          f"in the trained LSTM (at initialisation: {decay(('RNN', 'initial')):.1e} and "
          f"{decay(('LSTM', 'initial')):.1e}).")
    if results["LSTM", lengths[-1]] > 0.05 and not args.quick:
        print(f"At T={lengths[-1]} neither model beats chance in {iterations} steps: at T = 100 the LSTM needs "
              f"about 1500 (--lengths 100 --iterations 1500).")


def _plot(norms, path):
    drawn = figure(path, "the gradient-norm plot", figsize=(7, 4))
    if drawn is None:
        return
    fig, ax = drawn
    for (kind, when), values in norms.items():
        ax.semilogy(range(len(values)), values, label=f"{'simple RNN' if kind == 'RNN' else kind}, {when}",
                    linestyle="-" if when == "trained" else "--")
    ax.set_xlabel("time step t")
    ax.set_ylabel("||d loss / d h_t||")
    ax.set_title("Gradient reaching each time step")
    ax.legend()
    save(fig, path)


if __name__ == "__main__":
    main()
