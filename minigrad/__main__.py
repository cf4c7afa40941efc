"""The command line: ``minigrad draw lstm --steps 3 --grad -o lstm.svg``, ``--backward-html backward.html``."""
import argparse
import sys

import numpy as np

CELLS = {"rnn": "RNNCell", "lstm": "LSTMCell", "gru": "GRUCell", "peephole": "PeepholeLSTMCell"}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="minigrad: a small reverse-mode autograd library on NumPy. "
        "`minigrad draw` renders a standard recurrent cell's computation graph.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    draw = commands.add_parser(
        "draw",
        help="render a standard cell's graph, unrolled over --steps time steps",
        description="Render the computation graph of a standard recurrent cell unrolled over time. "
        "The format comes from the file's suffix: .svg, .png, .gv/.dot (.pdf with a system Graphviz). "
        "--backward-html writes a page that steps through the backward pass of sum(h_T) node by node.",
    )
    draw.add_argument("cell", choices=sorted(CELLS), help="which cell to draw")
    draw.add_argument("--steps", type=int, default=1, help="time steps to unroll (default 1)")
    draw.add_argument("--input-size", type=int, default=3, help="input features I (default 3)")
    draw.add_argument("--hidden-size", type=int, default=4, help="hidden units H (default 4)")
    draw.add_argument("--batch", type=int, default=2, help="batch size (default 2)")
    draw.add_argument("--grad", action="store_true", help="run backward on sum(h_T) and colour vertices by |grad|")
    draw.add_argument("--collapse", default=None, help="'scope', or a scope depth, to draw whole scopes as one vertex")
    draw.add_argument("--rankdir", choices=["TB", "LR"], default=None,
                      help="direction data flows: TB (default; steps side by side, time left to right) or LR")
    draw.add_argument("--seed", type=int, default=0, help="random seed for weights and inputs (default 0)")
    draw.add_argument("-o", "--output", help="the picture to write, e.g. lstm.svg")
    draw.add_argument("--backward-html", metavar="PAGE",
                      help="also write a self-contained HTML page stepping through backward, e.g. backward.html")
    return parser


def draw_cell(args):
    import minigrad as mg
    from minigrad import nn, viz

    if not args.output and not args.backward_html:
        raise SystemExit("minigrad draw: say what to write: -o lstm.svg, --backward-html backward.html, or both")
    for flag in ("steps", "input_size", "hidden_size", "batch"):
        if getattr(args, flag) < 1:
            raise SystemExit(f"minigrad draw: --{flag.replace('_', '-')} must be at least 1")
    rng = np.random.default_rng(args.seed)
    cell = getattr(nn, CELLS[args.cell])(args.input_size, args.hidden_size, rng=rng)
    state = None
    for t in range(args.steps):
        x = mg.tensor(rng.standard_normal((args.batch, args.input_size)), dtype=np.float32, name=f"x{t}")
        with mg.name_scope(f"t{t}"):
            state = cell(x, state)
    h = state[0] if isinstance(state, tuple) else state
    out = h.sum()
    out.name = f"sum(h{args.steps - 1})"
    params = dict(cell.named_parameters())
    collapse = int(args.collapse) if args.collapse and args.collapse.isdigit() else args.collapse
    what = f"{CELLS[args.cell]}, {args.steps} step(s), I={args.input_size}, H={args.hidden_size}"
    if args.backward_html:
        path = viz.backward_html(out, args.backward_html, params=params, rankdir=args.rankdir, collapse=collapse)
        print(f"wrote {path}: backward of {out.name} through {what}, step by step (open it in a browser)")
    if args.output:
        if args.grad:
            out.backward(retain_graph=True)
        path = viz.render(out, args.output, params=params, show_grad=args.grad, collapse=collapse,
                          rankdir=args.rankdir)
        print(f"wrote {path}: {what}" + (", coloured by gradient norm" if args.grad else ""))


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.command == "draw":
            draw_cell(args)
    except (RuntimeError, ValueError) as e:
        print(f"minigrad {args.command}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
