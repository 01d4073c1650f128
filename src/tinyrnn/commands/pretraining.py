"""Pretraining for a classifier (train --pretrain-text): a word language model trained on
unlabelled text (the classifier's own training texts, and a file of more), whose vocabulary,
embedding and recurrent layers the classifier then starts from (Dai & Le, 2015, "Semi-
supervised sequence learning"; Howard & Ruder, 2018, ULMFiT). It reads the texts as the
classifier will, one at a time from a zero state (each line of the file is a text),
predicting each next word, in batches of 32 texts of similar lengths, with the classifier's
cell, sizes, layers and dropout. For a bidirectional classifier (one layer), a second
language model reads each text backwards (each word predicted from the ones after it) on the
first one's embedding, kept fixed, so that both directions of the classifier start
pretrained over one embedding. With --checkpoint-dir each pretraining is checkpointed in a
sub-folder (checkpointing.PHASES): a stopped run resumes inside it, and a resume after it
reads its weights back instead of training them again."""
import hashlib
import sys
from contextlib import nullcontext
from dataclasses import replace
from functools import partial

import numpy as np

from ..checkpoint import fingerprint
from ..data.corpus import build_vocab, read_corpus
from ..errors import TinyRNNError
from ..tasks import NATS_PER_BIT, TextsTask
from ..training import Listener, TrainConfig, Trainer, run_signature
from ..vocab import WORDS
from .checkpointing import deferred_signals
from .training import epoch_where

PRETRAIN = {"epochs": 10, "optimizer": "adam", "lr": 0.003, "batch_size": 32, "clip_norm": 1.0,
            "init": "orthogonal"}                                   # the recipe of the language model


class PretrainSource:
    """--pretrain-text: "train" (the training texts only) or a FILE of unlabelled text read
    with the run's encoding, one text per line (added to the training texts)."""

    def __init__(self, spec, encoding, epochs):
        self.path = None if spec == "train" else spec
        self.encoding, self.epochs = encoding, epochs or PRETRAIN["epochs"]
        self.extra = read_corpus(self.path, encoding).split("\n") if self.path else []

    def texts(self, training_texts):
        """What a pretraining reads: the training texts, then the file's lines."""
        return [*training_texts, *(line for line in self.extra if line.strip())]


def pretrain_language_models(texts, architecture, hidden, dtype, vocab_limits, epochs, seed, checkpoints=None,
                             cadence=None, before=None):
    """(forward, backward or None, SHA-256 of the texts): word language models of the
    classifier's body (cell, hidden, layers, embedding, dropout) trained on texts for
    `epochs` passes each, printing a line per pass; the backward one (for a bidirectional
    classifier) reads each text in reverse order on the forward one's embedding, which it
    does not change. checkpoints: the run's CommandCheckpoints (or None), with cadence
    {checkpoint_every, checkpoint_minutes}; before(forward): called before any training
    (to check what the run will write against the model it will make)."""
    if architecture.bidirectional and (architecture.num_layers or 1) > 1:
        raise TinyRNNError("--pretrain-text pretrains a bidirectional classifier of one layer (the layers above "
                           "read both directions at once); give --layers 1 or --no-bidirectional")
    joined = "\n".join(texts)
    vocab = build_vocab(joined, WORDS, **vocab_limits)
    sequences = [vocab.encode(WORDS.split(text))[0] for text in texts]
    tokens = sum(len(seq) for seq in sequences)
    if sum(len(seq) > 1 for seq in sequences) == 0:
        raise TinyRNNError("the pretraining texts have no text of two words: nothing to predict")
    body = replace(architecture, bidirectional=False, pool=None, forget_bias=None)
    settings = {"task": "lm", "hidden_size": hidden, "dtype": dtype, "tokenizer": {"kind": "words"}}
    forward = body.build(settings, vocab, None, np.random.default_rng([seed, 7]), PRETRAIN["init"])
    if before is not None:
        before(forward)
    passes = f"{epochs} pass{'es' * (epochs != 1)}"
    print(f"pretraining a word language model ({forward.describe(short=True)}; {len(vocab.words)} words, "
          f"{len(sequences):,} texts, {tokens:,} tokens) for {passes}")
    phase = (checkpoints, cadence or {})                 # (checkpointed as the run asks)
    _pretrain(forward, sequences, epochs, seed, (), "pretraining", *phase)
    digest = hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()
    if not architecture.bidirectional:
        return forward, None, digest
    backward = body.build(settings, vocab, None, np.random.default_rng([seed, 9]), PRETRAIN["init"])
    embedded = "embedding.weight" in backward.params
    if embedded:
        backward.params["embedding.weight"][...] = forward.params["embedding.weight"]
    print(f"pretraining it backwards (each word from the words after it) for {passes}")
    _pretrain(backward, [seq[::-1].copy() for seq in sequences], epochs, seed + 1,
              ("embedding.weight",) if embedded else (), "pretraining-backward", *phase)
    return forward, backward, digest


def _pretrain(model, sequences, epochs, seed, frozen, name, checkpoints, cadence):
    """Train model on sequences: the phase `name` of the run's checkpoints, when it has
    them (cadence: their {checkpoint_every, checkpoint_minutes})."""
    config = TrainConfig(epochs=epochs, batch_size=PRETRAIN["batch_size"], optimizer=PRETRAIN["optimizer"],
                         lr=PRETRAIN["lr"], clip_value=None, clip_norm=PRETRAIN["clip_norm"], log_every=1,
                         frozen=frozen, **cadence)
    task = TextsTask(sequences)
    trainer = Trainer(model, task, config, np.random.default_rng([seed, 8]), listener=_PassLines())
    if checkpoints is not None:
        signature = run_signature(model, config, task, seed, fingerprint(*sequences))
        if not checkpoints.start_phase(name, trainer, signature, partial(epoch_where, unit="pass")):
            return                                   # finished before: its weights are read back
    with deferred_signals(trainer) if checkpoints is not None else nullcontext():
        trainer.run()


class _PassLines(Listener):
    """A line per log point (a pass over the text) on stdout."""

    def on_record(self, record):
        loss = record.train["loss"]
        print(f"    pretraining pass {record.epoch}: loss {loss:.3f} nats/word (perplexity {np.exp(loss):.0f}, "
              f"{loss / NATS_PER_BIT:.2f} bits), {record.train_seconds:.0f} s")
        sys.stdout.flush()
