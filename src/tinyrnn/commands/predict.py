"""`tinyrnn predict`: classify texts with a saved classifier."""
import json
import sys

from ..errors import TinyRNNError
from .common import load_classifier, stdin_texts, warn_unknown


def run(args):
    """Print label, probability and text (or a JSON object) for each TEXT, or for each line
    of stdin as it arrives."""
    model_path, texts, as_json, strict = args.model, args.texts, args.json, args.strict

    model = load_classifier(model_path, "predict")
    if texts:
        named = [(f"text {number}", text) for number, text in enumerate(texts, start=1)]
        _answer(model, named, as_json, strict, "input")
        return 0
    for number, text in stdin_texts():
        _answer(model, [(f"<stdin>:{number}", text)], as_json, strict, f"input (<stdin>:{number})")
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
    for text, row in zip(texts, model.predict_proba(sequences)):
        best = int(row.argmax())
        if as_json:
            print(json.dumps({"text": text, "label": model.classes[best],
                              "probabilities": dict(zip(model.classes, map(float, row)))}))
        else:
            print(f"{model.classes[best]}\t{row[best]:.3f}\t{text}")
