"""`tinyrnn train --task classify`: train a classifier on labelled texts and save it."""
import sys

import numpy as np
from tqdm import tqdm

from ..data import default_dataset
from ..errors import DataError, TinyRNNError
from ..io import save_model
from ..train import PRESETS, TrainConfig, encode_examples, train
from ..vocab import Vocab, tokenize
from .common import (DataOptions, JsonLog, check_writable_outputs, load_classifier, model_options,
                     progress_bar, recipe_for, warn_unknown)


def run(args):
    """Train on --train (default: the embedded dataset), print the log blocks, save --out."""
    data = DataOptions(args.format, args.encoding, args.text_column, args.label_column)
    train_specs, test_specs, preset, seed = args.train, args.test, args.preset, args.seed
    overrides = {"epochs": args.epochs, "hidden": args.hidden, "init": args.init,
                 "optimizer": args.optimizer, "lr": args.lr, "batch_size": args.batch_size,
                 "clip_value": args.clip_value, "log_every": args.log_every,
                 "target_accuracy": args.target_accuracy}
    settings = {"momentum": args.momentum, "nesterov": args.nesterov, "lr_decay": args.lr_decay,
                "clip_norm": None if args.clip_norm == "none" else args.clip_norm,
                "shuffle": not args.no_shuffle, "bucket": not args.no_bucket}
    init_from, dtype, architecture = args.init_from, args.dtype, model_options(args)
    out, json_log, progress = args.out, args.json_log, args.progress

    check_writable_outputs(out, json_log)
    train_set, test_set = _load_train_test(data, train_specs, test_specs)
    recipe = _recipe(preset, overrides, has_test=test_set is not None)
    config = TrainConfig(epochs=recipe["epochs"], lr=recipe["lr"], optimizer=recipe["optimizer"],
                         batch_size=recipe["batch_size"], clip_value=recipe["clip_value"],
                         log_every=recipe["log_every"], target_accuracy=recipe["target_accuracy"],
                         **settings)
    classes = _classes(train_set)
    rng = np.random.default_rng(seed)
    if init_from:
        model = _saved_model(init_from, hidden=overrides["hidden"], dtype=dtype)
        architecture.check_agrees(model, init_from)
    else:
        model = _new_model(train_set, classes, recipe, dtype, architecture, rng)
    train_data, test_data = _encode(model, train_set, test_set)
    history = _train(model, train_data, test_data, config, rng, json_log, progress)
    if history and history[-1].target_reached:
        last = history[-1]
        print(f"Reached test accuracy {last.test_accuracy:.3f} at epoch {last.epoch} "
              f"after {last.train_seconds:.3f} s of training")
    save_model(model, out)
    print(f"saved {out}", file=sys.stderr)
    return 0


def _load_train_test(data, train_specs, test_specs):
    """(train, test or None): the given files, else the embedded dataset (its test set unless --test)."""
    if train_specs:
        return data.read(train_specs), data.read(test_specs) if test_specs else None
    train_set, test_set = default_dataset()
    return train_set, data.read(test_specs) if test_specs else test_set


def _recipe(preset, overrides, has_test):
    """The preset (default walkthrough) with the given options; no early stop without test data."""
    recipe, given = recipe_for(PRESETS, preset or "walkthrough", overrides)
    if recipe["target_accuracy"] is not None and not has_test:
        if "target_accuracy" in given:
            raise TinyRNNError("--target-accuracy needs a test set (--test)")
        recipe["target_accuracy"] = None                 # a preset's early stop needs test data
    return recipe


def _classes(train_set):
    """The sorted labels of the training data; fewer than two is an error."""
    classes = sorted(set(train_set.labels))
    if len(classes) < 2:
        raise DataError(f"{train_set.sources[0]}: the training data has only one class "
                        f"({classes[0]!r}); a classifier needs at least two")
    return classes


def _new_model(train_set, classes, recipe, dtype, architecture, rng):
    """A freshly initialised classifier over the training data's words."""
    vocab = Vocab.build(tokenize(text) for text in train_set.texts)
    config = {"task": "classify", "hidden_size": recipe["hidden"], "dtype": dtype or "float64"}
    return architecture.build(config, vocab, classes, rng, recipe["init"])


def _saved_model(path, hidden, dtype):
    """The classifier saved at path (--init-from); --hidden and --dtype, if given, must agree."""
    model = load_classifier(path, "--init-from")
    for option, given, saved in (("--hidden", hidden, model.hidden_size),
                                 ("--dtype", dtype, model.dtype.name)):
        if given is not None and given != saved:
            raise TinyRNNError(f"{option} {given} disagrees with {path} ({saved})")
    return model


def _encode(model, train_set, test_set):
    """(train, test or None) as the model's sequences, warning about unknown words."""
    print(f"{len({w for text in train_set.texts for w in tokenize(text)})} unique words found")
    train_data, unknown = encode_examples(model, train_set)
    warn_unknown(unknown, "training data")
    if test_set is None:
        return train_data, None
    test_data, unknown = encode_examples(model, test_set)
    warn_unknown(unknown, "test data")
    return train_data, test_data


def _train(model, train_data, test_data, config, rng, json_log, progress):
    """Train with a progress bar; print and JSON-log the logged epochs. Returns the history."""
    with JsonLog(json_log) as log, progress_bar(config.epochs, "epoch", progress) as bar:
        def on_epoch(stats):
            bar.update(1)
            bar.set_postfix(loss=f"{stats.train_loss:.3f}", refresh=False)
            if stats.logged:
                tqdm.write(_log_block(stats), file=sys.stdout)
                log.write(stats)
        return train(model, train_data, config, rng, test_data, on_epoch)


def _log_block(stats):
    lines = [f"--- Epoch {stats.epoch}",
             f"Train:\tLoss {stats.train_loss:.3f} | Accuracy: {stats.train_accuracy:.3f}"]
    if stats.test_loss is not None:
        lines.append(f"Test:\tLoss {stats.test_loss:.3f} | Accuracy: {stats.test_accuracy:.3f}")
    return "\n".join(lines)
