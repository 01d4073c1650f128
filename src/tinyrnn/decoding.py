"""Translating with a Seq2Seq model: the decoder run one step at a time from <bos>, each
step reading its own previous output, by greedy choice or beam search.

Beam search keeps the K best hypotheses of each source. A hypothesis's score is the sum of
ln p of its tokens (<eos> included); hypotheses are ranked by the length-normalised score,
score / tokens, so that a short translation is not preferred just for having fewer factors
below one. A finished hypothesis (one that chose <eos>) stays in the beam with its score
until better ones push it out; the search ends when every kept hypothesis is finished or at
the maximum length. A beam of 1 is greedy decoding: the most likely token at every step.
"""
from dataclasses import dataclass

import numpy as np

from .sampling import check_finite
from .vocab import BOS_ID, EOS_ID, PAD_ID


@dataclass
class Translation:
    """One source's best hypothesis: ids (without <eos>), its text, score (sum of ln p over
    its tokens and <eos>), normalized_score (score per token), attention (tokens + 1, S): each
    output step's weights over the source tokens (None for a model without attention), and
    whether it ended with <eos> (else it reached the maximum length)."""

    ids: list
    text: str
    score: float
    normalized_score: float
    attention: np.ndarray | None
    finished: bool

    def as_json(self, source_tokens=None):
        result = {"translation": self.text, "tokens": len(self.ids), "score": self.score,
                  "normalized_score": self.normalized_score, "finished": self.finished}
        if self.attention is not None:
            result["attention"] = np.round(self.attention.astype(np.float64), 6).tolist()
        if source_tokens is not None:
            result["source_tokens"] = list(source_tokens)
        return result


def empty_translation(model):
    """The translation of a text without tokens: empty, unscored (attention (0, 0))."""
    return Translation([], "", None, None, None if model.attention == "none" else np.zeros((0, 0)), True)


def default_max_length(source_length):
    """The longest translation searched for a source of source_length tokens."""
    return 2 * source_length + 10


def search(model, sequences, beam=1, max_length=None):
    """Translations of the id arrays `sequences` (one batch) with a beam of `beam` (1:
    greedy); max_length: the most target tokens (None: default_max_length of each source, so
    a source translates alike alone or in a batch). Returns a Translation per sequence."""
    if type(beam) is not int or beam < 1:
        raise ValueError(f"a beam must be a positive integer, got {beam!r}")
    if max_length is not None and (type(max_length) is not int or max_length < 1):
        raise ValueError(f"a maximum length must be a positive integer, got {max_length!r}")
    if any(len(seq) == 0 for seq in sequences):
        raise ValueError("every source needs at least one token")
    N, K = len(sequences), beam
    limits = np.array([max_length or default_max_length(len(seq)) for seq in sequences])    # (N,)
    with np.errstate(all="ignore"):                         # huge weights: refused below, not warned of
        encoded = model.encode_sources(sequences).take(np.repeat(np.arange(N), K))
    states, previous = encoded.initial_states, np.full(N * K, BOS_ID)
    score = np.full((N, K), -np.inf)
    score[:, 0] = 0.0                                       # one hypothesis to start from
    length, finished = np.zeros((N, K), dtype=np.int64), np.zeros((N, K), dtype=bool)
    steps = []                                              # per step: (parent, token, weights)
    source = np.arange(N)[:, None]
    for step in range(int(limits.max())):
        with np.errstate(all="ignore"):                     # huge weights: refused here, not warned of
            log_p, new_states, step_weights = model.decode_step(encoded, previous, states)
        check_finite(log_p)
        V = log_p.shape[1]
        total = score[..., None] + log_p.reshape(N, K, V)   # (N, K, V)
        total[..., PAD_ID] = total[..., BOS_ID] = -np.inf   # never produced
        total[finished] = -np.inf
        total[finished, PAD_ID] = score[finished]           # a finished one carries itself on
        new_length = length + ~finished
        ranked = (total / np.maximum(new_length, 1)[..., None]).reshape(N, K * V)
        chosen = _best(ranked, K)                                            # (N, K)
        parent, token = chosen // V, chosen % V
        score = total.reshape(N, K * V)[source, chosen]
        length, finished = new_length[source, parent], finished[source, parent] | (token == EOS_ID)
        finished |= (step + 1 >= limits)[:, None]          # at its maximum length: as it stands
        steps.append((parent, token, None if step_weights is None else step_weights.reshape(N, K, -1)[source, parent]))
        rows = (source * K + parent).reshape(-1)
        states, previous = new_states[:, rows], token.reshape(-1)
        if finished.all():
            break
    best = np.argmax(score / np.maximum(length, 1), axis=1)
    tokens, weights = _backtrack(steps, best)
    return [_translation(model, tokens[n], score[n, best[n]], length[n, best[n]],
                         None if weights is None else weights[n], len(sequences[n]))
            for n in range(N)]


def _backtrack(steps, best):
    """The tokens (N, steps) and attention weights (N, steps, S) of hypothesis best[n] of each
    source, followed back through the steps' parents."""
    rows, beam = np.arange(len(best)), best.copy()
    tokens = np.empty((len(best), len(steps)), dtype=np.int64)
    weights = None if steps[0][2] is None else np.empty((len(best), len(steps), steps[0][2].shape[2]))
    for t in range(len(steps) - 1, -1, -1):
        parent, token, step_weights = steps[t]
        tokens[:, t] = token[rows, beam]
        if weights is not None:
            weights[:, t] = step_weights[rows, beam]
        beam = parent[rows, beam]
    return tokens, weights


def _best(ranked, K):
    """The columns of the K highest values of each row of ranked (N, C), best first (ties
    among them by column)."""
    if K == 1:
        return ranked.argmax(axis=1)[:, None]
    top = np.argpartition(-ranked, K - 1, axis=1)[:, :K] if K < ranked.shape[1] else \
        np.broadcast_to(np.arange(ranked.shape[1]), ranked.shape)
    values = np.take_along_axis(ranked, top, axis=1)
    order = np.lexsort((top, -values), axis=1)                          # by value, then column
    return np.take_along_axis(top, order, axis=1)[:, :K]


def _translation(model, tokens, score, length, weights, source_length):
    finished = length > 0 and tokens[length - 1] == EOS_ID
    ids = [int(token) for token in tokens[:length] if token != EOS_ID]
    attention = None if weights is None else weights[:length, :source_length].copy()
    return Translation(ids, model.detokenize(ids), float(score), float(score / max(length, 1)), attention,
                       bool(finished))


def search_all(model, sequences, beam=1, max_length=None, batch_size=128):
    """Translations of any number of id arrays, searched in batches of similar lengths (a
    source translates alike in any batch); an empty one gets empty_translation."""
    rows = sorted((i for i, seq in enumerate(sequences) if len(seq)), key=lambda i: len(sequences[i]))
    results = [empty_translation(model)] * len(sequences)
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        for i, translation in zip(batch, search(model, [sequences[i] for i in batch], beam, max_length)):
            results[i] = translation
    return results


def translate(model, texts, beam=1, max_length=None, batch_size=128):
    """Texts -> (a Translation per text, the unknown source tokens of each text); a text with no
    tokens (blank, or nothing left once normalised) gets empty_translation."""
    sequences, unknown = model.encode(texts)
    return search_all(model, sequences, beam, max_length, batch_size), unknown
