"""Gradient utilities."""
import math

import numpy as np


def clip_grad_norm_(parameters, max_norm):
    """Scale all gradients together so their global L2 norm is at most ``max_norm``; returns the norm before.

    The usual remedy for exploding gradients in recurrent networks.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for g in grads:
            g *= scale
    return total
