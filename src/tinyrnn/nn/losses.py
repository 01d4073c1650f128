"""Losses: softmax cross-entropy (the walkthrough's L = -ln p_c) for classes and tokens; mean
squared error and Huber's loss for real targets."""
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


REGRESSION_LOSSES = ("mse", "huber")


def regression_loss(outputs, targets, kind="mse", delta=1.0):
    """Mean over rows and outputs of the error e = y - t, and its gradient (N, R):

        mse:    L = mean e^2                               dL/dy = 2 e / (N R)
        huber:  L = mean (e^2 / 2 if |e| <= delta else delta (|e| - delta / 2))
                                                           dL/dy = clip(e, -delta, delta) / (N R)
    """
    error = outputs - targets
    count = error.size
    if kind == "mse":
        return float(np.vdot(error, error)) / count, error * (2.0 / count)
    if kind != "huber":
        raise ValueError(f"unknown regression loss {kind!r}; expected one of {list(REGRESSION_LOSSES)}")
    size = np.abs(error)
    losses = np.where(size <= delta, 0.5 * error * error, delta * (size - 0.5 * delta))
    return float(losses.sum()) / count, np.clip(error, -delta, delta) / count
