"""What a task plugs into the training loop (training/loop.py), and the batch it hands over."""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Batch:
    """One update's input: ids (B, T), mask (B, T) or None, targets; count: the examples (or
    tokens) it trains on; options: further keyword arguments of the model's loss_and_gradients."""

    ids: np.ndarray
    mask: np.ndarray | None
    targets: np.ndarray
    count: int
    options: dict = field(default_factory=dict)


class Task:
    """The parts of training that differ from task to task. valid and test: the task's
    encoded validation and test data (None: none); validation decides keep-best and early
    stop, the test set is only reported (and checked against a target accuracy)."""

    unit = "epoch"                       # evaluation points at each pass's end ("epoch") or at log
                                         # points counted in updates ("step"); log_every, early_stop
                                         # and checkpoint_every count them
    carries_state = False                # the recurrent state flows from one batch into the next
    valid = None
    test = None

    def prepare(self, config):
        """Get ready to train under config (cut the data into what batches read); raise
        ConfigError for a setting that cannot work for this task."""

    def settings(self):
        """The task's own settings, {name: JSON value} (a resumed run must match them)."""
        return {}

    def epoch_batches(self, config, rng):
        """One pass's batches (any items batch() reads), their order drawn from rng."""
        raise NotImplementedError

    def batch(self, item, rng):
        """The Batch of one item of epoch_batches (rng: training-time noise such as word dropout)."""
        raise NotImplementedError

    def tally(self, running, batch, result):
        """Add one update's figures to the running sums (a dict: "loss" summed over examples,
        "count", and the task's own)."""
        running["loss"] = running.get("loss", 0.0) + result.loss * batch.count
        running["count"] = running.get("count", 0) + batch.count

    def means(self, running):
        """The running sums as figures: {"loss": mean loss, ...}."""
        return {"loss": running["loss"] / running["count"]}

    def evaluate(self, model, data):
        """Figures of model on data: {"loss": ..., ...}."""
        raise NotImplementedError

    def score(self, figures):
        """Validation figures as a list compared element by element: higher is better."""
        return [-figures["loss"]]

    def loss_reference(self, model):
        """A training loss the data itself can give (0: none beyond the first step's): the
        divergence guard calls a run diverged only far above it (guard.py)."""
        return 0.0

    def reaches(self, figures, target_accuracy):
        """Do test figures reach the target (a task without accuracy refuses one in prepare)?"""
        return figures["accuracy"] >= target_accuracy


def length_batches(lengths, size, rng, shuffle=True, bucket=True):
    """An epoch's batches of `size` rows as arrays of row indices, for rows of the given
    lengths: the rows in a new order drawn from rng (shuffle); with bucket, sorted by length
    within windows of 50 batches, and the batches then shuffled: little padding, still
    random batches."""
    order = rng.permutation(len(lengths)) if shuffle else np.arange(len(lengths))
    if bucket:
        window = 50 * size
        order = np.concatenate([chunk[np.argsort(lengths[chunk], kind="stable")]
                                for chunk in np.split(order, range(window, len(order), window))])
    batches = [order[start:start + size] for start in range(0, len(order), size)]
    if bucket and shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches
