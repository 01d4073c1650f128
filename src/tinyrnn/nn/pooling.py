"""What a classifier's output layer reads from the top layer's outputs h_t (T, B, F),
F = D*H with both directions' h_t side by side:

    last:  the final state of each direction, h_n (the walkthrough's choice)
    mean:  (1 / n) sum_t m_t h_t          over the n real steps (m_t = 1)
    max:   max_t h_t, element by element,  over the real steps

Mean and max give every word a direct path to the output, which helps on longer texts.
"""
import numpy as np

POOLS = ("last", "mean", "max")


def pool_forward(kind, outputs, mask):
    """outputs (T, B, F), mask (T, B) bool or None -> (features (B, F), what backward needs)."""
    T, B, F = outputs.shape
    real = np.ones((T, B, 1), outputs.dtype) if mask is None else mask[:, :, None].astype(outputs.dtype)
    if kind == "mean":
        counts = np.maximum(real.sum(axis=0), 1.0)                              # n per row, (B, 1)
        return (outputs * real).sum(axis=0) / counts, (real, counts)
    masked = np.where(real > 0, outputs, -np.inf)                              # padding never wins
    winners = masked.argmax(axis=0)                                            # (B, F)
    return np.take_along_axis(outputs, winners[None], axis=0)[0], winners


def pool_backward(kind, d_features, cache, shape):
    """dL/dh_t (T, B, F) from dL/dfeatures (B, F): shared equally by the real steps (mean),
    or all to the step that held the maximum (max)."""
    if kind == "mean":
        real, counts = cache
        return real * (d_features / counts)[None]                              # m_t / n * d
    d_outputs = np.zeros(shape, d_features.dtype)
    np.put_along_axis(d_outputs, cache[None], d_features[None], axis=0)
    return d_outputs
