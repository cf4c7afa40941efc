"""Loops in a trace: runs of blocks of steps that do the same ops to new values (an RNN's time steps).

`minigrad.compile` writes each run as a Python ``for`` loop instead of one line per op, so a
reader sees one time step, and Python compiles a few dozen lines instead of thousands.

Two blocks do the same thing when their steps have the same ops, params' names, shapes and
dtypes, and read their inputs the same way.  Each input of a step in a block is one of

- ``("own", q)``: the value made by the step at position ``q`` of the same block,
- ``("prev", q)``: the value made at position ``q`` of the block before (a carried state such as
  h or c; for the first block of a loop, the value made ``period`` steps earlier),
- ``("ext", slot)``: a value made outside the loop (a weight, an input read every time step).

A params value may differ between blocks (``x[:, t]`` has a new ``t`` in each block): the loop
reads it from a list.  Anything else that differs ends the loop; those steps are written one by one.
"""
import re

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MAX_PERIOD = 256  # most steps in one block
MIN_SAVED = 24  # a loop must spare at least this many written steps


class Loop:
    """``count`` blocks of ``period`` steps each, the first starting at step ``start``.

    ``refs[r]`` says how the step at position ``r`` of every block reads its inputs (see the module's doc).
    """

    def __init__(self, start, period, count, refs):
        self.start, self.period, self.count, self.refs = start, period, count, refs
        self.end = start + period * count

    def __repr__(self):
        return f"Loop(start={self.start}, period={self.period}, count={self.count})"

    def carried(self):
        """Positions whose value the next block reads (``("prev", q)`` somewhere in ``refs``)."""
        return sorted({ref[1] for refs in self.refs for ref in refs if ref is not None and ref[0] == "prev"})


def ref_of(slot, sources, block_start, period):
    """How a step of the block starting at ``block_start`` sees value ``slot``: own, prev or ext (the module's doc)."""
    src = sources[slot]
    if src[0] == "op" and block_start <= src[1] < block_start + period:
        return "own", src[1] - block_start
    if src[0] == "op" and block_start - period <= src[1] < block_start:
        return "prev", src[1] - block_start + period
    return "ext", slot


def input_refs(steps, sources, block_start, period):
    """How each step of the block starting at ``block_start`` reads its inputs (see the module's doc)."""
    return tuple(tuple(None if s is None else ref_of(s, sources, block_start, period) for s in steps[block_start + r].ins)
                 for r in range(period))


def _key(step, meta):
    """What two steps must share to be the same step of two blocks (their inputs are compared later)."""
    return step.op, step.needs, step.tracked, tuple(step.params), meta[step.out]


def find_loops(steps, sources, meta):
    """The loops of a trace, in order of their first step: non-overlapping, each sparing MIN_SAVED steps or more."""
    codes = {}
    keys = np.array([codes.setdefault(_key(s, meta), len(codes)) for s in steps], dtype=np.int32)
    loops = []
    segments = [(0, len(steps))]
    while segments:
        lo, hi = segments.pop()
        loop = _best_loop(lo, hi, keys, steps, sources)
        if loop is not None:
            loops.append(loop)
            segments += [(lo, loop.start), (loop.end, hi)]
    return sorted(loops, key=lambda loop: loop.start)


def _candidates(lo, hi, keys):
    """(steps spared, period, first step, steps matched) of the longest repeat for each period, best first."""
    seg, n = keys[lo:hi], hi - lo
    periods = min(MAX_PERIOD, n // 2)
    if periods < 1:
        return []
    padded = np.concatenate([seg, -1 - np.arange(periods, dtype=np.int32)])
    same = sliding_window_view(padded, n)[1 : periods + 1] == seg  # same[p - 1, i]: step i does what step i + p does
    at = np.arange(1, n + 1, dtype=np.int32)
    run = at - np.maximum.accumulate(np.where(same, 0, at), axis=1)  # length of the run of matches ending at i
    ends = run.argmax(axis=1)
    found = []
    for p, (end, length) in enumerate(zip(ends.tolist(), run[np.arange(periods), ends].tolist()), 1):
        if length >= p and (length // p) * p >= MIN_SAVED:
            found.append(((length // p) * p, -p, lo + end - length + 1, length))
    found.sort(reverse=True)
    return [(saved, -neg_p, start, length) for saved, neg_p, start, length in found]


def _best_loop(lo, hi, keys, steps, sources):
    for _, p, first, run in _candidates(lo, hi, keys)[:8]:
        start = _aligned(first, p, steps)
        count = (first + run + p - start) // p
        blocks = [input_refs(steps, sources, start + j * p, p) for j in range(count)]
        j0, n = longest_equal_run(blocks)
        if n < 2 or (n - 1) * p < MIN_SAVED or not _writable(blocks[j0]):
            continue
        return Loop(start + j0 * p, p, n, blocks[j0])
    return None


def _aligned(first, p, steps):
    """Where in a repeat the blocks start: where the scope changes most (a new time step), for readable code."""

    def shared(i):
        if i == 0:
            return -1
        a, b = steps[i - 1].scope.split("/"), steps[i].scope.split("/")
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        return n

    return min(range(first, first + p), key=shared)


def longest_equal_run(blocks):
    """(first block, number of blocks) of the longest run of consecutive equal blocks."""
    best, start = (0, 1), 0
    for j in range(1, len(blocks) + 1):
        if j == len(blocks) or blocks[j] != blocks[start]:
            if j - start > best[1]:
                best = (start, j - start)
            start = j
    return best


def _writable(refs):
    """True when every carried value is read before the block makes its own: one variable can hold both."""
    return all(ref is None or ref[0] != "prev" or r <= ref[1] for r, row in enumerate(refs) for ref in row)


def same_value(a, b):
    """Whether two params values are the same (arrays: the same object)."""
    if a is b:
        return True
    if type(a) is not type(b) or isinstance(a, np.ndarray):
        return False
    if type(a) is tuple:
        return len(a) == len(b) and all(map(same_value, a, b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def scope_pattern(a, b):
    """``layer0/t*/lstm_cell`` from ``layer0/t1/lstm_cell`` and ``layer0/t2/lstm_cell``: a block's scope in a loop."""
    if a == b:
        return a
    pa, pb = a.split("/"), b.split("/")
    if len(pa) != len(pb):
        return a
    return "/".join(x if x == y else re.sub(r"\d+", "*", x) for x, y in zip(pa, pb))
