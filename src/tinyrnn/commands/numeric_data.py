"""Numeric data on the command line: which files are numeric sequences (.ts, .npz, or long
CSV with --format long), reading them with the options given, and the splits a run validates on."""
from argparse import Namespace

import numpy as np

from ..data.numeric_set import MAX_STEPS
from ..data.series import read_long_csv, read_numeric, read_series
from ..data.split import stratified_split
from ..options import given
from ..errors import DataError, TinyRNNError
from ..notices import say
from ..tasks.classify import LabelledSequences
from ..tasks.regress import RealTargets
from ..text_output import first_repeated, printable

NUMERIC_FORMATS = ("ts", "npz", "long")
_EXTENSIONS = (".ts", ".npz")


def is_numeric(paths, data_format):
    """Are these data files numeric sequences (by --format, else by their extension)?"""
    if data_format:
        return data_format in NUMERIC_FORMATS
    numeric = [str(path).lower().endswith(_EXTENSIONS) for path in paths or []]
    if any(numeric) and not all(numeric):
        raise TinyRNNError("mixing numeric sequences (.ts, .npz) with texts in one run; give one kind")
    return bool(numeric) and all(numeric)


_TEXT_EXTENSIONS = (".jsonl", ".ndjson", ".txt")


def check_data_kind(model, paths, data_format, model_path):
    """Data files of the other kind than the model reads (numbers: .ts, .npz, --format long;
    texts: .jsonl, .ndjson, .txt) are named as such: not read as what they are not."""
    from ..describe import kind
    if not paths:
        return
    if not model.config.features and is_numeric(paths, data_format):
        raise TinyRNNError(f"{paths[0]} holds numeric sequences, and {model_path} is {kind(model)}, which reads "
                           f"texts; give the model trained on such numbers with --model")
    texts = [path for path in paths if str(path).lower().endswith(_TEXT_EXTENSIONS)]
    if model.config.features and not data_format and texts:
        raise TinyRNNError(f"{texts[0]} holds texts, and {model_path} is {kind(model)}, which reads numeric "
                           f"sequences (.ts, .npz or long CSV); give the model trained on such texts with --model")


def read_sets(paths, args, task, labels_optional=False, feature_names=None):
    """The NumericSet of one or more files (their examples together), read as args say
    (labels_optional: files without labels or targets are sequences alone; feature_names: a long
    CSV's feature columns when --feature-columns does not name them)."""
    data_format = getattr(args, "format", None)
    feature_columns = getattr(args, "feature_columns", None)
    for option, value in (("--feature-columns", feature_columns), ("--id-column", getattr(args, "id_column", None)),
                          ("--time-column", getattr(args, "time_column", None))):
        refuse_blank(option, value)
    feature_columns = feature_columns or (",".join(feature_names) if feature_names else None)
    if data_format in ("csv", "tsv", "jsonl"):
        raise TinyRNNError(f"--format {data_format} is for texts; numeric sequences are ts, npz or long")
    binary = [path for path in paths if data_format == "npz" or data_format is None and str(path).lower().endswith(".npz")]
    if given(args, "encoding") and len(binary) == len(paths):
        raise TinyRNNError(f"--encoding reads text files; {binary[0]} is a NumPy .npz file, which holds no text")
    sets = []
    for path in paths:
        is_long = _is_long(path, data_format)
        columns = feature_columns.split(",") if feature_columns else None
        if is_long:
            sets.append(read_long_csv(path, encoding=getattr(args, "encoding", "utf-8"),
                                      id_column=getattr(args, "id_column", None) or "series",
                                      time_column=getattr(args, "time_column", None),
                                      target_column=getattr(args, "label_column", "label"),
                                      feature_columns=columns, task=task, labels_optional=labels_optional))
        else:
            named = [option for option, name in (("--id-column", "id_column"), ("--time-column", "time_column"),
                                                 ("--feature-columns", "feature_columns"), ("--label-column", "label_column"))
                     if given(args, name)]
            if named:                                   # (a .ts or .npz file has no named columns)
                raise TinyRNNError(f"{named[0]} names a column of a long CSV; {path} is not one")
            sets.append(read_numeric(path, encoding=getattr(args, "encoding", "utf-8"), task=task,
                                     labels_optional=labels_optional, data_format=data_format))
    for numeric_set in sets:
        longest = max(range(len(numeric_set)), key=lambda row: len(numeric_set.series[row]))
        if len(numeric_set.series[longest]) > MAX_STEPS:
            raise DataError(f"{numeric_set.sources[longest]}: a sequence of {len(numeric_set.series[longest]):,} "
                            f"steps; tinyrnn reads at most {MAX_STEPS:,} (cut it into windows)")
    first = sets[0]
    for other, path in zip(sets[1:], paths[1:]):
        check_compatible(first, other, f"it (beside {paths[0]})")
        first.series += other.series
        first.sources += other.sources
        if first.labels is not None:
            first.labels += other.labels
        else:
            first.targets = np.concatenate([first.targets, other.targets])
    return first


def read_for_model(model, paths, args, labels_optional=False):
    """A model's data (eval, predict, explain): a long CSV's feature columns default to the model's
    features; the file must have as many numbers per step as the model reads."""
    from ..describe import numbers_per_step
    check_data_kind(model, paths, args.format, args.model)
    columns = getattr(args, "feature_columns", None)
    refuse_blank("--feature-columns", columns)
    if columns:
        ordered = in_model_order("--feature-columns", columns.split(","), model.feature_names, args.model)
        args = Namespace(**{**vars(args), "feature_columns": ",".join(ordered)})
    if model.task == "regress" and len(model.target_names) == 1 and \
            not given(args, "label_column"):     # a regressor's target: its name
        args = Namespace(**{**vars(args), "label_column": model.target_names[0]})
    dataset = read_sets(paths, args, model.task, labels_optional, model.feature_names)
    if dataset.num_features != model.config.features:
        raise TinyRNNError(f"{paths[0]}: {numbers_per_step(dataset.num_features)}; {args.model} reads "
                           f"{model.config.features}")
    return dataset


def in_model_order(option, names, model_names, model_path):
    """The columns an option names for a model's data, in the order the model reads them. The
    model's own names, in any order, are read by name: put in the model's order. Other names
    are read by position (a file whose columns are named otherwise), so none of them may be
    one of the model's names standing at another one's place: that would feed the model one
    column as another."""
    if first_repeated(names) is not None:
        return names                                    # (the reader names the repeated column)
    if sorted(names) == sorted(model_names):
        return list(model_names)
    for place, name in enumerate(names):
        if name in model_names and model_names.index(name) != place:
            expected = repr(printable(model_names[place])) if place < len(model_names) else "nothing"
            raise TinyRNNError(f"{option} gives {printable(name)!r} as column {place + 1}, where {model_path} reads "
                               f"{expected} ({printable(', '.join(model_names))}); name the model's columns, in any "
                               f"order, or other columns in its order")
    return names


def _is_long(path, data_format):
    return data_format == "long" or data_format is None and str(path).lower().endswith((".csv", ".tsv"))


def check_compatible(train_set, other, what):
    """A test or validation set (or a second training file) must have the training set's
    features, and labels or the same number of targets."""
    if _answers(other) != _answers(train_set):
        raise DataError(f"{other.sources[0]}: {what} has {_answers(other)}; the training data has "
                        f"{_answers(train_set)}")
    if other.num_features != train_set.num_features:
        raise DataError(f"{other.sources[0]}: {what} has {other.num_features} features per step; the "
                        f"training data has {train_set.num_features}")
    if train_set.targets is not None and other.targets.shape[1] != train_set.targets.shape[1]:
        raise DataError(f"{other.sources[0]}: {what} has {other.targets.shape[1]} targets; the training "
                        f"data has {train_set.targets.shape[1]}")


def validation_split(train_set, fraction, seed):
    """(training, validation) NumericSets: a held-out fraction drawn from the seed (stratified
    by label for classes)."""
    rng = np.random.default_rng([seed, 3])
    if train_set.labels is not None:
        train_rows, valid_rows = stratified_split(train_set.labels, fraction, rng)
    else:
        order = rng.permutation(len(train_set))
        held = int(round(fraction * len(order)))
        train_rows, valid_rows = np.sort(order[held:]), np.sort(order[:held])
    if len(valid_rows) == 0 or len(train_rows) == 0:
        raise DataError(f"{train_set.sources[0]}: too few examples to hold out {fraction} for validation")
    warn_small_training(len(train_rows), len(valid_rows))
    return train_set.subset(train_rows), train_set.subset(valid_rows)


def warn_small_training(trained, held):
    """A validation split that leaves fewer examples to train on than it holds out is said."""
    if trained < held:
        say(f"warning: --valid-split holds out {held} examples and leaves {trained} to train on")


def encode(model, numeric_set):
    """A NumericSet (or text_regression.TextTargets) as the model's examples: LabelledSequences
    (classes) or RealTargets."""
    if not model.config.features:
        from .text_regression import encode_texts
        return encode_texts(model, numeric_set)
    with np.errstate(over="ignore"):
        series = [np.asarray(values, dtype=model.dtype) for values in numeric_set.series]
    for values, source in zip(series, numeric_set.sources):
        if not np.isfinite(values).all():
            raise DataError(f"{source}: a number too large for {model.dtype.name} (try --dtype float64)")
    if model.task == "classify":
        index = {label: i for i, label in enumerate(model.classes)}
        for label, source in zip(numeric_set.labels, numeric_set.sources):
            if label not in index:
                raise DataError(f"{source}: label {label!r} is not one of the classes {model.classes}")
        return LabelledSequences(series, np.array([index[label] for label in numeric_set.labels]))
    return RealTargets(series, numeric_set.targets)


def refuse_blank(option, value):
    """An option that names columns, given as nothing (''), is an error: not the default."""
    if value is not None and not value.strip():
        raise TinyRNNError(f"{option} names no column; give the columns of the header it means, separated by "
                           f"commas")


def read_forecast_series(path, args):
    """The Series of --series (value columns: --columns, else every numeric one)."""
    refuse_blank("--columns", args.columns)
    columns = args.columns.split(",") if args.columns else None
    return read_series(path, encoding=args.encoding, columns=columns, time_column=args.time_column)


def shown(value, spec):
    """A figure as printed: formatted, or "n/a" where it is not defined (None); a fixed-point
    spec turns to 4 significant digits beyond a million (an R^2 of -1e67 is not 70 digits)."""
    if value is None:
        return "n/a"
    return format(value, ".4g" if spec.endswith("f") and abs(value) >= 1e6 else spec)


def _answers(dataset):
    return "class labels" if dataset.labels is not None else "real targets" if dataset.targets is not None \
        else "no labels"
