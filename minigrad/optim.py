"""Optimizers: SGD (momentum, weight decay) and Adam, updating parameters in place."""
import numpy as np

from .engine import no_grad


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimizer got an empty parameter list: pass model.parameters()")
        if lr <= 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = lr

    def zero_grad(self):
        """Forget every parameter's gradient (set ``.grad`` to None)."""
        for p in self.params:
            p.grad = None

    @no_grad()
    def step(self):
        """Update every parameter that has a gradient."""
        for k, p in enumerate(self.params):
            if p.grad is not None:
                self._update(k, p, p.grad)


class SGD(Optimizer):
    """p -= lr * v, with v = momentum * v + (g + weight_decay * p)  (torch's convention).

    >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum, self.weight_decay = momentum, weight_decay
        self.velocity = [None] * len(self.params)

    def _update(self, k, p, g):
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            v = self.velocity[k]
            self.velocity[k] = v = g.copy() if v is None else np.add(self.momentum * v, g, out=v)
            g = v
        p.data -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction; ``weight_decay`` adds wd * p to the gradient, as torch.

    >>> opt = Adam(model.parameters(), lr=1e-2)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.t = [0] * len(self.params)

    def _update(self, k, p, g):
        b1, b2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        self.t[k] += 1
        m, v = self.m[k], self.v[k]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        m_hat = m / (1 - b1 ** self.t[k])
        v_hat = v / (1 - b2 ** self.t[k])
        p.data -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(p.data.dtype)
