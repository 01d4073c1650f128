"""`tinyrnn train` on numeric sequences (.ts, .npz, long CSV): --task classify (one label per
sequence) or --task regress (one or more real targets per sequence; also of texts, one number
in --label-column each: text_regression.py)."""
import sys
from contextlib import nullcontext

import numpy as np

from ..checkpoint import fingerprint
from ..describe import numbers_per_step
from ..errors import DataError, TinyRNNError
from ..io import load_model
from ..plots import require_matplotlib
from ..tasks import ClassifyTask
from ..tasks.regress import RegressTask
from ..text_output import first_alike, printable, quoted
from ..training import Trainer, run_signature
from ..training.checkpoints import LATER
from .checkpointing import command_checkpoints
from .classifier_setup import checked_classes
from .common import data_inputs, draw_training_plot, locked_outputs, model_options, output_may_close
from .numeric_data import check_compatible, encode, is_numeric, read_sets, shown, validation_split
from .presets import recipe_for, with_preset_options
from .train_classifier import ClassifierReport
from .training import RunReport, epoch_where, run_trainer, save_run_model, saying_weights_saved, train_config

PRESET = "timeseries"


def run(args):
    """Train on --train's numeric sequences, print the log blocks, save --out."""
    args = with_preset_options(_with_default_preset(args), args.task, keep=("valid_split",) if args.valid else ())
    if args.folds and (args.test or args.valid or args.init_from or args.checkpoint_dir):
        raise TinyRNNError("--folds makes each fold the test set in turn; it takes no --test, --valid, "
                           "--init-from or --checkpoint-dir (use --valid-split for validation within each fold)")
    if args.folds and args.plot and args.task == "regress":
        raise TinyRNNError("--plot draws a classifier's folds; a regressor's are printed and logged (--json-log)")
    if args.plot:
        require_matplotlib()
    outputs = {"--out": (None if args.folds else args.out, f"model:{args.task}"),
               "--json-log": (args.json_log, "log"),
               "--checkpoint-dir": (args.checkpoint_dir, "folder"), "--plot": (args.plot, "png")}
    inputs = data_inputs(train=args.train, test=args.test, valid=args.valid, init_from=args.init_from)
    checkpoints = command_checkpoints(args)
    with locked_outputs(outputs, inputs, args.force), checkpoints.held() if checkpoints else nullcontext(), \
            output_may_close():
        return _run(args, checkpoints)


def _with_default_preset(args):
    """Numeric sequences train with the timeseries recipe unless --preset names another."""
    if args.preset is None:
        args.preset = PRESET
    elif args.preset != PRESET:
        read = f"--format {args.format} reads" if args.format in ("ts", "npz", "long") else "the data are"
        raise TinyRNNError(f"--preset {args.preset} is for texts, but {read} numeric sequences, which train with "
                           f"--preset {PRESET}")
    return args


def _run(args, checkpoints):
    if not args.train:
        raise TinyRNNError(f"--task {args.task} on numeric sequences needs --train FILE (.ts, .npz or long CSV)")
    if args.valid and args.valid_split:
        raise TinyRNNError("give either --valid or --valid-split, not both")
    task_name = args.task
    read = _reader(args)
    train_set = read(args.train)
    test_set = read(args.test) if args.test else None
    if args.valid:
        valid_set = read(args.valid)
    elif args.valid_split and not args.folds:
        train_set, valid_set = validation_split(train_set, args.valid_split, args.seed)
    else:
        valid_set = None
    for other, what in ((test_set, "the test data"), (valid_set, "the validation data")):
        if other is not None:
            check_compatible(train_set, other, what)
    overrides = {name: getattr(args, option) for name, option in
                 (("epochs", "epochs"), ("hidden", "hidden"), ("init", "init"), ("optimizer", "optimizer"),
                  ("lr", "lr"), ("batch_size", "batch_size"), ("clip_value", "clip_value"),
                  ("log_every", "log_every"), ("target_accuracy", "target_accuracy"))}
    recipe, given = recipe_for(task_name, args.preset, overrides)
    config = train_config(args, recipe, given)
    if args.folds:
        from .numeric_folds import cross_validate
        return cross_validate(args, train_set, lambda *parts: _fit(args, recipe, config, *parts))
    trainer, report, history = _fit(args, recipe, config, train_set, valid_set, test_set, args.json_log, checkpoints)
    finish(trainer, report, history, args, lambda figures: _figures_line(trainer.model, figures))
    return 0


def _reader(args):
    """How this run reads its files: numeric sequences, or (--task regress) texts with numbers."""
    if is_numeric(args.train, args.format):
        return lambda specs: read_sets(specs, args, args.task)
    from .text_regression import read_texts
    return lambda specs: read_texts(specs, args)


def _fit(args, recipe, config, train_set, valid_set, test_set, json_log, checkpoints=None):
    """A model trained (or resumed) on train_set: (trainer, report, history)."""
    rng = np.random.default_rng(args.seed)
    model = _model(args, recipe, train_set, rng)
    train_data = encode(model, train_set)
    test_data, valid_data = (encode(model, part) if part is not None else None for part in (test_set, valid_set))
    shuffle = {"shuffle": not args.no_shuffle, "bucket": not args.no_bucket}
    if args.task == "classify":
        task, report = ClassifyTask(train_data, valid_data, test_data, **shuffle), ClassifierReport(len(train_data))
    else:
        task = RegressTask(train_data, valid_data, test_data, loss=args.loss or "mse", **shuffle)
        report = RegressionReport(len(train_data))
    lengths = [len(sequence) for sequence in train_data.sequences]
    if model.config.features:
        print(f"{len(train_data)} training sequences of {numbers_per_step(model.config.features)}, "
              f"{_lengths(lengths, 'steps')}")
    else:
        print(f"{len(train_data)} training texts, {_lengths(lengths, 'words')}; {len(model.vocab.words)} words in "
              f"the vocabulary")
    trainer = Trainer(model, task, config, rng)
    return trainer, report, train_or_resume(trainer, task, report, args, json_log, checkpoints,
                                   (train_data, valid_data, test_data))


def finish(trainer, report, history, args, figures_line):
    """After training: the test figures of the kept weights (with --keep-best), the model saved,
    the plot drawn."""
    model, task = trainer.model, trainer.task
    if trainer.config.keep_best and task.test is not None and any(record.best for record in history):
        print(f"Test (kept weights):\t{figures_line(task.evaluate(model, task.test))}")
    save_run_model(model, args.out, args.force)
    print(f"saved {printable(args.out)}", file=sys.stderr)
    draw_training_plot(args.plot, [saying_weights_saved(report.json_record(record), trainer.config.keep_best)
                                   for record in history],
                       f"{args.out}: {model.describe(short=True)}")


def _model(args, recipe, train_set, rng):
    """A new model over the training data's features (standardised with its statistics), or
    --init-from's saved one (its own standardisation kept)."""
    if args.init_from:
        model = load_model(args.init_from)
        if model.task != args.task or model.config.features is None and train_set.num_features:
            raise TinyRNNError(f"{args.init_from} is not a {args.task} model of this data")
        model_options(args).check_agrees(model, args.init_from)
        if model.config.features != train_set.num_features:
            raise TinyRNNError(f"{args.init_from} reads {model.config.features} features; the data has "
                               f"{train_set.num_features}")
        if args.task == "regress" and len(model.target_names) != train_set.targets.shape[1]:
            raise TinyRNNError(f"{args.init_from} predicts {len(model.target_names)} targets; the data has "
                               f"{train_set.targets.shape[1]}")
        return model
    if args.task == "classify":
        outputs = checked_classes(list(train_set.labels), train_set.sources, "sequences")
    else:
        outputs = train_set.target_names
        alike = first_alike(outputs)
        if alike is not None:
            raise TinyRNNError(f"{train_set.sources[0]}: targets {quoted(alike[0])} and {quoted(alike[1])} are one "
                               f"name in two Unicode forms: two targets would print alike")
    settings = {"task": args.task, "hidden_size": recipe["hidden"], "dtype": args.dtype or recipe.get("dtype", "float64")}
    if train_set.num_features is None:                    # texts: a vocabulary of their words
        from .text_regression import new_vocab
        model = model_options(args).build(settings, new_vocab(train_set, args), outputs, rng, recipe["init"])
    else:
        settings.update(features=train_set.num_features, input="numeric")
        model = model_options(args).build(settings, train_set.feature_names, outputs, rng, recipe["init"])
        try:
            model.standardize_inputs(train_set.series)
        except DataError as error:
            raise DataError(f"{train_set.sources[0].rsplit(':', 1)[0]}: {error}", remedy=error.remedy) from None
    if args.task == "regress":
        model.standardize_targets(train_set.targets)
    return model


def train_or_resume(trainer, task, report, args, json_log, checkpoints, parts):
    """Run (or, with checkpoints, resume) the training with its log; parts: the run's encoded data
    (None where absent), whose fingerprint a resume must match. Returns the history."""
    if checkpoints:
        arrays = [array for part in parts if part is not None for array in _fingerprint_arrays(part)]
        signature = run_signature(trainer.model, trainer.config, task, args.seed, fingerprint(*arrays))
        if getattr(args, "season", None) not in (None, LATER["season"]):
            signature["season"] = args.season                          # the test's MASE: its figures
        checkpoints.start(trainer, signature, {}, epoch_where)   # a finished run: its log written again
    out = None if getattr(args, "folds", None) else args.out          # --folds saves no model
    return run_trainer(trainer, report, json_log, args.progress, checkpoints, out, args.force)


def _fingerprint_arrays(data):
    return [np.concatenate([np.ravel(seq) for seq in data.sequences]),
            np.array([len(seq) for seq in data.sequences]), np.asarray(data.targets)]


def _lengths(lengths, unit):
    low, high = min(lengths), max(lengths)
    return f"{low} {unit} each" if low == high else f"{low} to {high} {unit}"


def _figures_line(model, figures):
    if model.task == "classify":
        return f"Loss {figures['loss']:.3f} | Accuracy: {figures['accuracy']:.3f}"
    return regression_line(figures)


def regression_line(figures):
    """Loss | RMSE | MAE | R^2 of a figures dict."""
    return (f"Loss {figures['loss']:.4f} | RMSE {figures['rmse']:.4g} | MAE {figures['mae']:.4g} | "
            f"R^2 {shown(figures['r2'], '.3f')}")


class RegressionReport(RunReport):
    """A regressor's log: loss per epoch, and RMSE, MAE, R^2 of validation and test data."""

    def __init__(self, examples):
        self.examples = examples

    def log_block(self, record):
        lines = [f"--- Epoch {record.epoch}", f"Train:\tLoss {record.train_loss:.4f}"]
        for name, figures in (("Valid", record.valid), ("Test", record.test)):
            if figures:
                lines.append(f"{name}:\t{self.figures_line(figures)}"
                             + ("  (best so far)" if name == "Valid" and record.best else ""))
        return "\n".join(lines)

    def figures_line(self, figures):
        if "smape" in figures:            # forecasts: no R^2 (one forecast has no spread of its own)
            return (f"Loss {figures['loss']:.4f} | sMAPE {figures['smape']:.2f} % | MASE {shown(figures['mase'], '.3f')} | "
                    f"MAE {figures['mae']:.4g}")
        return regression_line(figures)

    def json_record(self, record):
        entry = {"epoch": record.epoch, "train_loss": record.train_loss}
        for name, figures in (("valid", record.valid), ("test", record.test)):
            entry.update({f"{name}_{key}": value for key, value in (figures or {}).items()})
        if record.valid:
            entry["best"] = record.best
        return {**entry, "train_seconds": record.train_seconds}
