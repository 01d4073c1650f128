"""The UEA/UCR archive's .ts format, as sktime and aeon write it: @-keyword header lines, then
one example per line, dimensions separated by ':', values by ',', the label (or real target)
last. Missing values (? or NaN) at the end of a dimension are padding; anywhere else an error."""
import math

import numpy as np

from ..errors import DataError
from ..text_output import first_repeated, printable
from .loaders import read_text
from .numeric_set import NumericSet, check_task, finite_number, plain, trim

_TS_FLAGS = ("timestamps", "missing", "univariate", "equallength", "targetlabel")
_TS_KEYWORDS = ("@problemName", "@timeStamps", "@missing", "@univariate", "@dimensions", "@equalLength",
                "@seriesLength", "@classLabel", "@targetLabel", "@data")



def read_ts(path, encoding="utf-8", task=None, labels_optional=False):
    """A .ts file. task None: regression if @targetLabel true, else classification if
    @classLabel true; "regress" also reads class labels as numbers. labels_optional: a file with
    neither reads as sequences alone (labels and targets None)."""
    check_task(task)
    path = str(path)
    lines = read_text(path, encoding).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header, data_line = _ts_header(path, lines)
    allowed, regress = header["classlabel"], task == "regress" or header["targetlabel"]
    unlabelled = allowed is None and not header["targetlabel"]
    if unlabelled and not labels_optional:
        raise DataError(f"{path}: no labels or targets (neither @classLabel true nor @targetLabel true)")
    if header["targetlabel"] and task == "classify":
        raise DataError(f"{path}: real targets (@targetLabel true), not class labels", remedy="task")
    dimensions = header["dimensions"] or (1 if header["univariate"] else None)
    length = header["serieslength"]                 # given: every series has that many steps
    series, answers, sources = [], [], []
    for number, line in enumerate(lines[data_line:], start=data_line + 1):
        line, where = line.strip(), f"{path}:{number}"
        if not line or line.startswith("#"):
            continue
        *fields, answer = line.split(":") + ([""] if unlabelled else [])
        answer = answer.strip()
        if not fields:
            raise DataError(f"{where}: no label; expected the values, ':', then the label")
        if not (unlabelled or regress) and answer not in allowed:
            raise DataError(f"{where}: label {answer!r} is not one of @classLabel's: {' '.join(allowed)}")
        dimensions = dimensions or len(fields)
        if len(fields) != dimensions:
            raise DataError(f"{where}: {len(fields)} dimensions, expected {dimensions}")
        answers.append(None if unlabelled else finite_number(answer, where, "the target") if regress else answer)
        if header["equallength"] and length is None:             # @equalLength true, no @seriesLength:
            length = len(fields[0].split(","))                    # every series as long as the first
        elif header["equallength"] and length != len(fields[0].split(",")) and not header["serieslength"]:
            raise DataError(f"{where}: {len(fields[0].split(','))} steps; @equalLength is true and the first "
                            f"series has {length}")
        series.append(_ts_example(fields, where, length, header.get("missing") is not False))
        sources.append(where)
    if not series:
        raise DataError(f"{path}:{data_line}: no examples after @data")
    if unlabelled:
        return NumericSet(series, None, None, sources, [f"dim_{d}" for d in range(dimensions)], None)
    targets = np.array(answers, dtype=np.float64).reshape(-1, 1) if regress else None   # (N, 1)
    return NumericSet(series, None if regress else answers, targets, sources,
                      [f"dim_{d}" for d in range(dimensions)], ["target"] if regress else None)


def _ts_header(path, lines):
    """The header as {lowercase keyword: value}, and the line number of @data."""
    header = dict.fromkeys(_TS_FLAGS, False) | dict(missing=None, dimensions=None, serieslength=None, classlabel=None)
    for number, line in enumerate(lines, start=1):
        words, where = line.split(), f"{path}:{number}"
        if not words or words[0].startswith("#"):
            continue
        if not words[0].startswith("@"):
            raise DataError(f"{where}: data before the @data line")
        keyword = words.pop(0)[1:].lower()
        if keyword == "data":
            return header, number
        if keyword in _TS_FLAGS:
            header[keyword] = _ts_flag(words, where, keyword)
        elif keyword == "classlabel":
            header[keyword] = words[1:] if _ts_flag(words[:1], where, keyword) else None
            twice = first_repeated(header[keyword] or [])
            if twice is not None:
                raise DataError(f"{where}: @classLabel lists {printable(twice)[:40]!r} twice")
        elif keyword in ("dimensions", "serieslength"):
            if len(words) != 1 or not (words[0].isascii() and words[0].isdigit()) or int(words[0]) < 1:
                raise DataError(f"{where}: @{keyword} expects a whole number >= 1, got {' '.join(words)!r}")
            header[keyword] = int(words[0])
        elif keyword != "problemname":
            raise DataError(f"{where}: unknown header @{keyword} (known: {', '.join(_TS_KEYWORDS)})")
        if header["timestamps"]:
            raise DataError(f"{where}: @timeStamps true is not supported")
        if header["classlabel"] == []:
            raise DataError(f"{where}: @classLabel true lists no labels")
    raise DataError(f"{path}: no @data line")


def _ts_flag(words, where, keyword):
    if len(words) != 1 or words[0].lower() not in ("true", "false"):
        raise DataError(f"{where}: @{keyword} expects true or false, got {' '.join(words)!r}")
    return words[0].lower() == "true"


def _ts_example(fields, where, length, missing_allowed=True):
    """One example's dimensions as (T_i, F), trailing missing values dropped (a DataError if
    the header says @missing false)."""
    dimensions = [_ts_values(field, where, d) for d, field in enumerate(fields, start=1)]
    if not missing_allowed and any(np.isnan(values).any() for values in dimensions):
        raise DataError(f"{where}: a missing value ('?' or NaN), though @missing is false")
    wrong = [len(values) for values in dimensions if length not in (None, len(values))]
    if wrong:
        raise DataError(f"{where}: {wrong[0]} steps; @seriesLength is {length}")
    padded = np.full((max(map(len, dimensions)), len(dimensions)), np.nan)  # (longest, F)
    for d, values in enumerate(dimensions):
        padded[:len(values), d] = values
    example, inside = trim(padded)
    if not len(example):
        raise DataError(f"{where}: every value is missing")
    if inside is not None:
        raise DataError(f"{where}: a missing value inside the series (dimension {inside[1] + 1}, step "
                        f"{inside[0] + 1}); tinyrnn masks only missing values at the end")
    return example


def _ts_values(field, where, dimension):
    """One dimension's comma-separated values as float64, missing ones ('?', NaN) as NaN."""
    texts = field.split(",")
    try:
        if not plain(field):
            raise ValueError                        # (found and named below)
        values = np.array(texts, dtype=np.float64)
        if np.isinf(values).any():
            raise ValueError                        # found and named below
    except ValueError:
        values = np.array([math.nan if text.strip().lower() in ("?", "nan") else
                           finite_number(text, where, f"dimension {dimension}, step {step}")
                           for step, text in enumerate(texts, start=1)])
    return values
