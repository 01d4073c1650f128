"""Training a language model with truncated backpropagation through time.

The training text is cut into B parallel streams (one per batch row). Each step reads the
next chunk of seq_length tokens of every stream: the hidden state is carried from one
chunk to the next, but gradients stop at the chunk boundary (the carried state is a
constant for the step). At the end of the text the state is reset and a new epoch begins.
"""
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .data.corpus import streams
from .errors import ConfigError
from .guard import DivergenceGuard, guarded
from .run_state import TrainState, json_fields
from .train import TrainConfig, base_learning_rate, make_optimizer, make_update

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
    ema: float | None = None             # evaluate and keep a moving average of the weights (decay)

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
                           clip_norm=self.clip_norm, lr_decay=self.lr_decay, ema=self.ema)


@dataclass
class LMStats:
    step: int
    epoch: int
    chars_seen: int                      # tokens read so far (characters for a character model)
    train_loss: float                    # mean over the steps since the last log point, nats/token
    val_loss: float | None
    train_seconds: float                 # cumulative, evaluation and sampling excluded
    stopped_early: bool = False          # no lower validation loss in the last early_stop log points
    best: bool = False                   # the lowest validation loss so far

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


@dataclass
class LMState:
    """Where a language model's training stands: all a checkpoint needs to continue it
    exactly (to_json; the carried state is a tensor)."""

    steps: int = 0
    chars: int = 0                       # tokens read so far
    epoch: int = 0                       # passes begun
    start: int = 0                       # the next chunk's first column (0: a new pass begins)
    seconds: float = 0.0                 # training time, evaluation and sampling excluded
    wall_seconds: float = 0.0            # all time, for --minutes (kept up to date at each step)
    losses: list = field(default_factory=list)      # step losses since the last log point
    best_loss: float | None = None       # the lowest validation loss so far
    log_points_without_improvement: int = 0
    stopped_early: bool = False
    finished: bool = False
    first_loss: float | None = None      # the divergence guard's reference
    history: list = field(default_factory=list)     # LMStats of the log points so far
    carry: np.ndarray | None = None      # the state carried into the next chunk
    best_weights: np.ndarray | None = None          # the model at best_loss (kept by the caller)

    _SAVED = {"steps": int, "chars": int, "epoch": int, "start": int, "seconds": float,
              "wall_seconds": float, "losses": list, "best_loss": (float, type(None)),
              "log_points_without_improvement": int, "stopped_early": bool, "finished": bool,
              "first_loss": (float, type(None)), "history": list}

    def to_json(self):
        record = {name: getattr(self, name) for name in self._SAVED}
        record["history"] = [asdict(stats) for stats in self.history]
        return record

    @classmethod
    def from_json(cls, record, tensors):
        """The state of to_json() and a checkpoint's tensors ("carry.state", "best.weights");
        raises KeyError/TypeError/ValueError if it is not one."""
        fields = json_fields(record, cls._SAVED)
        fields["losses"] = [float(loss) for loss in fields["losses"]]
        fields["history"] = [LMStats(**stats) for stats in fields["history"]]
        return cls(**fields, carry=tensors.get("carry.state"), best_weights=tensors.get("best.weights"))


@guarded
def train_language_model(model, train_ids, config, val_ids=None, on_log=None, on_step=None, rng=None,
                         state=None, optimizer=None):
    """Train in place. on_log(LMStats) at every log point; on_step(step) after every update;
    rng (a numpy Generator) draws the dropout masks. state, optimizer: a run to continue
    (restored from a checkpoint, with rng); both are updated in place, so on_step can
    checkpoint them. With config.ema, log points (and on_log) see the weight average, and
    the model ends with it. Returns the list of LMStats logged."""
    config.validate()
    loop = _Loop(model, config, val_ids, on_log, state or LMState(), optimizer)
    state, (inputs, targets) = loop.state, streams(train_ids, config.batch_size)
    width, length = inputs.shape[1], config.seq_length
    while not state.finished and not loop.done():
        if state.start == 0:                                 # a new pass starts from h = 0
            if config.epochs is not None and state.epoch >= config.epochs:
                break
            state.epoch, state.carry = state.epoch + 1, None
        loop.optimizer.lr = loop.base_lr * config.lr_decay ** (state.epoch - 1)
        for start in range(state.start, width, length):
            state.carry = loop.step(inputs[:, start:start + length], targets[:, start:start + length],
                                    state.carry, rng)
            state.start = start + length if start + length < width else 0
            if on_step:
                on_step(state.steps)
            if loop.done():
                break
    if state.losses:                                         # the epochs ended between log points
        loop.log_point()
    state.finished = True
    if loop.optimizer.average is not None:
        model.flat[...] = loop.optimizer.average
    return state.history


class _Loop:
    """A language model's training steps and log points, over an LMState."""

    def __init__(self, model, config, val_ids, on_log, state, optimizer):
        self.model, self.config, self.val_ids, self.on_log, self.state = model, config, val_ids, on_log, state
        self.optimizer = optimizer or make_optimizer(config.as_train_config())
        self.update = make_update(model, config.as_train_config(), self.optimizer)
        self.base_lr = base_learning_rate(config.as_train_config())
        self.clock = TrainState()                            # its log_due times log points
        self.started = time.perf_counter() - state.wall_seconds
        self.guard, self.eval_seconds = DivergenceGuard(model, state), 0.0

    def step(self, x, y, carry, rng):
        """One update on chunk x (targets y) from the carried state; returns the new state."""
        state, started = self.state, time.perf_counter()
        result = self.model.loss_and_gradients(x, None, y, carry, rng, self.config.sum_over_time)
        self.guard.check_step(result.loss, f"step {state.steps + 1} (epoch {state.epoch})", self.optimizer.lr)
        self.update()
        state.seconds += time.perf_counter() - started
        state.steps, state.chars = state.steps + 1, state.chars + x.size
        state.losses.append(result.loss)
        self.guard.check_mean(sum(state.losses) / len(state.losses), f"step {state.steps} (epoch "
                              f"{state.epoch})", self.optimizer.lr)     # before any checkpoint of it
        every = self.config.log_every
        if (every and state.steps % every == 0) or self.clock.log_due(self.config.log_every_seconds) \
                or self.done():
            self.log_point()
        state.wall_seconds = time.perf_counter() - self.started
        return result.final_state                            # a constant for the next chunk

    def done(self):
        """Steps, wall-clock minutes (keeping room for one more evaluation) or early stop."""
        config, state = self.config, self.state
        elapsed = time.perf_counter() - self.started + self.eval_seconds
        return (config.steps is not None and state.steps >= config.steps) or state.stopped_early or \
            (config.minutes is not None and elapsed >= config.minutes * 60)

    def log_point(self):
        with self.optimizer.averaged(self.model.flat):
            self._log_point()

    def _log_point(self):
        state = self.state
        train_loss = float(np.mean(state.losses))
        self.guard.check_mean(train_loss, f"step {state.steps} (epoch {state.epoch})", self.optimizer.lr)
        started = time.perf_counter()
        val_loss = evaluate_lm(self.model, self.val_ids) if self.val_ids is not None and \
            len(self.val_ids) > 1 else None
        self.eval_seconds = time.perf_counter() - started
        self.clock.last_log = time.perf_counter()            # the next timed log point counts from here
        stats = LMStats(state.steps, state.epoch, state.chars, train_loss, val_loss, state.seconds)
        state.history.append(stats)
        state.losses = []
        if val_loss is not None:
            stats.best = val_loss == val_loss and (state.best_loss is None or val_loss < state.best_loss)
            if stats.best:
                state.best_loss, state.log_points_without_improvement = val_loss, 0
            else:
                state.log_points_without_improvement += 1
            early = self.config.early_stop
            state.stopped_early = stats.stopped_early = bool(early and state.log_points_without_improvement >= early)
        if self.on_log:
            self.on_log(stats)
