"""`tinyrnn generate`: sample text from a saved language model."""
import sys

import numpy as np

from ..describe import kind
from ..errors import TinyRNNError
from ..io import load_model
from ..models import LanguageModel
from ..sampling import generate, unknown_tokens
from ..text_output import check_argument, printable_text
from .common import warn_unknown


def run(args):
    """Write --prime, then --length sampled tokens, to stdout as they come."""
    model_path, prime, length, strict = args.model, args.prime, args.length, args.strict
    temperature, top_k, seed = args.temperature, args.top_k, args.seed

    model = _load_language_model(model_path)
    check_argument(prime, "--prime")
    _check_prime(model, prime, strict)
    rng = np.random.default_rng(seed)
    tokens = generate(model, rng, length, prime, temperature, top_k)
    pieces = model.tokenizer.pieces(tokens, after_text=bool(prime))
    sys.stdout.write(prime + printable_text(next(pieces, "")))   # a model that cannot generate fails first
    sys.stdout.flush()
    for piece in pieces:
        sys.stdout.write(printable_text(piece))
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


def _load_language_model(path):
    model = load_model(path)
    if model.task == "seq2seq":
        raise TinyRNNError(f"{path} is a seq2seq model; generate needs a language model "
                           f"(to translate texts use tinyrnn translate)")
    if not isinstance(model, LanguageModel):
        raise TinyRNNError(f"{path} is {kind(model)}; generate needs a language model "
                           f"(tinyrnn train --task lm)")
    return model


def _check_prime(model, prime, strict):
    """Tokens of prime the model never saw: an error when strict, else a warning."""
    unknown = unknown_tokens(model, prime)
    if unknown and strict:
        raise TinyRNNError(f"prime has tokens the model never saw: {', '.join(map(repr, unknown))}")
    warn_unknown([repr(token) for token in unknown], "prime", model.tokenizer.unit)
