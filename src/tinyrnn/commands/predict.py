"""`tinyrnn predict`: classify texts with a saved classifier."""
import json

import numpy as np

from ..errors import TinyRNNError
from ..vocab import tokenize
from .common import load_classifier, stdin_lines, warn_unknown


def run(args):
    """Print label, probability and text (or a JSON object) for each TEXT, or each line of stdin."""
    model_path, texts, as_json, strict = args.model, args.texts, args.json, args.strict

    model = load_classifier(model_path, "predict")
    texts = texts if texts else stdin_lines()
    probs = _probabilities(model, texts, strict)
    for text, row in zip(texts, probs):
        best = int(row.argmax())
        if as_json:
            print(json.dumps({"text": text, "label": model.classes[best],
                              "probabilities": dict(zip(model.classes, map(float, row)))}))
        else:
            print(f"{model.classes[best]}\t{row[best]:.3f}\t{text}")
    return 0


def _probabilities(model, texts, strict):
    """(N, C) class probabilities; unknown words are an error when strict, else a warning."""
    for number, text in enumerate(texts, start=1):
        if not tokenize(text):
            raise TinyRNNError(f"text {number} has no words: {text!r}")
    sequences, unknown = model.encode(texts)
    unknown_words = sorted({word for words in unknown for word in words})
    if unknown_words and strict:
        raise TinyRNNError(f"words not in the model's vocabulary: {', '.join(unknown_words)}")
    warn_unknown(unknown_words, "input")
    return model.predict_proba(sequences) if texts else np.zeros((0, len(model.classes)))
