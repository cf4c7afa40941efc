"""Instructions per LSTM training step, counted by valgrind's callgrind: the steady companion of lstm.py.

On a shared machine the wall clock of one system drifts by up to 2x within seconds, so two
runs of lstm.py can disagree by 30% on a ratio.  An instruction count does not drift: the
same code, inputs and environment give the same count, whatever else the machine is doing.
It is not a time (a cache miss costs more than an add), but for minigrad against numpy_ref
at the small size, where the cost is Python and NumPy call overhead, it follows the time.

Each system runs in its own process under callgrind (NumPy's BLAS on one thread; Python's
string hashes fixed, since with random ones two counts of the same code differ by up to
0.5%), once with 1 and once with 6 training steps after two unmeasured ones; the difference
over 5 is one step.  torch, HIPS autograd and mygrad are not imported, so valgrind starts fast.

    python benchmarks/instructions.py                       # small size, the minigrad rows
    python benchmarks/instructions.py --size medium --systems numpy_ref,minigrad_compiled
"""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys

SYSTEMS = "numpy_ref,minigrad_lstm,minigrad_compiled,minigrad_cell,minigrad_cell_compiled"


def child(system, size, steps, warmup):
    for name in ("torch", "autograd", "mygrad"):
        sys.modules[name] = None  # the optional systems stay out: valgrind runs only what is counted
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import lstm

    fn = lstm.make_systems(*lstm.SIZES[size])[0][system]
    for _ in range(warmup + steps):  # unmeasured: a compiled system traces and writes its code in the first two;
        fn()  # Python specializes a function's bytecode once it has run about 8 times (or looped as often)


def count(system, size, steps, warmup):
    """Instructions of a whole child process that runs ``steps`` steps of ``system``."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONHASHSEED="0")  # same hashes each run
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                          __file__, "--child", system, size, str(steps), str(warmup)],
                         capture_output=True, text=True, env=env, check=True)
    line = next(line for line in out.stderr.splitlines() if "Collected" in line)
    return int(line.split()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="small", help="small, medium or large (default: small)")
    parser.add_argument("--systems", default=SYSTEMS, help=f"comma-separated (default: {SYSTEMS})")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured steps before the counted ones (default: "
                        "10, past the 8 calls after which Python specializes straight-line code)")
    parser.add_argument("--steps", type=int, default=10, help="counted steps (default: 10); their mean is printed")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child[0], args.child[1], int(args.child[2]), int(args.child[3]))
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install valgrind")
    systems = args.systems.split(",")
    if "numpy_ref" not in systems:
        systems.insert(0, "numpy_ref")
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        runs = (1, 1 + args.steps)
        jobs = {(s, n): pool.submit(count, s, args.size, n, args.warmup) for s in systems for n in runs}
        per_step = {s: (jobs[s, runs[1]].result() - jobs[s, 1].result()) / args.steps for s in systems}
    print(f"instructions per training step at {args.size}, counted by callgrind (one BLAS thread, "
          f"after {args.warmup} unmeasured steps):")
    for s in systems:
        print(f"  {s:24s} {per_step[s] / 1e6:8.2f} M   {per_step[s] / per_step['numpy_ref']:5.2f}x numpy_ref")


if __name__ == "__main__":
    main()
