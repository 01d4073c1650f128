"""What the training of every task shares: how long, the optimizer and its learning-rate
schedule, clipping, the weight average, log and checkpoint points, and what validation
decides (the weights kept, an early stop). A task's own settings live in the task."""
import math
from dataclasses import dataclass

from ..errors import ConfigError
from ..optim import OPTIMIZERS, ClipByValue, clip_by_norm
from .schedule import SCHEDULES


@dataclass
class TrainConfig:
    """Training stops at the first of `epochs` passes, `steps` updates, `minutes` of wall
    time (evaluation included), an early stop or a reached target. log_every and
    checkpoint_every count the task's unit (epochs for examples, updates for a language
    model's stream); early_stop counts evaluation points (epochs, or log points)."""

    epochs: int | None = 1000
    steps: int | None = None
    minutes: float | None = None
    batch_size: int = 1
    optimizer: str = "sgd"
    lr: float | None = None              # None: the optimizer's default (sgd 0.02, adam 0.001, ...)
    momentum: float = 0.0                # sgd only
    nesterov: bool = False               # sgd only
    lr_decay: float = 1.0                # lr of epoch e = lr * lr_decay ** (e - 1)
    schedule: str = "constant"           # the rate over updates: constant, slanted or onecycle (schedule.py)
    warmup: float = 0.1                  # slanted, onecycle: the fraction of the updates that rise
    lr_layer_decay: float = 1.0          # each layer below the output learns at this times the one above
    unfreeze_every: int | None = None    # gradual unfreezing: one more layer every N units (None: all learn)
    clip_value: float | None = 1.0
    clip_norm: float | None = None
    ema: float | None = None             # evaluate and keep a moving average of the weights (decay)
    frozen: tuple = ()                   # parameter names that keep their values (zero gradient)
    log_every: int | None = 100          # units between log points
    log_every_seconds: float | None = None   # also a log point when this long has passed (None: never)
    target_accuracy: float | None = None     # stop when the test set's accuracy reaches it
    keep_best: bool = False              # end with the weights of the best validation
    early_stop: int | None = None        # stop after this many evaluations without a better one
    checkpoint_every: int | None = None  # units between checkpoints
    checkpoint_minutes: float | None = None  # or minutes between checkpoints

    def validate(self):
        """Raise ConfigError (a ValueError) naming the first setting that cannot work."""
        for name, low in (("epochs", 0), ("steps", 1), ("batch_size", 1), ("log_every", 1),
                          ("early_stop", 1), ("checkpoint_every", 1), ("unfreeze_every", 1)):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value < low):
                raise ConfigError(f"{name.replace('_', ' ')} must be an integer >= {low}, got {value}")
        if self.epochs is None and self.steps is None and self.minutes is None:
            raise ConfigError("give a length of training: epochs, steps or minutes")
        if self.log_every is None and self.log_every_seconds is None:
            raise ConfigError("give log points: every N epochs or steps, or every S seconds")
        for name in ("minutes", "log_every_seconds", "checkpoint_minutes", "lr", "clip_value", "clip_norm"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                label = "learning rate" if name == "lr" else name.replace("_", " ")
                raise ConfigError(f"{label} must be a positive finite number, got {value}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; expected one of {sorted(OPTIMIZERS)}")
        if (self.momentum or self.nesterov) and self.optimizer != "sgd":
            raise ConfigError(f"momentum and Nesterov apply to sgd, not {self.optimizer}")
        if not (isinstance(self.momentum, (int, float)) and 0 <= self.momentum < 1):
            raise ConfigError(f"momentum must be at least 0 and below 1, got {self.momentum}")
        if self.nesterov and not self.momentum:
            raise ConfigError("Nesterov momentum needs a momentum above 0")
        if not (math.isfinite(self.lr_decay) and 0 < self.lr_decay <= 1):
            raise ConfigError(f"learning-rate decay must be in (0, 1], got {self.lr_decay}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown learning-rate schedule {self.schedule!r}; expected one of {list(SCHEDULES)}")
        if self.schedule != "constant" and self.epochs is None and self.steps is None:
            raise ConfigError(f"the {self.schedule} schedule needs the run's length in epochs or steps, "
                              f"not only minutes")
        if not (isinstance(self.warmup, (int, float)) and 0 <= self.warmup < 1):
            raise ConfigError(f"the warm-up fraction must be at least 0 and below 1, got {self.warmup}")
        if not (isinstance(self.lr_layer_decay, (int, float)) and 0 < self.lr_layer_decay <= 1):
            raise ConfigError(f"the layer decay of the learning rate must be in (0, 1], got {self.lr_layer_decay}")
        if self.target_accuracy is not None and not 0 <= self.target_accuracy <= 1:
            raise ConfigError(f"target accuracy must be between 0 and 1, got {self.target_accuracy}")
        if self.ema is not None and not (isinstance(self.ema, (int, float)) and 0 < self.ema < 1):
            raise ConfigError(f"the weight average's decay must be in (0, 1), got {self.ema}")

    @property
    def base_lr(self):
        """The learning rate of epoch 1: lr, or the optimizer's default."""
        return self.lr if self.lr is not None else OPTIMIZERS[self.optimizer].default_lr


def make_optimizer(config):
    """The optimizer of config, keeping a weight average when config.ema is set."""
    if config.optimizer == "sgd":
        return OPTIMIZERS["sgd"](config.lr, config.momentum, config.nesterov, average=config.ema)
    return OPTIMIZERS[config.optimizer](config.lr, average=config.ema)


def make_update(model, config, optimizer):
    """The step after each backward pass: zero the frozen parameters' gradients (config.frozen,
    and the layers not yet unfrozen: update.frozen, slices of the flat gradients), clip (by
    value, then by norm), then the optimizer."""
    clip_value = ClipByValue(config.clip_value) if config.clip_value is not None else None
    params, grads, clip_norm = model.flat, model.flat_grads, config.clip_norm
    frozen = [model.grads[name] for name in config.frozen]

    def update():
        for grad in frozen:
            grad[...] = 0.0                              # frozen: no step, whatever the optimizer
        for part in update.frozen:
            grads[part] = 0.0
        if clip_value is not None:
            clip_value(grads)
        if clip_norm is not None:
            clip_by_norm(grads, clip_norm)
        optimizer.step(params, grads)
    update.frozen = ()
    return update
