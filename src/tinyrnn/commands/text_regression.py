"""`tinyrnn train --task regress` on texts (.csv/.tsv/.jsonl with a text column and a number in
--label-column): a regressor over words, trained and measured like a numeric one."""
from dataclasses import dataclass, field

import numpy as np

from ..data.numeric_set import finite_number, plain_float
from ..errors import DataError
from ..tasks.regress import RealTargets
from ..vocab import Vocab, tokenize
from .common import DataOptions, warn_unknown


@dataclass
class TextTargets:
    """Texts with real targets (N, 1), read at sources ("file:line"); shaped like a NumericSet
    for the commands that split, validate and fold it."""

    texts: list
    targets: np.ndarray
    sources: list
    target_names: list
    labels: None = None                    # no classes: folds and validation splits draw at random
    num_features: None = None              # words, not numbers
    series: list = field(default_factory=list)

    def __len__(self):
        return len(self.texts)

    def subset(self, rows):
        return TextTargets([self.texts[i] for i in rows], self.targets[rows], [self.sources[i] for i in rows],
                           self.target_names)


def read_texts(specs, args):
    """The TextTargets of specs: their texts, and labels read as real targets (N, 1); a label that
    is not a finite number is an error naming file:line."""
    dataset = DataOptions(args.format, args.encoding, args.text_column, args.label_column,
                          args.skip_bad_rows).read(specs)
    targets = []
    for label, source in zip(dataset.labels, dataset.sources):
        try:
            plain_float(label)
        except ValueError:
            raise DataError(f"{source}: {args.label_column} {label!r} is not a number (--task regress reads "
                            f"real targets)") from None
        targets.append(finite_number(label, source, args.label_column))
    return TextTargets(dataset.texts, np.array(targets).reshape(-1, 1), dataset.sources, [args.label_column])


def new_vocab(dataset, args):
    """The training texts' words (--min-count, --max-vocab)."""
    return Vocab.build((tokenize(text) for text in dataset.texts), min_count=args.min_count or 1,
                       max_size=args.max_vocab)


def encode_texts(model, dataset, where="data"):
    """RealTargets of the model's word ids, warning about words it does not know."""
    sequences, unknown = model.encode(dataset.texts)
    if len(model.vocab.words) >= len({word for text in dataset.texts for word in tokenize(text)}):
        warn_unknown(sorted({word for words in unknown for word in words}), where)
    for sequence, source in zip(sequences, dataset.sources):
        if not len(sequence):
            raise DataError(f"{source}: no words")
    return RealTargets(sequences, dataset.targets)
