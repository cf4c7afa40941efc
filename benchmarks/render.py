"""How long drawing an unrolled LSTM takes: building the DOT source, and laying it out to SVG.

    python benchmarks/render.py            # 1, 10, 30 and 50 steps, full and collapsed, 5 runs each

The renderer is the one viz.render uses (system `dot` when on PATH, else graphviz-pure); it is
named in the output.  Reported: median seconds over the runs, and the vertex count.
"""
import argparse
import os
import statistics
import time
import warnings

import numpy as np

import minigrad as mg
from minigrad import nn, viz
from minigrad.viz.renderer import find_renderer, render_bytes


def unrolled_lstm(steps):
    rng = np.random.default_rng(0)
    cell = nn.LSTMCell(3, 4, rng=rng)
    state = None
    for t in range(steps):
        with mg.name_scope(f"t{t}"):
            state = cell(mg.tensor(rng.standard_normal((2, 3)), dtype=np.float32), state)
    loss = state[0].sum()
    loss.backward(retain_graph=True)
    return dict(cell.named_parameters()), loss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 10, 30, 50])
    args = parser.parse_args()
    print(f"renderer: {os.path.basename(find_renderer('svg'))}")
    print(f"{'steps':>5} {'collapse':>8} {'vertices':>8} {'to_dot s':>9} {'layout s':>9}")
    warnings.simplefilter("ignore")
    for steps in args.steps:
        params, loss = unrolled_lstm(steps)
        for collapse in (None, 2):
            build, layout = [], []
            for _ in range(args.runs):
                start = time.perf_counter()
                dot = viz.to_dot(loss, params=params, show_grad=True, collapse=collapse)
                middle = time.perf_counter()
                render_bytes(dot.source, "svg")
                build.append(middle - start)
                layout.append(time.perf_counter() - middle)
            vertices = sum(1 for line in dot.body if " [label=" in line)
            print(f"{steps:>5} {str(collapse):>8} {vertices:>8} {statistics.median(build):>9.3f} "
                  f"{statistics.median(layout):>9.3f}")


if __name__ == "__main__":
    main()
