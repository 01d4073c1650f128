"""`tinyrnn predict`: classify texts with a saved classifier; with --data, classify (or
regress) every numeric sequence of a file with a model that reads numbers."""
import json
import sys

import numpy as np

from ..describe import kind
from ..errors import TinyRNNError
from ..io import load_model
from ..sampling import check_finite
from ..text_output import check_argument, printable
from .common import load_classifier, refuse_options, stdin_texts, warn_unknown


def run(args):
    """Print label, probability and text (or a JSON object) for each TEXT, or for each line
    of stdin as it arrives. Plain output escapes what would break its TSV line or reach the
    terminal as a command (text_output.printable); --json gives the text exactly."""
    model_path, texts, as_json, strict = args.model, args.texts, args.json, args.strict

    if args.data:
        return _numeric(load_model(model_path), args)
    model = load_classifier(model_path, "predict")
    if model.config.features:
        raise TinyRNNError(f"{model_path} reads numeric sequences: give them as --data FILE")
    refuse_options(args, ("--format", "--encoding", "--id-column", "--time-column", "--feature-columns"),
                   "--data (models that read numbers)", model_path, kind(model))
    if model.task == "forecast":
        raise TinyRNNError(f"{model_path} is a forecaster: use tinyrnn forecast")
    if texts:
        named = [(f"text {number}", text) for number, text in enumerate(texts, start=1)]
        for name, text in named:
            check_argument(text, name)
        _answer(model, named, as_json, strict, "input")
        return 0
    for number, text in stdin_texts(blank=True):   # a line without words: an empty answer, so that
        if model.tokenize(text):                    # the answers pair up with the lines
            _answer(model, [(f"<stdin>:{number}", text)], as_json, strict, f"input (<stdin>:{number})")
        else:
            print(json.dumps({"text": text, "prediction" if model.task == "regress" else "label": None})
                  if as_json else "")
        sys.stdout.flush()                          # an answer as soon as its line has come
    return 0


def _answer(model, named_texts, as_json, strict, where):
    """Print one line per (name, text); unknown words are an error when strict, else a warning."""
    for name, text in named_texts:
        if not model.tokenize(text):
            raise TinyRNNError(f"{name} has no words: {text!r}")
    texts = [text for _, text in named_texts]
    sequences, unknown = model.encode(texts)
    unknown_words = sorted({word for words in unknown for word in words})
    if unknown_words and strict:
        raise TinyRNNError(f"words not in the model's vocabulary: {', '.join(unknown_words)}")
    warn_unknown(unknown_words, where)
    if model.task == "regress":                        # a regressor of texts: its targets' values
        for text, row in zip(texts, predictions(model, sequences)):
            values = dict(zip(model.target_names, map(float, row)))
            print(json.dumps({"text": text, "prediction": values}) if as_json else
                  "\t".join(f"{value:.6g}" for value in values.values()) + f"\t{printable(text)}")
        return
    for text, row in zip(texts, probabilities(model, sequences)):
        best = int(row.argmax())
        if as_json:
            print(json.dumps({"text": text, "label": model.classes[best],
                              "probabilities": dict(zip(model.classes, map(float, row)))}))
        else:
            print(f"{printable(model.classes[best])}\t{row[best]:.3f}\t{printable(text)}")


def _numeric(model, args):
    """One line per sequence of --data: label and probability (or the predicted targets) and
    where it was read; --json: one object each."""
    from .numeric_data import read_for_model
    if not model.config.features or model.task == "forecast":
        instead = "forecasters: tinyrnn forecast" if model.task == "forecast" else \
            "give it texts as arguments or one per line on standard input; tinyrnn eval --data scores a labelled file"
        raise TinyRNNError(f"--data is for classifiers and regressors that read numbers; {args.model} is "
                           f"{model.describe(short=True)} ({instead})")
    if args.texts:
        raise TinyRNNError("give either TEXT or --data FILE, not both")
    dataset = read_for_model(model, [args.data], args, labels_optional=True)
    sequences = [values.astype(model.dtype) for values in dataset.series]
    if model.task == "regress":
        for source, row in zip(dataset.sources, predictions(model, sequences)):
            values = dict(zip(model.target_names, map(float, row)))
            print(json.dumps({"source": source, "prediction": values}) if args.json else
                  "\t".join(f"{value:.6g}" for value in values.values()) + f"\t{printable(source)}")
        return 0
    for source, row in zip(dataset.sources, probabilities(model, sequences)):
        best = int(row.argmax())
        print(json.dumps({"source": source, "label": model.classes[best],
                          "probabilities": dict(zip(model.classes, map(float, row)))}) if args.json else
              f"{printable(model.classes[best])}\t{row[best]:.3f}\t{printable(source)}")
    return 0


def predictions(model, sequences):
    """A regressor's (or forecaster's) predictions, refused in one line when they are not
    numbers (a model whose weights are too large), without NumPy's warnings."""
    with np.errstate(all="ignore"):
        found = model.predict(sequences)
    return check_finite(found)


def probabilities(model, sequences):
    """The classifier's probabilities (N, C), refused in one line when they are not numbers (a
    model whose weights are too large), without NumPy's warnings."""
    with np.errstate(all="ignore"):
        found = model.predict_proba(sequences)
    check_finite(found)
    return found
