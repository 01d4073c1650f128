"""Sampling text from a language model, one token at a time.

    h_t = cell(x_t, h_{t-1})            the same engine as training (batch of one)
    p   = softmax((Why h_t + by) / T)   T the temperature; T = 0 picks the most likely token
    x_{t+1} ~ p                         optionally only among the k most likely tokens

Without a prime, the first token is drawn from softmax(b), b the output bias: the model's prediction from
the empty state h_0 = 0. The special tokens <pad> and <unk> are never produced.
"""
import numpy as np

from .vocab import SPECIALS


def generate(model, rng, length, prime="", temperature=1.0, top_k=None):
    """Yield `length` tokens (strings) that continue `prime`, drawn with rng (a numpy Generator)."""
    if temperature < 0 or not np.isfinite(temperature):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top-k must be at least 1, got {top_k}")
    ids, _ = model.vocab.encode(model.tokenize(prime))
    state = None
    logits = model.params[model.output_bias].astype(np.float64)    # prediction from h_0 = 0
    if len(ids):
        step_logits, state = model.forward(ids[None, :])
        logits = step_logits[-1, 0].astype(np.float64)
    for _ in range(length):
        token = pick(logits, rng, temperature, top_k)
        yield model.vocab.tokens[token]
        step_logits, state = model.forward(np.array([[token]]), None, state)
        logits = step_logits[0, 0].astype(np.float64)


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
    scores = (scores - scores.max()) / temperature
    probs = np.exp(scores)
    cumulative = np.cumsum(probs)
    return int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
