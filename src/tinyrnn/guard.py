"""Stop training whose numbers have gone wrong, before a broken model can be saved.

Training has diverged when a step's loss is NaN or infinite, when the weights are, or when
a mean loss (an epoch's, or a language model's between two log points) exceeds 100 times
the reference: the first step's loss, and at least chance level, ln(outputs), and the
largest loss one training example gives a model that answers 0 (regression: an outlier). A huge
learning rate in float64 can blow the loss up to 1e7 without ever producing a NaN.
"""
import functools
import math

import numpy as np

from .errors import DivergenceError

EXPLOSION_FACTOR = 100.0


class DivergenceGuard:
    """state: the run's RunState; its first_loss (the reference, kept in
    checkpoints) is set by the first step."""

    def __init__(self, model, state, data_reference=0.0):
        self.model, self.state = model, state
        outputs = model.params[model.output_bias].shape[0]
        self.chance = math.log(max(outputs, 2))             # nats
        self.data_reference = data_reference                # a loss the data can give (Task.loss_reference)

    @property
    def reference(self):
        first = self.state.first_loss if self.state.first_loss is not None else 0.0
        return max(self.chance, first, self.data_reference)

    def check_step(self, loss, where, lr):
        """After each backward pass; the first finite loss also sets the reference."""
        if not math.isfinite(loss):
            self._fail(f"the loss became {loss}", where, lr)
        if self.state.first_loss is None:
            self.state.first_loss = loss

    def check_running_mean(self, mean_loss, where, lr):
        """After every update: the mean loss since the last evaluation point (one comparison)."""
        if not mean_loss <= EXPLOSION_FACTOR * self.reference:       # NaN fails too
            self.check_mean(mean_loss, where, lr, weights=False)

    def check_mean(self, mean_loss, where, lr, weights=True):
        """The mean loss since the last evaluation point (after every update: cheap), then
        the weights (at evaluation points and before a checkpoint)."""
        if not math.isfinite(mean_loss) or mean_loss > EXPLOSION_FACTOR * self.reference:
            what = "one example's loss when the model answers 0" if self.reference == self.data_reference \
                else "the starting loss"
            self._fail(f"the mean loss is {mean_loss:.4g}, over {EXPLOSION_FACTOR:g} times {what}, "
                       f"{self.reference:.3g}", where, lr)
        if weights and not np.isfinite(self.model.flat).all():
            self._fail("the weights are no longer finite numbers", where, lr)

    def outputs_not_finite(self, where, lr):
        """An evaluation found the model's outputs NaN or infinite (sampling.check_finite)."""
        self._fail("the model's outputs are no longer finite numbers", where, lr)

    def _fail(self, what, where, lr):
        """where: where the run stands, or a function that says it (formatted only on failure)."""
        where = where() if callable(where) else where
        norm = float(np.sqrt(np.dot(self.model.flat_grads, self.model.flat_grads)))
        raise DivergenceError(f"training diverged at {where}: {what} (learning rate {lr:.3g}, "
                              f"last gradient norm {norm:.3g})", remedy="divergence")


def guarded(function):
    """Run a training function with NumPy's overflow and invalid-value warnings off: the
    guard reports divergence in one message, instead of a warning per operation before it."""
    @functools.wraps(function)
    def run(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return function(*args, **kwargs)
    return run
