"""Training a language model with truncated backpropagation through time.

The training text is cut into B parallel streams (one per batch row). Each step reads the
next chunk of seq_length tokens of every stream: the hidden state is carried from one
chunk to the next, but gradients stop at the chunk boundary (the carried state is a
constant for the step). At the end of the text the state is reset and a new epoch begins.
"""
import math
import time
from dataclasses import dataclass

import numpy as np

from .data.corpus import streams
from .errors import ConfigError
from .guard import DivergenceGuard, guarded
from .train import TrainConfig, TrainState, make_optimizer, make_update

NATS_PER_BIT = math.log(2)


# Named recipes for --task lm, as values of the command line's options.
LM_PRESETS = {
    "charrnn": {"epochs": 10, "hidden": 128, "init": "xavier", "optimizer": "adam", "lr": 0.005,
                "batch_size": 32, "seq_length": 25, "clip_value": 5.0, "log_every": None,
                "dtype": "float32"},                 # log points: every --log-every-seconds
    "minchar": {"epochs": 1, "hidden": 100, "init": "minchar", "optimizer": "adagrad", "lr": 0.1,
                "batch_size": 1, "seq_length": 25, "clip_value": 5.0, "log_every": 1000,
                "dtype": "float64", "sum_over_time": True},
}


@dataclass
class LMConfig:
    """Stop after `steps` updates, `epochs` passes or `minutes` of wall time (evaluation
    and the caller's sampling included), whichever first; or, with early_stop, after that
    many log points without a lower validation loss. Log points come every log_every
    steps and every log_every_seconds (either may be None)."""

    seq_length: int = 25
    batch_size: int = 32
    steps: int | None = None
    epochs: int | None = None
    minutes: float | None = None
    optimizer: str = "adagrad"
    lr: float | None = None
    momentum: float = 0.0                # sgd only
    nesterov: bool = False               # sgd only
    clip_value: float | None = 5.0
    clip_norm: float | None = None
    log_every: int | None = 100          # steps between validation / log points
    log_every_seconds: float | None = None
    early_stop: int | None = None
    sum_over_time: bool = False          # gradients of the per-sequence sum (min-char-rnn)
    lr_decay: float = 1.0                # lr of epoch e = lr * lr_decay ** (e - 1)

    def validate(self):
        for name in ("seq_length", "batch_size", "log_every", "early_stop"):
            if name in ("log_every", "early_stop") and getattr(self, name) is None:
                continue
            if type(getattr(self, name)) is not int or getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', ' ')} must be a positive integer, got {getattr(self, name)}")
        if self.steps is None and self.epochs is None and self.minutes is None:
            raise ConfigError("give a length of training: steps, epochs or minutes")
        if self.log_every is None and self.log_every_seconds is None:
            raise ConfigError("give log points: every N steps or every S seconds")
        for name in ("steps", "epochs", "minutes", "log_every_seconds"):
            value = getattr(self, name)
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{name} must be positive, got {value}")
        self.as_train_config().validate()

    def as_train_config(self):
        """The optimizer and clipping settings, in the classifier's TrainConfig."""
        return TrainConfig(lr=self.lr, optimizer=self.optimizer, momentum=self.momentum,
                           nesterov=self.nesterov, clip_value=self.clip_value,
                           clip_norm=self.clip_norm, lr_decay=self.lr_decay)


@dataclass
class LMStats:
    step: int
    epoch: int
    chars_seen: int                      # tokens read so far (characters for a character model)
    train_loss: float                    # mean over the steps since the last log point, nats/token
    val_loss: float | None
    train_seconds: float                 # cumulative, evaluation and sampling excluded
    stopped_early: bool = False          # no lower validation loss in the last early_stop log points

    @property
    def val_bits(self):
        return None if self.val_loss is None else self.val_loss / NATS_PER_BIT


def evaluate_lm(model, ids, batch_size=32, chunk=256):
    """Mean cross-entropy (nats/token) of predicting ids[t + 1] from ids[:t + 1], read as
    `batch_size` streams with the state carried across chunks."""
    count = max(1, min(batch_size, (len(ids) - 1) // chunk))
    inputs, targets = streams(ids, count)
    state, total = None, 0.0
    for start in range(0, inputs.shape[1], chunk):
        x, y = inputs[:, start:start + chunk], targets[:, start:start + chunk]
        loss_sum, state = model.loss_sum(x, y, state)
        total += loss_sum
    return total / inputs.size


@guarded
def train_language_model(model, train_ids, config, val_ids=None, on_log=None, on_step=None, rng=None):
    """Train in place. on_log(LMStats) at every log point; on_step(step) after every update;
    rng (a numpy Generator) draws the dropout masks. Returns the list of LMStats logged."""
    config.validate()
    loop = _Loop(model, config, val_ids, on_log)
    inputs, targets = streams(train_ids, config.batch_size)
    while not loop.done() and (config.epochs is None or loop.epoch < config.epochs):
        loop.epoch += 1
        loop.optimizer.lr = loop.base_lr * config.lr_decay ** (loop.epoch - 1)
        state = None                                         # a new pass starts from h = 0
        for start in range(0, inputs.shape[1], config.seq_length):
            x = inputs[:, start:start + config.seq_length]
            state = loop.step(x, targets[:, start:start + config.seq_length], state, rng)
            if on_step:
                on_step(loop.steps)
            if loop.done():
                break
    if loop.losses:                                          # the epochs ended between log points
        loop.log_point()
    return loop.history


class _Loop:
    """The state of a language model's training: counters, clocks, the best validation loss."""

    def __init__(self, model, config, val_ids, on_log):
        self.model, self.config, self.val_ids, self.on_log = model, config, val_ids, on_log
        self.optimizer = make_optimizer(config.as_train_config())
        self.update = make_update(model, config.as_train_config(), self.optimizer)
        self.base_lr = self.optimizer.lr
        self.history, self.losses, self.best = [], [], TrainState()
        self.steps = self.chars = self.epoch = 0
        self.seconds, self.eval_seconds, self.started = 0.0, 0.0, time.perf_counter()
        self.stopped_early = False
        self.guard = DivergenceGuard(model)

    def where(self):
        return f"step {self.steps + 1} (epoch {self.epoch})"

    def step(self, x, y, state, rng):
        """One update on chunk x (targets y) from the carried state; returns the new state."""
        started = time.perf_counter()
        result = self.model.loss_and_gradients(x, None, y, state, rng, self.config.sum_over_time)
        self.guard.check_step(result.loss, self.where(), self.optimizer.lr)
        self.update()
        self.seconds += time.perf_counter() - started
        self.steps, self.chars = self.steps + 1, self.chars + x.size
        self.losses.append(result.loss)
        every = self.config.log_every
        if (every and self.steps % every == 0) or self.best.log_due(self.config.log_every_seconds) \
                or self.done():
            self.log_point()
        return result.final_state                            # a constant for the next chunk

    def done(self):
        """Steps, wall-clock minutes (keeping room for one more evaluation) or early stop."""
        config = self.config
        elapsed = time.perf_counter() - self.started + self.eval_seconds
        return (config.steps is not None and self.steps >= config.steps) or self.stopped_early or \
            (config.minutes is not None and elapsed >= config.minutes * 60)

    def log_point(self):
        train_loss = float(np.mean(self.losses))
        self.guard.check_mean(train_loss, f"step {self.steps} (epoch {self.epoch})", self.optimizer.lr)
        started = time.perf_counter()
        val_loss = evaluate_lm(self.model, self.val_ids) if self.val_ids is not None and \
            len(self.val_ids) > 1 else None
        self.eval_seconds = time.perf_counter() - started
        self.best.last_log = time.perf_counter()             # the next timed log point counts from here
        stats = LMStats(self.steps, self.epoch, self.chars, train_loss, val_loss, self.seconds)
        self.history.append(stats)
        self.losses.clear()
        if val_loss is not None:
            self.best.observe(self.steps, (-val_loss,))
            early = self.config.early_stop
            self.stopped_early = stats.stopped_early = bool(early and self.best.epochs_without_improvement >= early)
        if self.on_log:
            self.on_log(stats)
