"""The shapes numeric data takes once read (NumericSet: sequences with labels or real targets;
Series: long series for forecasting), and the checks every reader shares."""
import math
from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from ..text_output import odd_name, printable

TASKS = ("classify", "regress")


@dataclass
class NumericSet:
    """Numeric sequences: series[i] (T_i, F) float64, finite, with label labels[i] (classification)
    or real targets targets[i] (regression); read at sources[i] ("file:line")."""

    series: list                    # of (T_i, F) float64 arrays, T_i >= 1, all finite
    labels: list | None             # class labels as strings (classification), else None
    targets: np.ndarray | None      # (N, R) float64 (regression), else None
    sources: list                   # "file:line" of each example (npz: "file:row i")
    feature_names: list             # F names
    target_names: list | None       # R names of the real targets, else None

    def __post_init__(self):
        """Names and labels are printed in tables and TSV lines: one with a control, line-break
        or invisible character is refused where it was read."""
        for i, label in enumerate(self.labels or []):
            if odd_name(label):
                raise DataError(f"{self.sources[i]}: label '{printable(label)[:60]}' holds a control, line-break "
                                f"or invisible character")
        odd = next((name for name in [*self.feature_names, *(self.target_names or [])] if odd_name(name)), None)
        if odd is not None:
            raise DataError(f"{self.sources[0] if self.sources else 'the data'}: the name '{printable(odd)[:60]}' "
                            f"holds a control, line-break or invisible character")

    def __len__(self):
        return len(self.series)

    def subset(self, rows):
        """The examples at rows, in that order."""
        rows = np.asarray(rows, dtype=np.intp).reshape(-1)
        return NumericSet([self.series[i] for i in rows],
                          None if self.labels is None else [self.labels[i] for i in rows],
                          None if self.targets is None else self.targets[rows],
                          [self.sources[i] for i in rows], list(self.feature_names), self.target_names)

    @property
    def num_features(self):
        return len(self.feature_names)


@dataclass
class Series:
    """One or more long series in time order, for forecasting."""

    values: np.ndarray              # (T, C) float64, finite
    names: list                     # C column names
    times: list | None              # the time column's strings (e.g. "1949-01"), or None
    source: str                     # the path


def check_task(task):
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be 'classify' or 'regress', got {task!r}")


MAX_STEPS = 100_000       # one sequence's steps: more would take gigabytes to train on
MAX_MAGNITUDE = 1e150     # larger numbers overflow when squared (a spread, a squared error) in float64


def plain(text):
    """Is text written as files and options write numbers: ASCII, without underscores?
    (Python's float() and int(), and NumPy's, also read "1_0" as 10 and other scripts'
    digits, "\uff11" as 1.)"""
    return text.isascii() and "_" not in text


def plain_float(text):
    """float(text) of a plain() number; a ValueError for any other text."""
    if isinstance(text, str) and not plain(text):
        raise ValueError(f"not a plain number: {text!r}")
    return float(text)


def finite_number(text, where, what):
    """text as a finite float of magnitude at most MAX_MAGNITUDE, or a DataError naming where and what."""
    try:
        value = plain_float(text)
    except ValueError:
        raise DataError(f"{where}: {what} is not a number ({str(text).strip()[:40]!r})") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: {what} is not a finite number ({str(text).strip()[:40]!r})")
    if abs(value) > MAX_MAGNITUDE:
        raise DataError(f"{where}: {what} is {value:.3g}, beyond +-{MAX_MAGNITUDE:.0e}: its square would overflow; "
                        f"rescale the data")
    return value


def check_magnitude(values, where, what):
    """A DataError naming where and what when an array's finite numbers exceed MAX_MAGNITUDE."""
    large = np.abs(np.nan_to_num(values, nan=0.0)) > MAX_MAGNITUDE
    if large.any():
        position = ", ".join(map(str, np.argwhere(large)[0]))
        raise DataError(f"{where}: {what} at [{position}] is beyond +-{MAX_MAGNITUDE:.0e}: its square would "
                        f"overflow; rescale the data")


def is_number(text):
    try:
        return math.isfinite(plain_float(text))
    except ValueError:
        return False


def trim(values):
    """values (T, F) without its trailing all-NaN steps, and (step, feature) of the first NaN left."""
    missing = np.isnan(values)                                              # (T, F)
    present = np.flatnonzero(~missing.all(axis=1))
    length = int(present[-1]) + 1 if present.size else 0
    inside = np.argwhere(missing[:length])
    return values[:length].copy(), (tuple(int(i) for i in inside[0]) if len(inside) else None)
