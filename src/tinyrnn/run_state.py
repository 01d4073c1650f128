"""What a classifier's training reports (EpochStats after each epoch, BatchStats after each
update) and where a run stands (TrainState): everything a checkpoint saves to continue the
run exactly, as JSON plus the best weights as a tensor."""
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class EpochStats:
    epoch: int
    train_loss: float
    train_accuracy: float
    train_seconds: float                 # cumulative time in training steps, evaluation excluded
    test_loss: float | None = None
    test_accuracy: float | None = None
    valid_loss: float | None = None
    valid_accuracy: float | None = None
    best: bool = False                   # the best validation epoch so far
    logged: bool = False                 # a log line is due for this epoch
    target_reached: bool = False
    stopped_early: bool = False          # no better validation epoch in the last early_stop


@dataclass
class BatchStats:
    """Progress within an epoch, after each update."""

    epoch: int
    batch: int                           # 1 .. batches
    batches: int                         # updates in this epoch
    train_loss: float                    # running means over the epoch so far
    train_accuracy: float
    train_seconds: float                 # cumulative, evaluation excluded
    due: bool = False                    # log_every_seconds have passed since the last log line


@dataclass
class TrainState:
    """Where a run stands besides the model and the optimizer: all a checkpoint needs to
    continue it exactly (to_json, with best_weights as a tensor)."""

    train_seconds: float = 0.0           # cumulative, evaluation excluded
    best_epoch: int | None = None
    best_score: tuple = (-math.inf, -math.inf)   # (validation accuracy, -validation loss)
    best_weights: np.ndarray | None = None       # a copy of model.flat, with keep_best
    epochs_without_improvement: int = 0
    epoch: int = 0                       # epochs completed
    batch: int = 0                       # updates done in the epoch under way
    epoch_rng: dict | None = None        # the rng's state when that epoch began (it re-draws its order)
    running: tuple = (0.0, 0, 0)         # its loss sum, correct predictions, examples seen
    history: list = field(default_factory=list)  # EpochStats of the epochs completed
    finished: bool = False               # the last epoch ran, or a stop rule ended the run
    first_loss: float | None = None      # the divergence guard's reference
    last_log: float = field(default_factory=lambda: time.perf_counter())   # clock of the last log line

    _SAVED = {"train_seconds": float, "best_epoch": (int, type(None)), "epochs_without_improvement": int,
              "epoch": int, "batch": int, "epoch_rng": (dict, type(None)), "finished": bool,
              "first_loss": (float, type(None))}

    def to_json(self):
        record = {name: getattr(self, name) for name in self._SAVED}
        record["best_score"] = [_json_number(value) for value in self.best_score]
        record["running"] = list(self.running)
        record["history"] = [asdict(stats) for stats in self.history]
        return record

    @classmethod
    def from_json(cls, record, tensors):
        """The state of to_json() and a checkpoint's tensors ("best.weights"); raises
        KeyError/TypeError/ValueError if it is not one."""
        state = cls(**json_fields(record, cls._SAVED), best_weights=tensors.get("best.weights"))
        state.best_score = tuple(float(value) for value in json_fields(record, {"best_score": list})["best_score"])
        state.running = tuple(json_fields(record, {"running": list})["running"])
        if len(state.running) != 3 or len(state.best_score) != 2:
            raise ValueError("running sums or best score of the wrong length")
        state.history = [EpochStats(**stats) for stats in json_fields(record, {"history": list})["history"]]
        return state

    def log_due(self, seconds):
        """True (and the clock restarts) when `seconds` have passed since the last log line."""
        now = time.perf_counter()
        if seconds is None or now - self.last_log < seconds:
            return False
        self.last_log = now
        return True

    def observe(self, epoch, score, weights=None):
        """Record a validation score (a tuple, higher is better; NaN never wins); True when it
        is the best so far. weights: copied when given and the score is a new best."""
        if not all(value == value for value in score) or score <= self.best_score:
            self.epochs_without_improvement += 1
            return False
        self.best_epoch, self.best_score, self.epochs_without_improvement = epoch, score, 0
        if weights is not None:
            self.best_weights = weights.copy()
        return True


def json_fields(record, types):
    """{name: record[name]} for each name in types, each checked to be of types[name] (a
    float may be written as an int; a bool is no int); TypeError/KeyError otherwise."""
    fields = {}
    for name, kinds in types.items():
        value = record[name]
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        if float in kinds and type(value) is int:
            value = float(value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise TypeError(f"{name} is {value!r}")
        fields[name] = value
    return fields


def _json_number(value):
    """JSON has no infinity: -inf (no score yet) is written as a string float() reads back."""
    return value if math.isfinite(value) else str(value)
