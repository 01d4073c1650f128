"""Model files and checkpoints under mutation (hypothesis): any valid file, truncated,
bit-flipped or with header fields changed, gives our one error (ModelFileError) or a valid
model; nothing else escapes, and damage to the tensor bytes is always noticed."""
import json
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyrnn.errors import ModelFileError
from tinyrnn.gradcheck import random_classifier, random_language_model, random_problem
from tinyrnn.io import load_model, save_model

architectures = st.fixed_dictionaries({
    "cell": st.sampled_from(["rnn", "lstm", "gru"]), "num_layers": st.integers(1, 2),
    "bidirectional": st.booleans(), "embed_size": st.sampled_from([None, 2]),
    "hidden": st.integers(1, 3), "words": st.integers(1, 4),
    "task": st.sampled_from(["classify", "lm", "numbers", "regress", "forecast"])})


def model_bytes(folder, arch, seed=0):
    arch = dict(arch)
    task, hidden, words = arch.pop("task"), arch.pop("hidden"), arch.pop("words")
    rng = np.random.default_rng(seed)
    if task in ("numbers", "regress", "forecast"):            # models that read numbers (words: features)
        arch.pop("embed_size")
        if task == "forecast":
            arch.pop("bidirectional")
        model = random_problem(rng, hidden=hidden, classes=2, batch=1, max_length=3, features=words,
                               task="classify" if task == "numbers" else task, **arch)[0]
    elif task == "lm":
        arch.pop("bidirectional")
        model = random_language_model(rng, words, hidden, **arch)
    else:
        model = random_classifier(rng, words, hidden, 2, **arch)
    path = folder / "m.safetensors"
    save_model(model, str(path))
    return path, path.read_bytes()


def loads_or_our_error(path, data):
    path.write_bytes(data)
    try:
        return load_model(str(path))
    except ModelFileError:
        return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arch=architectures, cut=st.floats(0, 1, exclude_max=True), flip=st.integers(0, 2 ** 31), bit=st.integers(0, 7))
def test_truncated_or_bit_flipped_files_give_only_our_error(tmp_path, arch, cut, flip, bit):
    path, good = model_bytes(tmp_path, arch)
    assert loads_or_our_error(path, good[:int(cut * len(good))]) is None
    damaged = bytearray(good)
    damaged[flip % len(good)] ^= 1 << bit
    header_end = 8 + struct.unpack("<Q", good[:8])[0]
    loaded = loads_or_our_error(path, bytes(damaged))
    if flip % len(good) >= header_end:
        assert loaded is None, "a flipped bit in the tensor bytes must fail the checksum"


FIELDS = ["shape", "dtype", "data_offsets", "config", "vocab", "classes", "format", "checksum", "features", "targets",
          "series"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arch=architectures, field=st.sampled_from(FIELDS), value=st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=True),
    st.text(max_size=8), st.lists(st.integers(-3, 2 ** 64), max_size=3)))
def test_changed_header_fields_give_only_our_error(tmp_path, arch, field, value):
    path, good = model_bytes(tmp_path, arch)
    length = struct.unpack("<Q", good[:8])[0]
    header = json.loads(good[8:8 + length])
    metadata = header["__metadata__"]
    if field in metadata or field in ("classes", "targets", "series", "features"):
        metadata[field] = value if isinstance(value, str) else json.dumps(value)
    else:
        tensor = sorted(name for name in header if name != "__metadata__")[0]
        header[tensor][field] = value
    text = json.dumps(header).encode()
    loaded = loads_or_our_error(path, struct.pack("<Q", len(text)) + text + good[8 + length:])
    assert loaded is None or isinstance(loaded.flat, np.ndarray)


def test_a_config_naming_absurd_sizes_is_refused_before_allocating(tmp_path):
    path, good = model_bytes(tmp_path, {"cell": "gru", "num_layers": 1, "bidirectional": False,
                                        "embed_size": None, "hidden": 2, "words": 2, "task": "lm"})
    length = struct.unpack("<Q", good[:8])[0]
    header = json.loads(good[8:8 + length])
    config = json.loads(header["__metadata__"]["config"])
    config["hidden_size"] = 10 ** 12
    header["__metadata__"]["config"] = json.dumps(config)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + good[8 + length:])
    with pytest.raises(ModelFileError, match="tensor"):        # shapes checked before building
        load_model(str(path))
