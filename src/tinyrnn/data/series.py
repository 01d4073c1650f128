"""Read numeric sequences: UEA/UCR .ts, NumPy .npz, long CSV/TSV (one row per time step), and
a CSV of long series in time order for forecasting. Shapes: N examples, T_i steps, F features,
R real targets, C value columns. Every problem is a one-line DataError starting with file:line
(or file:); text positions count from 1 (line, dimension, step), .npz rows and steps from 0."""
import calendar
import csv
import datetime
import io
import os
import re
import tokenize
import zipfile
import zlib

import numpy as np

from ..errors import DataError
from ..text_output import first_alike, first_repeated, listed, odd_name, printable
from .loaders import check_path, read_text
from .numeric_set import (MAX_STEPS, TASKS, NumericSet, Series, check_magnitude, check_task, finite_number,
                          is_number, plain_float, trim)
from .ts_format import read_ts

__all__ = ["TASKS", "NumericSet", "Series", "read_numeric", "read_ts", "read_npz", "read_long_csv", "read_series"]


def read_numeric(path, *, encoding="utf-8", id_column=None, time_column=None, target_column=None,
                 feature_columns=None, task="classify", labels_optional=False, data_format=None):
    """Dispatch on data_format ("ts", "npz", "long"), else on the extension: .ts -> read_ts,
    .npz -> read_npz, .csv/.tsv -> read_long_csv. task
    "classify" (targets as string labels), "regress" (targets as floats), or None: for .ts as
    its header says, else "classify". The column options (None: the defaults) are for CSV only.
    labels_optional: a .ts or .npz file without labels or targets reads as sequences alone."""
    path, extension = str(path), os.path.splitext(str(path))[1].lower()
    if data_format:
        extension = {"ts": ".ts", "npz": ".npz", "long": ".csv"}[data_format]
    given = {key: value for key, value in dict(id_column=id_column, time_column=time_column,
             target_column=target_column, feature_columns=feature_columns).items() if value is not None}
    if extension in (".csv", ".tsv", ".tab"):
        return read_long_csv(path, encoding=encoding, task=task, **given)
    if extension not in (".ts", ".npz"):
        raise DataError(f"{path}: cannot tell the format from the file name (.ts, .npz, .csv or .tsv)",
                        remedy="format")
    if given:
        raise DataError(f"{path}: {', '.join(given)} apply only to long CSV/TSV files")
    if extension == ".ts":
        return read_ts(path, encoding, task, labels_optional)
    return read_npz(path, task, labels_optional)


# --- .npz ---
def read_npz(path, task="classify", labels_optional=False):
    """An .npz archive: X (N, T, F) or (N, T) numbers, each series NaN-padded at its end or cut at
    lengths (N,) whole numbers; y (N,) labels, or for task "regress" (N,) or (N, R) numbers
    (labels_optional: y may be missing)."""
    check_task(task)
    path = str(path)
    arrays = _npz_arrays(path, labels_optional)
    X, lengths = arrays["X"], arrays.get("lengths")
    if X.dtype.kind not in "iuf" or X.ndim not in (2, 3) or 0 in X.shape:
        raise DataError(f"{path}: X is {X.dtype} of shape {X.shape}; expected numbers of shape "
                        "(N, T, F) or (N, T), none of them 0")
    X = X.astype(np.float64).reshape(X.shape[0], X.shape[1], -1)           # (N, T, F)
    rows, steps = X.shape[:2]
    if np.isinf(X).any():
        row, step = np.argwhere(np.isinf(X))[0][:2]
        raise DataError(f"{path}: row {row}, step {step}: an infinite value in X")
    check_magnitude(X, path, "X")
    if lengths is not None and (lengths.dtype.kind not in "iu" or lengths.shape != (rows,)
                                or not ((lengths >= 1) & (lengths <= steps)).all()):
        raise DataError(f"{path}: lengths must be ({rows},) whole numbers from 1 to {steps}")
    series = []
    for row in range(rows):
        values, inside = trim(X[row] if lengths is None else X[row, :lengths[row]])
        if not len(values):
            raise DataError(f"{path}: row {row}: every step is missing (NaN)")
        if lengths is not None and len(values) < lengths[row]:
            inside = (len(values), 0)               # within lengths, a missing step is inside
        if inside is not None:
            raise DataError(f"{path}: row {row}, step {inside[0]}: a missing value (NaN) inside the "
                            "series; tinyrnn masks only whole missing steps at the end")
        series.append(values)                                               # (T_i, F)
    labels, targets, target_names = _npz_answers(path, arrays["y"], rows, task) if "y" in arrays else \
        (None, None, None)
    return NumericSet(series, labels, targets, [f"{path}:row {row}" for row in range(rows)],
                      [f"x{f}" for f in range(X.shape[2])], target_names)


def _npz_arrays(path, labels_optional=False):
    """{name: array} of X, y and (if there) lengths in an .npz archive; never unpickles."""
    check_path(path)
    with open(path, "rb") as stream:
        magic = stream.read(2)
    if magic != b"PK":                              # a zip of .npy files, as numpy.savez writes
        raise DataError(f"{path}: not a NumPy .npz archive" + (", but a pickle, which tinyrnn does not "
                        "load (loading one can run code)" if magic[:1] == b"\x80" else ""))
    _check_declared_sizes(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files if name in ("X", "y", "lengths")}
            names = archive.files
    except ValueError as error:
        if "allow_pickle" in str(error):              # an array of Python objects, pickled
            raise DataError(f"{path}: holds an array of Python objects, which tinyrnn does not unpickle; "
                            "save numbers or strings") from None
        raise DataError(f"{path}: a damaged .npz archive (an array's header or data is cut or garbled)") from None
    except MemoryError:
        raise DataError(f"{path}: an array of the archive declares more numbers than memory holds") from None
    except (OSError, EOFError, SyntaxError, OverflowError, tokenize.TokenError, zipfile.BadZipFile, zlib.error):
        raise DataError(f"{path}: a damaged .npz archive") from None
    except (NotImplementedError, RuntimeError) as error:
        raise DataError(f"{path}: an .npz archive numpy.savez does not write ({error})") from None
    other = next((name for name in names if name not in ("X", "y", "lengths")), None)
    if other is not None:                               # (a misspelt `lengths` would be ignored)
        raise DataError(f"{path}: an array {printable(other)[:40]!r} tinyrnn does not read (it reads X, y and "
                        f"lengths)")
    for name in ("X",) if labels_optional else ("X", "y"):
        if name not in arrays:
            raise DataError(f"{path}: no array {name!r} in the archive (arrays: {', '.join(names) or 'none'})")
    for name, array in arrays.items():
        if not isinstance(array, np.ndarray):             # a member without the .npy ending: raw bytes
            raise DataError(f"{path}: member {name!r} is not a NumPy array ({name}.npy, as numpy.savez writes)")
    return arrays


MAX_NPZ_NUMBERS = 1 << 27                          # 134 million: a gigabyte of float64


def _check_declared_sizes(path):
    """Refuse, from the arrays' own headers and before any data is read (an archive can
    deflate a gigabyte of zeros into a megabyte), arrays of more than MAX_NPZ_NUMBERS
    numbers or X with sequences of more than MAX_STEPS steps."""
    shapes = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for name in ("X", "y", "lengths"):
                if name in archive.namelist():              # numpy.load would read it whole, as bytes
                    raise DataError(f"{path}: member {name!r} is not a NumPy array ({name}.npy, as numpy.savez "
                                    f"writes)")
                if f"{name}.npy" in archive.namelist():
                    if archive.getinfo(f"{name}.npy").file_size > 8 * MAX_NPZ_NUMBERS + (1 << 20):
                        raise DataError(f"{path}: array {name} is {archive.getinfo(f'{name}.npy').file_size:,} "
                                        f"bytes unpacked; tinyrnn reads at most {MAX_NPZ_NUMBERS:,} numbers "
                                        f"from an archive")
                    with archive.open(f"{name}.npy") as stream:
                        version = np.lib.format.read_magic(stream)
                        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                            np.lib.format.read_array_header_2_0
                        shapes[name] = read(stream)[0]
    except DataError:
        raise
    except (ValueError, OSError, EOFError, SyntaxError, tokenize.TokenError, zipfile.BadZipFile, zlib.error):
        raise DataError(f"{path}: a damaged .npz archive (an array's header is cut or garbled)") from None
    except (NotImplementedError, RuntimeError) as error:   # a compression zipfile lacks, a password
        raise DataError(f"{path}: an .npz archive numpy.savez does not write ({error})") from None
    for name, shape in shapes.items():
        if any(size >= 2 ** 62 for size in shape):         # beyond what numpy can count
            raise DataError(f"{path}: a damaged .npz archive (array {name} declares a size of {max(shape):.3g})")
        numbers = int(np.prod(shape, dtype=object))
        if numbers > MAX_NPZ_NUMBERS:
            raise DataError(f"{path}: array {name} declares {numbers:,} numbers; tinyrnn reads at most "
                            f"{MAX_NPZ_NUMBERS:,} from an archive")
        if name == "X" and len(shape) >= 2 and shape[1] > MAX_STEPS:
            raise DataError(f"{path}: X declares sequences of {shape[1]:,} steps; tinyrnn reads at most "
                            f"{MAX_STEPS:,} (cut them into windows)")


def _npz_answers(path, y, rows, task):
    """(labels, targets (N, R), target_names) from y; labels as strings, 1.0 as "1"."""
    if task != "regress":
        if y.dtype.kind not in "biufUS":
            raise DataError(f"{path}: y is {y.dtype}; class labels are integers, strings or booleans")
        if y.shape != (rows,) or (y.dtype.kind == "f" and not np.isfinite(y).all()):
            raise DataError(f"{path}: y is {y.dtype} of shape {y.shape}; expected ({rows},) labels, "
                            "one per row of X, finite if numbers")
        labels = [(value.decode("utf-8", "replace") if isinstance(value, bytes) else
                   str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)).strip()
                  for value in y.tolist()]
        if "" in labels:
            raise DataError(f"{path}: row {labels.index('')}: empty label")
        return labels, None, None
    if y.dtype.kind not in "iuf" or y.ndim not in (1, 2) or len(y) != rows:
        raise DataError(f"{path}: y is {y.dtype} of shape {y.shape}; regression targets must be "
                        f"numbers of shape ({rows},) or ({rows}, R)")
    targets = y.astype(np.float64).reshape(rows, -1)                        # (N, R)
    if not np.isfinite(targets).all():
        raise DataError(f"{path}: row {np.argwhere(~np.isfinite(targets))[0][0]}: y is not a finite number")
    check_magnitude(targets, path, "y")
    return None, targets, ["y"] if y.ndim == 1 else [f"y{r}" for r in range(targets.shape[1])]


# --- CSV / TSV with a header ---
def read_long_csv(path, *, encoding="utf-8", id_column="series", time_column=None, target_column="label",
                  feature_columns=None, task="classify", labels_optional=False):
    """A CSV/TSV, one row per time step: the series' id, a time (rows sorted by it, as numbers if
    all are, else as strings; without one, file order), features (default: every other column),
    and a target, the same on every row of a series (target_column None, or missing from the
    header with labels_optional: no targets). Series keep the order of their first row, which is
    their source."""
    check_task(task)
    path = str(path)
    header, rows = _csv_rows(path, encoding)
    if labels_optional and target_column not in header:
        target_column = None
    named = [name for name in (id_column, time_column, target_column) if name is not None]
    features = [n for n in header if n not in named] if feature_columns is None else list(feature_columns)
    if feature_columns is not None:
        _check_chosen(path, "feature", features, taken=named)
    index = _column_index(path, header, named + features)
    if not features:
        raise DataError(f"{path}:1: no feature columns (columns: {', '.join(header)})")
    groups = {}                 # id -> ("file:line" of its first row, target, [(time, "file:line", values)])
    for line, row in rows:
        where = f"{path}:{line}"
        empty = [name for name in named if not row[index[name]].strip()]
        if empty:
            raise DataError(f"{where}: column {empty[0]!r} is empty")
        key, time, answer = (row[index[name]].strip() if name is not None else None
                             for name in (id_column, time_column, target_column))
        source, first, steps = groups.setdefault(key, (where, answer, []))
        if answer != first:
            raise DataError(f"{where}: series {key!r} has {target_column} {answer!r} here but {first!r} "
                            f"at {source}")
        steps.append((time, where, [finite_number(row[index[name]], where, f"column {name!r}") for name in features]))
    if time_column is not None:
        _check_times(time_column, groups)
    regress = target_column is not None and task == "regress"
    answers = [finite_number(answer, source, f"column {target_column!r}") if regress else answer
               for source, answer, _ in groups.values()]
    return NumericSet([_in_time_order(key, steps, time_column) for key, (_, _, steps) in groups.items()],
                      None if regress or target_column is None else answers,
                      np.array(answers, dtype=np.float64).reshape(-1, 1) if regress else None,   # (N, 1)
                      [source for source, _, _ in groups.values()], features, [target_column] if regress else None)


def _check_chosen(path, what, names, taken=()):
    """Columns named by an option (what: "feature", "value") are each named once, not blank,
    and none of them is one of the columns taken for another role (id, time, target)."""
    twice = first_repeated(names)
    if twice is not None:
        raise DataError(f"{path}: the {what} columns name {printable(twice)!r} twice")
    odd = next((name for name in names if name in taken or not name.strip()), None)
    if odd is not None:
        raise DataError(f"{path}: {what} column {printable(odd)!r} " + (
            "is an empty name" if not odd.strip() else "is the series' id, time or target column"))


def _check_times(time_column, groups):
    """All times must be numbers (sorted as numbers) or none (sorted as text: ISO 8601 dates and
    times, whose order as text is their order in time). Some of each is a DataError naming the
    first row whose time is of the other kind (as text, 10 would come before 9), and so is a
    time that is neither (12/28/2020 would sort after 01/01/2021)."""
    kinds = {}                                  # is a number -> "file:line" of the first such time
    for _, _, steps in groups.values():
        for time, where, _ in steps:
            kinds.setdefault(is_number(time), (where, time))
            if len(kinds) == 2:
                (number_at, number), (text_at, text) = kinds[True], kinds[False]
                raise DataError(f"{text_at}: {time_column} {text[:40]!r} is not a number, while {number_at} "
                                f"holds {number[:40]!r}: the times must be all numbers or all text (such as "
                                f"dates), to be put in order")
    for _, _, steps in groups.values():
        for time, where, _ in steps:
            if time_order(time) is None:
                raise DataError(f"{where}: {time_column} {printable(time)[:40]!r} is neither a number nor an ISO 8601 "
                                f"date or time (such as 2020-12-28): its order as text need not be its order in "
                                f"time; write the times so, or leave out the time column to keep the file's order")


def _in_time_order(key, steps, time_column):
    """(T_i, F) values of one series' rows [(time, "file:line", values)], sorted by time."""
    if time_column is not None:
        steps.sort(key=lambda step: time_order(step[0]))
        for (time, _, _), (later, where, _) in zip(steps, steps[1:]):
            if time_order(time) == time_order(later):
                raise DataError(f"{where}: series {key!r} has {time_column} {later!r} twice")
    return np.array([values for _, _, values in steps], dtype=np.float64)


def read_series(path, *, encoding="utf-8", columns=None, time_column=None):
    """A CSV/TSV with a header, one row per time step in time order. time_column default: the
    first column if none of its values is a number; columns default: every other column with a
    number in it (then every value must be one), but for one without a name (a written-out index, as pandas writes
    it). Every value must be a finite number."""
    path = str(path)
    header, rows = _csv_rows(path, encoding)
    if header and all(is_number(name) for name in header):
        raise DataError(f"{path}:1: the first row is numbers; a series file starts with a header row naming "
                        f"its columns")
    if len(rows) < 2:
        raise DataError(f"{path}: {len(rows)} row of values; a series needs at least 2")
    first_line, first = rows[0]
    if time_column is None and len(header) > 1 and not any(is_number(row[0]) for _, row in rows):
        time_column = header[0]                     # (a column with numbers and a gap is a series)
    if columns is not None:
        _check_chosen(path, "value", columns)
    names = list(columns) if columns is not None else \
        [name for place, name in enumerate(header)
         if name != time_column and name.strip() and any(is_number(row[place]) for _, row in rows)]
    if not names:
        raise DataError(f"{path}:{first_line}: no numeric columns (columns: {', '.join(header)})")
    index = _column_index(path, header, names + ([time_column] if time_column is not None else []))
    values = np.array([[finite_number(row[index[name]], f"{path}:{line}", f"column {name!r}") for name in names]
                       for line, row in rows], dtype=np.float64)               # (T, C)
    times = [row[index[time_column]].strip() for _, row in rows] if time_column is not None else None
    if times is not None:
        _check_in_order(path, time_column, times, [line for line, _ in rows])
    return Series(values, names, times, path)


_YEAR_MONTH = re.compile(r"(\d{4})-(\d{2})")                 # 2020-12 and 2020-363 (an ordinal date),
_ORDINAL_DATE = re.compile(r"(\d{4})-(\d{3})")               # which fromisoformat does not read


def time_order(text):
    """The sort key of a time: (0, its number), or (1, the instant) of an ISO 8601 date or
    time (2020-12, 2020-12-28, 2020-363, 2020-12-28T09:30+05:00, 2021-W01-1; with an offset, in UTC); None
    for other text (12/28/2020 would sort after 01/01/2021 as text) and impossible dates."""
    if is_number(text):
        return 0, plain_float(text)
    month, day = _YEAR_MONTH.fullmatch(text), _ORDINAL_DATE.fullmatch(text)
    try:
        if month:
            instant = datetime.datetime(int(month[1]), int(month[2]), 1)
        elif day and 1 <= int(day[2]) <= 365 + calendar.isleap(int(day[1])):
            instant = datetime.datetime(int(day[1]), 1, 1) + datetime.timedelta(days=int(day[2]) - 1)
        else:
            instant = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if instant.tzinfo is not None:
        instant = instant.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return 1, instant


def _check_in_order(path, time_column, times, lines):
    """A series' rows are in time order: times that are numbers or ISO 8601 dates must rise
    from row to row. Times that are none of them are labels, in the file's order; a file of
    dates with one that is not (a typo, 2021-02-30) is a DataError naming it."""
    keys = [time_order(time) for time in times]
    if all(key is None for key in keys):
        return
    kind = next(key[0] for key in keys if key is not None)
    odd = next((row for row, key in enumerate(keys) if key is None or key[0] != kind), None)
    if odd is not None:
        raise DataError(f"{path}:{lines[odd]}: {time_column} {printable(times[odd])[:40]!r} is not a time like the "
                        f"others (all numbers, or all ISO 8601 dates such as 2020-12-28), so the rows' order cannot "
                        f"be checked")
    for (earlier, key, line_earlier), (later, next_key, line) in zip(zip(times, keys, lines),
                                                                     zip(times[1:], keys[1:], lines[1:])):
        if next_key <= key:
            how = "repeats" if next_key == key else "comes before"
            raise DataError(f"{path}:{line}: {time_column} {printable(later)[:40]!r} {how} {printable(earlier)[:40]!r} "
                            f"of line {line_earlier}: a series' rows must be in time order")


def _column_index(path, header, names):
    """{name: its position in the header}; a DataError for a name not there."""
    missing = [name for name in names if name not in header]
    if missing:
        raise DataError(f"{path}:1: no column {printable(missing[0])!r} in the header (columns: "
                        f"{listed(header)})")
    return {name: header.index(name) for name in names}


def _csv_rows(path, encoding):
    """The header (stripped names) and [(line number, fields)] of the non-blank rows."""
    text = read_text(path, encoding)
    delimiter = "\t" if os.path.splitext(path)[1].lower() in (".tsv", ".tab") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows, start = [], 1
    try:
        header = [name.strip() for name in next(reader)]
        odd = next((name for name in header if odd_name(name)), None)
        if odd is not None:                 # a column's name names a feature or series in the model
            raise DataError(f"{path}:1: column name '{printable(odd)[:60]}' holds a control, line-break or "
                            f"invisible character")
        alike = first_alike(header)
        if alike is not None:
            raise DataError(f"{path}:1: columns '{printable(alike[0])[:40]}' and '{printable(alike[1])[:40]}' are "
                            f"one name in two Unicode forms: they would print alike")
        twice = first_repeated(header)
        if twice is not None:
            raise DataError(f"{path}:1: column {twice!r} appears twice in the header")
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if len(row) != len(header) and any(field.strip() for field in row):
                raise DataError(f"{path}:{line}: expected {len(header)} fields, found {len(row)}")
            rows += [(line, row)] if any(field.strip() for field in row) else []
    except csv.Error as error:
        raise DataError(f"{path}:{start}: {error}") from None
    if not rows:
        raise DataError(f"{path}: no rows after the header")
    return header, rows
