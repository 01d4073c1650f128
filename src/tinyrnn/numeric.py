"""Numbers as a network reads them: sequences of F numbers per step padded into one batch,
and the standardisation fitted on training data that a model stores and applies.

    x'_t = (x_t - mean) / std          per feature, mean and std of the training data
    forecast, window scaling:  x'_t = (x_t - m_w) / s_w,  y = y' s_w + m_w
                               m_w, s_w the mean and standard deviation of the window itself,
                               s_w = sqrt(var_w + (WINDOW_FLOOR std)^2)
"""
import numpy as np

from .errors import DataError

TINY_SPREAD = 16          # a feature whose spread is within this many float64 steps of its mean (the
                          # rounding of a mean of equal numbers) does not vary: it keeps std 1 (its
                          # values are then only shifted)
COARSEST = 2.0 ** -10     # the model's numbers near the data must be at most this much of a std apart
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


def fit_standardization(arrays, dtype=np.float64, what="numbers"):
    """Per-column mean and standard deviation of the rows of arrays ((n_i, F) each) together,
    fitted in float64 and given as dtype, the model's: (mean (F,), std (F,)). A column that
    never varies (a spread within TINY_SPREAD float64 steps of its mean) gets std 1. A DataError
    (what: the numbers' kind, for the message) if dtype cannot hold the standardisation: a
    spread beyond its range (1e-300 in float32 would divide by zero), or one too small beside
    the mean for its digits (1.7e9 +- 10 in float32, whose numbers there are 128 apart)."""
    rows = np.concatenate([np.asarray(array, dtype=np.float64).reshape(len(array), -1) for array in arrays])
    with np.errstate(all="ignore"):
        mean, std = rows.mean(axis=0), rows.std(axis=0)
    if not (np.isfinite(mean).all() and np.isfinite(std).all()):
        raise DataError("the numbers are too large to standardise (their mean or spread is not a finite "
                        "number); scale them down")
    small = np.abs(rows - mean).max(axis=0, initial=0.0) < 1e-100     # squares that would underflow
    if small.any():
        std[small] = root_mean_square(rows[:, small] - mean[small], axis=0)
    varies = std > TINY_SPREAD * np.spacing(np.abs(mean))             # more than the rounding of a mean
    return _held_in(dtype, mean, np.where(varies, std, 1.0), varies, what)


def _held_in(dtype, mean, std, varies, what):
    """(mean, std) as dtype, checked: see fit_standardization."""
    info, name = np.finfo(dtype), np.dtype(dtype).name
    with np.errstate(all="ignore"):
        mean_in, std_in = mean.astype(dtype), std.astype(dtype)
        spacing = np.spacing(np.abs(mean_in) + 3 * std_in)             # between neighbours near the data
    narrow = np.flatnonzero(~np.isfinite(mean_in) | (std_in < info.tiny) | ~np.isfinite(std_in))
    if len(narrow):
        raise DataError(f"the {what} have a spread of {std[narrow[0]]:.3g}, beyond what {name} holds "
                        f"(normal numbers from {info.tiny:.3g} to {info.max:.3g})", remedy="float64")
    coarse = np.flatnonzero(varies & (spacing > std_in * COARSEST))
    if len(coarse):
        column = coarse[0]
        raise DataError(f"the {what} vary by {std[column]:.3g} about {mean[column]:.10g}, where {name}'s numbers "
                        f"are {float(spacing[column]):.3g} apart: too coarse to tell them apart",
                        remedy="float64 offset")
    return mean_in, std_in


def root_mean_square(values, axis=None):
    """sqrt(mean(values^2)), each value divided by the largest |value| first, so that no square
    underflows or overflows (the numbers of a series in nanometres, or of 1e-200)."""
    values = np.asarray(values, dtype=np.float64)
    largest = np.abs(values).max(axis=axis, keepdims=True, initial=0.0)
    unit = np.where(largest > 0, largest, 1.0)
    return np.squeeze(largest, axis) * np.sqrt(np.mean((values / unit) ** 2, axis=axis))


def window_scale(values, floor):
    """Each window's own mean and spread: values (B, W, C) -> (m_w, s_w), each (B, 1, C);
    s_w = sqrt(var_w + floor^2), so a flat window divides by floor, not zero."""
    mean = values.mean(axis=1, keepdims=True)
    spread = np.sqrt(values.var(axis=1, keepdims=True) + floor * floor)
    if (spread < np.sqrt(np.finfo(spread.dtype).tiny) * 1e3).any():         # squares near underflow:
        centered = values - mean                                            # in units of the largest
        unit = np.maximum(np.abs(centered).max(axis=1, keepdims=True), floor)
        unit = np.where(unit > 0, unit, 1.0)
        spread = unit * np.sqrt(((centered / unit) ** 2).mean(axis=1, keepdims=True) + (floor / unit) ** 2)
    return mean, spread
