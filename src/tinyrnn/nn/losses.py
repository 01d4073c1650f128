"""Softmax cross-entropy: the loss of the walkthrough, L = -ln(p_c), for a batch of rows."""
import numpy as np


def softmax_cross_entropy(logits, targets, weights=None):
    """Mean cross-entropy over rows, and its gradient.

    logits  (N, C) float   scores y
    targets (N,)   int     correct class c of each row
    weights (N,)   0/1     optional mask; the mean runs over rows with weight 1

    Returns (loss, dlogits): loss a Python float, dlogits (N, C) = (p - onehot(c)) / n. With
    one row this is exactly the walkthrough's dL/dy = p - onehot(c).
    """
    N, C = logits.shape
    picked = np.arange(0, N * C, C) + targets                          # flat index of y_c per row
    shifted = logits - np.maximum.reduce(logits, axis=1, keepdims=True)  # y - max y: no overflow
    losses = -shifted.ravel()[picked]
    probs = np.exp(shifted, out=shifted)
    sums = np.add.reduce(probs, axis=1, keepdims=True)
    probs /= sums                                                       # p = softmax(y)
    losses += np.log(sums.ravel())                                      # -ln p_c = log sum e^y' - y'_c
    dlogits = probs
    dlogits.ravel()[picked] -= 1.0                                      # dL/dy = p - onehot(c)
    if weights is None:
        count = N
    else:
        count = max(float(np.add.reduce(weights)), 1.0)
        losses *= weights
        dlogits *= weights[:, None]
    dlogits *= 1.0 / count
    return float(np.add.reduce(losses)) / count, dlogits
