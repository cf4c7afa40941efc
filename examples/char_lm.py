"""A character-level LSTM language model, trained on minigrad's own documentation, and what its gates do.

The text is the project's own: its README and the docstrings of its source files, read at
run time (nothing third-party is copied).  After training we sample text, then run a passage
through the LSTM and show the mean forget-gate and input-gate activation at each character,
and compare them on punctuation, spaces and letters: the tutorials say the forget gate reacts
to punctuation and the input gate to new words; here is what this model actually does.

    python examples/char_lm.py [--quick]
"""
import argparse
import ast
import os
import sys
import time

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.nn.functional import cross_entropy
from plotting import figure, save

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def project_text():
    """The README and every docstring in the minigrad package, joined into one string."""
    parts = []
    readme = os.path.join(ROOT, "README.md")
    if os.path.exists(readme):
        parts.append(open(readme, encoding="utf-8").read())
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


def main(argv=None):
    parser = argparse.ArgumentParser(description="A character-level LSTM on minigrad's own documentation")
    parser.add_argument("--quick", action="store_true", help="a short run for smoke tests")
    parser.add_argument("--plot", default="out/char_lm_gates.png", help="gate heatmap (needs matplotlib)")
    args = parser.parse_args(argv)
    steps, batch, hidden, iterations = (16, 8, 16, 10) if args.quick else (48, 32, 96, 500)
    rng = np.random.default_rng(0)
    text = project_text()
    chars = sorted(set(text))
    stoi = {c: k for k, c in enumerate(chars)}
    itos = dict(enumerate(chars))
    data = np.array([stoi[c] for c in text])
    print(f"text: {len(text)} characters of minigrad's own README and docstrings, {len(chars)} distinct")
    model = CharLM(len(chars), 24, hidden, rng)
    opt = optim.Adam(model.parameters(), lr=5e-3)
    start = time.perf_counter()
    losses = []
    for it in range(1, iterations + 1):
        begin = rng.integers(0, len(data) - steps - 1, size=batch)
        window = data[begin[None, :] + np.arange(steps + 1)[:, None]]  # (T + 1, B)
        opt.zero_grad()
        loss = cross_entropy(model(window[:-1]), window[1:].reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if it % max(1, iterations // 5) == 0:
            print(f"  step {it:4d}  loss {np.mean(losses[-20:]):.3f} nats/char  ({time.perf_counter() - start:.1f} s)",
                  flush=True)
    first, last = np.mean(losses[: max(1, iterations // 20)]), np.mean(losses[-max(1, iterations // 20):])

    cell = as_cell(model)
    print("\nsample (temperature 0.7):")
    print("  " + sample(model, cell, "The ", 160 if not args.quick else 20, stoi, itos, rng).replace("\n", "\n  "))

    passage = "Tensor, primitives, backward: each op has a gradient. Check it with gradcheck; draw it with viz."
    passage = "".join(c for c in passage if c in stoi)
    i_gate, f_gate = gate_trace(model, cell, passage, stoi)
    print("\nforget gate per character (dark or 0 = forgets more, light or 9 = keeps more):")
    print("  " + shaded(passage, f_gate))
    print("input gate per character (dark or 0 = writes less, light or 9 = writes more):")
    print("  " + shaded(passage, i_gate))
    kinds = {"punctuation": [c in ".,:;" for c in passage], "space": [c == " " for c in passage],
             "letter": [c.isalpha() for c in passage]}
    print(f"\n{'after':>12} | {'forget gate':>11} | {'input gate':>10} | count")
    for name, mask in kinds.items():
        mask = np.array(mask)
        print(f"{name:>12} | {f_gate[mask].mean():>11.3f} | {i_gate[mask].mean():>10.3f} | {mask.sum()}")
    _plot(passage, i_gate, f_gate, args.plot)
    print(f"\nResult: loss fell from {first:.2f} to {last:.2f} nats/char over {iterations} steps "
          f"(uniform guessing: {np.log(len(chars)):.2f})")


def _plot(passage, i_gate, f_gate, path):
    drawn = figure(path, "the gate heatmap", figsize=(max(8, len(passage) * 0.16), 1.8))
    if drawn is None:
        return
    fig, ax = drawn
    image = ax.imshow(np.stack([f_gate, i_gate]), aspect="auto", cmap="viridis")
    fig.colorbar(image, ax=ax, fraction=0.02, pad=0.01, label="mean activation")
    ax.set_yticks([0, 1], ["forget", "input"])
    ax.set_xticks(range(len(passage)), list(passage), fontsize=7)
    save(fig, path, dpi=110)


if __name__ == "__main__":
    main()
