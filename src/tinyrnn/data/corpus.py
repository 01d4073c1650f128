"""Text corpora for language models: read once, encode to one integer array, cut into
streams. No Python object per character is kept: characters go through NumPy as code
points."""
import numpy as np

from ..errors import DataError
from ..vocab import SPECIALS, UNK_ID, WORDS, Vocab, tokenize, tokenizer_of
from .loaders import read_text


def read_corpus(path, encoding="utf-8"):
    """The text of a corpus file (newlines normalised to \\n); errors name the file."""
    text = read_text(path, encoding).replace("\r\n", "\n")
    return text


def default_corpus():
    """English text every Python installation has: the documentation topics that pydoc
    shows for `help("assert")` and friends, joined in sorted order (about 0.5 MB)."""
    try:
        from pydoc_data.topics import topics
    except ImportError:
        raise DataError("the default corpus (Python's pydoc_data.topics) is missing from this "
                        "Python installation", remedy="text") from None
    return "\n\n".join(topics[key] for key in sorted(topics))


def _code_points(text):
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def build_vocab(text, tokenizer, min_count=1, max_size=None):
    """The sorted vocabulary of text: every distinct character, or every distinct word
    (tokenizer: a vocab.Tokenizer or its kind) seen min_count times, the max_size most
    frequent when given."""
    if tokenizer_of(tokenizer) is WORDS:
        return Vocab.build([tokenize(text)], min_count, max_size)
    return Vocab([*SPECIALS, *(chr(c) for c in np.unique(_code_points(text)))])


def encode_text(text, vocab, tokenizer):
    """Text -> (ids int32 array, sorted list of tokens not in the vocabulary, read as <unk>).
    Characters take a vectorised path over code points: a 1 MB text is encoded at once."""
    if tokenizer_of(tokenizer) is WORDS:
        ids, unknown = vocab.encode(tokenize(text))
        return ids.astype(np.int32), sorted(set(unknown))
    codes = _code_points(text)
    known = np.array(sorted(ord(ch) for ch in vocab.words if len(ch) == 1), dtype=np.uint32)
    columns = np.array([vocab.index[chr(c)] for c in known], dtype=np.int32)
    position = np.searchsorted(known, codes).clip(0, max(len(known) - 1, 0))
    found = known[position] == codes if len(known) else np.zeros(len(codes), bool)
    ids = np.where(found, columns[position] if len(known) else 0, UNK_ID).astype(np.int32)
    return ids, sorted({chr(c) for c in np.unique(codes[~found])})


def streams(ids, count):
    """Cut ids into `count` equal contiguous streams for truncated BPTT.

    Returns (inputs, targets), both (count, L) with targets[:, t] = inputs[:, t + 1] in the
    text: stream b reads ids[b L : (b + 1) L] and predicts the next token each time.
    """
    length = (len(ids) - 1) // count
    if length < 1:
        raise DataError(f"the text has {len(ids)} tokens: too short for {count} parallel streams "
                        f"(one per row of a batch)")
    starts = np.arange(count)[:, None] * length + np.arange(length)[None, :]
    return ids[starts], ids[starts + 1]
