"""`tinyrnn explain`: what a saved model computes on a text, word by word (classifiers: a
table, --png, --json), character by character (language models: --text FILE, --html) or
output token by output token (translation models: the greedy translation of TEXT and its
attention matrix as a shaded grid, --png a heatmap, --json the matrix). A translation model
without attention gets its translation and a line saying that it has no attention to show."""
import json
import os
import sys

import numpy as np

from ..data.loaders import check_path, text_encoding
from ..describe import kind
from ..errors import DataError, TinyRNNError
from ..explain import explain_text, explain_translation, read_text, text_features, unit_correlations
from ..io import load_model
from ..plots import explanation_plot, require_matplotlib, save_png
from ..report import write_reading_page
from ..sampling import NOT_FINITE
from ..text_output import check_argument, printable
from ..vocab import CHARS
from .common import locked_outputs, refuse_options, warn_unknown


MAX_CHARS = 10_000            # --max-chars: what a language model's explanation reads of --text by default


def run(args):
    model_path, text, text_file, png, html, as_json = args.model, args.text, args.text_file, args.png, \
        args.html, args.json

    if png:
        require_matplotlib()
    outputs = {"--png": (png, "png"), "--html": (html, "html")}
    inputs = [("--model", model_path)] + ([("--text", text_file)] if text_file else [])
    if text is not None:
        check_argument(text, "TEXT")
    with locked_outputs(outputs, inputs, args.force):
        model = load_model(model_path)
        if model.config.features:
            from .explain_numeric import explain_numeric
            return explain_numeric(model, args)
        if args.data or args.example:
            raise TinyRNNError(f"--data and --example are for models that read numbers; {model_path} reads text")
        refuse_options(args, ("--format", "--id-column", "--time-column", "--feature-columns"),
                       "--data (models that read numbers)", model_path, kind(model))
        if model.task != "lm":
            refuse_options(args, ("--max-chars", "--encoding"), "a language model's --text", model_path, kind(model))
        if model.task == "regress":
            raise TinyRNNError(f"{model_path} is a regressor of texts; explain reads classifiers, language "
                               f"models, translators and models of numbers")
        if model.task == "seq2seq":
            if text_file or html:
                raise TinyRNNError(f"{model_path} is a translation model: explain a text given as TEXT "
                                   f"(--text FILE and --html are for language models)")
            if text is None:
                raise TinyRNNError("give the TEXT to translate, e.g. tinyrnn explain --model M \"march 7, 2019\"")
            return _translation(model, text, png, as_json, model_path)
        if model.task == "classify":
            if text_file or html:
                raise TinyRNNError(f"{model_path} is a classifier: explain a sentence given as TEXT "
                                   f"(--text FILE and --html are for language models)")
            if text is None:
                raise TinyRNNError("give the TEXT to explain, e.g. tinyrnn explain --model M \"not bad at all\"")
            return _classifier(model, text, png, as_json)
        if text is not None:
            raise TinyRNNError(f"{model_path} is a language model: give the text as --text FILE "
                               f"(and --html OUT for the page); TEXT is for classifiers and translation models")
        if png:
            raise TinyRNNError(f"{model_path} is a language model: --png draws a classifier's reading; "
                               f"--html OUT draws a language model's")
        if not text_file:
            raise TinyRNNError("give the text to read as --text FILE")
        return _language_model(model, _read_text_file(text_file, args.encoding, args.max_chars or MAX_CHARS), html,
                               as_json, model_path)


def computed(explain, model, text):
    """explain(model, text) without NumPy's warnings; a ValueError, or figures that are not
    finite numbers (a model whose weights are too large), are one error of ours."""
    try:
        with np.errstate(all="ignore"):
            found = explain(model, text)
    except ValueError as error:
        raise TinyRNNError(str(error)) from None
    if not _finite(found):
        raise TinyRNNError(NOT_FINITE)
    return found


def _finite(found, depth=2):
    """Are the float arrays and numbers among found's fields (and their fields') finite?"""
    for value in vars(found).values():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and not np.isfinite(value).all():
            return False
        if isinstance(value, float) and not np.isfinite(value):
            return False
        if depth > 1 and hasattr(value, "__dataclass_fields__") and not _finite(value, depth - 1):
            return False
    return True


def _classifier(model, text, png, as_json):
    explanation = computed(explain_text, model, text)
    warn_unknown([word for word, known in zip(explanation.tokens, explanation.known) if not known], "text")
    if png:
        explanation_plot(explanation, png)
        print(f"saved {printable(png)}", file=sys.stderr)
    if as_json:
        print(json.dumps({"text": text, **explanation.to_json()}))
        return 0
    c, label = explanation.predicted, printable(explanation.label)
    words = [printable(word) for word in explanation.tokens]
    width = max(6, *(len(word) for word in words)) + 2
    print(f"{label}\t{explanation.probabilities[c]:.3f}\t{printable(text)}")
    print(f"\n{'word':<{width}}" + "".join(f"{'p(' + printable(name) + ')':>14}" for name in explanation.classes)
          + f"{'occlusion':>12}{'grad x input':>14}")
    for t, word in enumerate(words):
        shown = word if explanation.known[t] else word + "?"
        print(f"{shown:<{width}}" + "".join(f"{p:>14.3f}" for p in explanation.trajectory[t])
              + f"{explanation.occlusion[t]:>+12.3f}{explanation.gradient[t]:>+14.3f}")
    print(f"\np(class): after reading the text up to the word. occlusion: p({label}) minus p({label}) "
          f"without the word. grad x input: x . d ln p({label}) / dx at the word's input."
          + (" ?: not in the vocabulary, read as <unk>." if not all(explanation.known) else ""))
    return 0


def _read_text_file(path, encoding, max_chars):
    """At most max_chars characters of a text file (the rest is left, with a note): a bounded
    read, where the data loaders' read_text reads a whole file."""
    check_path(path)
    text_encoding(encoding)
    try:
        with open(path, encoding=encoding, newline="") as stream:
            text = stream.read(max_chars + 1)
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not valid {encoding} (byte {error.start}); try --encoding latin-1") from None
    except UnicodeError as error:
        raise DataError(f"{path}: cannot be read as {encoding} ({error})") from None
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}") from None
    if len(text) > max_chars:
        print(f"note: reading the first {max_chars:,} characters of {path} (--max-chars)", file=sys.stderr)
        text = text[:max_chars]
    if not text:
        raise DataError(f"{path}: the file is empty")
    return text


def _language_model(model, text, html, as_json, model_path):
    reading = computed(read_text, model, text)
    unit = model.tokenizer.unit
    unknown = sorted({repr(token) for token, known in zip(reading.tokens, reading.known) if not known})
    warn_unknown(unknown, "text", unit)
    correlations = unit_correlations(reading.hidden, text_features(reading.tokens)) \
        if model.tokenizer is CHARS else {}
    if html:
        write_reading_page(html, reading, f"{os.path.basename(model_path)}: {model.describe()}", correlations,
                           model.tokenizer)
        print(f"saved {printable(html)}", file=sys.stderr)
    mean = reading.mean_surprisal
    if as_json:
        print(json.dumps({"tokens": len(reading.tokens), "mean_surprisal": mean, "bits_per_token": mean / np.log(2),
                          "units": {name: [{"unit": u, "r": r} for u, r in units]
                                    for name, units in correlations.items()}}))
        return 0
    print(f"{len(reading.tokens):,} {unit}s: mean surprisal {mean:.3f} nats ({mean / np.log(2):.3f} bits) "
          f"per {unit}, each predicted from the text before it")
    for name, units in correlations.items():
        listed = ", ".join(f"unit {u} (r = {r:+.2f})" for u, r in units) or "not in this text"
        print(f"  {name + ':':<18} {listed}")
    return 0


SHADES = " .:-=+*#%@"        # a weight of 0 .. 1 in ten steps, for the text grid


def _translation(model, text, png, as_json, model_path):
    if png and model.attention == "none":
        raise TinyRNNError(f"{model_path} has no attention (attention none): there is no matrix for --png to draw")
    explanation = computed(explain_translation, model, text)
    unit = model.tokenizer.unit
    warn_unknown([repr(token) for token, known in zip(explanation.source_tokens, explanation.known) if not known],
                 "text", unit)
    if png:
        _attention_plot(explanation, png, f"{os.path.basename(model_path)}: {text!r}")
        print(f"saved {printable(png)}", file=sys.stderr)
    if as_json:
        print(json.dumps({"text": text, **explanation.to_json()}))
        return 0
    translation = explanation.translation
    score = translation.normalized_score + 0.0                                          # + 0.0: no -0.000
    print(f"{printable(translation.text)}\t{score:.3f}\t{printable(text)}")
    if explanation.attention is None:
        print(f"this model has no attention (attention none): the decoder reads the source only through "
              f"the encoder's final state, so no output {unit} is aligned with a source {unit}")
        return 0
    print()
    for line in _attention_grid(explanation, model.tokenizer.separator):
        print(line)
    print(f"\neach row: an output {unit}'s attention over the source {unit}s, shaded '{SHADES}' for weights "
          f"from 0 to 1 in steps of 0.1; the last row " + ("chose <eos>." if translation.finished else
                                                          "reached the longest translation searched, without <eos>."))
    return 0


def _shown(token):
    """A token as one cell of a grid: printable as it is, else escaped ('\\n')."""
    return token if token.isprintable() else repr(token)[1:-1]


def _attention_grid(explanation, separator):
    """Lines: the source tokens across, then each output token, its row of shades (one column
    per source token, as wide as the token) and the source token it attends to most."""
    sources = [_shown(token) for token in explanation.source_tokens]
    outputs = [_shown(token) for token in explanation.output_tokens]
    width = max(6, *(len(token) for token in outputs)) + 2
    yield f"{'':<{width}}{separator.join(sources)}   most attended"
    for token, weights, top in zip(outputs, explanation.attention, explanation.most_attended):
        shades = separator.join(SHADES[min(int(weight * len(SHADES)), len(SHADES) - 1)] * len(source)
                                for weight, source in zip(weights, sources))
        yield f"{token:<{width}}{shades}   {explanation.source_tokens[top]!r} {weights[top]:.2f}"


def _attention_plot(explanation, path, title):
    """The attention matrix as a heatmap into path (PNG, 1000 x 750 pixels, as plots.py writes
    them): source tokens along x, output tokens (then <eos>) along y, each cell's weight 0 .. 1."""
    pyplot = require_matplotlib()
    attention = explanation.attention                                   # (output steps, S)
    figure = pyplot.figure(figsize=(10, 7.5), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(attention, aspect="auto", cmap="Greys", vmin=0.0, vmax=1.0, interpolation="nearest")
    rows, columns = attention.shape
    characters = all(len(token) == 1 for token in explanation.source_tokens)
    axes.set_xticks(range(columns))
    axes.set_xticklabels([_label(token) for token in explanation.source_tokens], rotation=0 if characters else 45,
                         ha="center" if characters else "right", fontsize=max(5, min(11, 600 // columns)))
    axes.set_yticks(range(rows))
    axes.set_yticklabels([_label(token) for token in explanation.output_tokens], fontsize=max(5, min(11, 450 // rows)))
    axes.set_xlabel("source")
    axes.set_ylabel("output")
    axes.set_title(printable(f"{title} -> {explanation.translation.text!r}"))
    figure.colorbar(image, ax=axes, location="right", shrink=0.8, label="attention weight")
    save_png(figure, path)


def _label(token):
    """A token as a tick label: a space as the open box, so that it can be seen."""
    return "\u2423" if token == " " else _shown(token)
