"""Progress for training loops that run more than a few seconds: step, loss, time spent and time left."""
import sys
import time


class Progress:
    """Print ``label  step 120/400  loss 0.0312  12 s, about 28 s left`` at most every ``every`` seconds.

    >>> progress = Progress(400, "LSTM T=50")
    >>> for step in range(400):
    ...     progress.update(step + 1, loss.item())
    """

    def __init__(self, total, label="", every=2.0, file=None):
        self.total, self.label, self.every = total, label, every
        self.file = file or sys.stdout
        self.start = self.last = time.perf_counter()

    def update(self, step, loss):
        now = time.perf_counter()
        if now - self.last < self.every and step != self.total:
            return
        self.last = now
        spent = now - self.start
        left = spent / step * (self.total - step)
        end = f", about {left:.0f} s left" if step < self.total else ""
        print(f"  {self.label}  step {step}/{self.total}  loss {loss:.4f}  {spent:.0f} s{end}",
              file=self.file, flush=True)
