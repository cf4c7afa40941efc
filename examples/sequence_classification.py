"""Time-series classification with an LSTM: which waveform is this noisy signal?

Four classes of synthetic signals, made here: sine, square, sawtooth and triangle waves,
each with a random frequency, phase and amplitude plus Gaussian noise.  An LSTM reads the
signal one sample at a time; a linear layer classifies its last hidden state.  The training step
and the evaluation run under ``minigrad.compile`` (traced once, then replayed as generated code).

    python examples/sequence_classification.py [--quick]
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
from minigrad.nn.functional import cross_entropy
from minigrad.nn.utils import clip_grad_norm_
from progress import Progress

CLASSES = ["sine", "square", "sawtooth", "triangle"]


def make_signals(rng, n, steps):
    """Signals (T, n, 1) and integer labels (n,)."""
    labels = rng.integers(0, len(CLASSES), size=n)
    t = np.arange(steps)[:, None]
    freq = rng.uniform(1.5, 4.0, size=n) / steps
    phase = rng.uniform(0, 1, size=n)
    cycle = (t * freq + phase) % 1.0  # position within the period, in [0, 1)
    waves = np.stack([
        np.sin(2 * np.pi * cycle),
        np.where(cycle < 0.5, 1.0, -1.0),
        2 * cycle - 1,
        4 * np.abs(cycle - 0.5) - 1,
    ])
    x = waves[labels, :, np.arange(n)].T * rng.uniform(0.5, 1.5, size=n)
    x = x + rng.normal(0, 0.15, size=x.shape)
    return x[:, :, None].astype(np.float32), labels


class Classifier(nn.Module):
    def __init__(self, hidden, rng):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, rng=rng)
        self.head = nn.Linear(hidden, len(CLASSES), rng=rng)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[-1])


def accuracy(predict, x, y):
    with mg.no_grad():
        return float((predict(x).data.argmax(axis=1) == y).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description="LSTM classification of synthetic waveforms")
    parser.add_argument("--quick", action="store_true", help="a short run for smoke tests")
    args = parser.parse_args(argv)
    steps, hidden, iterations, batch = (20, 8, 20, 16) if args.quick else (40, 32, 600, 64)
    rng = np.random.default_rng(0)
    model = Classifier(hidden, rng)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    predict = mg.compile(model)  # traced for the test set's shape, once with and once without grad
    step = mg.compile(lambda x, y: cross_entropy(model(x), y))
    x_test, y_test = make_signals(rng, 200 if args.quick else 1000, steps)
    print(f"{len(CLASSES)} classes ({', '.join(CLASSES)}), {steps} samples per signal, LSTM hidden size {hidden}")
    print(f"chance accuracy {1 / len(CLASSES):.2f}; test accuracy before training {accuracy(predict, x_test, y_test):.3f}")
    start = time.perf_counter()
    progress = Progress(iterations, "training")
    for it in range(1, iterations + 1):
        x, y = make_signals(rng, batch, steps)
        opt.zero_grad()
        loss = step(x, y)
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)  # without it, one large step can undo what was learned
        opt.step()
        progress.update(it, loss.item())
        if it % max(1, iterations // 6) == 0 or it == iterations:
            print(f"  step {it:4d}  loss {loss.item():.3f}  test accuracy {accuracy(predict, x_test, y_test):.3f}  "
                  f"({time.perf_counter() - start:.1f} s)", flush=True)
    final = accuracy(predict, x_test, y_test)
    with mg.no_grad():
        predicted = predict(x_test).data.argmax(axis=1)
    print("\nconfusion (rows: true class, columns: predicted)")
    print(" " * 10 + "".join(f"{c[:8]:>9}" for c in CLASSES))
    for k, name in enumerate(CLASSES):
        print(f"{name:>10}" + "".join(f"{int(((y_test == k) & (predicted == j)).sum()):>9}" for j in range(len(CLASSES))))
    print(f"\nResult: test accuracy {final:.3f} on {len(y_test)} held-out signals (chance {1 / len(CLASSES):.2f})")


if __name__ == "__main__":
    main()
