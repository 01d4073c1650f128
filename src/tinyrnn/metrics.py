"""Classification metrics from predictions: confusion matrix, per-class precision, recall, F1."""
from dataclasses import dataclass

import numpy as np


def confusion_matrix(targets, predicted, num_classes):
    """(C, C) counts: row = true class, column = predicted class."""
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (targets, predicted), 1)
    return confusion


@dataclass
class ClassScores:
    precision: np.ndarray       # (C,) of the predictions of class c, the share that are c
    recall: np.ndarray          # (C,) of the examples of class c, the share predicted c
    f1: np.ndarray              # (C,) harmonic mean of the two
    support: np.ndarray         # (C,) examples of class c


def class_scores(confusion):
    """Per-class precision, recall and F1 of a confusion matrix; a ratio with nothing to
    count (no predictions of c, no examples of c) is 0, as in scikit-learn's zero_division=0."""
    confusion = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(confusion)
    predicted, support = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    return ClassScores(precision, recall, f1, support.astype(np.int64))


def most_confident_errors(probs, targets, count):
    """Indices of up to `count` wrongly predicted rows, the most confident (highest
    predicted probability) first."""
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != targets)
    confidence = probs[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:count]


def translation_scores(hypotheses, references):
    """Corpus BLEU and chrF (0-100) of translated texts against one reference each, computed by
    sacrebleu, the standard implementation (an optional extra: {"bleu": None, "chrf": None}
    without it). Texts are compared as written, with sacrebleu's default tokenisation (13a);
    tokenised text (a period split off) is what tinyrnn writes, so BLEU is told not to warn."""
    try:
        import sacrebleu
    except ImportError:
        return {"bleu": None, "chrf": None}
    return {"bleu": float(sacrebleu.corpus_bleu(hypotheses, [references], force=True).score),
            "chrf": float(sacrebleu.corpus_chrf(hypotheses, [references]).score)}
