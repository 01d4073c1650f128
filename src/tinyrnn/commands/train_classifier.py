"""`tinyrnn train --task classify`: train a classifier on labelled texts and save it."""
import os
import sys
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from ..checkpoint import fingerprint
from ..data import default_dataset
from ..data.split import stratified_folds, stratified_split
from ..errors import DataError, TinyRNNError
from ..files import check_same_architecture
from ..plots import require_matplotlib
from ..tasks import ClassifyTask, evaluate
from ..text_output import printable
from ..training import Trainer, run_signature
from .checkpointing import command_checkpoints
from .classifier_setup import (Vectors, classes_of, classifier_from, encode_datasets, fingerprint_arrays, new_model,
                               pretrained_classifier, saved_model)
from .common import (DataOptions, JsonLog, data_inputs, draw_training_plot, epoch_record, locked_outputs,
                     model_options, output_may_close)
from .numeric_data import warn_small_training
from .presets import recipe_for, with_preset_options
from .pretraining import PretrainSource, pretrain_language_models
from .training import RunReport, epoch_where, run_trainer, save_run_model, saying_weights_saved, train_config


def run(args):
    """Train on --train (default: the embedded dataset), print the log blocks, save --out."""
    if args.preset == "timeseries":
        raise TinyRNNError("--preset timeseries is for numeric sequences (.ts, .npz, --format long); texts "
                           "train with walkthrough, fast or text")
    args = _with_preset_options(args)
    outputs = {"--out": (None if args.folds else args.out, "model:classify"),
               "--json-log": (args.json_log, "log"),
               "--checkpoint-dir": (args.checkpoint_dir, "folder"), "--plot": (args.plot, "png")}
    if args.plot:
        require_matplotlib()                         # before the run, not after an hour of it
    inputs = data_inputs(train=args.train, test=args.test, valid=args.valid, embeddings=args.embeddings,
                         init_from=args.init_from, pretrained=args.pretrained,
                         pretrain_text=None if args.pretrain_text == "train" else args.pretrain_text)
    checkpoints = command_checkpoints(args)
    if args.fold and not args.folds:
        raise TinyRNNError("--fold N runs one fold of a cross-validation: give --folds K too")
    if args.fold and args.plot:
        raise TinyRNNError("--plot draws every fold's accuracy, and --fold N runs one: plot without --fold, or "
                           "draw the folds' JSON logs (--json-log) together")
    if checkpoints and args.folds:
        raise TinyRNNError("--folds trains one model per fold and saves none; it takes no checkpoints")
    with locked_outputs(outputs, inputs, args.force), checkpoints.held() if checkpoints else nullcontext(), \
            output_may_close():
        return _run(args, checkpoints)


def _run(args, checkpoints):
    data = DataOptions(args.format, args.encoding, args.text_column, args.label_column, args.skip_bad_rows)
    train_specs, test_specs, preset, seed = args.train, args.test, args.preset, args.seed
    valid_specs, valid_split, folds = args.valid, args.valid_split, args.folds
    vocab_limits = {"min_count": args.min_count or 1, "max_size": args.max_vocab}
    overrides = {"epochs": args.epochs, "hidden": args.hidden, "init": args.init,
                 "optimizer": args.optimizer, "lr": args.lr, "batch_size": args.batch_size,
                 "clip_value": args.clip_value, "log_every": args.log_every,
                 "target_accuracy": args.target_accuracy}
    task_settings = {"shuffle": not args.no_shuffle, "bucket": not args.no_bucket,
                     "word_dropout": args.word_dropout or 0.0}
    init_from, dtype, architecture = args.init_from, args.dtype, model_options(args)
    embeddings, freeze = args.embeddings, args.freeze_embeddings
    if (embeddings or freeze) and init_from:
        raise TinyRNNError("--embeddings and --freeze-embeddings start a new model; --init-from keeps its own")
    pretrain = _check_pretraining_options(args)
    if freeze and not (embeddings or architecture.embed_size or args.pretrained or args.pretrain_text):
        raise TinyRNNError("--freeze-embeddings needs a learned embedding (--embeddings FILE or --embed E)")
    out, json_log, progress, plot = args.out, args.json_log, args.progress, args.plot

    _check_validation_options(valid_specs, valid_split, args, init_from)
    if folds and (test_specs or valid_specs or init_from):
        raise TinyRNNError("--folds makes each fold the test set in turn; it takes no --test, --valid "
                           "or --init-from (use --valid-split for validation within each fold)")
    train_set, test_set = _load_train_test(data, train_specs, test_specs)
    test_set = None if folds else test_set
    train_set, valid_set = (train_set, None) if folds else _validation(data, train_set, valid_specs,
                                                                       valid_split, seed)
    recipe, given = _recipe(preset, overrides, has_test=test_set is not None,     # a fold's test: reported only
                            has_valid=valid_set is not None or bool(folds and valid_split))
    config = train_config(args, recipe, given, frozen=("embedding.weight",) if freeze else ())
    plan = Plan(recipe, config, task_settings, architecture, dtype, vocab_limits, overrides["init"] is not None,
                init_from, seed, progress, Vectors(embeddings, args.encoding) if embeddings else None, args.hidden,
                args.pretrained, pretrain)
    if folds:
        return _cross_validate(plan, train_set, folds, valid_split, json_log, plot, args.fold)
    model, history, test_data = plan.fit(train_set, test_set, valid_set, json_log, checkpoints, out, args.force)
    if config.keep_best and test_data is not None and any(stats.best for stats in history):
        loss, accuracy, _ = evaluate(model, test_data)
        print(f"Test (kept weights):\tLoss {loss:.3f} | Accuracy: {accuracy:.3f}")
    save_run_model(model, out, args.force)
    print(f"saved {printable(out)}", file=sys.stderr)
    draw_training_plot(plot, [saying_weights_saved(epoch_record(stats), config.keep_best) for stats in history],
                       f"{out}: {model.describe(short=True)}")
    return 0


def _check_pretraining_options(args):
    """The PretrainSource of --pretrain-text (None without it); options that cannot go with
    --pretrained or --pretrain-text are named before any data is read."""
    if not (args.pretrained or args.pretrain_text):
        if args.pretrain_epochs:
            raise TinyRNNError("--pretrain-epochs needs --pretrain-text")
        return None
    option = "--pretrained" if args.pretrained else "--pretrain-text"
    for name, given in (("--pretrain-text", args.pretrained and args.pretrain_text), ("--init-from", args.init_from),
                        ("--embeddings", args.embeddings),
                        ("--pretrain-epochs", args.pretrained and args.pretrain_epochs)):
        if given:
            raise TinyRNNError(f"{option} starts the model from a pretrained one; it cannot go with {name}")
    if args.pretrained and (args.min_count or args.max_vocab):
        raise TinyRNNError("--min-count and --max-vocab build a new vocabulary; --pretrained keeps the "
                           "pretrained model's")
    return PretrainSource(args.pretrain_text, args.encoding, args.pretrain_epochs) if args.pretrain_text else None


@dataclass
class Plan:
    """Everything that trains one model, so cross-validation can train one per fold."""

    recipe: dict
    config: object                       # training.TrainConfig
    task_settings: dict                  # ClassifyTask's shuffle, bucket, word_dropout
    architecture: object                 # common.ModelOptions
    dtype: str | None
    vocab_limits: dict
    init_given: bool
    init_from: str | None
    seed: int
    progress: bool
    vectors: "Vectors | None" = None     # --embeddings
    given_hidden: int | None = None      # --hidden as given (not a preset's): --init-from's must agree
    pretrained: str | None = None        # --pretrained: a language model (or autoencoder) to start from
    pretrain: "PretrainSource | None" = None   # --pretrain-text: pretrain one first on the training texts

    def fit(self, train_set, test_set, valid_set, json_log, checkpoints=None, out=None, force=False):
        """Build (or load) a model, train it with logs (or resume it from checkpoints); returns
        (model, history, test data). out: where it will be saved (run_trainer checks it)."""
        rng = np.random.default_rng(self.seed)
        if self.init_from:
            if self.init_given:
                raise TinyRNNError("--init sets the initial weights; it cannot apply with --init-from")
            model = saved_model(self.init_from, hidden=self.given_hidden, dtype=self.dtype)   # given: must agree
            self.architecture.check_agrees(model, self.init_from)
        elif self.pretrained or self.pretrain:
            model = self._pretrained(train_set, rng, checkpoints, out, force)
            if "embedding.weight" in self.config.frozen and "embedding.weight" not in model.params:
                raise TinyRNNError("--freeze-embeddings needs a learned embedding; the pretrained model reads "
                                   "one-hot words (give --embed E to the language model)")
        else:
            model = new_model(train_set, classes_of(train_set), self.recipe, self.dtype, self.architecture,
                               rng, vocab_limits=self.vocab_limits, init_given=self.init_given, vectors=self.vectors)
        train_data, test_data, valid_data = encode_datasets(model, train_set, test_set, valid_set)
        if model.origin:
            print(f"weights of the embedding and recurrent layers from {printable(model.origin['pretrained'])}; "
                  f"a new output layer")
        task = ClassifyTask(train_data, valid_data, test_data, **self.task_settings)
        trainer = Trainer(model, task, self.config, rng)
        if checkpoints:
            data = fingerprint(*(array for part in (train_data, valid_data, test_data) if part
                                 for array in fingerprint_arrays(part)))
            checkpoints.start(trainer, run_signature(model, self.config, task, self.seed, data), {}, epoch_where)
        history = run_trainer(trainer, ClassifierReport(len(train_data)), json_log, self.progress, checkpoints,
                              out, force)
        _summary(history, self.config)
        _hint_if_unlearned(history, train_data.targets, self.config)
        return model, history, test_data


    def _pretrained(self, train_set, rng, checkpoints=None, out=None, force=False):
        """The classifier that starts from --pretrained's model, or from a language model
        pretrained here on --pretrain-text (the training texts given: a fold's own),
        checkpointed with the run's checkpoints; --out (out) is checked before it pretrains."""
        init = self.recipe["init"]
        if init == "walkthrough" and not self.init_given:
            init = "orthogonal"                      # as new_model: the walkthrough's init is for its model
        classes = classes_of(train_set)
        if self.pretrained:
            return pretrained_classifier(self.pretrained, classes, self.architecture, self.given_hidden, self.dtype,
                                         rng, init)
        source, bidirectional = self.pretrain, self.architecture.bidirectional

        def check_out(forward):                      # the classifier it will make, against --out
            made = classifier_from(forward, "", classes, self.architecture, None, None, np.random.default_rng(0),
                                   init, None, forward if bidirectional else None)
            check_same_architecture("--out", out, made.config, force)
        forward, backward, digest = pretrain_language_models(source.texts(train_set.texts), self.architecture,
                                                             self.recipe["hidden"], self.dtype or "float64",
                                                             self.vocab_limits, source.epochs, self.seed,
                                                             checkpoints, _cadence(self.config), check_out)
        named = "the training texts" + (f" and {os.path.basename(source.path)}" if source.path else "")
        origin = {"pretrained": named, "task": "lm", "passes": source.epochs, "sha256": digest,
                  "directions": 2 if backward is not None else 1}
        return classifier_from(forward, named, classes, self.architecture, None, None, rng, init, origin, backward)


def _cadence(config):
    """The run's checkpoint settings, which its pretraining keeps too."""
    return {"checkpoint_every": config.checkpoint_every, "checkpoint_minutes": config.checkpoint_minutes}


def _cross_validate(plan, dataset, folds, valid_split, json_log, plot, only=None):
    """Stratified K-fold cross-validation: each fold is the test set once; prints each fold's
    accuracy, then their mean and standard deviation. No model is saved. only: the one fold to
    run (--fold, to share the folds among processes or machines), the same split as in all."""
    if folds > len(dataset):
        raise DataError(f"{dataset.sources[0]}: {len(dataset)} examples cannot make {folds} folds")
    if only is not None and only > folds:
        raise TinyRNNError(f"--fold {only} of --folds {folds}: there is no such fold")
    parts = stratified_folds(dataset.labels, folds, np.random.default_rng([plan.seed, 4]))
    accuracies, records = [], []
    with JsonLog(json_log) as log:
        for number, test_rows in enumerate(parts, start=1):
            if only is not None and number != only:
                continue
            train_rows = np.setdiff1d(np.arange(len(dataset)), test_rows)
            train_set, valid_set = _validation(None, dataset.subset(train_rows), None, valid_split,
                                               plan.seed + number)
            print(f"=== Fold {number}/{folds}: {len(train_set)} training, "
                  f"{len(test_rows)} test examples")
            model, _, test_data = plan.fit(train_set, dataset.subset(test_rows), valid_set, None)
            loss, accuracy, _ = evaluate(model, test_data)
            accuracies.append(accuracy)
            print(f"Fold {number}: test accuracy {accuracy:.3f} (loss {loss:.3f})")
            records.append({"fold": number, "test_loss": loss, "test_accuracy": accuracy})
            log.write_record(records[-1])
        if only is not None:
            return 0
        mean, std = float(np.mean(accuracies)), float(np.std(accuracies, ddof=1)) if folds > 1 else 0.0
        print(f"Cross-validation over {folds} folds: accuracy {mean:.4f} +- {std:.4f} (mean +- standard "
              f"deviation of the folds)")
        log.write_record({"folds": folds, "accuracies": accuracies, "mean_accuracy": mean, "std_accuracy": std})
    print("cross-validation saves no model; train without --folds to save one", file=sys.stderr)
    draw_training_plot(plot, records, f"{folds}-fold cross-validation: accuracy {mean:.3f} +- {std:.3f}")
    return 0


def _load_train_test(data, train_specs, test_specs):
    """(train, test or None): the given files, else the embedded dataset (its test set unless --test)."""
    if train_specs:
        return data.read(train_specs), data.read(test_specs) if test_specs else None
    train_set, test_set = default_dataset()
    return train_set, data.read(test_specs) if test_specs else test_set


def _with_preset_options(args):
    """The preset's architecture and validation options where the command line gives none (a
    given --valid replaces the preset's split; --init-from keeps the saved model's settings)."""
    keep = ("valid_split",) if args.valid else ()
    if args.pretrained:                              # the body's settings are the pretrained model's
        keep += ("cell", "bidirectional", "embed", "min_count")
    return with_preset_options(args, "classify", keep=keep)


def _check_validation_options(valid_specs, valid_split, args, init_from):
    """Options that cannot work together, named before any data is read."""
    if valid_specs and valid_split:
        raise TinyRNNError("give either --valid or --valid-split, not both")
    for name in ("keep_best", "early_stop"):
        if getattr(args, name) and not (valid_specs or valid_split):
            raise TinyRNNError(f"--{name.replace('_', '-')} needs validation data (--valid FILE or "
                               f"--valid-split F)")
    if init_from and (args.min_count or args.max_vocab):
        raise TinyRNNError("--min-count and --max-vocab build a new vocabulary; --init-from keeps "
                           "the saved model's")


def _validation(data, train_set, valid_specs, valid_split, seed):
    """(training set, validation set or None): --valid's files, or a stratified --valid-split
    of the training data drawn from the seed (the same seed, the same split)."""
    if valid_specs:
        return train_set, data.read(valid_specs)
    if not valid_split:
        return train_set, None
    train_rows, valid_rows = stratified_split(train_set.labels, valid_split, np.random.default_rng([seed, 3]))
    if len(valid_rows) == 0 or len(train_rows) == 0:
        raise DataError(f"{train_set.sources[0]}: too few examples to hold out {valid_split} for validation")
    warn_small_training(len(train_rows), len(valid_rows))
    return train_set.subset(train_rows), train_set.subset(valid_rows)


def _summary(history, config):
    """The lines after training: target reached, early stop, the epoch whose weights are kept."""
    if not history:
        return
    last = history[-1]
    if last.target_reached:
        print(f"Reached test accuracy {last.test_accuracy:.3f} at epoch {last.epoch} "
              f"after {last.train_seconds:.3f} s of training")
    if last.stopped_early:
        print(f"Stopped at epoch {last.epoch}: no better validation epoch in the last {config.early_stop}")
    best = [stats for stats in history if stats.best]
    if config.keep_best and best:
        print(f"Kept epoch {best[-1].epoch}: best validation accuracy {best[-1].valid_accuracy:.3f} "
              f"(loss {best[-1].valid_loss:.3f})")


MIN_EPOCHS_FOR_HINT = 50                 # the walkthrough's recipe starts to learn after about 100


def _hint_if_unlearned(history, targets, config):
    """A note on stderr when a run of some length ends where it began: a training loss still
    within 5 % of guessing the class frequencies (their entropy), the accuracy at chance level."""
    if not history or history[-1].epoch < MIN_EPOCHS_FOR_HINT:          # too early to tell
        return
    frequencies = np.bincount(targets) / len(targets)
    frequencies = frequencies[frequencies > 0]
    guessing = float(-(frequencies * np.log(frequencies)).sum())     # nats: the loss of the prior
    last = history[-1]
    if guessing == 0 or last.train_loss < 0.95 * guessing:
        return
    slow = (f" (sgd with --batch-size {config.batch_size} steps by the mean of {config.batch_size} gradients)"
            if config.optimizer == "sgd" and config.batch_size > 1 else "")
    print(f"note: after {last.epoch} epochs the training loss {last.train_loss:.3f} is still that of guessing the "
          f"class frequencies ({guessing:.3f}; accuracy {last.train_accuracy:.3f}, chance level): the model has "
          f"not learned{slow}; try --preset fast, --optimizer adam or a higher --lr", file=sys.stderr)


def _recipe(preset, overrides, has_test, has_valid):
    """The preset (default walkthrough) with the given options. A preset's stop at a test
    accuracy applies only with test data and without validation data (which then decides)."""
    recipe, given = recipe_for("classify", preset, overrides)
    if recipe["target_accuracy"] is not None and not has_test:
        if "target_accuracy" in given:
            raise TinyRNNError("--target-accuracy needs a test set (--test)")
        recipe["target_accuracy"] = None                 # a preset's early stop needs test data
    if has_valid and "target_accuracy" not in given:
        recipe["target_accuracy"] = None                 # the test set is then only reported
    return recipe, given


class ClassifierReport(RunReport):
    """A classifier's log: the walkthrough's blocks, a line per --log-every-seconds within a
    long epoch, a JSON record per logged epoch."""

    def __init__(self, examples):
        self.examples = examples

    def progress_line(self, progress):
        return (f"    epoch {progress.epoch}, batch {progress.batch}/{progress.batches}: train loss "
                f"{progress.train['loss']:.3f}, accuracy {progress.train['accuracy']:.3f} "
                f"({progress.train_seconds:.0f} s)")

    def postfix(self, record):
        postfix = super().postfix(record)
        if record.valid_accuracy is not None:
            postfix["valid_acc"] = f"{record.valid_accuracy:.3f}"
        return postfix

    def json_record(self, record):
        return epoch_record(record)

    def log_block(self, stats):
        lines = [f"--- Epoch {stats.epoch}",
                 f"Train:\tLoss {stats.train_loss:.3f} | Accuracy: {stats.train_accuracy:.3f}"]
        if stats.valid_loss is not None:
            lines.append(f"Valid:\tLoss {stats.valid_loss:.3f} | Accuracy: {stats.valid_accuracy:.3f}"
                         + ("  (best so far)" if stats.best else ""))
        if stats.test_loss is not None:
            lines.append(f"Test:\tLoss {stats.test_loss:.3f} | Accuracy: {stats.test_accuracy:.3f}")
        return "\n".join(lines)
