"""The training loop: shuffle, batch, forward/backward, clip, update, evaluate, report.

The walkthrough's per-sample training is batch_size=1 of this same loop. Train loss and
accuracy of an epoch are averaged over its samples as they were seen (before each
update), exactly as the walkthrough reports them; test figures are a separate pass.
The library prints nothing: progress goes through the on_epoch callback.
"""
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError, DataError
from .guard import DivergenceGuard, guarded
from .optim import OPTIMIZERS, ClipByValue, clip_by_norm
from .run_state import BatchStats, EpochStats, TrainState
from .vocab import UNK_ID, pad_batch


# Named recipes: values for the command line's options. "walkthrough" is the walkthrough's
# recipe; "fast" reaches 100 % test accuracy on the walkthrough-style datasets in a few
# dozen epochs (chosen over 30 seeds on two datasets, every seed reaching it). "text" is
# for real sentences (thousands of examples, a large vocabulary): a bidirectional GRU over
# learned embeddings, read by its mean state, with dropout, Adam on minibatches, and a
# held-out tenth that picks the epoch kept and stops training; its "options" are the
# architecture and validation options it sets (any of them given on the command line wins).
PRESETS = {
    "walkthrough": {"epochs": 1000, "hidden": 64, "init": "walkthrough", "optimizer": "sgd",
                    "lr": 0.02, "batch_size": 1, "clip_value": 1.0, "log_every": 100,
                    "target_accuracy": None},
    "fast": {"epochs": 300, "hidden": 32, "init": "orthogonal", "optimizer": "adam", "lr": 0.02,
             "batch_size": 16, "clip_value": 1.0, "log_every": 10, "target_accuracy": 1.0},
    "text": {"epochs": 30, "hidden": 64, "init": "orthogonal", "optimizer": "adam", "lr": 0.001,
             "batch_size": 50, "clip_value": None, "log_every": 1, "target_accuracy": None,
             "options": {"cell": "gru", "bidirectional": True, "embed": 128, "embed_dropout": 0.3,
                         "dropout": 0.5, "pool": "mean", "valid_split": 0.1, "early_stop": 3,
                         "keep_best": True, "clip_norm": 5.0, "min_count": 2}},
}


@dataclass
class TrainConfig:
    epochs: int = 1000
    lr: float | None = None              # None: the optimizer's default (sgd 0.02, adam 0.001, ...)
    optimizer: str = "sgd"
    momentum: float = 0.0                # sgd only
    nesterov: bool = False               # sgd only
    lr_decay: float = 1.0                # lr of epoch e = lr * lr_decay ** (e - 1)
    batch_size: int = 1
    clip_value: float | None = 1.0
    clip_norm: float | None = None
    shuffle: bool = True
    bucket: bool = True                  # batches of similar lengths (batch_size > 1)
    log_every: int = 100
    target_accuracy: float | None = None
    log_every_seconds: float | None = 30.0   # also log when this long has passed (None: never)
    keep_best: bool = False              # end with the weights of the best validation epoch
    early_stop: int | None = None        # stop after this many epochs without a better one
    frozen: tuple = ()                   # parameter names that keep their values (zero gradient)
    word_dropout: float = 0.0            # in training, read each word as <unk> with this probability
    ema: float | None = None             # evaluate and keep a moving average of the weights (decay)

    def validate(self):
        """Raise ConfigError (a ValueError) naming the first setting that cannot work."""
        for name in ("epochs", "batch_size", "log_every"):
            value = getattr(self, name)
            low = 0 if name == "epochs" else 1
            if type(value) is not int or value < low:
                raise ConfigError(f"{name.replace('_', ' ')} must be an integer >= {low}, got {value}")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"learning rate must be a positive finite number, got {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; expected one of {sorted(OPTIMIZERS)}")
        if (self.momentum or self.nesterov) and self.optimizer != "sgd":
            raise ConfigError(f"momentum and Nesterov apply to sgd, not {self.optimizer}")
        if not (math.isfinite(self.lr_decay) and 0 < self.lr_decay <= 1):
            raise ConfigError(f"learning-rate decay must be in (0, 1], got {self.lr_decay}")
        for name in ("clip_value", "clip_norm"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name.replace('_', ' ')} must be a positive number or none, got {value}")
        if self.target_accuracy is not None and not 0 <= self.target_accuracy <= 1:
            raise ConfigError(f"target accuracy must be between 0 and 1, got {self.target_accuracy}")
        if self.log_every_seconds is not None and not self.log_every_seconds > 0:
            raise ConfigError(f"log interval must be a positive number of seconds, got {self.log_every_seconds}")
        if not (isinstance(self.word_dropout, (int, float)) and 0 <= self.word_dropout < 1):
            raise ConfigError(f"word dropout must be in [0, 1), got {self.word_dropout}")
        if self.ema is not None and not (isinstance(self.ema, (int, float)) and 0 < self.ema < 1):
            raise ConfigError(f"the weight average's decay must be in (0, 1), got {self.ema}")
        if self.early_stop is not None and (type(self.early_stop) is not int or self.early_stop < 1):
            raise ConfigError(f"early stop must be a positive number of epochs, got {self.early_stop}")


@dataclass
class LabelledSequences:
    """Encoded examples: sequences[i] (T_i,) int ids, targets (N,) int class indices."""

    sequences: list
    targets: np.ndarray
    batches_of_one: list = field(default_factory=list)      # (ids (1, T_i), None, targets), cached

    def __len__(self):
        return len(self.sequences)


def encode_examples(model, dataset):
    """A Dataset -> (LabelledSequences, sorted unknown words). Labels must be model classes."""
    class_index = {label: i for i, label in enumerate(model.classes)}
    for label, source in zip(dataset.labels, dataset.sources):
        if label not in class_index:
            raise DataError(f"{source}: label {label!r} is not one of the classes {model.classes}")
    sequences, unknown = model.encode(dataset.texts)
    targets = np.array([class_index[label] for label in dataset.labels], dtype=np.int64)
    return LabelledSequences(sequences, targets), sorted({word for words in unknown for word in words})


def evaluate(model, data):
    """Mean cross-entropy and accuracy of model on data. Returns (loss, accuracy, probs)."""
    probs = model.predict_proba(data.sequences)
    rows = np.arange(len(data))
    picked = np.maximum(probs[rows, data.targets], np.finfo(probs.dtype).tiny)
    loss = float(-np.log(picked).mean())
    accuracy = float((probs.argmax(axis=1) == data.targets).mean())
    return loss, accuracy, probs


def make_optimizer(config):
    """The optimizer of config, keeping a weight average when config.ema is set."""
    if config.optimizer == "sgd":
        return OPTIMIZERS["sgd"](config.lr, config.momentum, config.nesterov, average=config.ema)
    return OPTIMIZERS[config.optimizer](config.lr, average=config.ema)


def make_update(model, config, optimizer):
    """The step after each backward pass: zero the frozen parameters' gradients, clip (by
    value, then by norm), then the optimizer."""
    clip_value = ClipByValue(config.clip_value) if config.clip_value is not None else None
    params, grads, clip_norm = model.flat, model.flat_grads, config.clip_norm
    frozen = [model.grads[name] for name in config.frozen]

    def update():
        for grad in frozen:
            grad[...] = 0.0                              # frozen: no step, whatever the optimizer
        if clip_value is not None:
            clip_value(grads)
        if clip_norm is not None:
            clip_by_norm(grads, clip_norm)
        optimizer.step(params, grads)
    return update


@guarded
def train(model, train_data, config, rng, test_data=None, on_epoch=None, valid_data=None, on_batch=None,
          state=None, optimizer=None):
    """Train model in place. Returns the list of EpochStats, one per epoch run. on_epoch
    gets each EpochStats, on_batch a BatchStats after every update.

    With valid_data, validation loss and accuracy are measured after every epoch; they
    alone choose the weights kept (config.keep_best) and when to stop (config.early_stop).
    The test set is only reported (and checked against config.target_accuracy). With
    config.ema the weight average is what is measured, kept and left in the model.
    state, optimizer: a run to continue (restored from a checkpoint, with rng); both are
    updated in place, so the callbacks can checkpoint them after any update."""
    config.validate()
    if config.target_accuracy is not None and test_data is None:
        raise ConfigError("a target accuracy needs a test set")
    if (config.keep_best or config.early_stop) and valid_data is None:
        raise ConfigError("keeping the best epoch and early stopping need validation data")
    optimizer = optimizer or make_optimizer(config)
    state = state or TrainState()
    update, guard = make_update(model, config, optimizer), DivergenceGuard(model, state)
    for epoch in range(state.epoch + 1, config.epochs + 1):
        if state.finished:
            break
        optimizer.lr = base_learning_rate(config) * config.lr_decay ** (epoch - 1)
        started = time.perf_counter()
        loss, accuracy = _train_epoch(model, train_data, config, update, rng, epoch, optimizer.lr,
                                      state, started, on_batch, guard)
        guard.check_mean(loss, f"epoch {epoch}", optimizer.lr)
        state.train_seconds += time.perf_counter() - started
        state.epoch, state.batch, state.running = epoch, 0, (0.0, 0, 0)
        stats = EpochStats(epoch, loss, accuracy, state.train_seconds)
        stats.logged = epoch % config.log_every == 0 or epoch == config.epochs
        stats.logged = state.log_due(config.log_every_seconds) or stats.logged
        if stats.logged:
            state.last_log = time.perf_counter()             # the next timed line counts from here
        with optimizer.averaged(model.flat):
            _measure(model, stats, state, config, test_data, valid_data)
        state.history.append(stats)
        state.finished = stats.target_reached or stats.stopped_early or epoch == config.epochs
        if on_epoch is not None:
            on_epoch(stats)
    state.finished = True
    model.flat[...] = final_weights(model, config, state, optimizer)
    return state.history


def final_weights(model, config, state, optimizer):
    """The weights a run ends with: the best validation epoch's (keep_best), else the
    weight average (ema), else the last."""
    if config.keep_best and state.best_weights is not None:
        return state.best_weights
    return optimizer.average if optimizer.average is not None else model.flat


def base_learning_rate(config):
    """The learning rate of epoch 1: config.lr, or the optimizer's default."""
    return config.lr if config.lr is not None else OPTIMIZERS[config.optimizer].default_lr


def _measure(model, stats, state, config, test_data, valid_data):
    """Validation (every epoch), the best epoch and early stop; test where it is reported."""
    if valid_data is not None:
        stats.valid_loss, stats.valid_accuracy, _ = evaluate(model, valid_data)
        score = (stats.valid_accuracy, -stats.valid_loss)            # accuracy, ties by loss
        stats.best = state.observe(stats.epoch, score, model.flat if config.keep_best else None)
        if config.early_stop and state.epochs_without_improvement >= config.early_stop:
            stats.logged = stats.stopped_early = True
    if test_data is not None and (stats.logged or config.target_accuracy is not None):
        stats.test_loss, stats.test_accuracy, _ = evaluate(model, test_data)
        if config.target_accuracy is not None and stats.test_accuracy >= config.target_accuracy:
            stats.logged = stats.target_reached = True


def _train_epoch(model, data, config, update, rng, epoch, lr, state, started, on_batch, guard):
    """The epoch under way, from state.batch on; returns its mean loss and accuracy."""
    if state.batch == 0:
        state.epoch_rng = rng.bit_generator.state
        order = _epoch_order(data, config, rng)
    else:                                                # resumed: the same order, drawn again
        order_rng = np.random.Generator(np.random.PCG64())
        order_rng.bit_generator.state = state.epoch_rng
        order = _epoch_order(data, config, order_rng)
    total_loss, correct, seen = state.running
    for step, rows in enumerate(order[state.batch:], start=state.batch + 1):
        ids, mask, targets = _batch(data, config, rows)
        if config.word_dropout:
            ids = drop_words(ids, mask, config.word_dropout, rng)
        result = model.loss_and_gradients(ids, mask, targets, rng=rng)      # rng: dropout masks
        guard.check_step(result.loss, f"epoch {epoch}, step {step}", lr)
        total_loss += result.loss * len(targets)
        correct += int(np.count_nonzero(result.predicted == targets))
        seen += len(targets)
        update()
        state.batch, state.running = step, (total_loss, correct, seen)
        if on_batch is not None:
            on_batch(BatchStats(epoch, step, len(order), total_loss / seen, correct / seen,
                                state.train_seconds + time.perf_counter() - started,
                                step < len(order) and state.log_due(config.log_every_seconds)))
    return total_loss / len(data), correct / len(data)


def _epoch_order(data, config, rng):
    """The epoch's batches as a list of row indices (an int for batches of one), drawn from rng.

    With bucketing, the shuffled examples are sorted by length within windows of 50
    batches and the batches are then shuffled: little padding, still random batches.
    """
    order = rng.permutation(len(data)) if config.shuffle else np.arange(len(data))
    if config.batch_size == 1:
        return order.tolist()
    size = config.batch_size
    if config.bucket:
        lengths = np.array([len(seq) for seq in data.sequences])
        window = 50 * size
        order = np.concatenate([chunk[np.argsort(lengths[chunk], kind="stable")]
                                for chunk in np.split(order, range(window, len(order), window))])
    batches = [order[start:start + size] for start in range(0, len(order), size)]
    if config.bucket and config.shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def drop_words(ids, mask, rate, rng):
    """Word dropout: each real word of the batch read as <unk> with probability rate (a new
    array), so the network cannot lean on any one word; drawn from rng."""
    dropped = rng.random(ids.shape) < rate
    if mask is not None:
        dropped &= mask
    return np.where(dropped, UNK_ID, ids)


def _batch(data, config, rows):
    """(ids (B, T), mask (B, T) or None, targets (B,)) of the rows (an int: a batch of one)."""
    if config.batch_size == 1:
        if not data.batches_of_one:          # each example as a batch of one, made once
            data.batches_of_one = [(seq[None, :], None, data.targets[i:i + 1])
                                   for i, seq in enumerate(data.sequences)]
        return data.batches_of_one[rows]
    ids, mask = pad_batch([data.sequences[i] for i in rows])
    return ids, mask, data.targets[rows]
