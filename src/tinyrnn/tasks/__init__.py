"""Tasks: what each kind of model trains on and how it is measured, plugged into the one
training loop (training/loop.py): classify (labelled texts, many-to-one), lm (a text,
many-to-many) and seq2seq (pairs of texts, an encoder-decoder)."""
from .classify import ClassifyTask, LabelledSequences, encode_examples, evaluate, train
from .language_model import LanguageModelTask, NATS_PER_BIT, TextsTask, evaluate_lm, train_language_model
from .seq2seq import PairedSequences, Seq2SeqTask, encode_pairs, evaluate_pairs, train_seq2seq

__all__ = ["ClassifyTask", "LabelledSequences", "LanguageModelTask", "NATS_PER_BIT", "TextsTask", "encode_examples",
           "evaluate", "evaluate_lm", "train", "train_language_model", "PairedSequences", "Seq2SeqTask",
           "encode_pairs", "evaluate_pairs", "train_seq2seq"]
