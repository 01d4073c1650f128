"""`tinyrnn eval`: loss, accuracy and confusion matrix of a saved classifier on labelled data."""
import json

import numpy as np

from ..data import default_dataset
from ..train import encode_examples, evaluate
from .common import DataOptions, load_classifier, warn_unknown


def run(args):
    """Evaluate --model on --data (default: the embedded test set); print a table or one JSON object."""
    model_path, specs, as_json = args.model, args.data, args.json
    data = DataOptions(args.format, args.encoding, args.text_column, args.label_column)

    model = load_classifier(model_path, "eval")
    dataset = data.read(specs) if specs else default_dataset()[1]
    examples, unknown = encode_examples(model, dataset)
    warn_unknown(unknown, "data")
    loss, accuracy, probs = evaluate(model, examples)
    classes = model.classes
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)     # (C true, C predicted)
    np.add.at(confusion, (examples.targets, probs.argmax(axis=1)), 1)
    if as_json:
        print(json.dumps({"examples": len(examples), "loss": loss, "accuracy": accuracy,
                          "classes": classes, "confusion": confusion.tolist()}))
    else:
        _print_report(loss, accuracy, len(examples), classes, confusion)
    return 0


def _print_report(loss, accuracy, examples, classes, confusion):
    """Loss and accuracy on one line, then the confusion matrix with labelled rows and columns."""
    print(f"Loss {loss:.3f} | Accuracy: {accuracy:.3f} ({examples} examples)")
    print("Confusion matrix (rows: true label, columns: predicted):")
    width = max(8, *(len(c) for c in classes)) + 2
    print(" " * width + "".join(c.rjust(width) for c in classes))
    for label, row in zip(classes, confusion):
        print(label.ljust(width) + "".join(str(n).rjust(width) for n in row))
