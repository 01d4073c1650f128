"""Tasks: what each kind of model trains on and how it is measured, plugged into the one
training loop (training/loop.py): classify (labelled texts, many-to-one) and lm (a text,
many-to-many)."""
from .classify import ClassifyTask, LabelledSequences, encode_examples, evaluate, train
from .language_model import LanguageModelTask, NATS_PER_BIT, evaluate_lm, train_language_model

__all__ = ["ClassifyTask", "LabelledSequences", "LanguageModelTask", "NATS_PER_BIT", "encode_examples",
           "evaluate", "evaluate_lm", "train", "train_language_model"]
