"""Classification: labelled sequences, one prediction each (the walkthrough's task).

The walkthrough's per-sample training is batch_size=1. Train loss and accuracy of an epoch
are averaged over its samples as they were seen (before each update), exactly as the
walkthrough reports them; validation and test figures are separate passes."""
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError, DataError
from ..training.loop import Trainer
from ..training.task import Batch, Task, length_batches
from ..numeric import pad_values
from ..vocab import UNK_ID, pad_batch


@dataclass
class LabelledSequences:
    """Encoded examples: sequences[i] (T_i,) int ids or (T_i, F) numbers, targets (N,) int
    class indices."""

    sequences: list
    targets: np.ndarray
    batches_of_one: list = field(default_factory=list)      # Batch of each example alone, cached

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


class ClassifyTask(Task):
    """Batches of examples drawn anew each epoch; validation by accuracy, ties by loss.

    shuffle: a new order each epoch; bucket: batches of similar lengths (batch_size > 1);
    word_dropout: in training, read each word as <unk> with this probability."""

    def __init__(self, train_data, valid=None, test=None, shuffle=True, bucket=True, word_dropout=0.0):
        self.data, self.valid, self.test = train_data, valid, test
        self.shuffle, self.bucket, self.word_dropout = shuffle, bucket, word_dropout

    def prepare(self, config):
        if not len(self.data):
            raise ConfigError("no training examples")
        if self.word_dropout and self.data.sequences[0].ndim == 2:
            raise ConfigError("word dropout applies to words, not to numeric sequences")
        if not (isinstance(self.word_dropout, (int, float)) and 0 <= self.word_dropout < 1):
            raise ConfigError(f"word dropout must be in [0, 1), got {self.word_dropout}")
        if config.target_accuracy is not None and self.test is None:
            raise ConfigError("a target accuracy needs a test set")
        if (config.keep_best or config.early_stop) and self.valid is None:
            raise ConfigError("keeping the best epoch and early stopping need validation data")

    def settings(self):
        return {"shuffle": self.shuffle, "bucket": self.bucket, "word_dropout": self.word_dropout}

    def epoch_batches(self, config, rng):
        """The epoch's batches as arrays of row indices (training.task.length_batches: with
        bucketing, batches of similar lengths), or row numbers for batches of one."""
        if config.batch_size == 1:
            return (rng.permutation(len(self.data)) if self.shuffle else np.arange(len(self.data))).tolist()
        lengths = np.array([len(seq) for seq in self.data.sequences])
        return length_batches(lengths, config.batch_size, rng, self.shuffle, self.bucket)

    def batch(self, rows, rng):
        """The Batch of rows (an int: an example alone), words dropped as asked."""
        data = self.data
        if isinstance(rows, int):
            if not data.batches_of_one:          # each example as a batch of one, made once
                data.batches_of_one = [Batch(seq[None, :], None, data.targets[i:i + 1], 1)
                                       for i, seq in enumerate(data.sequences)]
            batch = data.batches_of_one[rows]
        else:
            ids, mask = pad_sequences([data.sequences[i] for i in rows])
            batch = Batch(ids, mask, data.targets[rows], len(rows))
        if self.word_dropout:
            batch = Batch(drop_words(batch.ids, batch.mask, self.word_dropout, rng), batch.mask,
                          batch.targets, batch.count)
        return batch

    def tally(self, running, batch, result):
        if not running:
            running.update(loss=0.0, count=0, correct=0)
        running["loss"] += result.loss * batch.count
        running["count"] += batch.count
        running["correct"] += int(np.count_nonzero(result.predicted == batch.targets))

    def means(self, running):
        return {"loss": running["loss"] / running["count"], "accuracy": running["correct"] / running["count"]}

    def evaluate(self, model, data):
        loss, accuracy, _ = evaluate(model, data)
        return {"loss": loss, "accuracy": accuracy}

    def score(self, figures):
        return [figures["accuracy"], -figures["loss"]]            # accuracy, ties by loss


def pad_sequences(sequences):
    """Id arrays (T_i,) or numbers (T_i, F) as one batch and its mask (B, T)."""
    return pad_values(sequences, sequences[0].dtype) if sequences[0].ndim == 2 else pad_batch(sequences)


def drop_words(ids, mask, rate, rng):
    """Word dropout: each real word of the batch read as <unk> with probability rate (a new
    array), so the network cannot lean on any one word; drawn from rng."""
    dropped = rng.random(ids.shape) < rate
    if mask is not None:
        dropped &= mask
    return np.where(dropped, UNK_ID, ids)


def train(model, train_data, config, rng, test_data=None, *, valid_data=None, listener=None, **settings):
    """Train a classifier in place on LabelledSequences (settings: ClassifyTask's shuffle,
    bucket, word_dropout). Returns the history: a Record per epoch."""
    task = ClassifyTask(train_data, valid_data, test_data, **settings)
    return Trainer(model, task, config, rng, listener=listener).run()
