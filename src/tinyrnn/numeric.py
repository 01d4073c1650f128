"""Numbers as a network reads them: sequences of F numbers per step padded into one batch,
and the standardisation fitted on training data that a model stores and applies.

    x'_t = (x_t - mean) / std          per feature, mean and std of the training data
    forecast, window scaling:  x'_t = (x_t - m_w) / s_w,  y = y' s_w + m_w
                               m_w, s_w the mean and standard deviation of the window itself,
                               s_w = sqrt(var_w + (WINDOW_FLOOR std)^2)
"""
import numpy as np

from .errors import DataError

TINY_SPREAD = 1e-8        # a feature that never varies keeps std 1 (its values are then only shifted)
WINDOW_FLOOR = 0.03       # a window's spread is at least this much of the training series' std: the step
                          # after a flat window stays tens of units, not thousands (0.1 bent the airline
                          # forecasts: sMAPE 5.1 against 3.3; docs/benchmarks.md)


def pad_values(sequences, dtype=np.float64):
    """Sequences (T_i, F) -> values (B, T, F) padded with zeros, mask (B, T) bool."""
    longest = max(len(seq) for seq in sequences)
    values = np.zeros((len(sequences), longest, sequences[0].shape[1]), dtype=dtype)
    mask = np.zeros((len(sequences), longest), dtype=bool)
    for row, seq in enumerate(sequences):
        values[row, :len(seq)] = seq
        mask[row, :len(seq)] = True
    return values, mask


def fit_standardization(arrays):
    """Per-column mean and standard deviation of the rows of arrays ((n_i, F) each) together:
    (mean (F,), std (F,)); a column that never varies gets std 1."""
    rows = np.concatenate([np.asarray(array, dtype=np.float64).reshape(len(array), -1) for array in arrays])
    with np.errstate(all="ignore"):
        mean, std = rows.mean(axis=0), rows.std(axis=0)
    if not (np.isfinite(mean).all() and np.isfinite(std).all()):
        raise DataError("the numbers are too large to standardise (their mean or spread is not a finite "
                        "number); scale them down")
    return mean, np.where(std > TINY_SPREAD * np.maximum(np.abs(mean), 1.0), std, 1.0)


def window_scale(values, floor):
    """Each window's own mean and spread: values (B, W, C) -> (m_w, s_w), each (B, 1, C);
    s_w = sqrt(var_w + floor^2), so a flat window divides by floor, not zero."""
    mean = values.mean(axis=1, keepdims=True)
    spread = np.sqrt(values.var(axis=1, keepdims=True) + floor * floor)
    return mean, spread
