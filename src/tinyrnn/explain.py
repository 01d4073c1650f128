"""What a trained network computes, word by word (classifiers) or character by character
(language models). Pure NumPy; plots.py and report.py draw what this module measures.

A classifier reads a text of T words w_1 .. w_T and predicts class c = argmax p(text):

    trajectory[t]  = p(w_1 .. w_t)                the many-to-one model read after every prefix
    occlusion[t]   = p_c(text) - p_c(text without w_t)      leave-one-out: what w_t adds to c
    gradient[t]    = x_t . d ln p_c / d x_t       gradient x input, x_t the embedded word (or its
                                                  one-hot column); a first-order estimate
    hidden[t]      = h_t of the top layer         (T, D*H), [forward | reverse]

The empty text (a one-word text without its word) is read as features 0: p = softmax(b).

A language model reading a text x_1 .. x_N:

    surprisal[t]   = -ln p(x_t | x_1 .. x_{t-1})  nats; x_1's from the empty state, softmax(b)
    hidden[t]      = h_t of the top layer after reading x_t      (N, H)

and the units whose activation follows a property of the text best (Pearson's r over the
characters): inside quotes, a line break, inside brackets, the position within the line.

A translation model (seq2seq) translating a source x_1 .. x_S into y_1 .. y_T, then <eos>:

    attention[t, s] = a_ts                       the weight output step t gives source token s
                                                 (decoding.translate's; each row sums to 1);
                                                 rows y_1 .. y_T, then the step that chose <eos>
    most_attended[t] = argmax_s a_ts
"""
from dataclasses import dataclass

import numpy as np

from .decoding import Translation, translate
from .nn.functional import log_softmax, softmax
from .vocab import EOS, UNK_ID


@dataclass
class TextExplanation:
    """A classifier's reading of one text (see the module docstring)."""

    tokens: list            # the words as the model reads them (normalised)
    known: list             # False where a word is not in the vocabulary (read as <unk>)
    classes: list
    trajectory: np.ndarray  # (T, C)
    occlusion: np.ndarray   # (T,)
    gradient: np.ndarray    # (T,)
    hidden: np.ndarray      # (T, D*H)
    directions: int         # D: hidden's columns are D blocks of H units

    @property
    def probabilities(self):
        return self.trajectory[-1]

    @property
    def predicted(self):
        return int(self.probabilities.argmax())

    @property
    def label(self):
        return self.classes[self.predicted]

    def to_json(self, hidden=True):
        """Plain JSON types; probabilities by class name."""
        record = {"label": self.label, "probabilities": _by_class(self.classes, self.probabilities),
                  "words": [{"word": word, "known": known, "probabilities": _by_class(self.classes, row),
                             "occlusion": float(occ), "gradient_x_input": float(grad)}
                            for word, known, row, occ, grad in zip(self.tokens, self.known, self.trajectory,
                                                                   self.occlusion, self.gradient)]}
        if hidden:
            record["hidden"] = np.round(self.hidden, 4).tolist()
            record["directions"] = self.directions
        return record


def _by_class(classes, row):
    return {name: float(value) for name, value in zip(classes, row)}


MAX_WORDS = 500         # every text less one word is read: the work grows as T^2
STEPS_PER_BATCH = 16384 # words read at once (B x T) when many texts are read: bounds the memory


def explain_text(model, text, max_words=MAX_WORDS):
    """The TextExplanation of text by a Classifier. Raises ValueError for a text with no words
    or more than max_words. Fills model.grads (use a replica where threads share a model)."""
    tokens = model.tokenize(text)
    if not tokens:
        raise ValueError(f"the text has no words: {text!r}")
    if len(tokens) > max_words:
        raise ValueError(f"the text has {len(tokens):,} words; explain reads at most {max_words:,} "
                         f"(it reads the text again without each word in turn)")
    ids, _ = model.vocab.encode(tokens)
    known = [bool(i != UNK_ID) for i in ids]
    T, hidden = len(ids), model.hidden_states(ids)
    trajectory = prefix_probabilities(model, ids, hidden)
    predicted = int(trajectory[-1].argmax())
    without = probabilities(model, [np.delete(ids, t) for t in range(T)])
    occlusion = trajectory[-1, predicted] - without[:, predicted]
    gradient = model.input_relevance(ids, predicted)
    return TextExplanation(tokens, known, list(model.classes), trajectory, occlusion, gradient, hidden,
                           model.stack.directions)


def prefix_probabilities(model, ids, hidden):
    """p(w_1 .. w_t) for t = 1 .. T, (T, C). One direction: from the text's h_t (hidden, (T, H)),
    which are the prefixes' too, pooled as the model pools (the last h_t, or the running mean
    or maximum); two directions: each prefix read as a text of its own (the reverse direction
    starts at the prefix's end)."""
    if model.stack.directions == 2:
        return probabilities(model, [ids[:t] for t in range(1, len(ids) + 1)])
    pool = model.config.pool
    if pool == "mean":
        hidden = np.cumsum(hidden, axis=0) / np.arange(1, len(ids) + 1)[:, None]
    elif pool == "max":
        hidden = np.maximum.accumulate(hidden, axis=0)
    return softmax(hidden @ model.params[model.output_weight].T + model.params[model.output_bias])


def probabilities(model, sequences):
    """Class probabilities (N, C) of id sequences, an empty one read as features 0 (softmax(b));
    read in batches of at most STEPS_PER_BATCH words."""
    out = np.empty((len(sequences), len(model.classes)), dtype=model.dtype)
    filled = [i for i, seq in enumerate(sequences) if len(seq)]
    if filled:
        longest = max(len(sequences[i]) for i in filled)
        out[filled] = model.predict_proba([sequences[i] for i in filled], max(1, STEPS_PER_BATCH // longest))
    out[[i for i, seq in enumerate(sequences) if not len(seq)]] = softmax(
        model.params[model.output_bias][None])
    return out


@dataclass
class TextReading:
    """A language model's reading of a text (see the module docstring)."""

    tokens: list            # the text's tokens (characters, or words)
    known: list             # False where a token is not in the vocabulary (read as <unk>)
    surprisal: np.ndarray   # (N,) nats
    hidden: np.ndarray      # (N, H)

    @property
    def mean_surprisal(self):
        """Over the tokens predicted from text before them: all but the first, when there are two."""
        return float(self.surprisal[1:].mean() if len(self.surprisal) > 1 else self.surprisal[0])


def read_text(model, text):
    """The TextReading of text by a LanguageModel. Raises ValueError for an empty text."""
    tokens = model.tokenize(text)
    if not tokens:
        raise ValueError("the text is empty")
    ids, _ = model.vocab.encode(tokens)
    logits, hidden = model.read(ids)
    log_p = log_softmax(np.vstack([model.params[model.output_bias][None], logits[:-1]]).astype(np.float64))
    surprisal = -log_p[np.arange(len(ids)), ids]
    return TextReading(tokens, [bool(i != UNK_ID) for i in ids], surprisal, hidden)


OPENING, CLOSING = "([{", ")]}"
QUOTES = '"\u201c\u201d'


def text_features(tokens):
    """{name: (N,) float} properties of each position of a character sequence, for unit_correlations."""
    inside_quotes, depth, column = [], [], []
    quoted, level, position = False, 0, 0
    for char in tokens:
        if char in QUOTES:
            quoted = not quoted if char == '"' else char == "\u201c"
        level = level + 1 if char in OPENING else max(level - 1, 0) if char in CLOSING else level
        position = 0 if char == "\n" else position + 1
        inside_quotes.append(quoted)
        depth.append(level > 0)
        column.append(position)
    return {"inside quotes": np.array(inside_quotes, float),
            "line break": np.array([char == "\n" for char in tokens], float),
            "inside brackets": np.array(depth, float),
            "position in line": np.array(column, float)}


def unit_correlations(hidden, features, top=5):
    """{feature: [(unit, r), ...]}: the `top` units whose activation correlates most strongly
    (largest |r|, Pearson) with each feature; an empty list for a feature that never varies
    in the text (say, no quotes)."""
    centred = hidden - hidden.mean(axis=0)
    spread = np.sqrt((centred ** 2).sum(axis=0))
    result = {}
    for name, values in features.items():
        deviation = values - values.mean()
        norm = np.sqrt((deviation ** 2).sum())
        if norm == 0:
            result[name] = []
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(spread > 0, deviation @ centred / (spread * norm), 0.0)
        order = np.argsort(-np.abs(r), kind="stable")[:top]
        result[name] = [(int(unit), float(r[unit])) for unit in order]
    return result


MAX_SOURCE_TOKENS = 1_000   # a translation is searched for up to 2 S + 10 steps: the work grows as S^2


@dataclass
class TranslationExplanation:
    """A seq2seq model's translation of one text and where each output step looked."""

    source_tokens: list       # the source as the model reads it (normalised, tokenized)
    known: list               # False where a source token is not in the vocabulary (read as <unk>)
    output_tokens: list       # the translation's tokens, then "<eos>" when it ended with one
    translation: Translation  # decoding.py's; .attention (len(output_tokens), S) or None

    @property
    def attention(self):
        return self.translation.attention

    @property
    def most_attended(self):
        """(rows,) the source position each output step weighs most (None without attention)."""
        return None if self.attention is None else self.attention.argmax(axis=1)

    def to_json(self):
        """Translation.as_json with the source tokens, plus the output tokens that label the
        attention's rows, which source tokens are known, and "attention": null for a model
        without attention."""
        return {**self.translation.as_json(self.source_tokens), "output_tokens": self.output_tokens,
                "known": self.known, **({"attention": None} if self.attention is None else {})}


def explain_translation(model, text, beam=1, max_length=None, max_tokens=MAX_SOURCE_TOKENS):
    """The TranslationExplanation of text by a Seq2Seq model, translated as decoding.translate
    does (beam 1: greedy; max_length None: its default). Raises ValueError for a text with no
    tokens or more than max_tokens."""
    tokens, unit = model.tokenize(text), model.tokenizer.unit
    if not tokens:
        raise ValueError(f"the text has no {unit}s to translate: {text!r}")
    if len(tokens) > max_tokens:
        raise ValueError(f"the text has {len(tokens):,} {unit}s; translating reads at most {max_tokens:,}")
    ids, _ = model.vocab.encode(tokens)
    (translation,), _ = translate(model, [text], beam, max_length)
    output = model.target_vocab.decode(translation.ids) + ([EOS] if translation.finished else [])
    assert translation.attention is None or translation.attention.shape == (len(output), len(tokens))
    return TranslationExplanation(tokens, [bool(i != UNK_ID) for i in ids], output, translation)
