"""`tinyrnn eval`: loss, accuracy, confusion matrix and per-class scores of a saved
classifier on labelled data, and its most confident mistakes."""
import json

from ..data import default_dataset
from ..metrics import class_scores, confusion_matrix, most_confident_errors
from ..tasks import encode_examples, evaluate
from .common import DataOptions, load_classifier, warn_unknown


def run(args):
    """Evaluate --model on --data (default: the embedded test set); print a report or one JSON object."""
    model_path, specs, as_json, error_count = args.model, args.data, args.json, args.errors
    data = DataOptions(args.format, args.encoding, args.text_column, args.label_column, args.skip_bad_rows)

    model = load_classifier(model_path, "eval")
    dataset = data.read(specs) if specs else default_dataset()[1]
    examples, unknown = encode_examples(model, dataset)
    warn_unknown(unknown, "data")
    loss, accuracy, probs = evaluate(model, examples)
    classes = model.classes
    confusion = confusion_matrix(examples.targets, probs.argmax(axis=1), len(classes))
    scores = class_scores(confusion)
    errors = [_error(dataset, classes, probs, examples.targets, row)
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


def _error(dataset, classes, probs, targets, row):
    """One wrongly predicted example as a JSON-ready dict."""
    predicted = int(probs[row].argmax())
    return {"source": dataset.sources[row], "text": dataset.texts[row], "label": classes[targets[row]],
            "predicted": classes[predicted], "probability": float(probs[row, predicted])}


def _print_report(loss, accuracy, examples, classes, confusion, scores):
    """Loss and accuracy, the confusion matrix, then precision, recall and F1 per class."""
    print(f"Loss {loss:.3f} | Accuracy: {accuracy:.3f} ({examples} examples)")
    print("Confusion matrix (rows: true label, columns: predicted):")
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
        print(f"{error['source']}\t{error['label']} -> {error['predicted']} "
              f"({error['probability']:.3f})\t{error['text']}")
