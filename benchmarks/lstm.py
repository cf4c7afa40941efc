"""One LSTM training step, minigrad against a hand-written NumPy forward + BPTT (and torch, HIPS autograd and
mygrad when installed).

A step: forward over T steps, loss = sum_t sum(h_t * R_t), full backward, float32.
Systems run interleaved in one process, each timed block after an idle pause (PAUSE_S):
without it, a system run right after NumPy's OpenBLAS calls competes with BLAS threads
still spinning (torch measured 2-3x slower than it is).  Before the pause the garbage the
previous system left is collected, and after it one untimed step warms the system up: the
first step after a pause measured up to 1.6x its next ones (minigrad's eager step, right
after mygrad's), and a user's training loop runs one system back to back.  Each is reported
as the median of its runs and as a ratio to numpy_ref measured in the same run (every run is
kept in the JSON file).  On a shared machine whose speed drifts within seconds, compare
ratios only within one run; benchmarks/instructions.py counts instructions instead, which
drift does not change.  Also: minigrad.compile's
one-off cost per new signature, per-op overhead, and the peak memory of a training step,
each system in its own process.

    python benchmarks/lstm.py            # full table (a few minutes on 2 cores)
    python benchmarks/lstm.py --quick    # under a minute
    OPENBLAS_NUM_THREADS=1 python benchmarks/lstm.py --cpu-time    # on a busy machine: CPU time, one thread
"""
import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

import minigrad as mg
from minigrad import nn

SIZES = {"small": (1, 100, 32), "medium": (32, 100, 128), "large": (64, 50, 512)}  # (B, T, I = H)
PAUSE_S = 0.3  # idle time before each timed block, so no system runs while another's threads still spin
BLOCK_S = 0.05  # a timed block repeats a system's step for about this long
clock = time.perf_counter  # --cpu-time: time.process_time, which other processes on a busy machine do not inflate


def sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1)


class NumpyLSTM:
    """The fastest plain NumPy can do: one input matmul for all steps, one recurrent matmul per step,
    and each weight gradient as one matmul over all steps."""

    def __init__(self, w_ih, w_hh, b_ih, b_hh):
        self.w_ih, self.w_hh, self.b = w_ih, w_hh, b_ih + b_hh

    def step(self, x, r):
        T, B, I = x.shape
        H = self.w_hh.shape[1]
        xp = (x.reshape(T * B, I) @ self.w_ih.T + self.b).reshape(T, B, 4 * H)
        w_hh_t = self.w_hh.T
        acts = np.empty((T, B, 4 * H), x.dtype)  # sigmoid(i, f), tanh(g), sigmoid(o) per step
        cs = np.empty((T + 1, B, H), x.dtype)  # cs[t + 1] = c_t
        hs = np.empty((T + 1, B, H), x.dtype)
        tcs = np.empty((T, B, H), x.dtype)
        cs[0] = hs[0] = 0
        for t in range(T):
            z = xp[t] + hs[t] @ w_hh_t
            a = acts[t]
            a[:, : 2 * H] = sigmoid(z[:, : 2 * H])
            a[:, 2 * H : 3 * H] = np.tanh(z[:, 2 * H : 3 * H])
            a[:, 3 * H :] = sigmoid(z[:, 3 * H :])
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            cs[t + 1] = f * cs[t] + i * g
            tcs[t] = np.tanh(cs[t + 1])
            hs[t + 1] = o * tcs[t]
        loss = float(np.sum(hs[1:] * r))
        dz = np.empty_like(acts)
        dh = np.zeros((B, H), x.dtype)
        dc = np.zeros((B, H), x.dtype)
        for t in reversed(range(T)):
            a = acts[t]
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            dh = dh + r[t]
            dc = dc + dh * o * (1 - tcs[t] * tcs[t])
            d = dz[t]
            d[:, :H] = dc * g * i * (1 - i)
            d[:, H : 2 * H] = dc * cs[t] * f * (1 - f)
            d[:, 2 * H : 3 * H] = dc * i * (1 - g * g)
            d[:, 3 * H :] = dh * tcs[t] * o * (1 - o)
            dc = dc * f
            dh = d @ self.w_hh
        flat = dz.reshape(T * B, 4 * H)
        grads = {
            "weight_ih_l0": flat.T @ x.reshape(T * B, I),
            "weight_hh_l0": flat.T @ hs[:-1].reshape(T * B, H),
            "bias_ih_l0": flat.sum(axis=0),
        }
        grads["bias_hh_l0"] = grads["bias_ih_l0"]
        return loss, grads


def make_systems(B, T, H, seed=0):
    rng = np.random.default_rng(seed)
    lstm = nn.LSTM(H, H, rng=rng)
    cell = nn.LSTMCell(H, H)
    cell.load_state_dict({k.replace("_l0", ""): v for k, v in lstm.state_dict().items()})
    x = rng.standard_normal((T, B, H)).astype(np.float32)
    r = rng.standard_normal((T, B, H)).astype(np.float32)
    ref = NumpyLSTM(*(lstm.state_dict()[k] for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")))

    def numpy_ref():
        return ref.step(x, r)

    def minigrad_lstm():
        lstm.zero_grad()
        out, _ = lstm(x)
        loss = (out * r).sum()
        loss.backward()
        return loss.item(), {k: p.grad for k, p in lstm.named_parameters()}

    def cell_loop(x, r):
        state, hs = None, []
        for t in range(T):
            state = cell(x[t], state)
            hs.append(state[0])
        return (mg.stack(hs) * r).sum()

    def minigrad_cell():
        cell.zero_grad()
        loss = cell_loop(x, r)
        loss.backward()
        return loss.item(), {k + "_l0": p.grad for k, p in cell.named_parameters()}

    lstm_step = mg.compile(lambda x, r: (lstm(x)[0] * r).sum())

    def minigrad_compiled():
        lstm.zero_grad()
        loss = lstm_step(x, r)
        loss.backward()
        return loss.item(), {k: p.grad for k, p in lstm.named_parameters()}

    cell_step = mg.compile(cell_loop)
    xt = mg.tensor(x)  # a Tensor argument: inside the compiled loop x[t] is an op, replayed on each call's data

    def minigrad_cell_compiled():
        cell.zero_grad()
        loss = cell_step(xt, r)
        loss.backward()
        return loss.item(), {k + "_l0": p.grad for k, p in cell.named_parameters()}

    systems = {"numpy_ref": numpy_ref, "minigrad_cell": minigrad_cell, "minigrad_lstm": minigrad_lstm,
               "minigrad_compiled": minigrad_compiled, "minigrad_cell_compiled": minigrad_cell_compiled}
    weights = tuple(lstm.state_dict()[k] for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"))
    systems.update(other_engines(x, r, *weights))
    try:
        import torch
    except ImportError:
        return systems, lstm
    torch.set_num_threads(numpy_threads())
    tl = torch.nn.LSTM(H, H)
    tl.load_state_dict({k: torch.tensor(v) for k, v in lstm.state_dict().items()})
    tx, tr = torch.tensor(x), torch.tensor(r)
    w_ih, w_hh, b_ih, b_hh = (p.detach().clone().requires_grad_() for p in tl.parameters())

    def torch_eager():
        for p in (w_ih, w_hh, b_ih, b_hh):
            p.grad = None
        h = c = torch.zeros(B, H)
        loss = 0
        xp = tx.reshape(T * B, H) @ w_ih.T + (b_ih + b_hh)
        xp = xp.reshape(T, B, 4 * H)
        for t in range(T):
            z = xp[t] + h @ w_hh.T
            i, f, g, o = z.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            loss = loss + (h * tr[t]).sum()
        loss.backward()
        return loss.item(), None

    def torch_fused():
        tl.zero_grad()
        out, _ = tl(tx)
        loss = (out * tr).sum()
        loss.backward()
        return loss.item(), None

    systems.update(torch_eager=torch_eager, torch_fused=torch_fused)
    return systems, lstm


def _lstm_loss(np_, x, r, w_ih, w_hh, b):
    """The step written once against a NumPy-like module ``np_`` (HIPS autograd.numpy or mygrad)."""
    T, B, I = x.shape
    H = w_hh.shape[1]
    xp = np_.reshape(np_.matmul(np_.reshape(x, (T * B, I)), np_.transpose(w_ih)) + b, (T, B, 4 * H))
    h = c = np.zeros((B, H), x.dtype)
    loss = 0
    for t in range(T):
        z = xp[t] + np_.matmul(h, np_.transpose(w_hh))
        i, f, o = (0.5 * (np_.tanh(0.5 * z[:, k * H : (k + 1) * H]) + 1) for k in (0, 1, 3))
        c = f * c + i * np_.tanh(z[:, 2 * H : 3 * H])
        h = o * np_.tanh(c)
        loss = loss + np_.sum(h * r[t])
    return loss


def other_engines(x, r, w_ih, w_hh, b_ih, b_hh):
    """HIPS autograd and mygrad, the pure-Python engines a user might pick instead, when installed."""
    systems = {}
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        pass
    else:
        value_and_grad = autograd.value_and_grad(lambda ws: _lstm_loss(anp, x, r, *ws))

        def hips_autograd():
            loss, grads = value_and_grad((w_ih, w_hh, b_ih + b_hh))
            return float(loss), None

        systems["hips_autograd"] = hips_autograd
    try:
        import mygrad
    except ImportError:
        pass
    else:
        def mygrad_():
            ws = [mygrad.tensor(w) for w in (w_ih, w_hh, b_ih + b_hh)]
            loss = _lstm_loss(mygrad, x, r, *ws)
            loss.backward()
            return loss.item(), None

        systems["mygrad"] = mygrad_
    return systems


def numpy_threads():
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var):
            return int(os.environ[var])
    return os.cpu_count() or 1


def check_gradients(systems):
    """minigrad's gradients must equal the hand-written BPTT's before any timing counts."""
    loss_ref, ref = systems["numpy_ref"]()
    for name in ("hips_autograd", "mygrad"):
        if name in systems:
            loss = systems[name]()[0]
            assert abs(loss - loss_ref) <= 1e-3 * max(1.0, abs(loss_ref)), (name, loss, loss_ref)
    for name in ("minigrad_lstm", "minigrad_cell", "minigrad_compiled", "minigrad_cell_compiled"):
        for _ in range(3):  # a compiled system traces, then replays: the third call runs the generated code
            loss, grads = systems[name]()
            grads = {k: g.copy() for k, g in grads.items()}
        if name.endswith("_compiled"):
            _, eager = systems[name.replace("_compiled", "") if "cell" in name else "minigrad_lstm"]()
            for k, g in grads.items():
                assert np.array_equal(g, eager[k]), f"{name} {k}: the replay differs from eager"
        assert abs(loss - loss_ref) <= 1e-3 * max(1.0, abs(loss_ref)), (name, loss, loss_ref)
        for k, g in grads.items():
            scale = max(1.0, float(np.abs(ref[k]).max()))
            err = float(np.abs(g - ref[k]).max()) / scale
            assert err < 1e-3, f"{name} {k}: gradient differs from numpy_ref by {err:.2e} (relative)"


SLOW = ("hips_autograd", "mygrad")  # --quick times these at the small size only


def time_sizes(sizes, repeats, quick=False):
    table = {}
    for label in sizes:
        B, T, H = SIZES[label]
        systems, _ = make_systems(B, T, H)
        if quick and label != "small":
            systems = {name: fn for name, fn in systems.items() if name not in SLOW}
        check_gradients(systems)
        times = {name: [] for name in systems}
        block = {}
        for name, fn in systems.items():  # warm-up (compiled systems trace here), and each block's length
            fn()
            start = time.perf_counter()
            fn()
            block[name] = max(1, min(10, round(BLOCK_S / max(time.perf_counter() - start, 1e-6))))
        for _ in range(repeats):
            for name, fn in systems.items():  # interleaved, so machine noise hits every system alike
                gc.collect()
                time.sleep(PAUSE_S)
                fn()  # untimed: the first step after a pause runs on cold caches
                for _ in range(block[name]):
                    start = clock()
                    fn()
                    times[name].append(clock() - start)
        medians = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
        table[label] = {name: {"ms": ms, "ratio": ms / medians["numpy_ref"], "runs_ms": [t * 1e3 for t in times[name]]}
                        for name, ms in medians.items()}
        print(f"  {label}: " + ", ".join(f"{n} {v['ms']:.2f} ms" for n, v in table[label].items()), flush=True)
    return table


def op_overhead(repeats=2000):
    """Forward + backward of a * b + c on (1, 32) float32 tensors, against NumPy's own a * b + c."""
    rng = np.random.default_rng(0)
    a, b, c = (mg.tensor(rng.standard_normal((1, 32), np.float32), requires_grad=True) for _ in range(3))
    g = np.ones((1, 32), np.float32)
    an, bn, cn = a.data, b.data, c.data

    def ours():
        (a * b + c).backward(g)

    def theirs():
        return an * bn + cn

    def best(fn):
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            runs.append((time.perf_counter() - start) / repeats * 1e6)
        return min(runs)

    total, numpy_time = best(ours), best(theirs)
    return {"forward_backward_us": total, "per_op_us": total / 2, "numpy_forward_us": numpy_time}


def breakdown(label, repeats):
    """Where nn.LSTM's time goes at one size: forward without recording, forward recording, backward."""
    B, T, H = SIZES[label]
    systems, lstm = make_systems(B, T, H)
    x = np.random.default_rng(1).standard_normal((T, B, H)).astype(np.float32)
    parts = {"numpy_ref step": [], "forward, no_grad": [], "forward, recording": [], "backward": []}
    for k in range(repeats + 2):
        start = time.perf_counter()
        systems["numpy_ref"]()
        t0 = time.perf_counter()
        with mg.no_grad():
            lstm(x)
        t1 = time.perf_counter()
        loss = lstm(x)[0].sum()
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        del loss  # the graph's objects are freed here, outside the timed parts
        if k >= 2:  # warm-up
            for name, dt in zip(parts, (t0 - start, t1 - t0, t2 - t1, t3 - t2)):
                parts[name].append(dt)
    return {name: statistics.median(ts) * 1e3 for name, ts in parts.items()}


def memory_child(system, B, T, H):
    """Run one training step under tracemalloc and print the peak bytes above the baseline (after two
    unmeasured steps: a compiled system traces and writes its backward on those)."""
    import tracemalloc

    systems, _ = make_systems(B, T, H)
    fn = systems[system]
    fn()
    fn()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    print(json.dumps({"peak_bytes": peak - base}))


def peak_memory(B, T, H):
    result = {}
    for system in ("numpy_ref", "minigrad_lstm", "minigrad_compiled"):
        out = subprocess.run([sys.executable, __file__, "--memory-child", system, str(B), str(T), str(H)],
                             capture_output=True, text=True, check=True)
        result[system] = json.loads(out.stdout.strip().splitlines()[-1])["peak_bytes"] / 2**20
    result["ratio"] = result["minigrad_lstm"] / result["numpy_ref"]
    result["compiled_ratio"] = result["minigrad_compiled"] / result["numpy_ref"]
    return result


def trace_cost(label, trials=5):
    """minigrad.compile's one-off cost for a new signature, median of ``trials`` fresh compiled functions.

    A new signature costs a traced first call (an eager step while recording, then the forward code)
    and a first replay whose backward runs by the engine's rules and writes the backward code.  The
    one-off cost is what those two calls take beyond the eager step and the replayed step they stand
    for: (traced call - eager step) + (first replay - replay).  Measured for the function's first
    signature, and again for a second batch size (the same code text: Python's compiler is skipped).
    """
    B, T, H = SIZES[label]
    systems, lstm = make_systems(B, T, H)
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal((T, b, H)).astype(np.float32) for b in (B, B + 1)]
    names = ("eager_step_ms", "traced_call_ms", "first_replay_ms", "replay_ms", "one_off_ms")
    parts = {f"{name}{suffix}": [] for suffix in ("", "_new_batch") for name in names}
    code_cache = sys.modules["minigrad.compile"]._CODE_CACHE
    for _ in range(trials):
        code_cache.clear()  # each trial pays for Python's compiler, as a function's first signature does
        step = mg.compile(lambda x: lstm(x)[0].sum())
        for x, suffix in zip(xs, ("", "_new_batch")):
            time.sleep(PAUSE_S)
            start = time.perf_counter()
            lstm(x)[0].sum().backward()
            t0 = time.perf_counter()
            step(x).backward()  # traced
            t1 = time.perf_counter()
            step(x).backward()  # replayed; its backward is discovered and written
            t2 = time.perf_counter()
            step(x).backward()
            t3 = time.perf_counter()
            times = [t0 - start, t1 - t0, t2 - t1, t3 - t2]
            times.append(times[1] - times[0] + times[2] - times[3])
            for name, dt in zip(names, times):
                parts[name + suffix].append(dt * 1e3)
    return {name: statistics.median(ts) for name, ts in parts.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small and medium sizes, few repeats (under a minute)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per system and size")
    parser.add_argument("--sizes", default=None, help="comma-separated sizes to time (default: all; --quick: small,medium)")
    parser.add_argument("--json", default="benchmarks/results/lstm.json", help="where to write the results")
    parser.add_argument("--breakdown", metavar="SIZE", help="only split nn.LSTM's step at SIZE into forward "
                        "without recording, forward recording and backward, next to numpy_ref's whole step")
    parser.add_argument("--cpu-time", action="store_true", help="time by the process's CPU time, not the wall clock: "
                        "steady on a busy machine, but fair only with one BLAS thread (OPENBLAS_NUM_THREADS=1)")
    parser.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        system, *dims = args.memory_child
        return memory_child(system, *map(int, dims))
    if args.breakdown:
        print(f"nn.LSTM at {args.breakdown} {SIZES[args.breakdown]}, median ms of {args.repeats or 15} runs:")
        for name, ms in breakdown(args.breakdown, args.repeats or 15).items():
            print(f"  {name:20s} {ms:8.2f} ms")
        return
    global clock
    if args.cpu_time:
        clock = time.process_time
    sizes = args.sizes.split(",") if args.sizes else ["small", "medium"] if args.quick else list(SIZES)
    repeats = args.repeats or (3 if args.quick else 15)
    print(f"LSTM training step, float32, median of {repeats} interleaved blocks, {PAUSE_S} s idle before each; "
          f"{'CPU time' if args.cpu_time else 'wall clock'}; numpy threads {numpy_threads()}; "
          f"load average {os.getloadavg()[0]:.2f}")
    table = time_sizes(sizes, repeats, args.quick)
    overhead = op_overhead(300 if args.quick else 3000)
    costs = {label: trace_cost(label) for label in sizes}
    memory = peak_memory(8, 50, 32) if args.quick else peak_memory(32, 400, 128)
    systems = list(next(iter(table.values())))
    print("\n| size (B, T, I = H) | " + " | ".join(systems) + " |")
    print("|---|" + "---|" * len(systems))
    for label, row in table.items():
        cells = [f"{row['numpy_ref']['ms']:.1f} ms"] + [f"{row[s]['ratio']:.2f}x" if s in row else "-" for s in systems[1:]]
        print(f"| {label} {SIZES[label]} | " + " | ".join(cells) + " |")
    print(f"\nper-op overhead: forward + backward of a * b + c on (1, 32): {overhead['forward_backward_us']:.1f} us "
          f"({overhead['per_op_us']:.1f} us per op); NumPy's own a * b + c: {overhead['numpy_forward_us']:.2f} us")
    print(f"peak memory of a training step (B, T, H) = {(32, 400, 128) if not args.quick else (8, 50, 32)}: "
          f"numpy_ref {memory['numpy_ref']:.1f} MiB, minigrad_lstm {memory['minigrad_lstm']:.1f} MiB "
          f"({memory['ratio']:.2f}x), minigrad_compiled {memory['minigrad_compiled']:.1f} MiB "
          f"({memory['compiled_ratio']:.2f}x)")
    for label, c in costs.items():
        print(f"compile cost of a new signature at {label}: {c['one_off_ms']:.0f} ms one-off (median of 5: traced "
              f"first call {c['traced_call_ms']:.0f} ms where an eager step takes {c['eager_step_ms']:.0f} ms; first "
              f"replay, writing the backward, {c['first_replay_ms']:.0f} ms where a replay takes {c['replay_ms']:.1f} "
              f"ms); for a second batch size {c['one_off_ms_new_batch']:.0f} ms (same code text, not compiled again)")
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"machine": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                   "repeats": repeats, "times": table, "op_overhead": overhead, "peak_memory_mib": memory,
                   "compile_cost": costs, "load_average": os.getloadavg(),
                   "clock": "cpu" if args.cpu_time else "wall", "numpy_threads": numpy_threads()}, f, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
