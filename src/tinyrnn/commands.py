"""What each tinyrnn subcommand does. Errors are raised as TinyRNNError; cli.py prints them."""
import json
import os
import sys

import numpy as np
from tqdm import tqdm

from .data import default_dataset, load_dataset
from .errors import DataError, TinyRNNError
from .gradcheck import check_gradients, random_problem
from .io import load_model, save_model
from .models import Classifier
from .train import PRESETS, TrainConfig, encode_examples, evaluate, train
from .train_lm import LM_PRESETS
from .vocab import Vocab, tokenize


def run_train(args):
    _check_task_options(args)
    if args.task == "lm":
        from .commands_lm import run_train_lm
        return run_train_lm(args)
    check_writable_outputs(args)
    train_set, test_set = _load_train_test(args)
    recipe = _recipe(args, has_test=test_set is not None)
    config = TrainConfig(epochs=recipe["epochs"], lr=recipe["lr"], optimizer=recipe["optimizer"],
                         momentum=args.momentum, nesterov=args.nesterov, lr_decay=args.lr_decay,
                         batch_size=recipe["batch_size"], clip_value=recipe["clip_value"],
                         clip_norm=None if args.clip_norm == "none" else args.clip_norm,
                         shuffle=not args.no_shuffle, bucket=not args.no_bucket,
                         log_every=recipe["log_every"], target_accuracy=recipe["target_accuracy"])
    classes = sorted(set(train_set.labels))
    if len(classes) < 2:
        raise DataError(f"{train_set.sources[0]}: the training data has only one class "
                        f"({classes[0]!r}); a classifier needs at least two")
    rng = np.random.default_rng(args.seed)
    model = _initial_model(args, recipe, train_set, classes, rng)
    print(f"{len({w for text in train_set.texts for w in tokenize(text)})} unique words found")
    train_data, unknown = encode_examples(model, train_set)
    warn_unknown(unknown, "training data")
    test_data = None
    if test_set is not None:
        test_data, unknown = encode_examples(model, test_set)
        warn_unknown(unknown, "test data")
    with JsonLog(args.json_log) as log, tqdm(total=config.epochs, unit="epoch", file=sys.stderr,
                                              disable=not (args.progress or sys.stderr.isatty())) as bar:
        def on_epoch(stats):
            bar.update(1)
            bar.set_postfix(loss=f"{stats.train_loss:.3f}", refresh=False)
            if stats.logged:
                tqdm.write(_log_block(stats), file=sys.stdout)
                log.write(stats)
        history = train(model, train_data, config, rng, test_data, on_epoch)
    if history and history[-1].target_reached:
        last = history[-1]
        print(f"Reached test accuracy {last.test_accuracy:.3f} at epoch {last.epoch} "
              f"after {last.train_seconds:.3f} s of training")
    save_model(model, args.out)
    print(f"saved {args.out}", file=sys.stderr)
    return 0


_ONLY_FOR = {"classify": ["train", "test", "target_accuracy", "init_from", "no_shuffle", "no_bucket"],
             "lm": ["text", "steps", "minutes", "seq_length", "keep_best"]}


def _check_task_options(args):
    other = "lm" if args.task == "classify" else "classify"
    for name in _ONLY_FOR[other]:
        if getattr(args, name) not in (None, False):
            raise TinyRNNError(f"--{name.replace('_', '-')} applies to --task {other}, not {args.task}")
    presets = PRESETS if args.task == "classify" else LM_PRESETS
    if args.preset is not None and args.preset not in presets:
        raise TinyRNNError(f"preset {args.preset!r} is for the other task; --task {args.task} has "
                           f"{', '.join(sorted(presets))}")


def recipe_for(args, presets, default):
    """The preset's settings, overridden by every option given on the command line."""
    recipe = dict(presets[args.preset or default])
    given = {name: getattr(args, name) for name in recipe if getattr(args, name, None) is not None}
    if "optimizer" in given and "lr" not in given and given["optimizer"] != recipe["optimizer"]:
        recipe["lr"] = None                              # that optimizer's own default
    recipe.update(given)
    if recipe["clip_value"] == "none":
        recipe["clip_value"] = None
    return recipe, given


def _recipe(args, has_test):
    recipe, given = recipe_for(args, PRESETS, "walkthrough")
    if recipe["target_accuracy"] is not None and not has_test:
        if "target_accuracy" in given:
            raise TinyRNNError("--target-accuracy needs a test set (--test)")
        recipe["target_accuracy"] = None                 # a preset's early stop needs test data
    return recipe


def load_classifier(path, command):
    model = load_model(path)
    if not isinstance(model, Classifier):
        raise TinyRNNError(f"{path} is a language model; {command} needs a classifier "
                           f"(for text generation use tinyrnn generate)")
    return model


def _check_writable(path, what):
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise TinyRNNError(f"{path}: {what} path is a directory")
    if not os.path.isdir(folder):
        raise TinyRNNError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise TinyRNNError(f"{path}: folder {folder} is not writable")


def _read(specs, args):
    return load_dataset(specs, args.encoding, args.text_column, args.label_column, args.format)


def _load_train_test(args):
    if args.train:
        return _read(args.train, args), _read(args.test, args) if args.test else None
    train_set, test_set = default_dataset()
    return train_set, _read(args.test, args) if args.test else test_set


def _initial_model(args, recipe, train_set, classes, rng):
    if not args.init_from:
        vocab = Vocab.build(tokenize(text) for text in train_set.texts)
        return Classifier(vocab, classes, recipe["hidden"], "rnn",
                          args.dtype or "float64").initialize(rng, recipe["init"])
    model = load_classifier(args.init_from, "--init-from")
    for option, given, saved in (("--hidden", args.hidden, model.hidden_size),
                                 ("--dtype", args.dtype, model.dtype.name)):
        if given is not None and given != saved:
            raise TinyRNNError(f"{option} {given} disagrees with {args.init_from} ({saved})")
    return model


def check_writable_outputs(args):
    _check_writable(args.out, "output model")
    if args.json_log:
        _check_writable(args.json_log, "JSON log")


def warn_unknown(unknown, where, unit="word"):
    if unknown:
        shown = ", ".join(unknown[:10]) + (", ..." if len(unknown) > 10 else "")
        print(f"warning: {len(unknown)} {unit}(s) in the {where} are not in the vocabulary and read as "
              f"<unk>: {shown}", file=sys.stderr)


def _log_block(stats):
    lines = [f"--- Epoch {stats.epoch}",
             f"Train:\tLoss {stats.train_loss:.3f} | Accuracy: {stats.train_accuracy:.3f}"]
    if stats.test_loss is not None:
        lines.append(f"Test:\tLoss {stats.test_loss:.3f} | Accuracy: {stats.test_accuracy:.3f}")
    return "\n".join(lines)


class JsonLog:
    """One JSON object per logged epoch, flushed as it is written; a no-op without a path."""

    def __init__(self, path):
        self.path, self.stream = path, None

    def __enter__(self):
        if self.path:
            self.stream = open(self.path, "w", encoding="utf-8")
        return self

    def write(self, stats):
        record = {"epoch": stats.epoch, "train_loss": stats.train_loss,
                  "train_accuracy": stats.train_accuracy, "test_loss": stats.test_loss,
                  "test_accuracy": stats.test_accuracy, "train_seconds": stats.train_seconds}
        if stats.target_reached:
            record["target_reached"] = True
        self.write_record(record)

    def write_record(self, record):
        if self.stream:
            self.stream.write(json.dumps(record) + "\n")
            self.stream.flush()

    def __exit__(self, *exc):
        if self.stream:
            self.stream.close()


def run_predict(args):
    model = load_classifier(args.model, "predict")
    texts = args.texts if args.texts else _stdin_lines()
    for number, text in enumerate(texts, start=1):
        if not tokenize(text):
            raise TinyRNNError(f"text {number} has no words: {text!r}")
    sequences, unknown = model.encode(texts)
    unknown_words = sorted({word for words in unknown for word in words})
    if unknown_words and args.strict:
        raise TinyRNNError(f"words not in the model's vocabulary: {', '.join(unknown_words)}")
    warn_unknown(unknown_words, "input")
    probs = model.predict_proba(sequences) if texts else np.zeros((0, len(model.classes)))
    for text, row in zip(texts, probs):
        best = int(row.argmax())
        if args.json:
            print(json.dumps({"text": text, "label": model.classes[best],
                              "probabilities": dict(zip(model.classes, map(float, row)))}))
        else:
            print(f"{model.classes[best]}\t{row[best]:.3f}\t{text}")
    return 0


def _stdin_lines():
    """Non-blank lines of standard input, read as UTF-8."""
    raw = sys.stdin.buffer.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise TinyRNNError(f"<stdin>:{line}: cannot decode byte {raw[error.start]:#04x} as utf-8") from None
    return [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def run_eval(args):
    model = load_classifier(args.model, "eval")
    dataset = _read(args.data, args) if args.data else default_dataset()[1]
    data, unknown = encode_examples(model, dataset)
    warn_unknown(unknown, "data")
    loss, accuracy, probs = evaluate(model, data)
    classes = model.classes
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(confusion, (data.targets, probs.argmax(axis=1)), 1)
    if args.json:
        print(json.dumps({"examples": len(data), "loss": loss, "accuracy": accuracy,
                          "classes": classes, "confusion": confusion.tolist()}))
        return 0
    print(f"Loss {loss:.3f} | Accuracy: {accuracy:.3f} ({len(data)} examples)")
    print("Confusion matrix (rows: true label, columns: predicted):")
    width = max(8, *(len(c) for c in classes)) + 2
    print(" " * width + "".join(c.rjust(width) for c in classes))
    for label, row in zip(classes, confusion):
        print(label.ljust(width) + "".join(str(n).rjust(width) for n in row))
    return 0


def run_gradcheck(args):
    rng = np.random.default_rng(args.seed)
    problem = random_problem(rng, args.vocab, args.hidden, args.classes, args.batch, args.max_length)
    results = check_gradients(*problem, eps=args.eps)
    print(f"{'tensor':<8}{'max abs error':>16}{'relative error':>16}  result")
    for result in results:
        print(f"{result.name:<8}{result.max_abs_error:>16.3e}{result.relative_error:>16.3e}  "
              f"{'ok' if result.passed else 'FAIL'}")
    failed = [result.name for result in results if not result.passed]
    print("gradients match finite differences" if not failed else f"mismatch in {', '.join(failed)}")
    return 1 if failed else 0
