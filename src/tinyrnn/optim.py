"""Gradient clipping and optimizers.

They work in place on flat arrays (all parameters in one buffer, all gradients in
another; see nn/params.py), so one call updates every parameter, and their state lives
in preallocated buffers of the same size. `lr` may be changed between steps (decay).
Any optimizer can also keep a moving average of the weights it produces (`average`).
"""
from contextlib import contextmanager

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


class Optimizer:
    """Base: keeps lr, the number of steps taken and named state buffers shaped like the
    parameters. The buffer "step" is scratch space for the update, not state.

    With average = d (0 < d < 1) it also keeps an exponential moving average of the
    weights after each step (Polyak averaging), in the buffer "average":

        a_0 = w_0,   a_t = d_t a_{t-1} + (1 - d_t) w_t,   d_t = min(d, (1 + t) / (10 + t))

    The warm-up d_t lets the average follow the weights closely at first; later it spans
    about 1 / (1 - d) steps. Evaluating the average instead of the last weights smooths out
    the noise of the last updates."""

    default_lr = 0.01

    def __init__(self, lr=None, average=None):
        lr = self.default_lr if lr is None else lr
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"learning rate must be a positive finite number, got {lr}")
        if average is not None and not 0 < average < 1:
            raise ValueError(f"the weight average's decay must be in (0, 1), got {average}")
        self.lr, self.average_decay = lr, average
        self.steps = 0
        self.state = {}
        self.scales = ()                 # [(slice, factor)]: parts of the parameters stepped at lr * factor

    def step(self, params, grads):
        """Update params in place from grads (and the average, if kept): p <- p - step, the
        step of each part in self.scales times its factor."""
        if self.average_decay is not None and "average" not in self.state:
            self.state["average"] = params.copy()                # a_0 = w_0
        self.steps += 1
        step = self._step(params, grads)
        for part, factor in self.scales:                        # per-layer rates
            step[part] *= factor
        params -= step
        if self.average_decay is not None:
            decay = min(self.average_decay, (1 + self.steps) / (10 + self.steps))
            average, step = self.state["average"], self.buffer("step", params)
            np.subtract(params, average, out=step)
            step *= 1 - decay
            average += step                                     # a += (1 - d_t)(w_t - a)

    @property
    def average(self):
        """The weight average (None when none is kept or no step was taken)."""
        return self.state.get("average") if self.average_decay is not None else None

    @contextmanager
    def averaged(self, params):
        """Inside the block params hold the weight average (to evaluate it); afterwards their
        own values again. Without an average, params are left as they are."""
        if self.average is None:
            yield
            return
        own = params.copy()
        params[...] = self.average
        try:
            yield
        finally:
            params[...] = own

    def state_dict(self):
        """{"steps": int, "buffers": {name: array}}: what the next steps depend on (the
        learning rate is the caller's, set every epoch from the schedule)."""
        return {"steps": self.steps,
                "buffers": {name: array for name, array in self.state.items() if name != "step"}}

    def load_state_dict(self, state):
        """Continue from a state_dict(): the step count and copies of the buffers."""
        self.steps = int(state["steps"])
        self.state = {name: np.array(array) for name, array in state["buffers"].items()}

    def buffer(self, name, like):
        """A zero-initialised state buffer, made on first use."""
        array = self.state.get(name)
        if array is None or array.shape != like.shape or array.dtype != like.dtype:
            array = self.state[name] = np.zeros_like(like)
        return array


class SGD(Optimizer):
    """p <- p - lr * g. With momentum mu: v <- mu v + g, p <- p - lr * v
    (Nesterov: p <- p - lr * (g + mu v))."""

    name, default_lr = "sgd", 0.02

    def __init__(self, lr=None, momentum=0.0, nesterov=False, average=None):
        super().__init__(lr, average)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov = momentum, nesterov

    def _step(self, params, grads):
        step = self.buffer("step", grads)
        if self.momentum:
            velocity = self.buffer("velocity", grads)
            velocity *= self.momentum
            velocity += grads                                   # v <- mu v + g
            if self.nesterov:
                np.multiply(velocity, self.momentum, out=step)
                step += grads                                   # g + mu v
            else:
                step[...] = velocity
            step *= self.lr
        else:
            np.multiply(grads, self.lr, out=step)               # no temporary per update
        return step


class Adagrad(Optimizer):
    """As in the classic character-level RNN: m <- m + g^2, p <- p - lr g / sqrt(m + eps)."""

    name, default_lr = "adagrad", 0.1

    def __init__(self, lr=None, eps=1e-8, average=None):
        super().__init__(lr, average)
        self.eps = eps

    def _step(self, params, grads):
        memory, step = self.buffer("memory", grads), self.buffer("step", grads)
        np.multiply(grads, grads, out=step)
        memory += step                                          # m <- m + g^2
        np.add(memory, self.eps, out=step)
        np.sqrt(step, out=step)
        np.divide(grads, step, out=step)
        step *= self.lr
        return step


class RMSprop(Optimizer):
    """s <- rho s + (1 - rho) g^2, p <- p - lr g / (sqrt(s) + eps)."""

    name, default_lr = "rmsprop", 0.01

    def __init__(self, lr=None, rho=0.99, eps=1e-8, average=None):
        super().__init__(lr, average)
        self.rho, self.eps = rho, eps

    def _step(self, params, grads):
        square, step = self.buffer("square", grads), self.buffer("step", grads)
        square *= self.rho
        np.multiply(grads, grads, out=step)
        step *= 1 - self.rho
        square += step                                          # s <- rho s + (1 - rho) g^2
        np.sqrt(square, out=step)
        step += self.eps
        np.divide(grads, step, out=step)
        step *= self.lr
        return step


class Adam(Optimizer):
    """Kingma & Ba (2015): m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
    p <- p - lr m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)."""

    name, default_lr = "adam", 0.001

    def __init__(self, lr=None, beta1=0.9, beta2=0.999, eps=1e-8, average=None):
        super().__init__(lr, average)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _step(self, params, grads):
        first, second = self.buffer("first", grads), self.buffer("second", grads)
        step = self.buffer("step", grads)
        first *= self.beta1
        np.multiply(grads, 1 - self.beta1, out=step)
        first += step                                           # m <- b1 m + (1 - b1) g
        second *= self.beta2
        np.multiply(grads, grads, out=step)
        step *= 1 - self.beta2
        second += step                                          # v <- b2 v + (1 - b2) g^2
        correction1 = 1 - self.beta1 ** self.steps
        correction2 = 1 - self.beta2 ** self.steps
        np.sqrt(second, out=step)
        step *= 1 / np.sqrt(correction2)
        step += self.eps                                        # sqrt(v_hat) + eps
        np.divide(first, step, out=step)
        step *= self.lr / correction1                           # lr m_hat / (...)
        return step


OPTIMIZERS = {cls.name: cls for cls in (SGD, Adagrad, RMSprop, Adam)}
