"""Read labelled texts from files: CSV / TSV with a header, JSONL, and LABEL=FILE.

Every problem is a DataError whose message starts with file:line (or file: for the
whole file), so the CLI can print it as one line.
"""
import codecs
import csv
import io
import json
import math
import os
import sys
import unicodedata
from dataclasses import dataclass, field

from ..errors import DataError
from ..files import KERNEL_FILE, DuplicateKey, kernel_file, object_once
from ..text_output import first_invisible, first_repeated, listed, printable, surrogate_in
from ..vocab import tokenize

MAX_TEXT_CHARS = 1_000_000          # one example longer than this is surely a broken file
FORMATS = ("csv", "tsv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass
class Dataset:
    """Parallel lists: texts[i] has label labels[i] and was read at sources[i] ("file:line")."""

    texts: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    sources: list = field(default_factory=list)
    skipped: list = field(default_factory=list)       # "file:line: why" of rows skipped (skip_bad)

    def __len__(self):
        return len(self.texts)

    def add(self, text, label, source):
        self.texts.append(text)
        self.labels.append(label)
        self.sources.append(source)

    def subset(self, indices):
        """The examples at indices, in that order."""
        return Dataset([self.texts[i] for i in indices], [self.labels[i] for i in indices],
                       [self.sources[i] for i in indices])

    def extend(self, other):
        self.texts += other.texts
        self.labels += other.labels
        self.sources += other.sources
        self.skipped += other.skipped


def _skipped_note(dataset):
    if not dataset.skipped:
        return ""
    return f" ({len(dataset.skipped)} bad row(s) skipped; the first: {dataset.skipped[0]})"


def _keep_or_skip(dataset, skip_bad, add, *args):
    """add(*args) one row; with skip_bad a row with a DataError is left out and recorded."""
    try:
        add(*args)
    except DataError as error:
        if not skip_bad:
            raise
        dataset.skipped.append(str(error))


def load_dataset(specs, encoding="utf-8", text_column="text", label_column="label", fmt=None,
                 skip_bad=False):
    """Load and concatenate datasets. Each spec is a file path or LABEL=FILE. skip_bad: leave
    out rows with a bad field (empty text, missing label, wrong field count, ...) and list
    them in dataset.skipped, instead of stopping at the first; a file that cannot be parsed
    at all (an unclosed quote, bad encoding) is still an error."""
    if isinstance(specs, (str, os.PathLike)):
        specs = [specs]
    if text_column == label_column:
        raise DataError(f"the text and the label are both read from column {text_column!r}; "
                        f"they must be two different columns")
    seen = {}
    for spec in specs:
        path = file_identity(spec_path(str(spec)))
        if path in seen:                             # its rows twice, or under two labels
            raise DataError(f"{spec_path(str(spec))} is given twice ({seen[path]} and {spec}); give each file once")
        seen[path] = spec
    dataset = Dataset()
    for spec in specs:
        dataset.extend(_load_one(str(spec), encoding, text_column, label_column, fmt, skip_bad))
    return dataset


def file_identity(path):
    """What names one file under any of its names (a symbolic or hard link): its device and
    inode, or its real path where it cannot be looked up."""
    try:
        status = os.stat(path)
        return status.st_dev, status.st_ino
    except (OSError, ValueError):
        return os.path.realpath(path)


def spec_path(spec):
    """The file a data spec reads: PATH, or FILE of LABEL=FILE."""
    label, sep, path = spec.partition("=")
    return path if sep and label and path and not os.path.exists(spec) else spec


def _load_one(spec, encoding, text_column, label_column, fmt, skip_bad):
    path = spec_path(spec)
    if path != spec:
        label = spec.partition("=")[0]
        dataset = Dataset()
        for line_number, line in _lines(read_text(path, encoding)):
            if line.strip():
                _keep_or_skip(dataset, skip_bad, _add_checked, dataset, line, label, f"{path}:{line_number}")
        if not dataset.texts:
            raise DataError(f"{path}: no examples" + (_skipped_note(dataset) or " (every line is empty)"))
        return dataset
    check_path(path)
    fmt = fmt or _EXTENSIONS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise DataError(f"{path}: cannot tell the format from the file name", remedy="format")
    text = read_text(path, encoding)
    if fmt == "jsonl":
        return _read_jsonl(path, text, text_column, label_column, skip_bad)
    return _read_delimited(path, text, "\t" if fmt == "tsv" else ",", text_column, label_column, skip_bad)


def read_text(path, encoding):
    """The whole file as text, with checks that give one clear message each."""
    check_path(path)
    with open(path, "rb") as stream:
        raw = stream.read()
    if not raw.strip():
        raise DataError(f"{path}: file is empty")
    if text_encoding(encoding) == "utf-8":
        encoding = "utf-8-sig"                      # a byte-order mark is not part of the text
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: cannot decode byte {raw[error.start]:#04x} as "
                        f"{encoding.removesuffix('-sig')}", remedy="encoding") from None
    except UnicodeError as error:                   # punycode, idna, ...: a failure with no position
        raise DataError(f"{path}: cannot be read as {encoding} ({printable(str(error))})", remedy="encoding") from None
    surrogate = surrogate_in(text)                  # an escape such as unicode_escape's "\ud800" decodes to one
    if surrogate is not None:
        line = text[:text.index(surrogate)].count("\n") + 1
        raise DataError(f"{path}:{line}: the text holds a lone surrogate U+{ord(surrogate):04X}, which is not a "
                        f"Unicode character")
    return text


def text_encoding(encoding):
    """The codec name of encoding, if it is a text encoding (bytes to str: utf-8, latin-1,
    cp1252, ...); a DataError for an unknown name or a codec of another kind (rot13, hex,
    base64, zlib: bytes to bytes or str to str), which cannot read a text file."""
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}") from None
    if not getattr(codec, "_is_text_encoding", True):
        raise DataError(f"{encoding!r} is not a text encoding (it does not turn bytes into text); "
                        f"use one such as utf-8 or latin-1")
    return codec.name


def check_path(path):
    """A regular file that exists, or a DataError saying what is there instead."""
    if not os.path.exists(path):
        if os.path.islink(path):
            raise DataError(f"{path}: a symbolic link to nothing (its target is missing, or it leads back to "
                            f"itself)")
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not a data file")
    if not os.path.isfile(path):
        raise DataError(f"{path}: not a regular file")
    if kernel_file(path):
        raise DataError(f"{path}: {KERNEL_FILE}")


def _lines(text):
    """(line number, line) with \\n, \\r\\n and a lone \\r all ending a line."""
    return enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1)


def _add_checked(dataset, text, label, source):
    if not isinstance(text, str):
        raise DataError(f"{source}: text must be a string, got {_json_type(text)}")
    if not text.strip():
        raise DataError(f"{source}: empty text")
    if len(text) > MAX_TEXT_CHARS:
        raise DataError(f"{source}: text is {len(text)} characters long; the limit is {MAX_TEXT_CHARS}")
    check_unicode(text, "text", source)
    if not tokenize(text):
        raise DataError(f"{source}: text has no words: {text[:40]!r}")
    if isinstance(label, bool):
        label = "true" if label else "false"
    elif isinstance(label, int):
        label = str(label)
    elif isinstance(label, float) and math.isfinite(label):     # 1.0 is the class "1", as 1 is
        label = str(int(label)) if label.is_integer() else repr(label)
    if not isinstance(label, str):
        raise DataError(f"{source}: label must be a string, got {_json_type(label)}")
    label = label.strip()
    if not label:
        raise DataError(f"{source}: missing label")
    check_unicode(label, "label", source)
    label = unicodedata.normalize("NFC", label)                 # "café" is one class however it is encoded
    invisible = first_invisible(label)
    if invisible:
        raise DataError(f"{source}: label {label!r} holds an invisible character (U+{ord(invisible):04X}); "
                        f"two classes would print alike")
    if printable(label) != label:
        raise DataError(f"{source}: label {label!r} holds a control character or line break; "
                        f"a class name is printed in tables and TSV lines")
    dataset.add(text, label, source)


def check_unicode(text, what, source):
    """A DataError naming source if text holds a lone surrogate (JSON's "\\ud800" escape
    with no pair: not a character, it cannot be written as UTF-8)."""
    surrogate = surrogate_in(text)
    if surrogate is not None:
        raise DataError(f"{source}: {what} holds a lone surrogate U+{ord(surrogate):04X}, which is not "
                        f"a Unicode character")


def parse_json_line(line, source):
    """json.loads(line), every failure a DataError naming source: invalid JSON, nesting too
    deep, a number of more than 4,300 digits (Python's limit on converting digits to int), a
    key given twice in one object (which value was meant?)."""
    try:
        return json.loads(line, object_pairs_hook=object_once)
    except DuplicateKey as error:
        raise DataError(f"{source}: the key {error.args[0]!r} is given twice in one object") from None
    except json.JSONDecodeError as error:
        raise DataError(f"{source}: invalid JSON ({error.msg})") from None
    except RecursionError:
        raise DataError(f"{source}: invalid JSON (nested too deeply)") from None
    except ValueError:                              # int() of over sys.get_int_max_str_digits() digits
        raise DataError(f"{source}: invalid JSON (a number of more than {sys.get_int_max_str_digits():,} "
                        f"digits)") from None


def _add_record(dataset, line, text_column, label_column, source):
    record = parse_json_line(line, source)
    if not isinstance(record, dict):
        raise DataError(f"{source}: expected a JSON object, got {_json_type(record)}")
    for key in (text_column, label_column):
        if key not in record:
            raise DataError(f"{source}: missing key {key!r}")
    _add_checked(dataset, record[text_column], record[label_column], source)


def _json_type(value):
    names = {type(None): "null", bool: "boolean", int: "number", float: "number",
             list: "array", dict: "object", str: "string"}
    return names.get(type(value), type(value).__name__)


def _read_delimited(path, text, delimiter, text_column, label_column, skip_bad):
    dataset = Dataset()
    read_columns(path, text, delimiter, (text_column, label_column), dataset, _add_checked, skip_bad)
    if not dataset.texts:
        raise DataError(f"{path}: no examples after the header" + _skipped_note(dataset))
    return dataset


def read_columns(path, text, delimiter, names, into, add, skip_bad=False):
    """A delimited file with a header (CSV, TSV): add(into, first, second, "file:line") with the
    values of the two columns named for every row; every problem a DataError naming file:line
    (with skip_bad, a bad row is left out and noted in into.skipped)."""
    csv.field_size_limit(MAX_TEXT_CHARS + 1)
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL    # TSV has no quotes
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True, quoting=quoting)
    start = 1
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: file is empty")
        header = [name.strip() for name in header]
        twice = first_repeated(name for name in header if name)
        if twice is not None:
            raise DataError(f"{path}:1: the header names column {printable(twice)!r} twice")
        columns = []
        for name in names:
            if name not in header:
                raise DataError(f"{path}:1: no column {printable(name)!r} in the header (columns: "
                                f"{listed(header)})")
            columns.append(header.index(name))
        start = reader.line_num + 1
        for row in reader:
            line = start
            start = reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue                              # a blank line
            _keep_or_skip(into, skip_bad, _add_row, into, row, len(header), columns, add, f"{path}:{line}")
    except csv.Error as error:                      # the line where the unreadable row starts
        if "field larger than field limit" in str(error):
            raise DataError(f"{path}:{start}: a field is longer than the limit of {MAX_TEXT_CHARS:,} "
                            f"characters") from None
        hint = " (a quote that is never closed?)" if "end of data" in str(error) else ""
        raise DataError(f"{path}:{start}: {error}{hint}") from None


def _add_row(into, row, fields, columns, add, source):
    if len(row) != fields:
        raise DataError(f"{source}: expected {fields} fields, found {len(row)}")
    add(into, row[columns[0]], row[columns[1]], source)


def _read_jsonl(path, text, text_column, label_column, skip_bad):
    dataset = Dataset()
    for line_number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            _keep_or_skip(dataset, skip_bad, _add_record, dataset, line, text_column, label_column,
                          f"{path}:{line_number}")
    if not dataset.texts:
        raise DataError(f"{path}: no examples" + _skipped_note(dataset))
    return dataset
