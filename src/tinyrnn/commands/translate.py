"""`tinyrnn translate`: translate texts with a saved seq2seq model (decoding.py).

Each TEXT, or each line of stdin as it arrives, gives one output line, in order: the
translation, or with --json one object (the text, decoding.Translation.as_json: the
translation, its scores, the source tokens as the model read them and each output step's
attention weights over them). A blank text, or one with no tokens once the model has read
it, gives an empty translation without running the model: the output stays aligned line by
line with the input (`tinyrnn translate < source.txt > hypotheses.txt`), as the two aligned
files of a pair set must be. Source tokens the model never saw are read as <unk>, with a
warning naming them (--strict: an error)."""
import json
import sys


from ..decoding import translate
from ..describe import kind
from ..errors import TinyRNNError
from ..explain import MAX_SOURCE_TOKENS
from ..io import load_model
from ..text_output import printable
from .common import stdin_texts, warn_unknown


def run(args):
    """Print one line per TEXT, or per line of stdin as soon as it has come."""
    model_path, texts, beam, max_length = args.model, args.texts, args.beam, args.max_length
    as_json, strict = args.json, args.strict

    model = load_translator(model_path)
    if texts:
        _answer(model, texts, beam, max_length, as_json, strict, None)
        return 0
    for number, text in stdin_texts(blank=True):
        _answer(model, [text], beam, max_length, as_json, strict, f"<stdin>:{number}")
        sys.stdout.flush()                          # an answer as soon as its line has come
    return 0


def load_translator(path):
    """The seq2seq model saved at path; another kind of model is an error naming its command."""
    model = load_model(path)
    if model.task != "seq2seq":
        command = {"lm": "generate", "forecast": "forecast"}.get(model.task, "predict")
        raise TinyRNNError(f"{path} is {kind(model)}; translate needs a seq2seq model (tinyrnn train "
                           f"--task seq2seq); use tinyrnn {command} with this one")
    return model


def _answer(model, texts, beam, max_length, as_json, strict, line):
    """Print one line per text; line: "<stdin>:N" of a text read from stdin, None for arguments.
    A text of more than MAX_SOURCE_TOKENS tokens is refused: the search's work grows with the
    square of its length (2 S + 10 steps, each attending over S)."""
    for number, text in enumerate(texts, start=1):
        count = len(model.tokenize(text))
        if count > MAX_SOURCE_TOKENS:
            raise TinyRNNError(f"{line or f'text {number}'}: {count:,} {model.tokenizer.unit}s; translate reads at "
                               f"most {MAX_SOURCE_TOKENS:,} per text (split it into sentences)")
    results, unknown = translate(model, texts, beam, max_length)
    unit = model.tokenizer.unit
    shown = sorted({token for tokens in unknown for token in tokens})
    if unit == "character":
        shown = [repr(token) for token in shown]   # a space or a quote is visible
    if shown and strict:
        raise TinyRNNError(f"{line + ': ' if line else ''}{unit}s not in the model's source vocabulary: "
                           f"{', '.join(shown)}")
    warn_unknown(shown, f"input ({line})" if line else "input", unit)
    for text, translation in zip(texts, results):
        if as_json:
            source_tokens = model.tokenize(text) if translation.score is not None else []
            print(json.dumps({"text": text, **translation.as_json(source_tokens)}))
        else:
            print(printable(translation.text.replace("\r", " ").replace("\n", " ")))   # one line per text
