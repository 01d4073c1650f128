"""A language model: predict each next token of one long text, with truncated
backpropagation through time.

The training text is cut into B parallel streams (one per batch row). Each step reads the
next chunk of seq_length tokens of every stream: the hidden state is carried from one
chunk to the next, but gradients stop at the chunk boundary (the carried state is a
constant for the step). At the end of the text the state is reset and a new epoch begins.
Counts of log points, early stop and checkpoints are in steps; validation is the mean
cross-entropy per token of the held-out text, at each log point; the training loss reported
there is the mean per token since the previous one (a pass's shorter last chunk counts for
the tokens it has)."""
import math

import numpy as np

from ..data.corpus import streams
from ..errors import ConfigError
from ..training.loop import Trainer
from ..training.task import Batch, Task, length_batches
from ..vocab import pad_batch

NATS_PER_BIT = math.log(2)


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


class LanguageModelTask(Task):
    """train_ids, valid_ids: the training and held-out texts as token ids (valid: None or
    too short for none). sum_over_time: gradients of the per-sequence sum (min-char-rnn)."""

    unit = "step"
    carries_state = True

    def __init__(self, train_ids, valid_ids=None, seq_length=25, sum_over_time=False):
        self.train_ids, self.seq_length, self.sum_over_time = train_ids, seq_length, sum_over_time
        self.valid = valid_ids if valid_ids is not None and len(valid_ids) > 1 else None
        self.streams = None

    def prepare(self, config):
        if type(self.seq_length) is not int or self.seq_length < 1:
            raise ConfigError(f"seq length must be a positive integer, got {self.seq_length}")
        if config.target_accuracy is not None:
            raise ConfigError("a language model is measured by its loss; a target accuracy needs a classifier")
        if (config.keep_best or config.early_stop) and self.valid is None:
            raise ConfigError("keeping the best log point and early stopping need validation text")
        self.streams = streams(self.train_ids, config.batch_size)          # (B, L) inputs, targets

    def settings(self):
        return {"seq_length": self.seq_length, "sum_over_time": self.sum_over_time}

    def epoch_batches(self, config, rng):
        """A pass: the start column of each chunk, in order (nothing is drawn)."""
        return list(range(0, self.streams[0].shape[1], self.seq_length))

    def batch(self, start, rng):
        inputs, targets = self.streams
        x, y = inputs[:, start:start + self.seq_length], targets[:, start:start + self.seq_length]
        return Batch(x, None, y, x.size, {"sum_over_time": self.sum_over_time} if self.sum_over_time else {})

    def evaluate(self, model, ids):
        return {"loss": evaluate_lm(model, ids)}


class TextsTask(Task):
    """A language model over separate texts (sentences, documents), each read from s_0 = 0 as
    a classifier reads it, predicting each next token: batches of texts of similar lengths,
    padded and masked (length_batches), counted in epochs. sequences: the texts' id arrays
    (those of fewer than 2 tokens predict nothing and are left out). No validation."""

    def __init__(self, sequences):
        self.sequences = [np.asarray(seq) for seq in sequences if len(seq) >= 2]
        if not self.sequences:
            raise ConfigError("no text has two tokens: nothing to predict")
        self.lengths = np.array([len(seq) - 1 for seq in self.sequences])

    def settings(self):
        return {"texts": len(self.sequences)}

    def epoch_batches(self, config, rng):
        return length_batches(self.lengths, config.batch_size, rng)

    def batch(self, rows, rng):
        ids, mask = pad_batch([self.sequences[row][:-1] for row in rows])      # x_1 .. x_{T-1}
        targets, _ = pad_batch([self.sequences[row][1:] for row in rows])      # x_2 .. x_T
        return Batch(ids, mask, targets, int(mask.sum()))

    def evaluate(self, model, data):
        raise NotImplementedError("a language model over texts has no validation here")


def train_language_model(model, train_ids, config, valid_ids=None, *, rng=None, listener=None, seq_length=25,
                         sum_over_time=False):
    """Train a language model in place (rng: the dropout masks). Returns the history: a
    Record per log point."""
    task = LanguageModelTask(train_ids, valid_ids, seq_length, sum_over_time)
    return Trainer(model, task, config, rng, listener=listener).run()
