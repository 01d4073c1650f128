"""Softmax cross-entropy: the loss of the walkthrough, L = -ln(p_c), for a batch of rows."""
import numpy as np

from .functional import log_softmax


def softmax_cross_entropy(logits, targets, weights=None):
    """Mean cross-entropy over rows, its gradient, and the probabilities.

    logits  (N, C) float   scores y
    targets (N,)   int     correct class c of each row
    weights (N,)   0/1     optional mask; the mean runs over rows with weight 1

    Returns (loss, dlogits, probs): loss a Python float, dlogits (N, C) = (p - onehot(c)) / n,
    probs (N, C). With one row this is exactly the walkthrough's dL/dy = p - onehot(c).
    """
    rows = np.arange(len(targets))
    log_probs = log_softmax(logits)                      # (N, C)
    probs = np.exp(log_probs)
    losses = -log_probs[rows, targets]                   # (N,) -ln p_c
    dlogits = probs.copy()
    dlogits[rows, targets] -= 1.0                        # dL/dy = p - onehot(c)
    if weights is None:
        count = len(targets)
    else:
        count = float(weights.sum())
        losses = losses * weights
        dlogits *= weights[:, None]
    count = max(count, 1)
    dlogits /= count
    return float(losses.sum() / count), dlogits, probs
