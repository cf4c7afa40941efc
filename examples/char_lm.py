"""A character-level LSTM language model, trained on minigrad's own documentation, and what its gates do.

The text is the project's own: its README, its English docs pages and the docstrings of its
source files, read at run time (nothing third-party is copied).  After training we sample text,
shade a passage by the mean forget- and input-gate activation at each character, and test the
tutorials' two claims over the whole text, per seed and per hidden unit:

- "the forget gate fires at punctuation": the forget gate after reading punctuation vs a letter;
- "the input gate is strong where a new topic starts": the input gate on the first letter of a
  sentence vs the first letter of any other word.

The numbers say whether the claims hold for this model at this size; the script never assumes it.

    python examples/char_lm.py [--quick] [--seeds 3] [--iterations 1000]
"""
import argparse
import ast
import glob
import os
import sys

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.nn.functional import cross_entropy
from plotting import figure
from progress import Progress

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def project_text():
    """The README, the English docs pages and every docstring in the minigrad package, as one string."""
    parts = []
    pages = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    for page in pages:
        if os.path.exists(page) and not page.endswith(".zh.md"):
            parts.append(open(page, encoding="utf-8").read())
    package = os.path.dirname(mg.__file__)
    for folder, _, files in sorted(os.walk(package)):
        for name in sorted(files):
            if name.endswith(".py"):
                tree = ast.parse(open(os.path.join(folder, name), encoding="utf-8").read())
                for node in ast.walk(tree):
                    if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
                        doc = ast.get_docstring(node)
                        if doc:
                            parts.append(doc)
    return "\n\n".join(parts)


class CharLM(nn.Module):
    def __init__(self, vocab, embed, hidden, rng):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed, rng=rng)
        self.lstm = nn.LSTM(embed, hidden, rng=rng)
        self.head = nn.Linear(hidden, vocab, rng=rng)

    def forward(self, ids):  # ids (T, B) -> logits (T * B, vocab)
        out, _ = self.lstm(self.embed(ids))
        return self.head(out.reshape(-1, out.shape[-1]))


def as_cell(model):
    """An LSTMCell holding the trained weights, to step one character at a time."""
    cell = nn.LSTMCell(model.lstm.input_size, model.lstm.hidden_size)
    cell.load_state_dict({k.replace("_l0", ""): v for k, v in model.lstm.state_dict().items()})
    return cell


@mg.no_grad()
def sample(model, cell, prompt, length, stoi, itos, rng, temperature=0.7):
    state = None
    for ch in prompt[:-1]:
        state = cell(model.embed(np.array([stoi[ch]])), state)
    out, ch = prompt, prompt[-1]
    for _ in range(length):
        state = cell(model.embed(np.array([stoi[ch]])), state)
        logits = model.head(state[0]).data[0] / temperature
        p = np.exp(logits - logits.max())
        ch = itos[rng.choice(len(p), p=p / p.sum())]
        out += ch
    return out


@mg.no_grad()
def gate_trace(model, cell, passage, stoi):
    """Mean input- and forget-gate activation over the hidden units, at every character."""
    state, inputs, forgets = None, [], []
    for ch in passage:
        gates = {}
        state = cell(model.embed(np.array([stoi[ch]])), state, gates=gates)
        inputs.append(float(gates["i"].data.mean()))
        forgets.append(float(gates["f"].data.mean()))
    return np.array(inputs), np.array(forgets)


def shaded(passage, values):
    """The passage with each character's background shaded by its value (dark = low, light = high).

    Off a terminal (a log, a pipe) a row of digits 0-9 under the passage gives the same levels.
    """
    lo, hi = values.min(), values.max()
    if not sys.stdout.isatty():
        digits = "".join(str(min(9, int((v - lo) / max(hi - lo, 1e-9) * 10))) for v in values)
        return passage.replace("\n", " ") + "\n  " + digits
    out = []
    for ch, v in zip(passage, values):
        level = 232 + int(round((v - lo) / max(hi - lo, 1e-9) * 23))
        fg = 16 if level > 243 else 255
        out.append(f"\033[48;5;{level}m\033[38;5;{fg}m{ch if ch != chr(10) else ' '}")
    return "".join(out) + "\033[0m"


PUNCTUATION = ".,;:!?"


def position_kinds(text):
    """Boolean masks over the text, by the character just read: the groups the two claims compare."""
    chars = np.array(list(text))
    prev = np.array([" "] + list(text[:-1]))
    prev2 = np.array(["\n", " "] + list(text[:-2]))
    letter = np.char.isalpha(chars)
    word_start = letter & np.isin(prev, [" ", "\n"])
    sentence_start = word_start & np.char.isupper(chars) & (np.isin(prev2, list(".!?")) | (prev2 == "\n"))
    return {"punctuation": np.isin(chars, list(PUNCTUATION)), "letter": letter, "space": chars == " ",
            "sentence start": sentence_start, "other word start": word_start & ~sentence_start}


@mg.no_grad()
def gates_over_text(model, cell, data, chunk, warmup=20):
    """Forget and input gates (N, H) at every character, the text read in parallel chunks from a zero state.

    The first ``warmup`` characters of each chunk are dropped (the state is still filling up there);
    returns the gates and the positions in the text they belong to.
    """
    n = len(data) // chunk
    ids = data[: n * chunk].reshape(n, chunk)
    state, forget, inp = None, [], []
    for t in range(chunk):
        gates = {}
        state = cell(model.embed(ids[:, t]), state, gates=gates)
        forget.append(gates["f"].data)
        inp.append(gates["i"].data)
    keep = np.arange(warmup, chunk)
    positions = (np.arange(n)[:, None] * chunk + keep[None, :]).ravel()
    flat = lambda g: np.stack(g)[keep].transpose(1, 0, 2).reshape(len(positions), -1)
    return flat(forget), flat(inp), positions


CLAIMS = {
    "forget: punctuation - letter": ("f", "punctuation", "letter"),
    "input: sentence start - word start": ("i", "sentence start", "other word start"),
}


def measure(model, data, kinds, chunk):
    """For each claim, per hidden unit: the mean gate over one group of positions minus over the other."""
    forget, inp, positions = gates_over_text(model, as_cell(model), data, chunk=chunk)
    gates = {"f": forget, "i": inp}
    at = {k: m[positions] for k, m in kinds.items()}
    diffs = {claim: gates[g][at[a]].mean(axis=0) - gates[g][at[b]].mean(axis=0) for claim, (g, a, b) in CLAIMS.items()}
    return diffs, gates, at


def claim_table(results):
    """One row per claim, seed and stage: the mean difference, its spread over units, the units that agree."""
    print(f"\n{'claim (mean gate difference)':<36} | seed | model     | mean diff | units 10% / 50% / 90% | units > 0")
    for claim, rows in results.items():
        for (seed, stage), d in rows.items():
            q = np.percentile(d, [10, 50, 90])
            print(f"{claim:<36} | {seed:>4} | {stage:<9} | {d.mean():>+9.3f} | {q[0]:>+6.3f} / {q[1]:>+6.3f} / "
                  f"{q[2]:>+6.3f} | {np.mean(d > 0):>8.0%}")
    print("\ntrained models, across seeds (mean difference per seed):")
    for claim, rows in results.items():
        means = [d.mean() for (seed, stage), d in rows.items() if stage == "trained"]
        same = all(m > 0 for m in means) or all(m < 0 for m in means)
        print(f"  {claim}: {', '.join(f'{m:+.3f}' for m in means)}  ->  "
              f"{'same sign in every seed' if same else 'the sign changes between seeds'}")


def train(model, data, seed, iterations, steps, batch):
    """Train on all but the last tenth of ``data``; returns the first and last training loss and the held-out loss."""
    rng = np.random.default_rng(seed)
    split = int(0.9 * len(data))
    opt = optim.Adam(model.parameters(), lr=5e-3)
    progress = Progress(iterations, f"seed {seed}")
    losses = []
    for it in range(1, iterations + 1):
        begin = rng.integers(0, split - steps - 1, size=batch)
        window = data[begin[None, :] + np.arange(steps + 1)[:, None]]  # (T + 1, B)
        opt.zero_grad()
        loss = cross_entropy(model(window[:-1]), window[1:].reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        progress.update(it, np.mean(losses[-20:]))
    with mg.no_grad():
        held = data[split:]
        n = (len(held) - 1) // steps
        x = held[: n * steps].reshape(n, steps).T
        y = held[1 : n * steps + 1].reshape(n, steps).T
        held_out = cross_entropy(model(x), y.reshape(-1)).item()
    k = max(1, iterations // 20)
    return np.mean(losses[:k]), np.mean(losses[-k:]), held_out


def main(argv=None):
    parser = argparse.ArgumentParser(description="A character-level LSTM on minigrad's own documentation")
    parser.add_argument("--quick", action="store_true", help="a short run for smoke tests")
    parser.add_argument("--seeds", type=int, default=1, help="train this many models (seeds 0, 1, ...)")
    parser.add_argument("--iterations", type=int, default=None, help="training steps per seed (default 500)")
    parser.add_argument("--plot", default="out/char_lm_gates.png", help="gate heatmap (needs matplotlib)")
    args = parser.parse_args(argv)
    steps, batch, hidden, iterations = (16, 8, 16, 10) if args.quick else (48, 32, 96, 500)
    iterations = args.iterations or iterations
    chunk = 200 if args.quick else 1000
    text = project_text()
    chars = sorted(set(text))
    stoi = {c: k for k, c in enumerate(chars)}
    itos = dict(enumerate(chars))
    data = np.array([stoi[c] for c in text])
    kinds = position_kinds(text)
    print(f"text: {len(text)} characters of minigrad's README, docs and docstrings, {len(chars)} distinct; "
          f"the last 10% held out")
    print(f"model: embedding 24, LSTM hidden {hidden}; {iterations} steps of {batch} windows of {steps} characters")
    results = {claim: {} for claim in CLAIMS}
    for seed in range(args.seeds):
        model = CharLM(len(chars), 24, hidden, np.random.default_rng(seed))
        before, _, _ = measure(model, data, kinds, chunk)
        first, last, held_out = train(model, data, seed, iterations, steps, batch)
        after, gates, at = measure(model, data, kinds, chunk)
        for claim in CLAIMS:
            results[claim][seed, "untrained"] = before[claim]
            results[claim][seed, "trained"] = after[claim]
        print(f"seed {seed}: {sum(p.size for p in model.parameters())} parameters; training loss {first:.2f} -> "
              f"{last:.2f} nats/char, held-out {held_out:.2f} (uniform guessing: {np.log(len(chars)):.2f})")
        if seed == 0:
            first0, last0 = first, last
            show_seed0(model, gates, at, stoi, itos, args)
    claim_table(results)
    print(f"\nResult: loss fell from {first0:.2f} to {last0:.2f} nats/char over {iterations} steps "
          f"(uniform guessing: {np.log(len(chars)):.2f})")


def show_seed0(model, gates, at, stoi, itos, args):
    """The first model's gates by kind of character, a sample, and one passage shaded by its gates."""
    print(f"\n{'after':>16} | {'forget gate':>11} | {'input gate':>10} | count   (seed 0, whole text)")
    for name, mask in at.items():
        print(f"{name:>16} | {gates['f'][mask].mean():>11.3f} | {gates['i'][mask].mean():>10.3f} | {mask.sum()}")
    cell = as_cell(model)
    print("\nsample (temperature 0.7):")
    text = sample(model, cell, "The ", 20 if args.quick else 160, stoi, itos, np.random.default_rng(0))
    print("  " + text.replace("\n", "\n  "))
    passage = "Tensor, primitives, backward: each op has a gradient. Check it with gradcheck; draw it with viz."
    passage = "".join(c for c in passage if c in stoi)
    i_gate, f_gate = gate_trace(model, cell, passage, stoi)
    print("\nforget gate per character (dark or 0 = forgets more, light or 9 = keeps more):")
    print("  " + shaded(passage, f_gate))
    print("input gate per character (dark or 0 = writes less, light or 9 = writes more):")
    print("  " + shaded(passage, i_gate))
    _plot(passage, i_gate, f_gate, args.plot)


def _plot(passage, i_gate, f_gate, path, width=56):
    """The passage in lines of at most ``width`` characters, each under its forget- and input-gate strip."""
    lines, start = [], 0
    while start < len(passage):
        end = len(passage) if len(passage) - start <= width else passage.rindex(" ", start, start + width) + 1
        lines.append((start, end))
        start = end
    drawn = figure(path, "the gate heatmap", nrows=len(lines), figsize=(8, 1.1 * len(lines) + 0.2), squeeze=False)
    if drawn is None:
        return
    fig, axes = drawn
    lo, hi = min(f_gate.min(), i_gate.min()), max(f_gate.max(), i_gate.max())
    for ax, (start, end) in zip(axes[:, 0], lines):
        image = ax.imshow(np.stack([f_gate[start:end], i_gate[start:end]]), aspect="auto", cmap="viridis",
                          vmin=lo, vmax=hi, extent=(-0.5, end - start - 0.5, 1.5, -0.5))
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_yticks([0, 1], ["forget", "input"], fontsize=8)
        ax.set_xticks(range(end - start), list(passage[start:end]), fontsize=9, family="monospace")
        ax.tick_params(length=0)
    fig.subplots_adjust(left=0.08, right=0.86, top=0.97, bottom=0.12, hspace=0.7)
    fig.colorbar(image, ax=axes[:, 0].tolist(), fraction=0.03, pad=0.02, label="mean over units")
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
