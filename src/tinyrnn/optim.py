"""Gradient clipping and optimizers. They work in place on flat arrays (all parameters
in one buffer, see nn/params.py), so one call touches every parameter."""
import numpy as np


class ClipByValue:
    """g <- min(max(g, -limit), limit), element-wise: the walkthrough's clip to [-1, 1].

    The limits are kept as full arrays: NumPy's minimum/maximum against an array run
    several times faster than against a scalar.
    """

    def __init__(self, limit):
        self.limit = limit
        self._upper = self._lower = None

    def __call__(self, grads):
        if self._upper is None or self._upper.shape != grads.shape or self._upper.dtype != grads.dtype:
            self._upper = np.full_like(grads, self.limit)
            self._lower = -self._upper
        np.minimum(grads, self._upper, out=grads)
        np.maximum(grads, self._lower, out=grads)


def clip_by_value(grads, limit):
    """Clip grads in place to [-limit, limit] (one-off use; training keeps a ClipByValue)."""
    ClipByValue(limit)(grads)


def clip_by_norm(grads, max_norm):
    """Scale g so that its global L2 norm is at most max_norm. Returns the norm before."""
    norm = float(np.sqrt(np.dot(grads, grads)))
    if norm > max_norm:
        grads *= max_norm / norm
    return norm


class SGD:
    """Plain stochastic gradient descent: p <- p - lr * g."""

    name = "sgd"

    def __init__(self, lr=0.02):
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"learning rate must be a positive finite number, got {lr}")
        self.lr = lr
        self._step = None

    def step(self, params, grads):
        if self._step is None or self._step.shape != grads.shape or self._step.dtype != grads.dtype:
            self._step = np.empty_like(grads)
        np.multiply(grads, self.lr, out=self._step)      # no temporary per update
        params -= self._step


OPTIMIZERS = {"sgd": SGD}
