"""Sequence to sequence (translation): pairs of token sequences, the decoder taught with the
target shifted right (teacher forcing), the loss the mean cross-entropy per target token.

An epoch's training figures are averaged over its target tokens as they were seen (before
each update): loss and token accuracy. Validation and test are separate passes: the
teacher-forced loss and token accuracy, then the model translates every source on its own
(greedy, or a beam) for the exact-match rate and, where sacrebleu is installed, BLEU and
chrF (metrics.translation_scores). Keep-best and early stop read the validation loss."""
from dataclasses import dataclass

import numpy as np

from ..decoding import search_all
from ..errors import ConfigError, DataError
from ..metrics import translation_scores
from ..training.loop import Trainer
from ..training.task import Batch, Task, length_batches
from ..vocab import PAD_ID, pad_batch


@dataclass
class PairedSequences:
    """Encoded pairs: sources[i] (S_i,) ids, targets[i] (T_i,) ids ending in <eos>, and
    references[i] the target text as the model writes it (its tokens joined; unknown words
    kept as they are)."""

    sources: list
    targets: list
    references: list

    def __len__(self):
        return len(self.sources)


def encode_pairs(model, pairs):
    """Pairs (data/pairs.py) -> (PairedSequences, sorted unknown source tokens, sorted
    unknown target tokens)."""
    sources, unknown_sources = model.encode(pairs.sources)
    for origin, ids in zip(pairs.origins, sources):
        if not len(ids):
            raise DataError(f"{origin}: the source has no {model.tokenizer.unit}s once normalised and tokenised")
    targets, unknown_targets = model.encode_targets(pairs.targets)
    references = ["".join(model.tokenizer.pieces(model.tokenize(text))) for text in pairs.targets]
    return (PairedSequences(sources, targets, references),
            sorted({token for tokens in unknown_sources for token in tokens}),
            sorted({token for tokens in unknown_targets for token in tokens}))


def evaluate_pairs(model, data, beam=1, batch_size=128, translations=True):
    """Figures of model on data: loss (per target token, teacher-forced), token_accuracy,
    and with translations: exact_match (share of translations equal to the reference text),
    bleu and chrf (None without sacrebleu). Returns (figures, translations or None)."""
    loss, tokens, correct = 0.0, 0, 0
    order = np.argsort([len(seq) for seq in data.sources], kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        ids, mask = pad_batch([data.sources[i] for i in rows])
        targets, target_mask = pad_batch([data.targets[i] for i in rows])
        batch_loss, count, predicted = model.loss_sum(ids, None if mask.all() else mask, targets)
        loss, tokens = loss + batch_loss, tokens + count
        correct += int(np.count_nonzero((predicted == targets) & target_mask))
    figures = {"loss": loss / tokens, "token_accuracy": correct / tokens}
    if not translations:
        return figures, None
    found = search_all(model, data.sources, beam)
    hypotheses = [translation.text for translation in found]
    figures["exact_match"] = float(np.mean([h == r for h, r in zip(hypotheses, data.references)]))
    figures.update(translation_scores(hypotheses, data.references))
    return figures, found


class Seq2SeqTask(Task):
    """Batches of pairs drawn anew each epoch, bucketed by source length; validation by loss.

    beam: the beam of the translations measured at evaluation points (1: greedy)."""

    def __init__(self, train_data, valid=None, test=None, shuffle=True, bucket=True, beam=1):
        self.data, self.valid, self.test = train_data, valid, test
        self.shuffle, self.bucket, self.beam = shuffle, bucket, beam

    def prepare(self, config):
        if not len(self.data):
            raise ConfigError("no training pairs")
        if type(self.beam) is not int or self.beam < 1:
            raise ConfigError(f"the beam must be a positive integer, got {self.beam!r}")
        if config.target_accuracy is not None and self.test is None:
            raise ConfigError("a target exact-match rate needs a test set")
        if (config.keep_best or config.early_stop) and self.valid is None:
            raise ConfigError("keeping the best epoch and early stopping need validation data")

    def settings(self):
        return {"shuffle": self.shuffle, "bucket": self.bucket, "beam": self.beam}

    def epoch_batches(self, config, rng):
        """The epoch's batches as arrays of row indices (training.task.length_batches: with
        bucketing, batches of similar source lengths)."""
        lengths = np.array([len(seq) for seq in self.data.sources])
        return length_batches(lengths, config.batch_size, rng, self.shuffle, self.bucket and config.batch_size > 1)

    def batch(self, rows, rng):
        ids, mask = pad_batch([self.data.sources[i] for i in rows])
        targets, _ = pad_batch([self.data.targets[i] for i in rows])
        return Batch(ids, None if mask.all() else mask, targets, int(sum(len(self.data.targets[i]) for i in rows)))

    def tally(self, running, batch, result):
        if not running:
            running.update(loss=0.0, count=0, correct=0)
        running["loss"] += result.loss * batch.count
        running["count"] += batch.count
        running["correct"] += int(np.count_nonzero((result.predicted == batch.targets) & (batch.targets != PAD_ID)))

    def means(self, running):
        return {"loss": running["loss"] / running["count"], "token_accuracy": running["correct"] / running["count"]}

    def evaluate(self, model, data):
        return evaluate_pairs(model, data, self.beam)[0]

    def reaches(self, figures, target_accuracy):
        return figures["exact_match"] >= target_accuracy


def train_seq2seq(model, train_data, config, rng, valid_data=None, test_data=None, *, listener=None, **settings):
    """Train a Seq2Seq model in place on PairedSequences (settings: Seq2SeqTask's shuffle,
    bucket, beam). Returns the history: a Record per epoch."""
    task = Seq2SeqTask(train_data, valid_data, test_data, **settings)
    return Trainer(model, task, config, rng, listener=listener).run()
