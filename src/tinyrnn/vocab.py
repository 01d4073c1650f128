"""Words to ids and back: a deterministic tokenizer and a sorted vocabulary.

Normalisation (documented, stable across runs and machines):
  0. A run of more than MAX_MARKS combining marks (characters that attach to the one before:
     accents, Tibetan vowel signs, ...) keeps its first MAX_MARKS: no script writes longer
     runs, and Unicode normalisation takes time that grows with the square of a run.
  1. Unicode NFKC, then case folding ("Happy" and "HAPPY" are "happy").
  2. Control characters (NUL, lone carriage returns, ...) count as spaces.
  3. A word is a run of letters/digits/underscores, with inner apostrophes kept
     ("don't"); any other non-space character (punctuation, emoji) is a token of its own.
"""
import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .errors import DataError

PAD = "<pad>"
UNK = "<unk>"
SPECIALS = (PAD, UNK)
PAD_ID, UNK_ID = 0, 1
BOS, EOS = "<bos>", "<eos>"              # a target vocabulary's (seq2seq): begin and end of a sentence
TARGET_SPECIALS = (*SPECIALS, BOS, EOS)
BOS_ID, EOS_ID = 2, 3

_TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]")
_CONTROL_TO_SPACE = {code: " " for code in [*range(0x20), *range(0x7F, 0xA0)]}  # category Cc


MAX_MARKS = 30              # combining marks in a row kept before normalising (step 0 above)
# Characters of combining class 0 whose decomposition starts with combining marks: they
# lengthen a run of marks as much as a mark does (Tibetan vowel signs, half-width kana marks).
_DECOMPOSE_TO_MARKS = "\u0f73\u0f75\u0f81\uff9e\uff9f"


@functools.cache
def _long_mark_run():
    """A pattern for MAX_MARKS + 1 or more marks in a row (built once, on the first text that is
    not ASCII: it reads the Unicode database, about 0.05 s)."""
    marks = "".join(c for c in map(chr, range(0x300, 0x110000)) if unicodedata.combining(c))
    return re.compile(f"[{marks}{_DECOMPOSE_TO_MARKS}]{{{MAX_MARKS + 1},}}")


def limit_marks(text):
    """text with every run of combining marks cut to its first MAX_MARKS: normalising it then
    takes time linear in its length (CPython's canonical ordering sorts a run by insertion)."""
    if text.isascii():
        return text
    return _long_mark_run().sub(lambda run: run.group()[:MAX_MARKS], text)


def tokenize(text):
    """Split text into normalised word tokens (see the module docstring)."""
    text = unicodedata.normalize("NFKC", limit_marks(text)).casefold()
    return _TOKEN.findall(text.translate(_CONTROL_TO_SPACE))


@dataclass(frozen=True)
class Tokenizer:
    """How a text is cut into tokens and written back: words (tokenize above) or characters
    (each one, as it is). Model files store its config(); messages call a token its unit."""

    kind: str                            # "words" or "chars"
    unit: str                            # "word" or "character"
    separator: str                       # written between two tokens

    def split(self, text):
        return tokenize(text) if self.kind == "words" else list(text)

    def pieces(self, tokens, after_text=False):
        """The tokens as text to write one after another (a word after text gets its space)."""
        for i, token in enumerate(tokens):
            yield self.separator + token if i or after_text else token

    def config(self):
        return {"kind": "words", "normalize": "NFKC", "casefold": True} if self.kind == "words" \
            else {"kind": "chars"}

    def describe(self):
        return "words (Unicode NFKC, case-folded)" if self.kind == "words" else "characters"


WORDS = Tokenizer("words", "word", " ")
CHARS = Tokenizer("chars", "character", "")
TOKENIZERS = {tokenizer.kind: tokenizer for tokenizer in (WORDS, CHARS)}


def tokenizer_of(kind):
    """The Tokenizer named kind ("words" or "chars"; a Tokenizer is returned as it is)."""
    if isinstance(kind, Tokenizer):
        return kind
    if kind not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {kind!r}; expected one of {list(TOKENIZERS)}")
    return TOKENIZERS[kind]


class Vocab:
    """tokens[i] is the word of id i (column i of Wxh). Ids 0 and 1 are <pad> and <unk>; a
    target vocabulary (seq2seq) has <bos> and <eos> as ids 2 and 3 (TARGET_SPECIALS)."""

    def __init__(self, tokens):
        tokens = list(tokens)
        if tokens[:2] != list(SPECIALS):
            raise ValueError(f"a vocabulary must start with {list(SPECIALS)}, got {tokens[:2]}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("a vocabulary must not list a token twice")
        self.tokens = tokens
        self.index = {token: i for i, token in enumerate(tokens)}
        self.specials = TARGET_SPECIALS if tuple(tokens[:4]) == TARGET_SPECIALS else SPECIALS

    @classmethod
    def build(cls, token_lists, min_count=1, max_size=None, specials=SPECIALS):
        """The words of token_lists seen at least min_count times, the max_size most frequent
        of them when given (ties: alphabetical), in sorted order after the special tokens
        (SPECIALS, or TARGET_SPECIALS for a target vocabulary)."""
        counts = Counter(word for tokens in token_lists for word in tokens)
        for special in TARGET_SPECIALS:
            counts.pop(special, None)
        words = [word for word, count in counts.items() if count >= min_count]
        if counts and not words:
            word, most = max(counts.items(), key=lambda item: (item[1], item[0]))
            raise DataError(f"no word is seen {min_count:,} times (the most frequent, {word!r}, is seen "
                            f"{most:,} times): the vocabulary would be empty")
        if max_size is not None and len(words) > max_size:
            words = sorted(words, key=lambda word: (-counts[word], word))[:max_size]
        return cls([*specials, *sorted(words)])

    @property
    def is_target(self):
        """Does it hold <bos> and <eos> (a seq2seq model's target side)?"""
        return self.specials == TARGET_SPECIALS

    def __len__(self):
        return len(self.tokens)

    def __repr__(self):
        return f"Vocab({len(self.tokens) - len(self.specials)} words + {list(self.specials)})"

    @property
    def words(self):
        """The real words, without the special tokens."""
        return self.tokens[len(self.specials):]

    def encode(self, tokens):
        """Token list -> (ids int64 array, list of tokens that were unknown)."""
        ids = np.array([self.index.get(token, UNK_ID) for token in tokens], dtype=np.int64)
        unknown = [token for token, i in zip(tokens, ids) if i == UNK_ID and token != UNK]
        return ids, unknown

    def decode(self, ids):
        return [self.tokens[i] for i in ids]


def pad_batch(sequences):
    """Id arrays of different lengths -> ids (B, T) padded with <pad>, mask (B, T) bool."""
    longest = max((len(seq) for seq in sequences), default=0)
    ids = np.full((len(sequences), longest), PAD_ID, dtype=np.int64)
    mask = np.zeros((len(sequences), longest), dtype=bool)
    for row, seq in enumerate(sequences):
        ids[row, :len(seq)] = seq
        mask[row, :len(seq)] = True
    return ids, mask
