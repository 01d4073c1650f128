"""The model a classifier run trains, and its data: a new model over the training data's
words (vocabulary limits, classes, an optional start from pretrained vectors), a saved one
(--init-from), or one whose body comes from a pretrained language model or autoencoder
(--pretrained, --pretrain-text); and the datasets encoded as its id sequences."""
import hashlib
import os
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from ..data.embeddings import read_embeddings
from ..data.numeric_set import is_number
from ..describe import kind
from ..errors import DataError, TinyRNNError
from ..io import load_model
from ..model_config import uses_walkthrough_names
from ..notices import say
from ..tasks import encode_examples
from ..text_output import first_alike, quoted
from ..vocab import Vocab, tokenize
from .common import load_classifier, warn_unknown


@dataclass(frozen=True)
class Vectors:
    """--embeddings: a file of pretrained word vectors and its encoding."""

    path: str
    encoding: str


def classes_of(train_set):
    """The sorted labels of the training data (checked_classes)."""
    return checked_classes(train_set.labels, train_set.sources, "texts")


def checked_classes(labels, sources, unit):
    """The sorted distinct labels of training examples read at sources[i] (unit: what an
    example is, "texts", "sequences"). Refused: fewer than two; two that print alike (one
    text in two Unicode forms); and more labels than half the examples, every one a number
    (real targets, not classes). Two that are one number written two ways ("1" and "1.0",
    which a JSON file's numbers read as one) are two classes, with a warning."""
    classes, in_order = sorted(set(labels)), list(dict.fromkeys(labels))        # (in the order first read)
    source = lambda label: sources[labels.index(label)]              # noqa: E731 (where it was first read)
    alike = first_alike(in_order)
    if alike is not None:
        raise DataError(f"{source(alike[1])}: labels {quoted(alike[0])} and {quoted(alike[1])} are one text in "
                        f"two Unicode forms: two classes would print alike")
    numbers = {}
    for label in (label for label in in_order if is_number(label)):
        first = numbers.setdefault(Decimal(label), label)             # (exact: 2**53 + 1 is not 2**53)
        if first != label:
            say(f"warning: {source(label)}: labels {quoted(first)} and {quoted(label)} are one number written two "
                f"ways, and two classes here; write each class one way if they are one")
            break
    if len(classes) < 2:
        raise DataError(f"{sources[0]}: the training data has only one class ({quoted(classes[0])}); a "
                        f"classifier needs at least two")
    if len(classes) > max(20, len(labels) // 2) and all(map(is_number, classes)):
        raise DataError(f"{sources[0]}: {len(classes)} different labels for {len(labels)} {unit}, all of them "
                        f"numbers: real targets, not classes", remedy="task")
    return classes


def new_model(train_set, classes, recipe, dtype, architecture, rng, *, vocab_limits, init_given, vectors):
    """A freshly initialised classifier over the training data's words. The walkthrough's
    init (normal / 1000) is for the walkthrough's model: with it, the gradient of a stack,
    a gated cell or an embedding is too small to learn, so they start orthogonal unless
    --init says otherwise. vectors (--embeddings): a file of pretrained word vectors whose
    rows replace the random start of the words it has."""
    vocab = Vocab.build((tokenize(text) for text in train_set.texts), **vocab_limits)
    config = {"task": "classify", "hidden_size": recipe["hidden"], "dtype": dtype or "float64"}
    found = None
    if vectors:
        found = read_embeddings(vectors.path, vocab, architecture.embed_size, vectors.encoding, dtype or "float64")
        if not len(found[0]):                           # the option would change nothing
            raise DataError(f"{vectors.path}: none of the training data's {len(vocab.words)} words has a vector "
                            f"there")
        architecture = replace(architecture, embed_size=found[2])
    init = recipe["init"]
    if init == "walkthrough" and not init_given and not uses_walkthrough_names(architecture.model_config(config)):
        init = "orthogonal"
    model = architecture.build(config, vocab, classes, rng, init)
    if found is not None:
        ids, rows, _ = found
        model.params["embedding.weight"][ids] = rows
        print(f"{len(set(ids.tolist()))} of {len(vocab.words)} words ({len(set(ids.tolist())) / len(vocab.words):.1%}) "
              f"start from the vectors in {vectors.path}; the others from random ones")
    return model


BODY = ("cell", "hidden_size", "num_layers", "nonlinearity", "embed_size", "tokenizer")   # what a pretrained
# model gives a classifier (with its vocabulary and weights); the head's settings are the classifier's own


def pretrained_classifier(path, classes, architecture, hidden, dtype, rng, init):
    """The classifier that starts from the pretrained model saved at path (--pretrained)."""
    source = load_model(path)
    origin = {"pretrained": os.path.basename(path), "task": source.task, "sha256": file_sha256(path)}
    return classifier_from(source, path, classes, architecture, hidden, dtype, rng, init, origin)


def classifier_from(source, path, classes, architecture, hidden, dtype, rng, init, origin, backward=None):
    """A classifier that starts from a pretrained model (source, read from path or trained
    as it is named there): a language model, or the encoder of a sequence autoencoder (a
    seq2seq model). It takes the model's vocabulary, tokenizer, embedding and recurrent
    layers (their settings and weights, copied exactly) and adds a new output layer,
    initialised from rng by init, read as the classifier's options say (--pool, --dropout).
    --hidden and the architecture options given must agree with it; model.origin = origin
    records where the weights came from. backward: a language model of the same body that
    read the texts backwards, for the reverse direction of a bidirectional classifier."""
    if source.task not in ("lm", "seq2seq"):
        raise TinyRNNError(f"--pretrained {path} is {kind(source)}; it takes a "
                           f"language model (train --task lm) or a sequence autoencoder (train --task seq2seq); "
                           f"--init-from continues a classifier")
    body = source.config
    if body.task == "seq2seq" and body.normalize != "none":
        raise TinyRNNError(f"--pretrained {path} reads texts normalised ({body.normalize}); a classifier "
                           f"reads them as they are: train the autoencoder with --normalize none")
    if body.tokenizer == "chars":                   # (a classifier reads words)
        raise TinyRNNError(f"--pretrained {path} reads {body.tokenizer}; a classifier reads words: pretrain a "
                           f"language model with --tokenizer words")
    settings = {key: getattr(body, key) for key in BODY}
    settings["bidirectional"] = body.bidirectional if body.task == "seq2seq" else backward is not None
    for option, given, saved in (("--hidden", hidden, body.hidden_size), ("--dtype", dtype, body.dtype)):
        if given is not None and given != saved:
            raise TinyRNNError(f"{option} {given} disagrees with {path} ({saved})")
    architecture.check_agrees(source, path, settings)
    model = architecture.build({"task": "classify", "dtype": body.dtype, **settings,
                                "tokenizer": {"kind": body.tokenizer}}, source.vocab, classes, rng, init)
    prefix = "encoder." if body.task == "seq2seq" else ""
    for name in model.params:
        if name in (model.output_weight, model.output_bias):
            continue
        if backward is not None and name.endswith("_reverse"):
            model.params[name][...] = _body_tensor(backward, name.removesuffix("_reverse"))
        else:
            model.params[name][...] = _body_tensor(source, prefix + name)    # the body, exactly
    model.origin = origin
    return model


_WALKTHROUGH_NAMES = {"rnn.weight_ih_l0": "Wxh", "rnn.weight_hh_l0": "Whh", "rnn.bias_ih_l0": "bh"}


def _body_tensor(source, name):
    """source's tensor of PyTorch's name; a language model of one one-hot tanh layer keeps the
    walkthrough's names (Wxh, Whh, bh: bias_hh is 0), which a two-direction classifier does not."""
    if name in source.params:
        return source.params[name]
    if name == "rnn.bias_hh_l0" and "bh" in source.params:
        return 0.0
    return source.params[_WALKTHROUGH_NAMES[name]]


def file_sha256(path):
    """The SHA-256 of a file, in hex (read in blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def saved_model(path, hidden, dtype):
    """The classifier saved at path (--init-from); --hidden and --dtype, if given, must agree."""
    model = load_classifier(path, "--init-from")
    if model.task in ("regress", "forecast"):
        raise TinyRNNError(f"{path} is {kind(model)}; --init-from here needs a classifier ({kind(model)} trains "
                           f"on with --task {model.task})")
    if model.config.features:
        raise TinyRNNError(f"{path} is a classifier of numbers ({model.config.features} per step); a run on texts "
                           f"cannot continue it: give its numeric data with --train (.ts, .npz or --format long)")
    for option, given, saved in (("--hidden", hidden, model.hidden_size),
                                 ("--dtype", dtype, model.dtype.name)):
        if given is not None and given != saved:
            raise TinyRNNError(f"{option} {given} disagrees with {path} ({saved})")
    return model


def encode_datasets(model, train_set, test_set, valid_set):
    """(train, test, validation) as the model's sequences (None where not given), warning
    about words the vocabulary does not have."""
    words = {w for text in train_set.texts for w in tokenize(text)}
    print(f"{len(words)} unique words found")
    if len(model.vocab.words) < len(words):
        print(f"kept {len(model.vocab.words)} words; the {len(words - set(model.vocab.words))} rarer "
              f"ones are read as <unk>")
    train_data, unknown = encode_examples(model, train_set)
    if len(model.vocab.words) >= len(words):                # folded words are <unk> by choice
        warn_unknown(unknown, "training data")
    encoded = [train_data]
    for dataset, name in ((test_set, "test data"), (valid_set, "validation data")):
        if dataset is None:
            encoded.append(None)
            continue
        sequences, unknown = encode_examples(model, dataset)
        warn_unknown(unknown, name)
        encoded.append(sequences)
    return tuple(encoded)


def fingerprint_arrays(data):
    """A LabelledSequences as arrays, for its fingerprint."""
    return [np.array([len(seq) for seq in data.sequences]), np.concatenate(data.sequences), data.targets]
