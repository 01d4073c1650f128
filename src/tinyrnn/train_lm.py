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
from .errors import ConfigError, TrainingError
from .train import TrainConfig, make_optimizer, make_update

NATS_PER_BIT = math.log(2)


# Named recipes for --task lm, as values of the command line's options.
LM_PRESETS = {
    "charrnn": {"epochs": 10, "hidden": 128, "init": "xavier", "optimizer": "adam", "lr": 0.005,
                "batch_size": 32, "seq_length": 25, "clip_value": 5.0, "log_every": 100,
                "dtype": "float32"},
    "minchar": {"epochs": 1, "hidden": 100, "init": "minchar", "optimizer": "adagrad", "lr": 0.1,
                "batch_size": 1, "seq_length": 25, "clip_value": 5.0, "log_every": 1000,
                "dtype": "float64", "sum_over_time": True},
}


@dataclass
class LMConfig:
    """Stop after `steps` updates, `epochs` passes or `minutes` of training, whichever first."""

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
    log_every: int = 100                 # steps between validation / log points
    sum_over_time: bool = False          # gradients of the per-sequence sum (min-char-rnn)
    lr_decay: float = 1.0                # lr of epoch e = lr * lr_decay ** (e - 1)

    def validate(self):
        for name in ("seq_length", "batch_size", "log_every"):
            if type(getattr(self, name)) is not int or getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', ' ')} must be a positive integer, got {getattr(self, name)}")
        if self.steps is None and self.epochs is None and self.minutes is None:
            raise ConfigError("give a length of training: steps, epochs or minutes")
        for name in ("steps", "epochs", "minutes"):
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


def train_language_model(model, train_ids, config, val_ids=None, on_log=None, on_step=None, rng=None):
    """Train in place. on_log(LMStats) at every log point; on_step(step) after every update;
    rng (a numpy Generator) draws the dropout masks. Returns the list of LMStats logged."""
    config.validate()
    inputs, targets = streams(train_ids, config.batch_size)
    optimizer = make_optimizer(config.as_train_config())
    update = make_update(model, config.as_train_config(), optimizer)
    max_steps = config.steps or math.inf
    budget = config.minutes * 60 if config.minutes else math.inf
    history, losses = [], []
    step = chars = epoch = 0
    seconds, base_lr = 0.0, optimizer.lr

    def log_point():
        has_val = val_ids is not None and len(val_ids) > 1
        stats = LMStats(step, epoch, chars, float(np.mean(losses)),
                        evaluate_lm(model, val_ids) if has_val else None, seconds)
        history.append(stats)
        losses.clear()
        if on_log:
            on_log(stats)

    while step < max_steps and seconds < budget and (config.epochs is None or epoch < config.epochs):
        epoch += 1
        optimizer.lr = base_lr * config.lr_decay ** (epoch - 1)
        state = None                                         # a new pass starts from h = 0
        for start in range(0, inputs.shape[1], config.seq_length):
            started = time.perf_counter()
            x = inputs[:, start:start + config.seq_length]
            y = targets[:, start:start + config.seq_length]
            result = model.loss_and_gradients(x, None, y, state, rng, config.sum_over_time)
            loss, state = result.loss, result.final_state    # the carried state: a constant
            if not math.isfinite(loss):
                raise TrainingError(f"loss became {loss} at step {step + 1} (learning rate "
                                    f"{optimizer.lr:.3g}); try a smaller learning rate or --clip-value")
            update()
            seconds += time.perf_counter() - started
            step, chars = step + 1, chars + x.size
            losses.append(loss)
            stop = step >= max_steps or seconds >= budget
            if step % config.log_every == 0 or stop:
                log_point()
            if on_step:
                on_step(step)
            if stop:
                break
    if losses:                                               # the epochs ended between log points
        log_point()
    return history
