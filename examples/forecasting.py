"""Forecasting a time series with the tutorials' LSTMModel: nn.LSTM(batch_first=True) -> last step -> Linear.

The series is made here: two seasonal periods (12 and 50 steps) plus Gaussian noise.  The first
80% of the time axis trains the model, the last 20% tests it; each input is the previous
`lookback` values, the target the next value.  The number to beat is the naive forecast
"the next value equals the last one".  The model is the tutorials' PyTorch LSTMModel with its
imports changed to minigrad (docs/forecasting.md shows the two side by side).

    python examples/forecasting.py [--quick] [--plot out/forecast.png]
"""
import argparse

import numpy as np

import minigrad as torch
from minigrad import nn
from minigrad.nn import functional as F
from plotting import figure, save
from progress import Progress

PERIODS, NOISE = (12, 50), 0.1


class LSTMModel(nn.Module):
    def __init__(self, input_size=1, hidden_size=16, num_layers=2, output_size=1):
        super(LSTMModel, self).__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        out, _ = self.lstm(x)           # out: (batch, steps, hidden)
        return self.fc(out[:, -1, :])   # the last step's hidden state -> one number


def make_series(n, rng):
    """sin(2 pi t / 12) + 0.6 sin(2 pi t / 50) + N(0, 0.1^2) noise, for t = 0 .. n-1."""
    t = np.arange(n)
    seasons = np.sin(2 * np.pi * t / PERIODS[0]) + 0.6 * np.sin(2 * np.pi * t / PERIODS[1])
    return seasons + rng.normal(0, NOISE, n)


def windows(series, lookback, targets):
    """Inputs (N, lookback, 1): the values before each target index; targets (N, 1)."""
    x = np.stack([series[t - lookback : t] for t in targets])[:, :, None]
    return x.astype(np.float32), series[targets][:, None].astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Forecast a two-season series with the tutorials' LSTMModel")
    parser.add_argument("--quick", action="store_true", help="a short run for smoke tests")
    parser.add_argument("--plot", default="out/forecast.png", help="forecast against truth (needs matplotlib)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n, lookback, iterations, batch = (400, 16, 60, 32) if args.quick else (2000, 36, 400, 64)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)

    raw = make_series(n, rng)
    split = int(0.8 * n)
    mean, std = raw[:split].mean(), raw[:split].std()   # scaled with the training part's statistics only
    series = (raw - mean) / std
    x_train, y_train = windows(series, lookback, np.arange(lookback, split))
    x_test, y_test = windows(series, lookback, np.arange(split, n))
    model = LSTMModel()
    print(f"series: {n} steps, periods {PERIODS} plus N(0, {NOISE}^2) noise; train t < {split}, test t >= {split}")
    print(f"model: {model}\n  {sum(p.size for p in model.parameters())} parameters; "
          f"{len(x_train)} training windows of {lookback} steps")

    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    progress = Progress(iterations, "training")
    for step in range(1, iterations + 1):
        rows = rng.integers(0, len(x_train), size=batch)
        optimizer.zero_grad()
        loss = F.mse_loss(model(x_train[rows]), y_train[rows])
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        progress.update(step, loss.item())

    with torch.no_grad():
        forecast = model(x_test).data[:, 0] * std + mean
    truth = y_test[:, 0] * std + mean
    naive = x_test[:, -1, 0] * std + mean            # repeat the last value
    mse = float(np.mean((forecast - truth) ** 2))
    naive_mse = float(np.mean((naive - truth) ** 2))
    print(f"\ntest MSE over {len(truth)} one-step forecasts (original units; the noise alone is {NOISE ** 2:.4f}):")
    print(f"  LSTMModel                     {mse:.4f}")
    print(f"  naive (repeat the last value) {naive_mse:.4f}")
    _plot(np.arange(split, n), truth, forecast, naive, args.plot)
    verdict = "beats" if mse < naive_mse else "does NOT beat"
    print(f"\nResult: the LSTM's test MSE {mse:.4f} {verdict} the naive forecast's {naive_mse:.4f} "
          f"({naive_mse / mse:.1f}x smaller) after {iterations} steps")


def _plot(t, truth, forecast, naive, path):
    drawn = figure(path, "the forecast plot", figsize=(7, 2.6))
    if drawn is None:
        return
    fig, ax = drawn
    shown = slice(0, min(len(t), 150))
    ax.plot(t[shown], truth[shown], color="black", lw=1.2, label="truth")
    ax.plot(t[shown], naive[shown], color="tab:gray", lw=1, ls=":", label="naive (last value)")
    ax.plot(t[shown], forecast[shown], color="tab:red", lw=1.2, label="LSTMModel")
    ax.set_xlabel("time step (test part)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, ncol=3, frameon=False)
    save(fig, path, dpi=110)


if __name__ == "__main__":
    main()
