"""`tinyrnn plot`: draw the curves of a JSON log (train --json-log) into a PNG file."""
import json
import os
import sys

from ..errors import DataError, TinyRNNError
from ..files import DuplicateKey, is_tinyrnn_file, object_once
from ..plots import NOTHING_TO_PLOT, log_kind, require_matplotlib, training_plot
from ..text_output import printable
from ..training.state import NOT_NEGATIVE, possible_figure
from .common import locked_outputs

MAX_LINE = 1 << 20


def run(args):
    """Read LOG, check it describes a run, draw it into --out (default: LOG with .png)."""
    log, out, force = args.log, args.out, args.force
    out = out or os.path.splitext(log)[0] + ".png"

    require_matplotlib()
    with locked_outputs({"--out": (out, "png")}, [("LOG", log)], force):
        records = read_log(log)
        try:
            training_plot(records, out, title=os.path.basename(log))
        except TinyRNNError as error:
            raise DataError(f"{log}: {error}") from None
    print(f"saved {printable(out)}", file=sys.stderr)
    return 0


def read_log(path):
    """The records (dicts) of a JSON log; a line that is not a JSON object is an error naming
    path:line, and so is a log with nothing to plot."""
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such log file" if not os.path.exists(path) else f"{path}: not a file")
    records = []
    with open(path, "rb") as stream:
        for number, raw in enumerate(iter(lambda: stream.readline(MAX_LINE + 1), b""), start=1):
            if len(raw) > MAX_LINE:
                raise DataError(f"{path}:{number}: line is longer than {MAX_LINE:,} bytes; not a tinyrnn log")
            if not raw.strip():
                continue
            try:
                record = json.loads(raw, object_pairs_hook=object_once)
            except DuplicateKey as twice:
                raise DataError(f"{path}:{number}: names {printable(str(twice))[:40]!r} twice; not a tinyrnn log") \
                    from None
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                _not_json(path, number)
            except ValueError:                                   # an integer over Python's 4,300 digits
                raise DataError(f"{path}:{number}: a number too long to read (over "
                                f"{sys.get_int_max_str_digits():,} digits); not a tinyrnn log") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}:{number}: not a JSON object; a tinyrnn log has one per line")
            _check_record(record, records, f"{path}:{number}")
            records.append(record)
    if log_kind(records) is None:
        raise DataError(f"{path}: {NOTHING_TO_PLOT}" + ("" if records else " (the log is empty)"))
    return records


COUNTS = ("epoch", "step", "fold", "folds")
MAX_COUNT = 2 ** 53                                  # the largest count JSON holds exactly
FIGURES = ("train_", "valid_", "val_", "test_")      # the prefixes of a record's figures


def _check_record(record, before, where):
    """A record's counts are integers and its figures numbers (or null), and it is of the kind
    of the records before it: a log holds one run."""
    for key, value in record.items():
        if key in COUNTS and not (type(value) is int and 0 <= value <= MAX_COUNT):
            raise DataError(f"{where}: {key} is {json.dumps(value)[:40]}, not a count; not a tinyrnn log")
        if key.startswith(FIGURES) or key.endswith(NOT_NEGATIVE):
            if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
                raise DataError(f"{where}: {key} is {json.dumps(value)[:40]}, not a number; not a tinyrnn log")
            if value is not None and not possible_figure(key, value):
                raise DataError(f"{where}: {key} is {json.dumps(value)[:40]}, which no run writes; not a tinyrnn log")
    if "best" in record and type(record["best"]) is not bool or \
            record.get("weights_saved", "last") not in ("best", "last"):
        raise DataError(f"{where}: best or weights_saved holds what no run writes; not a tinyrnn log")
    if before and "folds" not in record:
        first, this = log_kind(before[:1]), log_kind([record])
        if first != this and this is not None and first != "folds":
            raise DataError(f"{where}: a record of {_KIND_NAMES.get(this, this)} in a log of "
                            f"{_KIND_NAMES.get(first, first)}; a log holds one run")
        earlier = before[-1]                         # a run's records follow one another
        counts = [(earlier[key], record[key]) for key in ("epoch", "step", "fold") if key in earlier and key in record]
        if counts and not (all(now >= then for then, now in counts) and any(now > then for then, now in counts)):
            keys = [key for key in ("epoch", "step", "fold") if key in earlier and key in record]
            raise DataError(f"{where}: its {' and '.join(keys)} {'does' if len(keys) == 1 else 'do'} not follow "
                            f"the record before; a log holds one run, in order")


_KIND_NAMES = {"lm": "a language model", "classify": "a classifier", "seq2seq": "a translator",
               "regress": "a regressor", "folds": "cross-validation"}


def _not_json(path, number):
    """Raise the error of a line that is not JSON (a model file named as a log says so)."""
    if is_tinyrnn_file(path, "model") or is_tinyrnn_file(path, "checkpoint"):
        raise DataError(f"{path}: a tinyrnn model file, not a log (train --json-log writes logs)")
    raise DataError(f"{path}:{number}: not JSON; a tinyrnn log has one JSON object per line")
