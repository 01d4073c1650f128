"""What `tinyrnn train` does for every task: the TrainConfig of the options and the preset,
the run under a progress bar with its log blocks and JSON log, checkpoints and signals.
A task's command (train_classifier.py, train_lm.py) supplies its data, model and task, and
how a log block reads."""
import os
import sys
from contextlib import nullcontext

from tqdm import tqdm

from .. import notices
from ..errors import TinyRNNError
from ..files import check_same_architecture, is_tinyrnn_file
from ..io import save_model
from ..memory import check_fits, training_copies
from ..nn.compiled import engine_choice
from ..training import Listener, TrainConfig
from .checkpointing import checkpoint_settings, deferred_signals
from .common import JsonLog, progress_bar
from .presets import off_or


def train_config(args, recipe, given, **settings):
    """The TrainConfig of train's options and the recipe (a preset with the options given).
    With --steps or --minutes and no --epochs, they alone decide the length."""
    epochs = None if (args.steps or args.minutes) and "epochs" not in given else recipe["epochs"]
    return TrainConfig(
        epochs=epochs, steps=args.steps, minutes=args.minutes, batch_size=recipe["batch_size"],
        optimizer=recipe["optimizer"], lr=recipe["lr"], momentum=args.momentum, nesterov=args.nesterov,
        lr_decay=1.0 if args.lr_decay is None else args.lr_decay, schedule=args.schedule,
        warmup=0.1 if args.warmup is None else args.warmup,
        lr_layer_decay=args.lr_layer_decay, unfreeze_every=args.unfreeze_every, clip_value=recipe["clip_value"], clip_norm=off_or(args.clip_norm),
        ema=off_or(args.ema), log_every=recipe["log_every"], log_every_seconds=off_or(args.log_every_seconds),
        target_accuracy=recipe.get("target_accuracy"), keep_best=args.keep_best, early_stop=args.early_stop,
        **checkpoint_settings(args), **settings)


def saying_weights_saved(entry, keep_best):
    """A JSON log record (entry) with validation figures ("best": the best so far), saying which
    weights the run saves: "weights_saved": "best" (--keep-best: the best validation's) or "last"."""
    if "best" in entry:
        entry["weights_saved"] = "best" if keep_best else "last"
    return entry


def save_run_model(model, path, force=False):
    """Save the trained model at --out. A file that is not a tinyrnn model, put there while
    the run went on (the check before it saw none), is kept: the model is saved beside it,
    and the run ends with an error naming both."""
    if force or not os.path.lexists(path) or is_tinyrnn_file(path, "model"):
        save_model(model, path)
        return
    stem, number = path.removesuffix(".safetensors"), 1
    while os.path.lexists(f"{stem}.{number}.safetensors"):
        number += 1
    beside = f"{stem}.{number}.safetensors"
    save_model(model, beside)
    raise TinyRNNError(f"--out {path}: a file that is not a tinyrnn model appeared there during the run; it is "
                       f"kept, and the model is saved as {beside}")


def epoch_where(state, unit="epoch"):
    """Where a run counted in epochs (or passes) stands, for the resume messages."""
    if state.finished:
        return f"at {unit} {state.epoch}"
    if state.batch:
        return f"next: {unit} {state.epoch}, batch {state.batch + 1}"
    return f"next: {unit} {state.epoch + 1}"


class CommandListener(Listener):
    """A run on the command line: a progress bar on stderr, log blocks on stdout, the JSON
    log. report: the task command's RunReport (how its log blocks and records read)."""

    def __init__(self, report, bar, log, keep_best=False):
        self.report, self.bar, self.log, self.keep_best = report, bar, log, keep_best

    def on_update(self, progress):
        self.bar.update(1)
        if progress.due:                             # a long epoch: a line every --log-every-seconds
            tqdm.write(self.report.progress_line(progress), file=sys.stdout)
        self.report.after_update(progress)

    def on_record(self, record):
        self.bar.set_postfix(self.report.postfix(record), refresh=False)
        if record.logged:
            tqdm.write(self.report.log_block(record), file=sys.stdout)
            self.log.write_record(saying_weights_saved(self.report.json_record(record), self.keep_best))
        self.report.after_record(record)


class RunReport:
    """How a task's run reads on the command line (every method may be replaced)."""

    unit = "batch"                           # what the progress bar counts
    examples = None                          # what an epoch trains on, counted in rows of a batch

    def updates_per_epoch(self, trainer):
        """Updates in one pass over the data (None: unknown)."""
        return None if self.examples is None else -(-self.examples // trainer.config.batch_size)

    def total_updates(self, trainer):
        """Updates the run makes at most, for the progress bar (None: unknown)."""
        config, per_epoch = trainer.config, self.updates_per_epoch(trainer)
        totals = [n for n in (config.steps, config.epochs and per_epoch and config.epochs * per_epoch) if n]
        return min(totals, default=None)

    def progress_line(self, progress):
        return (f"    epoch {progress.epoch}, batch {progress.batch}/{progress.batches}: train loss "
                f"{progress.train['loss']:.3f} ({progress.train_seconds:.0f} s)")

    def postfix(self, record):
        return {"epoch": record.epoch, "loss": f"{record.train_loss:.3f}"}

    def log_block(self, record):
        raise NotImplementedError

    def json_record(self, record):
        raise NotImplementedError

    def after_update(self, progress):
        pass

    def after_record(self, record):
        pass


def run_trainer(trainer, report, json_log, progress, checkpoints=None, out=None, force=False):
    """Run trainer with report's output: the bar (starting where a resumed run stands), log
    blocks and the JSON log (a resumed run's log starts as the first did); Ctrl-C and
    SIGTERM checkpoint and stop when the run has checkpoints. out: the --out the model will be
    saved to, refused first if it holds a model of another architecture (unless force).
    Returns the history."""
    check_same_architecture("--out", out, trainer.model.config, force)
    optimizer = trainer.optimizer
    check_fits(trainer.model.flat.nbytes, training_copies(optimizer.name, getattr(optimizer, "momentum", 0.0),
                                                          optimizer.average_decay is not None,
                                                          trainer.config.keep_best), resident=True)
    state = trainer.state
    with JsonLog(json_log) as log, progress_bar(report.total_updates(trainer), report.unit, progress) as bar:
        notices.release()                            # the set-up's warnings: the run is accepted
        if engine_choice() == "compiled" and not trainer.model._uses_compiled_step():
            print("note: TINYRNN_ENGINE=compiled, but the compiled engine runs only the walkthrough's kind of "
                  "model (a one-layer rnn classifier of one-hot words, at most 128 units); this one trains on "
                  "NumPy", file=sys.stderr)
        bar.update(state.steps)
        for record in state.history:
            if record.logged:
                log.write_record(saying_weights_saved(report.json_record(record), trainer.config.keep_best))
        trainer.listener = CommandListener(report, bar, log, trainer.config.keep_best)
        with deferred_signals(trainer) if checkpoints else nullcontext():
            return trainer.run()

