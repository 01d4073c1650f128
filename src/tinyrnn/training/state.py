"""Where a run stands (RunState) and what it reports (Record at each evaluation point,
Progress after each update): everything a checkpoint saves to continue a run exactly, in
one JSON form plus tensors (the best weights, a carried recurrent state)."""
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np


SHARES = ("accuracy", "exact_match")     # figures from 0 to 1; from 0 to 100: PERCENTS
PERCENTS = ("bleu", "chrf")
NOT_NEGATIVE = ("loss", "seconds", "_seen", "bits_per_char", "perplexity")


def possible_figure(name, value):
    """Whether a run can report value (a number) for a figure of this name: finite, never
    negative for losses, times and counts, within 0..1 for shares and 0..100 for BLEU and chrF.
    Run records (checkpoints) and logs (plot) are checked with it."""
    return math.isfinite(value) and (value >= 0 or not name.endswith(NOT_NEGATIVE)) \
        and (0 <= value <= 1 or not name.endswith(SHARES)) and (0 <= value <= 100 or not name.endswith(PERCENTS))


@dataclass
class Record:
    """The run at an evaluation point (a classifier's epoch end, a language model's log
    point). Figures are {name: value} as the task measures them ({"loss", "accuracy"})."""

    epoch: int                           # the pass under way (or just finished)
    step: int                            # updates so far
    seen: int                            # examples (or tokens) trained on so far
    train_seconds: float                 # cumulative time in training steps, evaluation excluded
    train: dict                          # means over the updates since the last record
    valid: dict | None = None
    test: dict | None = None
    best: bool = False                   # the best validation figures so far
    logged: bool = False                 # a log block is due
    target_reached: bool = False
    stopped_early: bool = False          # no better validation in the last early_stop records

    train_loss = property(lambda self: self.train["loss"])
    train_accuracy = property(lambda self: self.train.get("accuracy"))
    valid_loss = property(lambda self: (self.valid or {}).get("loss"))
    valid_accuracy = property(lambda self: (self.valid or {}).get("accuracy"))
    test_loss = property(lambda self: (self.test or {}).get("loss"))
    test_accuracy = property(lambda self: (self.test or {}).get("accuracy"))


@dataclass
class Progress:
    """After each update: where the epoch stands and the running means since the last record."""

    epoch: int
    batch: int                           # 1 .. batches
    batches: int                         # updates in this epoch
    step: int                            # updates so far in the run
    train_seconds: float
    running: dict                        # the running sums (task.tally's)
    task: object                         # what turns them into figures
    due: bool = False                    # log_every_seconds passed without an evaluation point

    @property
    def train(self):
        """The running means ({"loss", ...}), computed when asked for."""
        return self.task.means(self.running)


@dataclass
class RunState:
    """Where a run stands besides the model, the optimizer and the random generators."""

    epoch: int = 0                       # passes begun
    batch: int = 0                       # updates done in the pass under way (0: none yet)
    steps: int = 0                       # updates so far
    seen: int = 0                        # examples (or tokens) so far
    train_seconds: float = 0.0           # time in training steps, evaluation excluded
    wall_seconds: float = 0.0            # all time, for the minutes limit
    epoch_rng: dict | None = None        # the generator's state as the pass began (it re-draws its order)
    running: dict = field(default_factory=dict)    # sums since the last record: loss, count, task's own
    best_record: int | None = None       # index in history of the best validation so far
    best_score: list = field(default_factory=lambda: [-math.inf])   # higher is better
    records_without_improvement: int = 0
    first_loss: float | None = None      # the divergence guard's reference
    finished: bool = False               # the last pass ran, or a stop rule ended the run
    history: list = field(default_factory=list)    # Records so far
    best_weights: np.ndarray | None = None         # a copy of the flat weights at the best record
    carry: np.ndarray | None = None      # a recurrent state carried into the next batch
    last_log: float = field(default_factory=lambda: time.perf_counter())   # the clock of the last log point

    _SAVED = {"epoch": int, "batch": int, "steps": int, "seen": int, "train_seconds": float,
              "wall_seconds": float, "epoch_rng": (dict, type(None)), "running": dict,
              "best_record": (int, type(None)), "best_score": list, "records_without_improvement": int,
              "first_loss": (float, type(None)), "finished": bool, "history": list}

    def to_json(self):
        record = {name: getattr(self, name) for name in self._SAVED}
        record["best_score"] = [_json_number(value) for value in self.best_score]
        record["history"] = [asdict(stats) for stats in self.history]
        return record

    @classmethod
    def from_json(cls, record, tensors):
        """The state of to_json() and a checkpoint's tensors ("best.weights", "carry.state");
        raises KeyError/TypeError/ValueError if it is not one."""
        fields = json_fields(record, cls._SAVED)
        fields["best_score"] = [float(value) for value in fields["best_score"]]
        fields["history"] = [Record(**stats) for stats in fields["history"]]
        return cls(**fields, best_weights=tensors.get("best.weights"), carry=tensors.get("carry.state"))

    def tensors(self):
        """The state's arrays, named as a checkpoint stores them."""
        named = {"best.weights": self.best_weights, "carry.state": self.carry}
        return {name: array for name, array in named.items() if array is not None}

    def log_due(self, seconds):
        """True (and the clock restarts) when `seconds` have passed since the last log point."""
        now = time.perf_counter()
        if seconds is None or now - self.last_log < seconds:
            return False
        self.last_log = now
        return True

    def observe(self, score, weights=None):
        """Record a validation score (a list, higher is better; NaN never wins) for the record
        about to be appended; True when it is the best so far. weights: copied when given and
        the score is a new best."""
        if not all(value == value for value in score) or score <= self.best_score:
            self.records_without_improvement += 1
            return False
        self.best_record, self.best_score, self.records_without_improvement = len(self.history), score, 0
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
