"""Pretraining for a classifier (train --pretrain-text): a word language model trained on
unlabelled text (the classifier's own training texts, and a file of more), whose vocabulary,
embedding and recurrent layers the classifier then starts from (Dai & Le, 2015, "Semi-
supervised sequence learning"; Howard & Ruder, 2018, ULMFiT). The language model reads the
texts one after another as running text, 32 streams cut into chunks of 35 words (truncated
backpropagation through time), with the classifier's cell, sizes, layers and dropout. For a
bidirectional classifier (one layer), a second language model reads the text backwards
(each word predicted from the ones after it) on the first one's embedding, kept fixed, so
that both directions of the classifier start pretrained over one embedding."""
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


def pretrain_language_models(text, architecture, hidden, dtype, vocab_limits, epochs, seed):
    """(forward, backward or None): word language models of the classifier's body (cell,
    hidden, layers, embedding, dropout) trained on text for `epochs` passes each, printing a
    line per pass; the backward one (for a bidirectional classifier) reads the words in
    reverse order on the forward one's embedding, which it does not change."""
    vocab = build_vocab(text, WORDS, **vocab_limits)
    ids, _ = encode_text(text, vocab, WORDS)
    if len(ids) < 2 * PRETRAIN["batch_size"]:
        raise TinyRNNError(f"the pretraining text has {len(ids)} words: too few to pretrain on")
    if architecture.bidirectional and (architecture.num_layers or 1) > 1:
        raise TinyRNNError("--pretrain-text pretrains a bidirectional classifier of one layer (the layers above "
                           "read both directions at once); give --layers 1 or --no-bidirectional")
    body = replace(architecture, bidirectional=False, pool=None, forget_bias=None)
    settings = {"task": "lm", "hidden_size": hidden, "dtype": dtype, "tokenizer": {"kind": "words"}}
    forward = body.build(settings, vocab, None, np.random.default_rng([seed, 7]), PRETRAIN["init"])
    print(f"pretraining a word language model ({forward.describe(short=True)}; {len(vocab.words)} words, "
          f"{len(ids):,} tokens) for {epochs} passes")
    _pretrain(forward, ids, epochs, seed, ())
    if not architecture.bidirectional:
        return forward, None
    backward = body.build(settings, vocab, None, np.random.default_rng([seed, 9]), PRETRAIN["init"])
    if "embedding.weight" in backward.params:
        backward.params["embedding.weight"][...] = forward.params["embedding.weight"]
    print(f"pretraining it backwards (each word from the words after it) for {epochs} passes")
    _pretrain(backward, ids[::-1].copy(), epochs, seed + 1,
              ("embedding.weight",) if "embedding.weight" in backward.params else ())
    return forward, backward


def _pretrain(model, ids, epochs, seed, frozen):
    task = LanguageModelTask(ids, None, PRETRAIN["seq_length"])
    steps_per_pass = -(-((len(ids) - 1) // PRETRAIN["batch_size"]) // PRETRAIN["seq_length"])
    config = TrainConfig(epochs=epochs, batch_size=PRETRAIN["batch_size"], optimizer=PRETRAIN["optimizer"],
                         lr=PRETRAIN["lr"], clip_value=None, clip_norm=PRETRAIN["clip_norm"],
                         log_every=max(1, steps_per_pass), frozen=frozen)
    Trainer(model, task, config, np.random.default_rng([seed, 8]), listener=_PassLines()).run()


class _PassLines(Listener):
    """A line per log point (a pass over the text) on stdout."""

    def on_record(self, record):
        loss = record.train["loss"]
        print(f"    pretraining pass {record.epoch}: loss {loss:.3f} nats/word (perplexity {np.exp(loss):.0f}, "
              f"{loss / NATS_PER_BIT:.2f} bits), {record.train_seconds:.0f} s")
        sys.stdout.flush()
