"""Sampling text from a language model, one token at a time.

    h_t = cell(x_t, h_{t-1})            the same engine as training (batch of one)
    p   = softmax((Why h_t + by) / T)   T the temperature; T = 0 picks the most likely token
    x_{t+1} ~ p                         optionally only among the k most likely tokens

Without a prime, the first token is drawn from softmax(b), b the output bias: the model's prediction from
the empty state h_0 = 0. The special tokens <pad> and <unk> are never produced. A temperature
so small that the scaled scores overflow is the limit T -> 0: the most likely token.
A model whose weights are finite but too large gives outputs that are not (inf, NaN): that is
refused (check_finite) rather than sampled from.
"""
import numpy as np

from .errors import NotFiniteError
from .vocab import SPECIALS

NOT_FINITE = "the model's outputs are not finite numbers (its weights are too large)"


def check_finite(values, what=None):
    """Raise NotFiniteError when values (an array: logits, probabilities, predictions) hold NaN
    or infinities, as a model with huge finite weights gives. what: the message (default:
    NOT_FINITE). Compute values under np.errstate(all="ignore") so NumPy warns of nothing."""
    if not np.isfinite(values).all():
        raise NotFiniteError(what or NOT_FINITE)
    return values


def _forward(model, ids, state=None):
    """model.forward without NumPy's warnings; logits that are not finite are refused."""
    with np.errstate(all="ignore"):
        logits, state = model.forward(ids, None, state)
    return check_finite(logits), state


def unknown_tokens(model, prime):
    """The tokens of prime that model never saw (read as <unk>), sorted, each once."""
    return sorted(set(model.vocab.encode(model.tokenize(prime))[1]))


def generate(model, rng, length, prime="", temperature=1.0, top_k=None):
    """Yield `length` tokens (strings) that continue `prime`, drawn with rng (a numpy Generator)."""
    if temperature < 0 or not np.isfinite(temperature):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top-k must be at least 1, got {top_k}")
    ids, _ = model.vocab.encode(model.tokenize(prime))
    state = None
    logits = check_finite(model.params[model.output_bias].astype(np.float64))   # prediction from h_0 = 0
    if len(ids):
        step_logits, state = _forward(model, ids[None, :])
        logits = step_logits[-1, 0].astype(np.float64)
    for _ in range(length):
        token = pick(logits, rng, temperature, top_k)
        step_logits, state = _forward(model, np.array([[token]]), state)   # refused before it is yielded
        logits = step_logits[0, 0].astype(np.float64)
        yield model.vocab.tokens[token]


def pick(logits, rng, temperature=1.0, top_k=None):
    """A token id from logits (V,): argmax at temperature 0, else a draw from
    softmax(logits / temperature), restricted to the top_k largest when given."""
    scores = logits.copy()
    scores[:len(SPECIALS)] = -np.inf                               # never <pad> or <unk>
    if temperature == 0:
        return int(np.argmax(scores))
    if top_k is not None and top_k < len(scores):
        threshold = np.partition(scores, -top_k)[-top_k]
        scores[scores < threshold] = -np.inf
    with np.errstate(over="ignore", under="ignore"):               # tiny T: -inf but the best, as T -> 0
        scores = (scores - scores.max()) / temperature
        probs = np.exp(scores)
    cumulative = np.cumsum(probs)
    return int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
