"""The tinyrnn command line: parse the options (options.py), choose the command (and train's
task), and turn our errors into one line + exit 2. What each command does is in the commands
package."""
import os
import signal
import sys
import threading

from . import files
from .checkpoint import CHECKPOINT_NAME
from .commands.remedies import worded
from .errors import Terminated, TinyRNNError
from .options import build_parser

EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE             # what a shell reports for a process SIGPIPE ended


def _raise_terminated(signum, frame):
    raise Terminated()


def main(argv=None):
    """Parse argv (default: sys.argv[1:]), run the command; returns the exit status."""
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)
    saved_before = len(files.written)
    try:
        return _command(args).run(args)
    except TinyRNNError as error:
        return _fail(args, worded(error), error.exit_status)
    except BrokenPipeError:                         # e.g. `tinyrnn predict ... | head -1`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        return _fail(args, f"{where}{error.strerror or error}")
    except MemoryError:
        return _fail(args, "out of memory")
    except (KeyboardInterrupt, Terminated) as stop:   # the shell's statuses: 128 + signal number
        signal_name, status = ("Ctrl-C", 130) if isinstance(stop, KeyboardInterrupt) else ("SIGTERM", 143)
        return _fail(args, f"interrupted by {signal_name}; {_saved(files.written[saved_before:])}", status)


def _saved(paths):
    """What an interrupted command had saved, and how to go on."""
    if not paths:
        return "nothing was saved"
    if CHECKPOINT_NAME.match(os.path.basename(paths[-1])):
        return f"checkpoint {paths[-1]} saved: the same command with --resume goes on from it"
    return f"{paths[-1]} was saved before it"


def _command(args):
    """The module whose run(args) does the command; for train, the task's, once its options fit it."""
    from .commands import evaluate, explain, export, generate, gradcheck, import_model, info, plot, predict, serve, \
        train_classifier, train_lm
    if args.command == "train":
        _check_task_options(args)
        return train_lm if args.task == "lm" else train_classifier
    return {"predict": predict, "eval": evaluate, "generate": generate, "gradcheck": gradcheck, "info": info,
            "plot": plot, "explain": explain, "serve": serve, "export": export, "import": import_model}[args.command]


_ONLY_FOR = {"classify": ["train", "test", "target_accuracy", "no_shuffle", "no_bucket", "skip_bad_rows",
                          "bidirectional", "valid", "min_count", "max_vocab",
                          "pool", "folds", "embeddings", "freeze_embeddings", "word_dropout"],
             "lm": ["text", "seq_length", "sample_every"]}


def _check_task_options(args):
    """Refuse options and presets of the other task (train --task classify vs --task lm)."""
    from .commands.presets import PRESETS

    other = "lm" if args.task == "classify" else "classify"
    for name in _ONLY_FOR[other]:
        if getattr(args, name) not in (None, False):
            raise TinyRNNError(f"--{name.replace('_', '-')} applies to --task {other}, not {args.task}")
    presets = PRESETS[args.task]
    if args.preset is not None and args.preset not in presets:
        raise TinyRNNError(f"preset {args.preset!r} is for the other task; --task {args.task} has "
                           f"{', '.join(sorted(presets))}")


def _fail(args, message, status=EXIT_BAD_INPUT):
    print(f"tinyrnn {args.command}: error: {message}", file=sys.stderr)
    return status
