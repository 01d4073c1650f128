"""Model files of every architecture: PyTorch's names and layouts, round trips, older files."""
import json

import numpy as np
import pytest
import safetensors.numpy

from test_cli import run
from tinyrnn.gradcheck import random_classifier, random_language_model
from tinyrnn.io import load_model, save_model
from tinyrnn.model_config import ModelConfig

def rewrite_config(path, **change):
    """Rewrite a model file with its config metadata changed, tensors as they are."""
    tensors = safetensors.numpy.load_file(path)
    with open(path, "rb") as stream:
        raw = stream.read()
    metadata = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])["__metadata__"]
    metadata["config"] = json.dumps({**json.loads(metadata["config"]), **change})
    safetensors.numpy.save_file(tensors, path, metadata=metadata)


ARCHITECTURES = [dict(cell="lstm", embed_size=4), dict(cell="gru", num_layers=2, bidirectional=True),
                 dict(cell="rnn", nonlinearity="relu"), dict(cell="lstm", num_layers=2, dropout=0.3)]


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: "-".join(map(str, a.values())))
def test_round_trip_keeps_architecture_weights_and_predictions(tmp_path, arch):
    model = random_classifier(np.random.default_rng(0), 6, 3, 2, **arch)
    path = str(tmp_path / "m.safetensors")
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.config == model.config and loaded.classes == model.classes
    for name, array in model.params.items():
        np.testing.assert_array_equal(loaded.params[name], array, err_msg=name)
    ids = np.array([[2, 3, 4, 5]])
    np.testing.assert_array_equal(loaded.forward(ids, None)[0], model.forward(ids, None)[0])


def test_tensor_names_and_shapes_are_pytorch_state_dict_layouts(tmp_path):
    V, E, H, C = 8, 4, 3, 2                                  # 6 words + <pad>, <unk>
    model = random_classifier(np.random.default_rng(0), 6, H, C, cell="lstm", num_layers=2,
                              bidirectional=True, embed_size=E)
    path = str(tmp_path / "m.safetensors")
    save_model(model, path)
    shapes = {name: array.shape for name, array in safetensors.numpy.load_file(path).items()}
    expected = {"embedding.weight": (V, E), "fc.weight": (C, 2 * H), "fc.bias": (C,)}
    for layer, suffix in [(0, "_l0"), (0, "_l0_reverse"), (1, "_l1"), (1, "_l1_reverse")]:
        expected.update({f"rnn.weight_ih{suffix}": (4 * H, E if layer == 0 else 2 * H),
                         f"rnn.weight_hh{suffix}": (4 * H, H), f"rnn.bias_ih{suffix}": (4 * H,),
                         f"rnn.bias_hh{suffix}": (4 * H,)})
    assert shapes == expected


def test_walkthrough_model_keeps_its_names_and_a_one_hot_gru_has_weight_ih_over_the_vocabulary(tmp_path):
    path = str(tmp_path / "m.safetensors")
    save_model(random_classifier(np.random.default_rng(0), 6, 3, 2), path)
    assert sorted(safetensors.numpy.load_file(path)) == ["Whh", "Why", "Wxh", "bh", "by"]
    save_model(random_language_model(np.random.default_rng(0), 6, 3, cell="gru"), path)
    tensors = safetensors.numpy.load_file(path)
    assert tensors["rnn.weight_ih_l0"].shape == (9, 8) and tensors["fc.weight"].shape == (8, 3)


def test_files_of_the_first_version_keep_loading(tmp_path):
    """A file whose config has no architecture keys (written before gated cells) still loads."""
    model = random_classifier(np.random.default_rng(0), 6, 3, 2)
    old_config = {"task": "classify", "cell": "rnn", "input": "onehot", "vocab_size": 8, "hidden_size": 3,
                  "num_classes": 2, "dtype": "float64",
                  "tokenizer": {"kind": "words", "normalize": "NFKC", "casefold": True}}
    path = str(tmp_path / "old.safetensors")
    safetensors.numpy.save_file(dict(model.params), path, metadata={
        "format": "tinyrnn/1", "config": json.dumps(old_config), "vocab": json.dumps(model.vocab.tokens),
        "classes": json.dumps(model.classes)})
    loaded = load_model(path)
    assert loaded.config == ModelConfig("classify", 3) and loaded.stack.num_layers == 1
    np.testing.assert_array_equal(loaded.flat, model.flat)


@pytest.mark.parametrize("change,message", [
    ({"num_layers": 3}, "tensors do not match"), ({"cell": "gru"}, "has shape"),
    ({"bidirectional": "yes"}, "bidirectional"), ({"input": "onehot"}, "embed_size"),
    ({"dropout": 2}, "dropout")])
def test_a_config_that_disagrees_with_the_tensors_is_one_clear_error(tmp_path, capsys, change, message):
    model = random_classifier(np.random.default_rng(0), 6, 3, 2, cell="lstm", num_layers=2, embed_size=4)
    path = str(tmp_path / "m.safetensors")
    save_model(model, path)
    rewrite_config(path, **change)
    status, out, err = run(capsys, "predict", "--model", path, "a b")
    assert status == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_trains_gated_models_and_generates_from_a_saved_stack(tmp_path, capsys):
    out = tmp_path / "lstm.safetensors"
    status, stdout, _ = run(capsys, "train", "--cell", "lstm", "--embed", "8", "--forget-bias", "1",
                            "--preset", "fast", "--out", out)
    assert status == 0 and "Reached test accuracy 1.000" in stdout
    model = load_model(str(out))
    assert model.config.cell == "lstm" and model.params["embedding.weight"].shape[1] == 8
    status, stdout, _ = run(capsys, "predict", "--model", out, "i am not at all happy")
    assert status == 0 and stdout.startswith("negative")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abcabd" * 300)
    lm = tmp_path / "gru.safetensors"
    status, _, _ = run(capsys, "train", "--task", "lm", "--text", corpus, "--cell", "gru", "--layers", "2",
                       "--steps", "120", "--batch-size", "4", "--hidden", "16", "--sample-every", "0",
                       "--lr", "0.02", "--out", lm)
    assert status == 0 and load_model(str(lm)).stack.num_layers == 2
    status, text, _ = run(capsys, "generate", "--model", lm, "--prime", "abcab", "--length", "12",
                          "--temperature", "0")
    assert status == 0 and text.strip().startswith("abcabdabcabd"), text


@pytest.mark.parametrize("argv,message", [
    (["--task", "lm", "--bidirectional"], "--bidirectional applies to --task classify"),
    (["--cell", "gru", "--forget-bias", "1"], "applies to the lstm cell"),
    (["--cell", "lstm", "--nonlinearity", "relu"], "applies to the rnn cell"),
    (["--dropout", "1"], "below 1"), (["--layers", "0"], "must be >= 1"), (["--embed", "x"], "integer")])
def test_bad_architecture_options_are_one_line_and_exit_2(tmp_path, capsys, argv, message):
    out = tmp_path / "m.safetensors"
    status, _, err = run(capsys, "train", *argv, "--out", out)
    assert status == 2 and message in err and err.count("\n") == 1 and not out.exists()


def test_init_from_refuses_a_different_architecture(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert run(capsys, "train", "--cell", "gru", "--epochs", "0", "--out", out)[0] == 0
    status, _, err = run(capsys, "train", "--init-from", out, "--cell", "lstm", "--epochs", "1", "--out", out)
    assert status == 2 and "--cell lstm disagrees" in err


def test_a_config_with_absurd_layer_count_is_refused_before_building(tmp_path, capsys):
    model = random_classifier(np.random.default_rng(0), 6, 3, 2, cell="lstm", num_layers=2, embed_size=4)
    path = str(tmp_path / "m.safetensors")
    save_model(model, path)
    rewrite_config(path, num_layers=10 ** 9)
    status, _, err = run(capsys, "predict", "--model", path, "a b")
    assert status == 2 and "1000000000 layers" in err and len(err) < 300


def test_bad_batches_are_value_errors_naming_the_problem():
    model = random_classifier(np.random.default_rng(0), 6, 3, 2, cell="gru")
    ids = np.array([[2, 3, 4]])
    for bad_ids, bad_mask, message in [(ids, np.ones((1, 3), int), "mask must be a bool"),
                                       (ids, np.ones((1, 2), bool), "mask must be a bool"),
                                       (np.array([[2, 99]]), None, "ids must be in"),
                                       (np.array([[-1, 2]]), None, "ids must be in"),
                                       (np.zeros((0, 3), int), None, "non-empty"),
                                       (ids.astype(float), None, "integer")]:
        with pytest.raises(ValueError, match=message):
            model.loss_and_gradients(bad_ids, bad_mask, np.array([0] * max(len(bad_ids), 1)))


def test_init_from_with_an_explicit_zero_dropout_is_checked_too(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert run(capsys, "train", "--cell", "gru", "--dropout", "0.5", "--epochs", "0", "--out", out)[0] == 0
    status, _, err = run(capsys, "train", "--init-from", out, "--dropout", "0", "--epochs", "1", "--out", out)
    assert status == 2 and "--dropout 0.0 disagrees" in err


def test_a_stacked_gated_classifier_learns_with_the_default_recipe(tmp_path, capsys):
    """Not the walkthrough's model: it starts orthogonal, since normal/1000 cannot train it."""
    out = tmp_path / "m.safetensors"
    status, stdout, _ = run(capsys, "train", "--cell", "gru", "--layers", "2", "--epochs", "150",
                            "--log-every", "150", "--out", out)
    assert status == 0 and "Test:\tLoss" in stdout
    assert float(stdout.split("Test:\tLoss")[-1].split("Accuracy:")[1]) >= 0.9
    status, _, err = run(capsys, "train", "--init-from", out, "--init", "xavier", "--out", out)
    assert status == 2 and "--init sets the initial weights" in err


def test_a_classifier_file_naming_a_character_tokenizer_is_refused(tmp_path, capsys):
    model = random_classifier(np.random.default_rng(0), 6, 3, 2, cell="gru")
    path = str(tmp_path / "m.safetensors")
    save_model(model, path)
    rewrite_config(path, tokenizer={"kind": "chars"})
    status, _, err = run(capsys, "predict", "--model", path, "a b")
    assert status == 2 and "a classifier reads words" in err


def test_a_flipped_bit_in_the_weights_is_noticed_and_files_without_a_checksum_still_load(tmp_path, capsys):
    model = random_classifier(np.random.default_rng(0), 6, 3, 2, cell="gru", embed_size=4)
    path = tmp_path / "m.safetensors"
    save_model(model, str(path))
    raw = bytearray(path.read_bytes())
    header_end = 8 + int.from_bytes(raw[:8], "little")
    for offset in (header_end, len(raw) - 1, (header_end + len(raw)) // 2):
        damaged = raw.copy()
        damaged[offset] ^= 0x01                     # low mantissa bit: still a finite number
        path.write_bytes(bytes(damaged))
        status, out, err = run(capsys, "predict", "--model", str(path), "a b")
        assert status == 2 and "checksum" in err and err.count("\n") == 1 and out == ""
    metadata = json.loads(raw[8:header_end])["__metadata__"]
    del metadata["checksum"]                        # as written before checksums existed
    safetensors.numpy.save_file(dict(model.params), str(path), metadata=metadata)
    np.testing.assert_array_equal(load_model(str(path)).flat, model.flat)
    metadata["checksum"] = "sha256:" + "0" * 64     # a checksum that is wrong
    safetensors.numpy.save_file(dict(model.params), str(path), metadata=metadata)
    with pytest.raises(Exception, match="checksum"):
        load_model(str(path))
