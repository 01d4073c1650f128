"""Model files: exact round trip, atomic saves, and one ModelFileError per malformed file."""
import json
import os
import pickle
import struct

import numpy as np
import pytest
import safetensors.numpy

from conftest import small_model
from tinyrnn.errors import ModelFileError
from tinyrnn.io import load_model, save_model


@pytest.fixture
def saved(tmp_path):
    model = small_model()
    path = str(tmp_path / "m.safetensors")
    save_model(model, path)
    return model, path


def test_round_trip_is_exact(saved):
    model, path = saved
    loaded = load_model(path)
    assert loaded.vocab.tokens == model.vocab.tokens and loaded.classes == model.classes
    for name, array in model.params.items():
        np.testing.assert_array_equal(loaded.params[name], array)
    sequences = [np.array([2, 3, 4]), np.array([5])]
    np.testing.assert_array_equal(loaded.predict_proba(sequences), model.predict_proba(sequences))


def test_file_holds_exactly_the_walkthrough_tensors(saved):
    model, path = saved
    tensors = safetensors.numpy.load_file(path)
    H, V, C = 5, len(model.vocab), len(model.classes)
    assert {name: t.shape for name, t in tensors.items()} == {
        "Wxh": (H, V), "Whh": (H, H), "bh": (H,), "Why": (C, H), "by": (C,)}
    header = _header(path)
    metadata = header["__metadata__"]
    assert metadata["format"] == "tinyrnn/1"
    assert json.loads(metadata["vocab"]) == model.vocab.tokens
    assert json.loads(metadata["classes"]) == model.classes
    assert json.loads(metadata["config"])["hidden_size"] == H


def test_saving_over_the_loaded_file_works(saved):
    _, path = saved
    model = load_model(path)
    model.params["by"][0] += 1.0
    save_model(model, path)
    assert load_model(path).params["by"][0] == model.params["by"][0]
    assert os.listdir(os.path.dirname(path)) == ["m.safetensors"], "no temporary file left"
    mask = os.umask(0o022)
    os.umask(mask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask, "permissions follow the umask"


def test_non_finite_weights_are_never_written(saved):
    model, path = saved
    before = open(path, "rb").read()
    model.params["Whh"][0, 0] = np.nan
    with pytest.raises(ModelFileError, match="non-finite"):
        save_model(model, path)
    assert open(path, "rb").read() == before


def _header(path):
    raw = open(path, "rb").read()
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + length])


def _rewrite(path, edit_header=None, data=None, extra=b""):
    """Write the file again with an edited header and/or data (offsets left as they are)."""
    raw = open(path, "rb").read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    if edit_header:
        edit_header(header)
    blob = json.dumps(header).encode()
    body = raw[8 + length:] if data is None else data
    open(path, "wb").write(struct.pack("<Q", len(blob)) + blob + body + extra)


def _set(section, key, value):
    return lambda header: header[section].__setitem__(key, value)


def _meta(key, value):
    return lambda header: header["__metadata__"].__setitem__(key, value)


def _shift(name, delta):
    def edit(header):
        begin, end = header[name]["data_offsets"]
        header[name]["data_offsets"] = [begin + delta, end + delta]
    return edit


def _config(**changes):
    def edit(header):
        config = json.loads(header["__metadata__"]["config"])
        config.update(changes)
        header["__metadata__"]["config"] = json.dumps(config)
    return edit


def _rename(old, new):
    return lambda header: header.__setitem__(new, header.pop(old))


HEADER_FAULTS = {
    "not a tinyrnn model": lambda h: h.pop("__metadata__"),
    "format 'tinyrnn/2' is not supported": _meta("format", "tinyrnn/2"),
    "metadata is incomplete or not JSON": _meta("vocab", "[not json"),
    "missing: by, unexpected: extra": _rename("by", "extra"),
    "unsupported dtype": lambda h: h["Whh"].__setitem__("dtype", "I64"),
    "does not match its": lambda h: h["Whh"].__setitem__("shape", [2**40, 2**40]),
    "overlaps": _shift("bh", -8),
    "config sizes disagree": _meta("vocab", json.dumps(["<pad>", "<unk>", "a"])),
    "not a tinyrnn model config": _config(hidden_size="5"),
    "tinyrnn model config": _config(task="translate"),
    "unknown cell": _config(cell="transformer"),
}


@pytest.mark.parametrize("message", HEADER_FAULTS)
def test_malformed_headers(saved, message):
    _, path = saved
    _rewrite(path, HEADER_FAULTS[message])
    with pytest.raises(ModelFileError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_model(path)


def test_shapes_must_agree_with_the_config(tmp_path):
    wide = small_model(hidden=5)
    square = small_model(hidden=4)
    path = str(tmp_path / "m.safetensors")
    save_model(wide, path)
    tensors = {name: np.ascontiguousarray(a) for name, a in wide.params.items()}
    tensors["Whh"] = np.zeros((5, 4))                                   # not square
    header = _header(path)["__metadata__"]
    open(path, "wb").write(safetensors.numpy.save(tensors, metadata=header))
    with pytest.raises(ModelFileError, match=r"Whh has shape \[5, 4\], expected \[5, 5\]"):
        load_model(path)
    tensors = {name: np.ascontiguousarray(a) for name, a in square.params.items()}
    open(path, "wb").write(safetensors.numpy.save(tensors, metadata=header))   # H=4 vs config H=5
    with pytest.raises(ModelFileError, match="has shape"):
        load_model(path)


def test_wrong_dtype_and_non_finite_values(saved):
    model, path = saved
    metadata = _header(path)["__metadata__"]
    del metadata["checksum"]                    # as another writer would leave it
    tensors = {name: np.ascontiguousarray(a) for name, a in model.params.items()}
    tensors["by"] = tensors["by"].astype(np.float32)
    open(path, "wb").write(safetensors.numpy.save(tensors, metadata=metadata))
    with pytest.raises(ModelFileError, match="by is float32, config says float64"):
        load_model(path)
    tensors["by"] = np.array([0.0, np.inf, 1.0])
    open(path, "wb").write(safetensors.numpy.save(tensors, metadata=metadata))
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        load_model(path)


def test_layout_faults(saved):
    _, path = saved
    good = open(path, "rb").read()
    cases = {
        b"": "too short",
        os.urandom(4000): "not a safetensors file",
        struct.pack("<Q", 2**64 - 1) + good[8:]: "header length",
        struct.pack("<Q", len(good)) + good[8:]: "header length",
        struct.pack("<Q", 5) + b"{nope" + good[13:]: "header is not JSON",
        struct.pack("<Q", 2) + b"[]": "not a JSON object",
        good + b"\0" * 8: "trailing bytes",
    }
    for content, message in cases.items():
        open(path, "wb").write(content)
        with pytest.raises(ModelFileError, match=message):
            load_model(path)


def test_gapped_offsets(saved):
    _, path = saved
    _rewrite(path, _shift("Whh", 8))
    with pytest.raises(ModelFileError, match="leaves a gap|overlaps"):
        load_model(path)


def test_truncation_at_every_offset_is_a_clean_error(saved):
    _, path = saved
    good = open(path, "rb").read()
    for size in range(len(good)):
        open(path, "wb").write(good[:size])
        with pytest.raises(ModelFileError):
            load_model(path)


class _Canary:
    def __reduce__(self):
        return (os.system, ("touch canary-was-run",))


def test_pickle_renamed_to_safetensors_is_refused_without_running(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(_Canary()))
    with pytest.raises(ModelFileError):
        load_model(str(path))
    assert not (tmp_path / "canary-was-run").exists()


def test_missing_and_directory_paths(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(str(tmp_path / "none.safetensors"))
    with pytest.raises(ModelFileError, match="not a regular file"):
        load_model(str(tmp_path))
