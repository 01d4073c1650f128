"""ModelConfig: validated once, frozen, to_json / from_json (files of every version), the one
factory, and the file facts that have one home (the header reader, the metadata builder)."""
import dataclasses
import json
import struct

import numpy as np
import pytest

import tinyrnn
from tinyrnn import models
from tinyrnn.export_torch import write_torch_file
from tinyrnn.gradcheck import random_classifier, random_language_model
from tinyrnn.io import load_model, model_metadata, save_model, stored_config
from tinyrnn.model_config import ModelConfig, uses_walkthrough_names
from tinyrnn.models import Classifier, LanguageModel, build_model
from tinyrnn.safetensors_header import HeaderError, parse_header, read_header

VOCAB = ["<pad>", "<unk>", "a", "b", "c"]


@pytest.mark.parametrize("settings,message", [
    ({"task": "translate"}, "unknown task 'translate'"),
    ({"hidden_size": 0}, "hidden size must be a positive integer, got 0"),
    ({"hidden_size": "5"}, "hidden size must be a positive integer, got '5'"),
    ({"hidden_size": True}, "hidden size must be a positive integer, got True"),
    ({"num_layers": 0}, "number of layers must be a positive integer, got 0"),
    ({"embed_size": 0}, r"embedding size must be a positive integer or None, got 0"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
    ({"dropout": True}, r"dropout must be in \[0, 1\), got True"),
    ({"embed_dropout": -0.1, "embed_size": 4}, r"embedding dropout must be in \[0, 1\), got -0.1"),
    ({"weight_drop": 1}, r"weight drop must be in \[0, 1\), got 1"),
    ({"embed_dropout": 0.1}, r"embedding dropout needs a learned embedding \(embed_size\)"),
    ({"bidirectional": "yes"}, "bidirectional must be True or False, got 'yes'"),
    ({"pool": "sum"}, "unknown pooling 'sum'"),
    ({"cell": "tree"}, "unknown cell 'tree'"),
    ({"cell": ["rnn"]}, r"cell must be a name, got \['rnn'\]"),
    ({"nonlinearity": "sigmoid"}, "unknown nonlinearity 'sigmoid'"),
    ({"cell": "lstm", "nonlinearity": "relu"}, "nonlinearity 'relu' applies to the rnn cell, not lstm"),
    ({"dtype": "float16"}, "unknown dtype 'float16'"),
    ({"tokenizer": "bytes"}, "unknown tokenizer 'bytes'"),
    ({"tokenizer": "chars"}, "a classifier reads words; its config names tokenizer 'chars'"),
    ({"task": "lm", "bidirectional": True}, "a language model cannot be bidirectional"),
    ({"task": "lm", "pool": "mean"}, "pooling applies to classifiers"),
])
def test_each_setting_that_cannot_work_is_a_value_error_naming_it(settings, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**{"task": "classify", "hidden_size": 4, **settings})


def test_defaults_the_task_tokenizer_and_rates_as_floats():
    config = ModelConfig("lm", 8, dropout=0)
    assert (config.cell, config.num_layers, config.bidirectional, config.nonlinearity, config.embed_size,
            config.pool, config.dtype, config.tokenizer) == ("rnn", 1, False, "tanh", None, "last", "float64", "chars")
    assert type(config.dropout) is float and config.directions == 1
    assert ModelConfig("classify", 8).tokenizer == "words"
    assert ModelConfig("classify", 8, bidirectional=True).directions == 2


def test_a_config_is_frozen_and_hashable():
    config = ModelConfig("classify", 8, cell="gru")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.hidden_size = 9
    assert {config: 1}[ModelConfig("classify", 8, cell="gru")] == 1
    assert dataclasses.replace(config, pool="max").pool == "max" and config.pool == "last"


CONFIGS = [ModelConfig("classify", 64), ModelConfig("lm", 100, tokenizer="words"),
           ModelConfig("classify", 3, cell="lstm", num_layers=2, bidirectional=True, embed_size=5, dropout=0.25,
                       pool="max", embed_dropout=0.1, weight_drop=0.2, dtype="float32"),
           ModelConfig("lm", 4, cell="rnn", nonlinearity="relu")]


@pytest.mark.parametrize("config", CONFIGS, ids=repr)
def test_to_json_and_from_json_round_trip_through_json_text(config):
    stored = json.loads(json.dumps(config.to_json()))
    assert ModelConfig.from_json(stored) == config
    assert stored["input"] == ("embedding" if config.embed_size else "onehot")
    assert stored["tokenizer"]["kind"] == config.tokenizer


def test_from_json_reads_the_configs_files_of_earlier_versions_stored():
    first_version = {"task": "classify", "cell": "rnn", "input": "onehot", "vocab_size": 8, "hidden_size": 3,
                     "num_classes": 2, "dtype": "float64",
                     "tokenizer": {"kind": "words", "normalize": "NFKC", "casefold": True}}
    assert ModelConfig.from_json(first_version) == ModelConfig("classify", 3)
    before_weight_drop = {"task": "lm", "cell": "gru", "input": "embedding", "vocab_size": 30, "hidden_size": 16,
                          "num_layers": 2, "bidirectional": False, "nonlinearity": "tanh", "embed_size": 8,
                          "dropout": 0.1, "pool": "last", "dtype": "float32", "tokenizer": {"kind": "chars"}}
    assert ModelConfig.from_json(before_weight_drop) == ModelConfig(
        "lm", 16, cell="gru", num_layers=2, embed_size=8, dropout=0.1, dtype="float32", tokenizer="chars")


@pytest.mark.parametrize("stored,message", [
    ([1, 2], "must be a JSON object"), ({"hidden_size": 4}, "needs 'task'"),
    ({"task": "lm", "hidden_size": 4, "layer_norm": True}, "unknown model setting 'layer_norm'"),
    ({"task": "lm", "hidden_size": 4, "input": "embedding"}, "config input 'embedding' disagrees with its embed_size"),
    ({"task": "lm", "hidden_size": 4, "tokenizer": {"kind": "bytes"}}, "unknown tokenizer 'bytes'")])
def test_from_json_refuses_what_is_not_a_model_config(stored, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig.from_json(stored)


def test_the_model_config_is_the_one_that_built_it():
    config = ModelConfig("classify", 4, cell="gru", embed_size=3, pool="mean")
    model = build_model(config, VOCAB, ["x", "y"])
    assert model.config is config and isinstance(model, Classifier) and model.hidden_size == 4
    assert Classifier(VOCAB, ["x", "y"], 4, "gru", embed_size=3, pool="mean").config == config
    lm = build_model(ModelConfig("lm", 5, tokenizer="words"), VOCAB)
    assert isinstance(lm, LanguageModel) and lm.tokenizer is tinyrnn.vocab.WORDS
    assert LanguageModel(VOCAB, 5, tokenizer="words").config == lm.config
    assert tinyrnn.ModelConfig is ModelConfig and tinyrnn.build_model is build_model


def test_the_factory_takes_only_a_model_config_and_data_that_fits_the_task():
    with pytest.raises(TypeError, match="ModelConfig"):
        build_model({"task": "classify", "hidden_size": 4}, VOCAB, ["x", "y"])
    with pytest.raises(ValueError, match="at least two distinct classes"):
        build_model(ModelConfig("classify", 4), VOCAB, ["x", "x"])
    with pytest.raises(ValueError, match="no classes"):
        build_model(ModelConfig("lm", 4), VOCAB, ["x", "y"])


def test_walkthrough_names_belong_to_one_one_hot_tanh_layer_read_at_h_n():
    assert uses_walkthrough_names(ModelConfig("classify", 4))
    for change in ({"cell": "gru"}, {"num_layers": 2}, {"bidirectional": True}, {"embed_size": 2},
                   {"pool": "max"}, {"nonlinearity": "relu"}):
        assert not uses_walkthrough_names(ModelConfig("classify", 4, **change)), change
    assert "Wxh" in build_model(ModelConfig("lm", 4), VOCAB).params


def test_a_model_files_stack_is_built_once_on_load(tmp_path, monkeypatch):
    model = random_classifier(np.random.default_rng(0), 6, 3, 2, cell="lstm", num_layers=2)
    path = str(tmp_path / "m.safetensors")
    save_model(model, path)
    built = []

    class CountedStack(models.RecurrentStack):
        def __init__(self, *args, **kwargs):
            built.append(args)
            super().__init__(*args, **kwargs)
    monkeypatch.setattr(models, "RecurrentStack", CountedStack)
    loaded = load_model(path)
    assert len(built) == 1 and loaded.config == model.config


def test_the_stored_config_keeps_the_keys_and_order_of_every_earlier_file():
    model = random_classifier(np.random.default_rng(0), 6, 3, 2)
    assert list(stored_config(model)) == [
        "task", "cell", "input", "vocab_size", "hidden_size", "num_layers", "bidirectional", "nonlinearity",
        "embed_size", "dropout", "pool", "embed_dropout", "weight_drop", "dtype", "num_classes", "tokenizer"]
    lm = random_language_model(np.random.default_rng(0), 6, 3)
    assert stored_config(lm)["vocab_size"] == 8 and "num_classes" not in stored_config(lm)
    assert ModelConfig.from_json(stored_config(lm)) == lm.config


def _file_header(path):
    with open(path, "rb") as stream:
        return read_header(stream)[0]


def test_model_files_and_torch_exports_carry_the_same_metadata(tmp_path):
    model = random_classifier(np.random.default_rng(0), 6, 3, 2, cell="gru", embed_size=2)
    save_model(model, str(tmp_path / "m.safetensors"))
    write_torch_file(model, str(tmp_path / "t.safetensors"))
    saved, exported = (_file_header(tmp_path / name)["__metadata__"] for name in ("m.safetensors", "t.safetensors"))
    assert saved["format"] == "tinyrnn/1" and exported["format"] == "tinyrnn-torch/1"
    for key in ("config", "vocab", "classes"):
        assert saved[key] == exported[key] == model_metadata(model, "any")[key], key


def test_the_header_reader_reads_only_the_header_and_names_what_is_wrong(tmp_path):
    header = json.dumps({"__metadata__": {"format": "x"}}).encode()
    data = struct.pack("<Q", len(header)) + header + b"\0" * 16
    assert parse_header(data) == ({"__metadata__": {"format": "x"}}, len(header))
    path = tmp_path / "f.safetensors"
    path.write_bytes(data)
    with open(path, "rb") as stream:
        assert read_header(stream)[0]["__metadata__"]["format"] == "x"
        assert stream.tell() == 8 + len(header)                        # the tensors are not read
    for raw, message in [(b"1234", "4 bytes: too short"),
                         (struct.pack("<Q", 100) + b"{}", "header length 100 does not fit a 10-byte file"),
                         (b"hello world, a text", "^it looks like a text file$"),     # no "header length"
                         (struct.pack("<Q", 2) + b"{x", "header is not JSON"),
                         (struct.pack("<Q", 2) + b"[]", "header is not a JSON object")]:
        with pytest.raises(HeaderError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_header(raw)
    with open(tmp_path / "empty", "w+b") as stream, pytest.raises(HeaderError, match="0 bytes: too short"):
        read_header(stream)
