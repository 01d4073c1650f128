"""Pretraining for a classifier (train --pretrain-text): a word language model trained on
unlabelled text (the classifier's own training texts, and a file of more), whose vocabulary,
embedding and recurrent layers the classifier then starts from (Dai & Le, 2015, "Semi-
supervised sequence learning"; Howard & Ruder, 2018, ULMFiT). The language model reads the
texts one after another as running text, 32 streams cut into chunks of 35 words (truncated
backpropagation through time), with the classifier's cell, sizes, layers and dropout."""
import sys
from dataclasses import replace

import numpy as np

from ..data.corpus import build_vocab, encode_text, read_corpus
from ..errors import TinyRNNError
from ..tasks import NATS_PER_BIT, LanguageModelTask
from ..training import Listener, TrainConfig, Trainer
from ..vocab import WORDS

PRETRAIN = {"epochs": 10, "optimizer": "adam", "lr": 0.01, "batch_size": 32, "seq_length": 35,
            "clip_norm": 1.0, "init": "orthogonal"}                  # the recipe of the language model


class PretrainSource:
    """--pretrain-text: "train" (the training texts only) or a FILE of unlabelled text read
    with the run's encoding (added to the training texts)."""

    def __init__(self, spec, encoding, epochs):
        self.path = None if spec == "train" else spec
        self.encoding, self.epochs = encoding, epochs or PRETRAIN["epochs"]
        self.extra = read_corpus(self.path, encoding) if self.path else ""

    def text(self, texts):
        """The text a pretraining reads: the training texts, one per line, then the file's."""
        return "\n".join([*texts, self.extra] if self.extra else texts)


def pretrain_language_model(text, architecture, hidden, dtype, vocab_limits, epochs, seed):
    """A word language model of the classifier's body (cell, hidden, layers, embedding,
    dropout; one direction) trained on text for `epochs` passes; prints a line per pass."""
    vocab = build_vocab(text, WORDS, **vocab_limits)
    ids, _ = encode_text(text, vocab, WORDS)
    if len(ids) < 2 * PRETRAIN["batch_size"]:
        raise TinyRNNError(f"the pretraining text has {len(ids)} words: too few to pretrain on")
    body = replace(architecture, bidirectional=False, pool=None, forget_bias=None)
    model = body.build({"task": "lm", "hidden_size": hidden, "dtype": dtype, "tokenizer": {"kind": "words"}},
                       vocab, None, np.random.default_rng([seed, 7]), PRETRAIN["init"])
    task = LanguageModelTask(ids, None, PRETRAIN["seq_length"])
    steps_per_pass = -(-((len(ids) - 1) // PRETRAIN["batch_size"]) // PRETRAIN["seq_length"])
    config = TrainConfig(epochs=epochs, batch_size=PRETRAIN["batch_size"], optimizer=PRETRAIN["optimizer"],
                         lr=PRETRAIN["lr"], clip_value=None, clip_norm=PRETRAIN["clip_norm"],
                         log_every=max(1, steps_per_pass))
    print(f"pretraining a word language model ({model.describe(short=True)}; {len(vocab.words)} words, "
          f"{len(ids):,} tokens) for {epochs} passes")
    Trainer(model, task, config, np.random.default_rng([seed, 8]), listener=_PassLines()).run()
    return model


class _PassLines(Listener):
    """A line per log point (a pass over the text) on stdout."""

    def on_record(self, record):
        loss = record.train["loss"]
        print(f"    pretraining pass {record.epoch}: loss {loss:.3f} nats/word (perplexity {np.exp(loss):.0f}, "
              f"{loss / NATS_PER_BIT:.2f} bits), {record.train_seconds:.0f} s")
        sys.stdout.flush()
