"""Model files: one .safetensors file holding the weights, with config, vocabulary and
(for classifiers) classes as metadata (docs/model-format.md). Saving is atomic; loading never
executes code and checks everything (layout, names, shapes, dtypes, finite values) before
building a model. The header is read by safetensors_header.py.
"""
import hashlib
import json
import math
import os
import struct

import numpy as np
import safetensors.numpy

from .errors import ModelFileError
from .files import atomic_write_bytes, load_json, open_regular
from .model_config import DTYPES, TASKS, ModelConfig
from .models import buffer_shapes, build_model, parameter_shapes
from .safetensors_header import HeaderError, read_header
from .text_output import first_alike, first_repeated, odd_name, printable
from .vocab import SPECIALS, TARGET_SPECIALS, TOKENIZERS

FORMAT = "tinyrnn/1"
CONFIG_KEYS = ("task", "cell", "input", "vocab_size", "hidden_size", "num_layers", "bidirectional", "nonlinearity",
               "embed_size", "dropout", "pool", "embed_dropout", "weight_drop", "dtype", "num_classes", "tokenizer",
               "attention", "attention_size", "normalize", "target_vocab_size", "features", "num_targets", "horizon",
               "window", "scaling")
NAMED_OUTPUTS = {"classify": "classes", "regress": "targets", "forecast": "series"}   # metadata of each output
_ITEMSIZE = {"F32": 4, "F64": 8}
_NUMPY_DTYPE = {"F32": "float32", "F64": "float64"}


def save_model(model, path):
    """Write model to path atomically; refuses non-finite weights."""
    save_tinyrnn_file(path, model)


def save_tinyrnn_file(path, model, fmt=FORMAT, extra_tensors=None, extra_metadata=None):
    """A model file (fmt FORMAT) or, with more tensors and metadata, a checkpoint: atomic,
    checksummed, refusing non-finite numbers."""
    tensors = {**model.params, **model.buffers, **(extra_tensors or {})}
    bad = [name for name, array in tensors.items() if not np.isfinite(array).all()]
    if bad:
        raise ModelFileError(f"refusing to save non-finite weights (in {', '.join(bad)})")
    atomic_write_bytes(path, serialize(tensors, {**model_metadata(model, fmt), **(extra_metadata or {})}))


def model_metadata(model, fmt):
    """What a file needs to become a tinyrnn model again (every file format tinyrnn writes):
    format, config, vocab (token input) or features (the names of numeric input's F columns)
    and, for a classifier, classes, for a regressor targets, for a forecaster series (its C
    column names), for a seq2seq model target_vocab; JSON strings."""
    metadata = {"format": fmt, "config": json.dumps(stored_config(model))}
    if model.config.features:
        metadata["features"] = json.dumps(model.feature_names)
    else:
        metadata["vocab"] = json.dumps(model.vocab.tokens)
    if model.task in NAMED_OUTPUTS:
        metadata[NAMED_OUTPUTS[model.task]] = json.dumps(output_names(model))
    if model.task == "seq2seq":
        metadata["target_vocab"] = json.dumps(model.target_vocab.tokens)
    if model.origin:
        metadata["origin"] = json.dumps(model.origin, sort_keys=True)
    return metadata


def stored_config(model):
    """The config object a file stores: the ModelConfig's JSON with the data's sizes (vocab_size;
    num_classes of a classifier), in CONFIG_KEYS order (the same model, the same bytes)."""
    fields = model.config.to_json()
    if not model.config.features:
        fields["vocab_size"] = len(model.vocab)
    if model.task == "classify":
        fields["num_classes"] = len(model.classes)
    if model.task == "regress":
        fields["num_targets"] = len(model.classes)
    if model.task == "seq2seq":
        fields["target_vocab_size"] = len(model.target_vocab)
    return {key: fields[key] for key in CONFIG_KEYS if key in fields}


def output_names(model):
    """The names a file stores of a model's outputs: a classifier's classes, a regressor's targets,
    a forecaster's series."""
    return model.series_names if model.task == "forecast" else model.classes


def serialize(tensors, metadata):
    """safetensors bytes with a canonical header (sorted keys, 8-byte aligned), so the same
    model always gives the same file, byte for byte. The metadata gains "checksum" (see
    _checksum), which loading verifies."""
    header, offset, blobs = {"__metadata__": dict(metadata)}, 0, []
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
        dtype = {value: key for key, value in _NUMPY_DTYPE.items()}[array.dtype.name]
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    header["__metadata__"]["checksum"] = _checksum(dict(zip(tensors, blobs)))
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def _checksum(blobs):
    """SHA-256 of every tensor's bytes, tensors in name order (so it does not depend on
    where in the file a writer put them)."""
    digest = hashlib.sha256()
    for name in sorted(blobs):
        digest.update(blobs[name])
    return "sha256:" + digest.hexdigest()


def load_model(path):
    """Read and validate a model file; returns a Classifier or LanguageModel.

    Raises ModelFileError for anything that is not a valid tinyrnn model."""
    return read_tinyrnn_file(path)[0]


def read_tinyrnn_file(path, fmt=FORMAT, extra_prefixes=()):
    """(model, {name: array} of the tensors whose names start with extra_prefixes, metadata)
    of a file of format fmt, everything checked before use."""
    raw, header, data_start = _read_file(path)
    metadata = header.pop("__metadata__", None)
    stored, vocab, classes = _parse_metadata(path, metadata, fmt)
    inputs, outputs = len(vocab), len(vocab) if classes is None else len(classes)
    if stored.get("task") == "seq2seq":
        target_vocab = _target_vocab(path, metadata, stored)
        vocab, outputs = (vocab, target_vocab), len(target_vocab)      # build_model's (source, target)
    if stored.get("task") == "forecast" and type(stored.get("horizon")) is int:
        outputs *= stored["horizon"]                                   # H steps of each series
    extra = {name: header.pop(name) for name in list(header) if name.startswith(tuple(extra_prefixes))}
    layers = stored.get("num_layers", 1)
    if type(layers) is int and layers > len(header):
        raise ModelFileError(f"{path}: config says {layers} layers but the file has {len(header)} tensors")
    try:
        config = ModelConfig.from_json(stored)
        layout = parameter_shapes(config, inputs, outputs)
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{path}: unsupported model config ({error})") from None
    _check_tensors(path, header, {**layout[1], **buffer_shapes(config, outputs)}, config.dtype)
    _verify_checksum(path, {**header, **extra}, metadata, memoryview(raw)[data_start:])
    try:                                            # sizes are now known to match the file
        model = build_model(config, vocab, classes, layout)
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{path}: {error}") from None
    model.origin = _origin(path, metadata)
    try:
        tensors = safetensors.numpy.load(raw)
    except Exception as error:                      # the library's own layout checks
        raise ModelFileError(f"{path}: not a valid safetensors file ({error})") from None
    for name, array in tensors.items():
        if not np.isfinite(array).all():
            raise ModelFileError(f"{path}: tensor {name} has NaN or infinite values")
        if name.endswith("_std") and name in model.buffers and not (array > 0).all():
            raise ModelFileError(f"{path}: tensor {name} (a standard deviation) must be positive")
        target = model.params if name in model.params else model.buffers
        if name in target:
            target[name][...] = array
    return model, {name: tensors[name] for name in extra}, metadata


def _verify_checksum(path, header, metadata, data):
    """A file that carries a checksum must match it; files written before checksums existed
    load without one (and without that guarantee). data: the bytes after the header, whose
    offsets are checked already."""
    stored = metadata.get("checksum")
    if stored is None:
        return
    blobs = {name: data[info["data_offsets"][0]:info["data_offsets"][1]] for name, info in header.items()}
    if stored != _checksum(blobs):
        raise ModelFileError(f"{path}: the tensor bytes do not match the file's checksum "
                             f"(the file is damaged)")


def _read_file(path):
    """(the file's bytes, its header, where the data starts) of a regular file: the header is
    read and its layout checked first, so that a file whose size differs from what its header
    declares (gigabytes appended, or a truncated one) is refused before its data is read."""
    with open_regular(path, "model file", ModelFileError) as stream:
        try:
            header, length = read_header(stream)
        except HeaderError as error:
            raise ModelFileError(f"{path}: not a safetensors file ({error})") from None
        size = os.fstat(stream.fileno()).st_size
        _check_layout(path, header, size - 8 - length)
        stream.seek(0)
        raw = stream.read(size + 1)
    if len(raw) != size:
        raise ModelFileError(f"{path}: the file changed size while it was read")
    return raw, header, 8 + length


def _check_layout(path, header, data_bytes):
    """Offsets must tile the data exactly: no overlap, no gap, no trailing bytes."""
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise ModelFileError(f"{path}: tensor {name!r} has a malformed entry (not a JSON object)")
        if not (_int_list(info.get("data_offsets")) and len(info["data_offsets"]) == 2):
            raise ModelFileError(f"{path}: tensor {name!r} has malformed data_offsets (two whole numbers, "
                                 f"begin and end)")
        if not _int_list(info.get("shape")):
            raise ModelFileError(f"{path}: tensor {name!r} has a malformed shape (a list of whole numbers)")
        if not (isinstance(info.get("dtype"), str) and info["dtype"] in _ITEMSIZE):
            raise ModelFileError(f"{path}: tensor {name!r} has an unsupported dtype (tinyrnn stores float32 "
                                 f"or float64)")
        begin, end = info["data_offsets"]
        if end - begin != math.prod(info["shape"]) * _ITEMSIZE[info["dtype"]]:
            raise ModelFileError(f"{path}: tensor {name!r}: shape {info['shape']} does not match "
                                 f"its {end - begin} bytes")
        spans.append((begin, end, name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise ModelFileError(f"{path}: tensor {name!r} data {'overlaps' if begin < position else 'leaves a gap'}"
                                 f" at byte {begin}")
        position = end
    if position != data_bytes:
        raise ModelFileError(f"{path}: data is {data_bytes} bytes but tensors cover {position} "
                             f"(truncated or trailing bytes)")


def _origin(path, metadata):
    """The origin metadata: {"pretrained", "task", "sha256", ...} strings and integers, or None
    when absent."""
    if "origin" not in metadata:
        return None
    origin = load_json(metadata["origin"], f"{path}: origin metadata", ModelFileError) \
        if isinstance(metadata["origin"], str) else None
    if not (isinstance(origin, dict) and origin and all(
            isinstance(key, str) and (isinstance(value, str) and len(value) <= 4096 or type(value) is int)
            for key, value in origin.items())):
        raise ModelFileError(f"{path}: origin metadata must be a JSON object of strings and integers")
    return origin


def _int_list(value):
    return isinstance(value, list) and all(type(v) is int and v >= 0 for v in value)


def _parse_metadata(path, metadata, fmt=FORMAT):
    if not isinstance(metadata, dict) or "format" not in metadata:
        raise ModelFileError(f"{path}: a safetensors file, but not a tinyrnn model (no format metadata)")
    if fmt == FORMAT and str(metadata["format"]).startswith("tinyrnn-checkpoint/"):
        raise ModelFileError(f"{path}: a training checkpoint, not a model", remedy="resume")
    if metadata["format"] != fmt:
        raise ModelFileError(f"{path}: format {metadata['format']!r} is not supported here; "
                             f"expected {fmt!r}")
    def read(key):
        if not isinstance(metadata.get(key), str):
            raise ModelFileError(f"{path}: metadata is incomplete or not JSON ({key!r} missing or not a string)")
        try:
            return load_json(metadata[key], key, ModelFileError)
        except ModelFileError as error:
            raise ModelFileError(f"{path}: metadata is incomplete or not JSON ({error})") from None
    config = read("config")
    numeric = isinstance(config, dict) and config.get("input") == "numeric"
    vocab = read("features" if numeric else "vocab")
    task = config.get("task") if isinstance(config, dict) else None
    outputs_key = NAMED_OUTPUTS.get(task) if isinstance(task, str) else None
    classes = read(outputs_key) if outputs_key else None
    if not (isinstance(config, dict) and config.get("task") in TASKS
            and config.get("input") in ("onehot", "embedding", "numeric") and config.get("dtype") in DTYPES
            and type(config.get("hidden_size")) is int and isinstance(config.get("cell"), str)
            and (numeric or isinstance(config.get("tokenizer"), dict)
                 and config["tokenizer"].get("kind") in TOKENIZERS)):
        raise ModelFileError(f"{path}: config metadata is not a tinyrnn model config")
    if not numeric and config["tokenizer"] != TOKENIZERS[config["tokenizer"]["kind"]].config():
        raise ModelFileError(f"{path}: tokenizer settings {printable(json.dumps(config['tokenizer']))[:120]} are not "
                             f"ones tinyrnn has (words: {json.dumps(TOKENIZERS['words'].config())}; chars: "
                             f"{json.dumps(TOKENIZERS['chars'].config())})")
    for name, value in (("features" if numeric else "vocab", vocab), (outputs_key or "classes", classes if outputs_key else [])):
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ModelFileError(f"{path}: {name} metadata must be a JSON list of strings")
    if numeric:
        if type(config.get("features")) is not int or config["features"] != len(vocab):
            raise ModelFileError(f"{path}: config features disagree with the features metadata")
    elif vocab[:len(SPECIALS)] != list(SPECIALS) or len(set(vocab)) != len(vocab):
        raise ModelFileError(f"{path}: vocab metadata must start with {list(SPECIALS)} and have no duplicates")
    elif type(config.get("vocab_size")) is not int or config["vocab_size"] != len(vocab):
        raise ModelFileError(f"{path}: config sizes disagree with the vocab metadata")
    for name, value in (("features", vocab if numeric else []), (outputs_key or "classes", classes or [])):
        twice = first_repeated(value)
        if twice is not None:                        # (which column, or which output, would it be?)
            raise ModelFileError(f"{path}: {name} metadata names '{printable(twice)[:60]}' twice")
        alike = first_alike(value)
        if alike is not None:
            raise ModelFileError(f"{path}: {name} metadata names '{printable(alike[0])[:40]}' and "
                                 f"'{printable(alike[1])[:40]}', one name in two Unicode forms")
        odd = next((entry for entry in value if odd_name(entry)), None)
        if odd is not None:                          # they are printed in tables, TSV lines and pages
            raise ModelFileError(f"{path}: {name} metadata holds a name with a control, line-break or "
                                 f"invisible character: '{printable(odd)[:60]}'")
        if any(not entry.strip() for entry in value):   # (a data file or --classes refuses a blank one too)
            raise ModelFileError(f"{path}: {name} metadata holds a blank name")
    count_key = {"classify": "num_classes", "regress": "num_targets"}.get(config["task"])
    if count_key and (type(config.get(count_key)) is not int or config[count_key] != len(classes)):
        raise ModelFileError(f"{path}: config sizes disagree with the {outputs_key} metadata")
    return config, vocab, classes


def _target_vocab(path, metadata, config):
    """A seq2seq file's target vocabulary (a JSON list starting with TARGET_SPECIALS)."""
    if not isinstance(metadata.get("target_vocab"), str):
        raise ModelFileError(f"{path}: target_vocab metadata is missing or not a string")
    tokens = load_json(metadata["target_vocab"], f"{path}: target_vocab metadata", ModelFileError)
    if not (isinstance(tokens, list) and all(isinstance(token, str) for token in tokens)
            and tokens[:len(TARGET_SPECIALS)] == list(TARGET_SPECIALS) and len(set(tokens)) == len(tokens)):
        raise ModelFileError(f"{path}: target_vocab metadata must be a JSON list of distinct strings starting "
                             f"with {list(TARGET_SPECIALS)}")
    if type(config.get("target_vocab_size")) is not int or config["target_vocab_size"] != len(tokens):
        raise ModelFileError(f"{path}: config sizes disagree with the target_vocab metadata")
    return tokens


def _few(names, shown=5):
    """A short list of names for a one-line message: at most `shown`, then how many more."""
    if not names:
        return "none"
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _check_tensors(path, header, expected, dtype):
    names = set(header)
    if names != set(expected):
        missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
        raise ModelFileError(f"{path}: tensors do not match the model (missing: {_few(missing)}, "
                             f"unexpected: {_few(extra)})")
    for name, shape in expected.items():
        info = header[name]
        if tuple(info["shape"]) != shape:
            raise ModelFileError(f"{path}: tensor {name} has shape {info['shape']}, expected {list(shape)}")
        if _NUMPY_DTYPE[info["dtype"]] != dtype:
            raise ModelFileError(f"{path}: tensor {name} is {_NUMPY_DTYPE[info['dtype']]}, config says {dtype}")
