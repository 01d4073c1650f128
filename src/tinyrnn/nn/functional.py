"""Elementwise functions and their derivatives. Pure NumPy, no state."""
import numpy as np


def softmax(logits, axis=-1):
    """p_i = exp(y_i - max y) / sum_j exp(y_j - max y); shifting by the max cannot overflow."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=axis, keepdims=True)


def log_softmax(logits, axis=-1):
    """log p_i = (y_i - max y) - log sum_j exp(y_j - max y), stable for any finite logits."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def tanh_grad(tanh_output):
    """d tanh(z) / dz written with the output y = tanh(z): 1 - y^2."""
    return 1.0 - tanh_output * tanh_output


def sigmoid(z):
    """1 / (1 + exp(-z)), computed without overflow for large |z|."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))
