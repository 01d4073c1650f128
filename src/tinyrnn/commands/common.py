"""Helpers shared by the command modules. Errors are raised as TinyRNNError; cli.py prints them."""
import os
import sys
import unicodedata
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from tqdm import tqdm

from ..data import load_dataset
from ..data.loaders import MAX_TEXT_CHARS, file_identity, spec_path
from ..errors import ConfigError, TinyRNNError
from ..files import OutputLock, check_outputs, log_line
from ..io import load_model
from ..memory import LEAST_COPIES, check_fits
from ..model_config import ARCHITECTURE, ModelConfig
from ..models import Classifier, build_model
from ..notices import say
from ..options import given
from ..text_output import printable


@dataclass(frozen=True)
class DataOptions:
    """How to read labelled data files: --format, --encoding, --text-column, --label-column."""

    format: str | None                   # None: from each file's extension
    encoding: str
    text_column: str
    label_column: str
    skip_bad_rows: bool = False          # --skip-bad-rows: leave them out, counted, with a warning

    def read(self, specs):
        """The Dataset of PATH or LABEL=FILE specs."""
        dataset = load_dataset(specs, self.encoding, self.text_column, self.label_column, self.format,
                               self.skip_bad_rows)
        if dataset.skipped:
            say(f"warning: skipped {len(dataset.skipped)} bad row(s) (--skip-bad-rows); the first: "
                f"{dataset.skipped[0]}")
        return dataset


@dataclass(frozen=True)
class ModelOptions:
    """The architecture options of train; None where not given (the model's default)."""

    cell: str | None                     # --cell
    num_layers: int | None               # --layers
    bidirectional: bool                  # --bidirectional
    embed_size: int | None               # --embed
    dropout: float | None                # --dropout
    nonlinearity: str | None             # --nonlinearity
    pool: str | None                     # --pool
    embed_dropout: float | None          # --embed-dropout
    weight_drop: float | None            # --weight-drop
    forget_bias: float | None            # --forget-bias (initialisation only)

    def given(self):
        """{setting: value} of the architecture options given (the others take the defaults)."""
        values = {key: getattr(self, key) for key in ARCHITECTURE}
        return {key: value for key, value in values.items()               # --no-bidirectional is given
                if value is not None and (value is not False or key == "bidirectional")}

    def model_config(self, settings):
        """The ModelConfig of settings (task, hidden_size, dtype, tokenizer, as ModelConfig.from_json
        reads them) with this architecture; a setting that cannot work is a ConfigError."""
        try:
            return ModelConfig.from_json({**settings, **self.given()})
        except ValueError as error:
            raise ConfigError(str(error)) from None

    def build(self, settings, vocab, classes, rng, init):
        """The model of model_config(settings), built by the one model factory and initialised
        from rng; a setting that cannot work is a ConfigError."""
        try:
            model = build_model(self.model_config(settings), vocab, classes)
            check_fits(model.flat.nbytes, LEAST_COPIES, resident=False)      # (its weights are not drawn yet)
            return model.initialize(rng, init, self.forget_bias or 0.0)
        except ValueError as error:
            raise ConfigError(str(error)) from None

    def check_agrees(self, model, path, body=None):
        """With --init-from, every architecture option given must match the saved model; with
        --pretrained, every one of the settings the file gives (body: {setting: value})."""
        saved = body if body is not None else {key: getattr(model.config, key) for key in ARCHITECTURE}
        for key, value in self.given().items():
            if key in saved and value != saved[key]:
                shown = "none" if saved[key] is None else str(saved[key]).lower() if isinstance(saved[key], bool) \
                    else saved[key]
                raise TinyRNNError(f"--{_OPTION_OF.get(key, key)} {str(value).lower() if isinstance(value, bool) else value}"
                                   f" disagrees with {path} ({shown})")
        if self.forget_bias is not None:
            option = "--pretrained" if body is not None else "--init-from"
            raise TinyRNNError(f"--forget-bias sets the initial weights; it cannot apply with {option}")


_OPTION_OF = {"num_layers": "layers", "embed_size": "embed", "embed_dropout": "embed-dropout",
              "weight_drop": "weight-drop"}


def model_options(args):
    """The ModelOptions of train's namespace."""
    return ModelOptions(args.cell, args.layers, args.bidirectional, args.embed, args.dropout,
                        args.nonlinearity, args.pool, args.embed_dropout, args.weight_drop, args.forget_bias)


def load_classifier(path, command):
    """The classifier saved at path; another kind of model there is an error naming command."""
    model = load_model(path)
    if model.task == "seq2seq":
        raise TinyRNNError(f"{path} is a seq2seq model; {command} needs a classifier "
                           f"(to translate texts use tinyrnn translate)")
    if not isinstance(model, Classifier):
        raise TinyRNNError(f"{path} is a language model; {command} needs a classifier "
                           f"(for text generation use tinyrnn generate)")
    return model


class _OutputThatMayClose:
    """Standard output for a long job: when its reader goes away (`tinyrnn train | head`),
    the job goes on and what it prints is dropped."""

    def __init__(self, stream):
        self.stream, self.reader_gone = stream, False

    def write(self, text):
        if not self.reader_gone:
            try:
                return self.stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self):
        if not self.reader_gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self):
        self.reader_gone = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())   # the exit's flush is quiet

    def __getattr__(self, name):
        return getattr(self.stream, name)


@contextmanager
def output_may_close():
    """While training: a closed standard output does not stop the run (see _OutputThatMayClose)."""
    original = sys.stdout
    sys.stdout = _OutputThatMayClose(original)
    try:
        yield
    finally:
        sys.stdout = original


@contextmanager
def locked_outputs(outputs, inputs, force):
    """Check the run's outputs (files.check_outputs), then hold a lock on each file for the run
    (a checkpoint folder is locked by its RunCheckpoints)."""
    check_outputs(outputs, inputs, force)
    with ExitStack() as locks:
        for option, (path, kind) in outputs.items():
            if path and kind != "folder":
                locks.enter_context(OutputLock(path, option))
        yield


def data_inputs(**options):
    """[(option, path)] of every file a run reads; options map names to a spec, a list of specs
    (PATH or LABEL=FILE) or None. A test or validation file that is also a training file is
    said (its figures then measure the fit, not what the model does on new data)."""
    inputs = []
    for option, value in options.items():
        for spec in value if isinstance(value, list) else [value]:
            if spec:
                inputs.append((f"--{option.replace('_', '-')}", spec_path(spec)))
    trained = {file_identity(path) for option, path in inputs if option == "--train"}
    for option, path in inputs:
        if option in ("--test", "--valid") and file_identity(path) in trained:
            say(f"warning: {option} {printable(path)} is also training data: its figures measure how well the "
                f"model fits it, not how it does on new data")
    return inputs


def warn_unknown(unknown, where, unit="word"):
    """Warn on stderr about tokens read as <unk>, showing the first ten."""
    if unknown:
        shown = ", ".join(_shown_word(word) for word in unknown[:10]) + (", ..." if len(unknown) > 10 else "")
        say(f"warning: {len(unknown)} {unit}(s) in the {where} are not in the vocabulary and read as "
            f"<unk>: {shown}")


def _shown_word(word, limit=40):
    """A word as a warning shows it: escaped (text_output.printable, invisible characters as
    \\uXXXX too), and cut at `limit` characters."""
    text = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) == "Cf" else c for c in printable(word))
    return text if len(text) <= limit else text[:limit] + "..."


def progress_bar(total, unit, forced):
    """A tqdm bar on stderr, shown when stderr is a terminal or when forced (--progress)."""
    return tqdm(total=total, unit=unit, file=sys.stderr, disable=not (forced or sys.stderr.isatty()))


def stdin_texts(blank=False):
    """(line number, text) for each non-blank line of standard input (UTF-8), as it arrives;
    with blank, every line (translate answers a blank line with one, so that its output
    lines pair up with the input's). Memory stays bounded: a line longer than the training
    data's limit is an error before the rest of it is read."""
    if sys.stdin is None:
        raise TinyRNNError("standard input is closed; give the texts as arguments")
    if sys.stdin.isatty():
        print("reading texts from the terminal, one per line; end with Ctrl-D "
              "(or give them as arguments)", file=sys.stderr)
    limit = 4 * MAX_TEXT_CHARS + 2                 # bytes: UTF-8 needs at most 4 per character
    for number, raw in enumerate(iter(lambda: sys.stdin.buffer.readline(limit), b""), start=1):
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError as error:
            raise TinyRNNError(f"<stdin>:{number}: cannot decode byte {raw[error.start]:#04x} "
                               f"as utf-8") from None
        if len(text) > MAX_TEXT_CHARS or (len(raw) == limit and not raw.endswith(b"\n")):
            raise TinyRNNError(f"<stdin>:{number}: line is longer than the limit of "
                               f"{MAX_TEXT_CHARS:,} characters")
        if blank or text.strip():
            yield number, text


def epoch_record(stats):
    """A classifier epoch's Record as a JSON log record."""
    record = {"epoch": stats.epoch, "train_loss": stats.train_loss,
              "train_accuracy": stats.train_accuracy, "test_loss": stats.test_loss,
              "test_accuracy": stats.test_accuracy, "train_seconds": stats.train_seconds}
    if stats.valid_loss is not None:
        record.update(valid_loss=stats.valid_loss, valid_accuracy=stats.valid_accuracy, best=stats.best)
    for flag in ("target_reached", "stopped_early"):
        if getattr(stats, flag):
            record[flag] = True
    return record


def draw_training_plot(path, records, title, unit="character"):
    """train --plot: the run's curves into path (PNG), once the model is saved."""
    if path and not records:
        print(f"note: nothing to plot (no epochs or log points); {path} was not written", file=sys.stderr)
    elif path:
        from ..plots import training_plot
        training_plot(records, path, title, unit)
        print(f"saved {printable(path)}", file=sys.stderr)


class JsonLog:
    """One JSON object per logged epoch, flushed as it is written; a no-op without a path.
    Each line ends with files.LOG_MARK (a tab) before its newline: how a later run knows the
    file for a tinyrnn log it may replace (JSON readers skip it as whitespace). The file is replaced at the first record, so a run that stops before it leaves an
    earlier log as it was. A failed write (a full disk) leaves only whole lines, or no
    file if none was written, and is an error naming the file."""

    def __init__(self, path):
        self.path, self.stream, self.written = path, None, 0

    def __enter__(self):
        return self

    def write_record(self, record):
        if not self.path:
            return
        line = log_line(record)
        try:
            if self.stream is None:
                open(self.path, "wb").close()        # replaced, then appended to: a log emptied
                self.stream = open(self.path, "ab")  # meanwhile goes on without a gap of NUL bytes
            self.stream.write(line)
            self.stream.flush()
        except OSError as error:
            path = self.path
            self._undo_partial_line(path)
            raise TinyRNNError(f"{path}: cannot write the JSON log ({error.strerror or error})") from None
        self.written += len(line)

    def _undo_partial_line(self, path):
        """Cut the file back to its whole lines (remove it if there are none)."""
        try:
            if self.stream is not None:
                self.stream.close()
        except OSError:
            pass
        self.stream, self.path = None, None
        try:
            if self.written:
                os.truncate(path, self.written)
            elif os.path.isfile(path):
                os.unlink(path)
        except OSError:
            pass

    def __exit__(self, *exc):
        if self.stream:
            self.stream.close()



def refuse_options(args, options, owners, model_path, kind):
    """Options given (options.given) that apply only to `owners` are an error naming the first:
    not ignored. options: their flags, such as "--max-chars"."""
    for option in options:
        if given(args, option.lstrip("-").replace("-", "_")):
            raise TinyRNNError(f"{option} applies to {owners}; {model_path} is {kind}")
