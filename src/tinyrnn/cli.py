"""The tinyrnn command line: parse the options (options.py), choose the command (and train's
task), and turn our errors into one line + exit 2. What each command does is in the commands
package."""
import errno
import os
import signal
import sys
import threading

from . import files, notices
from .checkpoint import CHECKPOINT_NAME
from .commands.remedies import worded
from .errors import Terminated, TinyRNNError
from .options import LATE_DEFAULTS, build_parser, given
from .train_options import DEFAULT_OUT

EXIT_BAD_INPUT = 2
STOPPING = (signal.SIGTERM, signal.SIGHUP)          # they stop a run as Ctrl-C does (checkpoint, exit 128 + N)
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE             # what a shell reports for a process SIGPIPE ended


def _raise_terminated(signum, frame):
    raise Terminated(signum)


class _QuietStream:
    """Standard error that cannot be written (closed, or a full disk): messages and progress
    are lost, the work and the exit status are not."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        try:
            return self.stream.write(text) if self.stream is not None else len(text)
        except (OSError, ValueError):
            return len(text)

    def flush(self):
        try:
            if self.stream is not None:
                self.stream.flush()
        except (OSError, ValueError):
            pass

    def isatty(self):
        try:
            return self.stream is not None and self.stream.isatty()
        except (OSError, ValueError):
            return False

    def __getattr__(self, name):
        return getattr(self.stream, name)


def main(argv=None):
    """Parse argv (default: sys.argv[1:]), run the command; returns the exit status."""
    original = sys.stderr
    sys.stderr = _QuietStream(original)
    try:
        return _main(argv)
    finally:
        sys.stderr = original


def _main(argv):
    closed = _closed_stdout()
    if closed:                                      # nothing could be reported: refuse before any work
        print(f"tinyrnn: error: standard output is closed: {closed}; give it a file, a pipe or /dev/null",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    try:                                            # text the encoding cannot write is escaped, not a crash
        sys.stdout.reconfigure(errors="backslashreplace")
    except (AttributeError, ValueError):
        pass
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:                        # `tinyrnn` alone: the usage and the list of commands
        print(f"tinyrnn: error: a COMMAND is required (usage: tinyrnn COMMAND [OPTIONS]); the commands: "
              f"{', '.join(parser.command_names)} (tinyrnn --help says what each does)", file=sys.stderr)
        return EXIT_BAD_INPUT
    args.given_options = {name for name in LATE_DEFAULTS if getattr(args, name, None) is not None}
    for name, default in LATE_DEFAULTS.items():     # (None until here: a given value is told from the default)
        if hasattr(args, name) and getattr(args, name) is None:
            setattr(args, name, default)
    try:                                            # TINYRNN_ENGINE: a known engine, and numba for compiled
        from .nn.compiled import EngineError, check_engine
        check_engine()
    except EngineError as error:
        return _fail(args, str(error))
    if threading.current_thread() is threading.main_thread():
        for signum in STOPPING:
            signal.signal(signum, _raise_terminated)
    saved_before = len(files.written)
    if args.command == "train":                     # its set-up's warnings wait for the training to start
        notices.hold()
    try:
        return _run(args)
    except TinyRNNError as error:
        return _fail(args, worded(error), error.exit_status)
    except BrokenPipeError:                         # e.g. `tinyrnn predict ... | head -1`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        if not where and error.errno in (errno.ENOSPC, errno.EDQUOT):      # print() to a full device
            where = "standard output: "
        return _fail(args, f"{where}{error.strerror or error}")
    except MemoryError:
        return _fail(args, "out of memory: a size (--hidden, --layers, --batch-size, --embed) or the data is "
                           "too large for this machine")
    except (KeyboardInterrupt, Terminated) as stop:   # the shell's statuses: 128 + signal number
        signal_name, status = ("Ctrl-C", 130) if isinstance(stop, KeyboardInterrupt) else \
            (signal.Signals(stop.signum).name, 128 + stop.signum)
        return _fail(args, f"interrupted by {signal_name}; {_saved(files.written[saved_before:])}", status)


def _run(args):
    """The command's run(args); the warnings it held back said if it ran, forgotten if it was
    refused or stopped (then its one line of error is all it says)."""
    try:
        status = _command(args).run(args)
    except BaseException:
        notices.discard()
        raise
    notices.release()
    return status


def _closed_stdout():
    """Why standard output cannot take the command's output (closed, as by `>&-`), or None."""
    if sys.stdout is None:                          # Python started without a descriptor 1
        return "there is no file descriptor 1"
    try:
        os.fstat(1)
    except OSError as error:                        # EBADF: closed since
        return error.strerror or str(error)
    return None


def _saved(paths):
    """What an interrupted command had saved, and how to go on."""
    if not paths:
        return "nothing was saved"
    if CHECKPOINT_NAME.match(os.path.basename(paths[-1])):
        return f"checkpoint {paths[-1]} saved: the same command with --resume goes on from it"
    return f"{paths[-1]} was saved before it"


def _command(args):
    """The module whose run(args) does the command; for train, the task's, once its options fit it."""
    from .commands import evaluate, explain, export, forecast, generate, gradcheck, import_model, info, plot, \
        predict, serve, train_classifier, train_forecast, train_lm, train_numeric, train_seq2seq, translate
    if args.command == "train":
        from .commands.numeric_data import is_numeric
        numeric = args.task in ("classify", "regress") and is_numeric(args.train, args.format)
        _check_task_options(args, numeric)
        if numeric or args.task == "regress":             # regress: numbers, or texts with numbers
            return train_numeric
        return {"classify": train_classifier, "lm": train_lm, "seq2seq": train_seq2seq,
                "forecast": train_forecast}[args.task]
    return {"predict": predict, "eval": evaluate, "generate": generate, "gradcheck": gradcheck, "info": info,
            "plot": plot, "explain": explain, "serve": serve, "export": export, "import": import_model,
            "translate": translate, "forecast": forecast}[args.command]


_CLASSIFY, _LM, _SEQ2SEQ, _REGRESS, _FORECAST = "classify", "lm", "seq2seq", "regress", "forecast"
_ONLY_FOR = {**dict.fromkeys(["train", "test", "valid", "bidirectional"], (_CLASSIFY, _SEQ2SEQ, _REGRESS)),
             "target_accuracy": (_CLASSIFY, _SEQ2SEQ), "no_shuffle": (_CLASSIFY, _SEQ2SEQ, _REGRESS, _FORECAST),
             **dict.fromkeys(["min_count", "max_vocab"], (_CLASSIFY, _LM, _SEQ2SEQ, _REGRESS)),
             "skip_bad_rows": (_CLASSIFY, _SEQ2SEQ, _REGRESS),
             "no_bucket": (_CLASSIFY, _SEQ2SEQ, _REGRESS), "pool": (_CLASSIFY, _REGRESS),
             "folds": (_CLASSIFY, _REGRESS), "fold": (_CLASSIFY,),
             **dict.fromkeys(["embeddings", "freeze_embeddings", "word_dropout", "pretrained", "pretrain_text",
                              "pretrain_epochs"], (_CLASSIFY,)),
             **dict.fromkeys(["text", "seq_length", "sample_every"], (_LM,)),
             **dict.fromkeys(["attention", "attention_size", "normalize", "swap", "max_length", "target_prefix",
                              "source_column", "target_column", "test_split", "beam"], (_SEQ2SEQ,)),
             **dict.fromkeys(["id_column", "feature_columns"], (_CLASSIFY, _REGRESS)),
             "loss": (_REGRESS, _FORECAST), "tokenizer": (_LM, _SEQ2SEQ),
             **dict.fromkeys(["format", "text_column", "label_column"], (_CLASSIFY, _REGRESS)),
             **dict.fromkeys(["series", "columns", "window", "horizon", "holdout", "scaling", "season"], (_FORECAST,))}
_TEXT_ONLY = ("min_count", "max_vocab", "skip_bad_rows", "embeddings", "freeze_embeddings", "word_dropout",
              "embed", "embed_dropout", "tokenizer", "pretrained", "pretrain_text", "pretrain_epochs", "text_column",
              "fold")          # options numeric sequences have no use for
_NUMERIC_ONLY = ("id_column", "feature_columns", "time_column")


_DATA_FILES = ("train", "valid", "test", "text", "series", "pretrain_text", "embeddings")
_READING = ("format", "encoding", "text_column", "label_column", "skip_bad_rows", "id_column", "time_column",
            "feature_columns", "source_column", "target_column", "columns")      # how data files are read


def _check_task_options(args, numeric):
    """Refuse options and presets of another task (train --task classify, lm, seq2seq, regress or
    forecast), and options of texts for numbers and the reverse."""
    from .commands.presets import PRESETS

    for name, tasks in _ONLY_FOR.items():
        if args.task not in tasks and given(args, name):
            raise TinyRNNError(f"--{name.replace('_', '-')} applies to --task {' and '.join(tasks)}, not {args.task}")
    for names, kind, other in ((_TEXT_ONLY, numeric or args.task == _FORECAST, "texts"),
                               (_NUMERIC_ONLY, not numeric and args.task != _FORECAST, "numeric sequences")):
        wrong = [name for name in names if kind and given(args, name)]
        if wrong:
            raise TinyRNNError(f"--{wrong[0].replace('_', '-')} applies to {other}, not to this run's data")
    if not any(getattr(args, name, None) for name in _DATA_FILES):
        reading = next((name for name in _READING if given(args, name)), None)
        if reading is not None:
            raise TinyRNNError(f"--{reading.replace('_', '-')} says how to read a data file, and this run gives "
                               f"none: it trains on the embedded dataset")
    if args.nesterov and not args.momentum:
        raise TinyRNNError("--nesterov needs --momentum M (above 0 and below 1, such as 0.9)")
    if args.warmup is not None and args.schedule == "constant":
        raise TinyRNNError("--warmup is the rise of --schedule slanted or onecycle; the constant schedule has none")
    if args.out is None:
        args.out = DEFAULT_OUT[args.task]
    presets = PRESETS[args.task]
    if args.preset is not None and args.preset not in presets:
        raise TinyRNNError(f"preset {args.preset!r} is for another task; --task {args.task} has "
                           f"{', '.join(sorted(presets))}")


def _fail(args, message, status=EXIT_BAD_INPUT):
    from .text_output import printable               # a message naming a path or text stays one line
    print(f"tinyrnn {args.command}: error: {printable(message)}", file=sys.stderr)
    return status
