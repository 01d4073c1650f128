"""Pretrained word vectors in the GloVe / word2vec text format, to start a learned embedding.

One word per line, then its E numbers, separated by spaces; word2vec's files begin with a
header line "count E", which is checked against the vectors that follow. Words are looked up as tinyrnn tokenizes them.
"""
import re

import numpy as np

from ..argtypes import MAX_WIDTH
from ..errors import DataError
from ..vocab import tokenize
from .loaders import _lines, read_text
from .numeric_set import MAX_MAGNITUDE, plain

HEADER_FIELD = re.compile(r"[0-9]{1,18}")


def read_embeddings(path, vocab, size=None, encoding="utf-8", dtype="float64"):
    """Vectors of the vocabulary's words found in the file at path.

    Returns (ids (K,) int, vectors (K, E) float64, E). size: the embedding size the model
    expects (None: take the file's, at most MAX_WIDTH); every number must fit dtype, the
    model's, and be within MAX_MAGNITUDE. Every problem is a DataError naming path:line."""
    ids, vectors, dimension, first_line = [], [], size, {}
    header, rows = None, 0
    largest = min(MAX_MAGNITUDE, float(np.finfo(dtype).max))
    for number, line in _lines(read_text(path, encoding)):
        fields = line.rstrip().split(" ")
        if number == 1 and len(fields) == 2 and all(HEADER_FIELD.fullmatch(field) for field in fields):
            header = int(fields[0]), int(fields[1])                        # word2vec's "count E"
            if dimension is not None and header[1] != dimension:
                raise DataError(f"{path}:1: the header declares vectors of {header[1]:,} numbers; the model's "
                                f"embedding holds {dimension:,}")
            dimension = header[1] if dimension is None else dimension
            if dimension > MAX_WIDTH:
                raise DataError(f"{path}:1: the header declares vectors of {dimension:,} numbers; an embedding "
                                f"holds at most {MAX_WIDTH:,}")
            continue
        if not line.strip():
            continue
        if dimension is None:
            dimension = len(fields) - 1
            if dimension > MAX_WIDTH:
                raise DataError(f"{path}:{number}: vectors of {dimension:,} numbers; an embedding holds at most "
                                f"{MAX_WIDTH:,}")
        if dimension == 0:
            raise DataError(f"{path}:{number}: expected a word and its vector (numbers separated by spaces), "
                            f"got only {fields[0][:40]!r}")
        if len(fields) != dimension + 1:
            raise DataError(f"{path}:{number}: expected a word and {dimension} numbers, got "
                            f"{len(fields) - 1} numbers")
        rows += 1
        word = tokenize(fields[0])
        index = vocab.index.get(word[0]) if len(word) == 1 else None
        if index is None:
            continue
        if index in first_line:
            raise DataError(f"{path}:{number}: {fields[0][:40]!r} has a vector already (line {first_line[index]})")
        first_line[index] = number
        try:
            if not all(map(plain, fields[1:])):
                raise ValueError
            vector = np.array(fields[1:], dtype=np.float64)
        except ValueError:
            raise DataError(f"{path}:{number}: the vector of {fields[0][:40]!r} is not all numbers") from None
        if not np.isfinite(vector).all():
            raise DataError(f"{path}:{number}: the vector of {fields[0][:40]!r} has NaN or infinite values")
        if np.abs(vector).max(initial=0.0) > largest:
            raise DataError(f"{path}:{number}: the vector of {fields[0][:40]!r} holds {np.abs(vector).max():.3g}, "
                            f"beyond the {largest:.3g} a {dtype} model takes")
        ids.append(index)
        vectors.append(vector)
    if not rows:
        raise DataError(f"{path}: no word vectors in the file")
    if header is not None and header[0] != rows:
        raise DataError(f"{path}:1: the header declares {header[0]:,} vectors; the file holds {rows:,}")
    return np.array(ids, dtype=np.int64), np.array(vectors).reshape(-1, dimension), dimension
