"""`tinyrnn eval`: loss, accuracy, confusion matrix and per-class scores of a saved
classifier on labelled data, and its most confident mistakes; of a seq2seq model on
sentence pairs (read as train reads them): loss and token accuracy (teacher-forced), exact
match, BLEU and chrF of its translations, the same by source length, and its worst
translations."""
import json
import sys

import numpy as np

from ..data import default_dataset
from ..describe import kind
from ..errors import TinyRNNError
from ..io import load_model
from ..metrics import class_scores, confusion_matrix, most_confident_errors, translation_scores
from ..models import Classifier
from ..sampling import check_finite
from ..text_output import printable
from ..tasks import encode_examples, encode_pairs, evaluate, evaluate_pairs
from .common import DataOptions, refuse_options, warn_unknown
from .numeric_data import check_data_kind
from .train_seq2seq import SACREBLEU_NOTE, PairOptions

SOURCE_LENGTHS = ((1, 5), (6, 10), (11, 20), (21, None))    # buckets of source tokens, last open-ended


def run(args):
    """Evaluate --model on --data (default: the embedded test set); print a report or one JSON object."""
    model = load_model(args.model)
    path, what = args.model, kind(model)
    if model.task != "forecast":
        refuse_options(args, ("--season", "--columns"), "forecasters", path, what)
    if model.task != "seq2seq":
        refuse_options(args, ("--swap", "--source-column", "--target-column", "--beam"), "seq2seq models", path, what)
    if model.task == "forecast":                    # it reads --series, not --data
        refuse_options(args, ("--text-column", "--label-column", "--format", "--skip-bad-rows", "--id-column",
                              "--feature-columns", "--errors"), "models that read --data", path, what)
    if model.task == "regress":
        refuse_options(args, ("--errors",), "classifiers", path, what)
    if model.task == "regress" and model.config.features:
        refuse_options(args, ("--text-column", "--skip-bad-rows"), "models of texts", path, what)
    if model.task == "seq2seq":
        return _evaluate_translator(model, args)
    if model.config.features or model.task == "regress":
        from .evaluate_numeric import evaluate_numeric
        return evaluate_numeric(model, args, report_classifier)
    if args.series or args.holdout:
        raise TinyRNNError(f"--series and --holdout apply to forecasters; {args.model} is a {model.task} model")
    if not isinstance(model, Classifier):
        raise TinyRNNError(f"{args.model} is a language model; eval needs a classifier or a seq2seq model "
                           f"(for text generation use tinyrnn generate)")
    return _evaluate_classifier(model, args)


def _evaluate_classifier(model, args):
    specs, as_json, error_count = args.data, args.json, args.errors
    check_data_kind(model, specs, args.format, args.model)
    data = DataOptions(args.format, args.encoding, args.text_column, args.label_column, args.skip_bad_rows)
    dataset = data.read(specs) if specs else default_dataset()[1]
    examples, unknown = encode_examples(model, dataset)
    warn_unknown(unknown, "data")
    return report_classifier(model, examples, as_json, error_count, lambda row: dataset.texts[row], dataset.sources)


def report_classifier(model, examples, as_json, error_count, shown_input, sources):
    """eval's report of a classifier on its encoded examples: loss, accuracy, the confusion
    matrix, per-class figures and the error_count most confident mistakes (each with its
    source and shown_input(row), the text or what stands for it), or all of it as JSON."""
    with np.errstate(all="ignore"):
        loss, accuracy, probs = evaluate(model, examples)
    check_finite(probs)
    classes = model.classes
    confusion = confusion_matrix(examples.targets, probs.argmax(axis=1), len(classes))
    scores = class_scores(confusion)
    errors = [_error(sources[row], shown_input(row), classes, probs, examples.targets, row)
              for row in most_confident_errors(probs, examples.targets, error_count or 0)]
    if as_json:
        print(json.dumps({"examples": len(examples), "loss": loss, "accuracy": accuracy,
                          "classes": classes, "confusion": confusion.tolist(),
                          "precision": scores.precision.tolist(), "recall": scores.recall.tolist(),
                          "f1": scores.f1.tolist(), "support": scores.support.tolist(),
                          **({"errors": errors} if error_count else {})}))
        return 0
    _print_report(loss, accuracy, len(examples), classes, confusion, scores)
    if error_count:
        _print_errors(errors, error_count)
    return 0


def _error(source, text, classes, probs, targets, row):
    """One wrongly predicted example as a JSON-ready dict."""
    predicted = int(probs[row].argmax())
    return {"source": source, "text": text, "label": classes[targets[row]],
            "predicted": classes[predicted], "probability": float(probs[row, predicted])}


def _print_report(loss, accuracy, examples, classes, confusion, scores):
    """Loss and accuracy, the confusion matrix, then precision, recall and F1 per class."""
    print(f"Loss {loss:.3f} | Accuracy: {accuracy:.3f} ({examples} examples)")
    print("Confusion matrix (rows: true label, columns: predicted):")
    classes = [printable(label) for label in classes]            # as names are shown (a model's file may hold any)
    width = max(8, *(len(c) for c in classes)) + 2
    print(" " * width + "".join(c.rjust(width) for c in classes))
    for label, row in zip(classes, confusion):
        print(label.ljust(width) + "".join(str(n).rjust(width) for n in row))
    print(f"{'class':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for c, label in enumerate(classes):
        print(f"{label:<{width}}{scores.precision[c]:>10.3f}{scores.recall[c]:>10.3f}"
              f"{scores.f1[c]:>10.3f}{scores.support[c]:>10d}")


def _print_errors(errors, count):
    """The most confidently wrong examples: where, true label, prediction, probability, text."""
    print(f"Most confident errors ({len(errors)} of at most {count}):")
    for error in errors:
        shown = {key: printable(error[key]) for key in ("source", "label", "predicted", "text")}
        print(f"{shown['source']}\t{shown['label']} -> {shown['predicted']} "
              f"({error['probability']:.3f})\t{shown['text']}")


# -- seq2seq ---------------------------------------------------------------------------

def _evaluate_translator(model, args):
    """eval of a seq2seq model on --data pairs: figures, a table by source length, --errors."""
    refuse_options(args, ("--format", "--text-column", "--label-column"), "classifiers", args.model, "a seq2seq model")
    if not args.data:
        raise TinyRNNError("a seq2seq model is evaluated on sentence pairs: give --data FILE (source<TAB>target "
                           "lines, .csv or .jsonl), or --data source=FILE --data target=FILE")
    options = PairOptions(args.encoding, args.source_column or "source", args.target_column or "target",
                          args.skip_bad_rows, args.swap, "none", None, None, model.tokenizer)
    pairs = options.read(args.data, "--data")
    data, unknown_sources, unknown_targets = encode_pairs(model, pairs)
    unit = model.tokenizer.unit
    for unknown, where in ((unknown_sources, "sources"), (unknown_targets, "references")):
        warn_unknown([repr(token) for token in unknown] if unit == "character" else unknown, where, unit)
    beam = args.beam or 1
    figures, found = evaluate_pairs(model, data, beam)
    hypotheses = [translation.text for translation in found]
    report = {"pairs": len(data), "beam": beam, **figures,
              "by_source_length": by_source_length(data, hypotheses)}
    if args.errors:
        report["errors"] = worst_translations(model, pairs, data, found, args.errors)
    if figures["bleu"] is None:
        print(SACREBLEU_NOTE, file=sys.stderr)
    if args.json:
        print(json.dumps(report))
    else:
        _print_translation_report(report, args.errors)
    return 0


def by_source_length(data, hypotheses, buckets=SOURCE_LENGTHS):
    """[{"source_tokens": "1-5", "pairs", "exact_match", "bleu"}] of each bucket of source
    lengths that has pairs (bleu None without sacrebleu)."""
    lengths = np.array([len(source) for source in data.sources])
    rows = []
    for low, high in buckets:
        chosen = np.flatnonzero((lengths >= low) & (lengths <= (high or lengths.max())))
        if not len(chosen):
            continue
        found = [hypotheses[i] for i in chosen]
        references = [data.references[i] for i in chosen]
        rows.append({"source_tokens": f"{low}-{high}" if high else f"{low}+", "pairs": len(chosen),
                     "exact_match": float(np.mean([h == r for h, r in zip(found, references)])),
                     "bleu": translation_scores(found, references)["bleu"]})
    return rows


def worst_translations(model, pairs, data, found, count):
    """Up to count wrong translations, the highest token error rate first (edit distance to the
    reference over its tokens; ties in file order): origin, source, reference, translation."""
    scored = []
    for i, translation in enumerate(found):
        if translation.text != data.references[i]:
            reference = model.tokenize(pairs.targets[i])
            produced = model.target_vocab.decode(translation.ids)
            scored.append((edit_distance(produced, reference) / max(len(reference), 1), i))
    scored.sort(key=lambda item: -item[0])                       # stable: ties keep file order
    return [{"origin": pairs.origins[i], "source": pairs.sources[i], "reference": data.references[i],
             "translation": found[i].text, "token_error_rate": rate} for rate, i in scored[:count]]


def edit_distance(a, b):
    """Levenshtein distance between token lists a and b: the fewest insertions, deletions and
    substitutions of one token that turn a into b. One row of the table per token of a:

        D[i, j] = min(D[i-1, j] + 1, D[i-1, j-1] + [a_i != b_j], D[i, j-1] + 1)

    the last term (insertions) as a running minimum: D[i, j] = j + min_{k<=j} (C[k] - k)."""
    if not a or not b:
        return max(len(a), len(b))
    index = {token: n for n, token in enumerate(set(a) | set(b))}
    b_ids = np.array([index[token] for token in b])
    steps = np.arange(len(b) + 1)
    row = steps.copy()                                           # D[0, j] = j
    for i, token in enumerate(a, start=1):
        candidates = np.empty_like(row)
        candidates[0] = i
        candidates[1:] = np.minimum(row[1:] + 1, row[:-1] + (b_ids != index[token]))
        row = np.minimum.accumulate(candidates - steps) + steps
    return int(row[-1])


def _print_translation_report(report, error_count):
    """The figures, the table by source length, then the worst translations."""
    greedy = "greedy" if report["beam"] == 1 else f"beam {report['beam']}"
    line = (f"Loss {report['loss']:.3f} | Token accuracy: {report['token_accuracy']:.3f} | "
            f"Exact match: {report['exact_match']:.3f}")
    if report["bleu"] is not None:
        line += f" | BLEU {report['bleu']:.1f} | chrF {report['chrf']:.1f}"
    print(f"{line} ({report['pairs']} pairs, {greedy})")
    with_bleu = report["bleu"] is not None
    print("By source length:")
    print(f"{'tokens':<10}{'pairs':>8}{'exact match':>13}" + (f"{'BLEU':>8}" if with_bleu else ""))
    for row in report["by_source_length"]:
        print(f"{row['source_tokens']:<10}{row['pairs']:>8}{row['exact_match']:>13.3f}"
              + (f"{row['bleu']:>8.1f}" if with_bleu else ""))
    if error_count:
        errors = report["errors"]
        print(f"The {len(errors)} worst translation(s), by token error rate:" if errors else
              "No translation differs from its reference")
        for error in errors:
            shown = {key: printable(error[key]) for key in ("origin", "source", "reference", "translation")}
            print(f"{shown['origin']}\ttoken error rate {error['token_error_rate']:.2f}\n"
                  f"  source:      {shown['source']}\n  reference:   {shown['reference']}\n"
                  f"  translation: {shown['translation']}")
