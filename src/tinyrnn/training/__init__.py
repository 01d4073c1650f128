"""The training core every task shares: TrainConfig (what all tasks share), the one loop
(Trainer), the run's state and records, and checkpoints of a run."""
from .checkpoints import RunCheckpoints, RunMismatch, run_signature
from .config import TrainConfig, make_optimizer, make_update
from .loop import Listener, Trainer
from .state import Progress, Record, RunState
from .task import Batch, Task

__all__ = ["Batch", "Listener", "Progress", "Record", "RunCheckpoints", "RunMismatch", "RunState", "Task",
           "TrainConfig", "Trainer", "make_optimizer", "make_update", "run_signature"]
