"""`tinyrnn plot`: draw the curves of a JSON log (train --json-log) into a PNG file."""
import json
import os
import sys

from ..errors import DataError, TinyRNNError
from ..files import is_tinyrnn_file
from ..plots import NOTHING_TO_PLOT, log_kind, require_matplotlib, training_plot
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
    print(f"saved {out}", file=sys.stderr)
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
                record = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                _not_json(path, number)
            except ValueError:                                   # an integer over Python's 4,300 digits
                raise DataError(f"{path}:{number}: a number too long to read (over "
                                f"{sys.get_int_max_str_digits():,} digits); not a tinyrnn log") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}:{number}: not a JSON object; a tinyrnn log has one per line")
            records.append(record)
    if log_kind(records) is None:
        raise DataError(f"{path}: {NOTHING_TO_PLOT}" + ("" if records else " (the log is empty)"))
    return records


def _not_json(path, number):
    """Raise the error of a line that is not JSON (a model file named as a log says so)."""
    if is_tinyrnn_file(path, "model") or is_tinyrnn_file(path, "checkpoint"):
        raise DataError(f"{path}: a tinyrnn model file, not a log (train --json-log writes logs)")
    raise DataError(f"{path}:{number}: not JSON; a tinyrnn log has one JSON object per line")
