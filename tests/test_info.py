"""tinyrnn info: what a saved model is."""
import json
import struct

import numpy as np
import safetensors.numpy

from tinyrnn.cli import main
from tinyrnn.gradcheck import random_classifier, random_language_model
from tinyrnn.io import save_model


def _info(capsys, path, *options):
    assert main(["info", str(path), *options]) == 0
    return capsys.readouterr().out


def test_info_of_a_classifier(tmp_path, capsys):
    model = random_classifier(np.random.default_rng(0), 9, 6, 3, cell="gru", num_layers=2, bidirectional=True,
                              embed_size=4, pool="max", dropout=0.25)
    path = tmp_path / "m.safetensors"
    save_model(model, str(path))
    facts = json.loads(_info(capsys, path, "--json"))
    assert facts["task"] == "classify" and facts["cell"] == "gru" and facts["layers"] == 2
    assert facts["directions"] == 2 and facts["hidden_size"] == 6 and facts["input"] == "embedding of size 4"
    assert facts["vocabulary"] == 11 and facts["classes"] == ["c0", "c1", "c2"] and facts["pool"] == "max"
    assert facts["parameters"] == sum(a.size for a in model.params.values()) == model.flat.size
    assert facts["dtype"] == "float64" and facts["dropout"] == 0.25 and facts["format"] == "tinyrnn/1"
    assert facts["checksum"] == "verified" and facts["bytes"] == path.stat().st_size
    assert facts["tensors"]["rnn.weight_ih_l1_reverse"] == [18, 12]
    assert facts["tokenizer"].startswith("words")
    text = _info(capsys, path)
    assert text.startswith("a 2-layer GRU classifier, 6 hidden units, bidirectional, 9 words")
    assert "checksum:          verified" in text and "rnn.weight_hh_l0_reverse" in text


def test_info_of_a_language_model_and_of_a_file_without_a_checksum(tmp_path, capsys):
    model = random_language_model(np.random.default_rng(0), 5, 4, cell="lstm")
    path = tmp_path / "lm.safetensors"
    save_model(model, str(path))
    raw = path.read_bytes()
    header = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
    metadata = header["__metadata__"]
    del metadata["checksum"]                                # as a file of an earlier version
    tensors = {name: np.ascontiguousarray(a) for name, a in model.params.items()}
    path.write_bytes(safetensors.numpy.save(tensors, metadata=metadata))
    facts = json.loads(_info(capsys, path, "--json"))
    assert facts["task"] == "lm" and facts["cell"] == "lstm" and "classes" not in facts
    assert facts["checksum"].startswith("none")


def test_info_of_a_damaged_or_missing_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "m.safetensors"
    save_model(random_classifier(np.random.default_rng(0)), str(path))
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x10
    path.write_bytes(bytes(raw))
    for target, message in ((path, "checksum"), (tmp_path / "none", "no such model file")):
        assert main(["info", str(target)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
