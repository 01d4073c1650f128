"""Softmax cross-entropy: the loss of the walkthrough, L = -ln(p_c), for a batch of rows."""
import numpy as np


def softmax_cross_entropy(logits, targets, weights=None):
    """Mean cross-entropy over rows, its gradient, and the probabilities.

    logits  (N, C) float   scores y
    targets (N,)   int     correct class c of each row
    weights (N,)   0/1     optional mask; the mean runs over rows with weight 1

    Returns (loss, dlogits, probs): loss a Python float, dlogits (N, C) = (p - onehot(c)) / n,
    probs (N, C). With one row this is exactly the walkthrough's dL/dy = p - onehot(c).
    """
    rows = np.arange(len(targets))
    shifted = logits - logits.max(axis=1, keepdims=True)       # y - max y: exp cannot overflow
    probs = np.exp(shifted)
    sums = probs.sum(axis=1, keepdims=True)
    probs /= sums                                               # p = softmax(y)
    losses = np.log(sums[:, 0]) - shifted[rows, targets]        # -ln p_c
    dlogits = probs.copy()
    dlogits[rows, targets] -= 1.0                               # dL/dy = p - onehot(c)
    if weights is None:
        count = len(targets)
    else:
        count = max(float(weights.sum()), 1.0)
        losses *= weights
        dlogits *= weights[:, None]
    dlogits /= count
    return float(losses.sum()) / count, dlogits, probs
