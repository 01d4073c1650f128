"""tinyrnn export / import: ONNX runtime and PyTorch give tinyrnn's outputs; round trips are exact."""
import json
import subprocess
import sys

import numpy as np
import pytest
import safetensors.numpy
from conftest import environment_without

from tinyrnn.cli import main
from tinyrnn.export_torch import torch_state_dict
from tinyrnn.gradcheck import random_classifier, random_language_model
from tinyrnn.io import load_model, save_model, stored_config
from tinyrnn.nn.functional import softmax
from tinyrnn.vocab import pad_batch

ARCHITECTURES = {
    "walkthrough": ("classify", "rnn", {}),
    "rnn-relu": ("classify", "rnn", dict(nonlinearity="relu")),
    "rnn-2-bi": ("classify", "rnn", dict(num_layers=2, bidirectional=True)),
    "lstm": ("classify", "lstm", {}),
    "lstm-2-bi-embed": ("classify", "lstm", dict(num_layers=2, bidirectional=True, embed_size=4)),
    "lstm-max": ("classify", "lstm", dict(pool="max")),
    "gru-bi-embed-mean": ("classify", "gru", dict(bidirectional=True, embed_size=4, pool="mean")),
    "gru-2": ("classify", "gru", dict(num_layers=2)),
    "lm-rnn": ("lm", "rnn", {}),
    "lm-lstm-2-embed": ("lm", "lstm", dict(num_layers=2, embed_size=4)),
    "lm-gru": ("lm", "gru", {}),
}


def make(name, dtype="float64", seed=0):
    task, cell, arch = ARCHITECTURES[name]
    rng = np.random.default_rng(seed)
    if task == "classify":
        return random_classifier(rng, 7, 5, 3, 0.6, dtype, cell=cell, **arch)
    return random_language_model(rng, 7, 5, 0.6, dtype, cell=cell, **arch)


def padded_batch(seed=1):
    """Rows of 5, 1, 3 and 4 ids, padded with random ids (which must not matter)."""
    rng = np.random.default_rng(seed)
    ids, mask = pad_batch([rng.integers(2, 9, size=n) for n in (5, 1, 3, 4)])
    return np.where(mask, ids, rng.integers(0, 9, size=ids.shape)), mask


def tinyrnn_probabilities(model, ids, mask):
    """(B, C), or (B, T, V) with the steps past each row's length zeroed."""
    logits, _ = model.forward(ids, mask)
    if model.task == "classify":
        return softmax(logits)
    T, B, V = logits.shape
    probabilities = softmax(logits.reshape(T * B, V)).reshape(T, B, V).transpose(1, 0, 2)
    return probabilities * mask[:, :, None]


# ---- ONNX -------------------------------------------------------------------------------------

ort = pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_onnx_runtime_gives_tinyrnns_outputs_in_float32(name, tmp_path, capsys):
    model = make(name, "float32")
    path, out = str(tmp_path / "m.safetensors"), str(tmp_path / "m.onnx")
    save_model(model, path)
    assert main(["export", "--model", path, "--format", "onnx", "--out", out]) == 0
    assert "saved" in capsys.readouterr().err
    ids, mask = padded_batch()
    session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    result = session.run(["probabilities"], {"ids": ids, "lengths": mask.sum(axis=1)})[0]
    expected = tinyrnn_probabilities(model, ids, mask)
    if model.task == "lm":
        result = result * mask[:, :, None]                 # padding steps are not outputs
    assert result.dtype == np.float32 and result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-5)
    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["vocab"]) == model.vocab.tokens
    assert json.loads(metadata["config"]) == stored_config(model)
    if model.task == "classify":
        assert json.loads(metadata["classes"]) == model.classes


def test_onnx_outputs_of_a_trained_float64_model(tmp_path, capsys):
    """The walkthrough's own trained weights (float64), exported in float32."""
    path, out = str(tmp_path / "m.safetensors"), str(tmp_path / "m.onnx")
    assert main(["train", "--epochs", "30", "--preset", "fast", "--out", path]) == 0
    assert main(["export", "--model", path, "--format", "onnx", "--out", out]) == 0
    capsys.readouterr()
    model = load_model(path)
    sequences, _ = model.encode(["i am not at all happy", "this is good", "bad"])
    ids, mask = pad_batch(sequences)
    result = ort.InferenceSession(out, providers=["CPUExecutionProvider"]).run(
        None, {"ids": ids, "lengths": mask.sum(axis=1)})[0]
    np.testing.assert_allclose(result, model.predict_proba(sequences), atol=1e-5)


# ---- PyTorch state_dict files: export, import ------------------------------------------------

@pytest.mark.parametrize("name", ARCHITECTURES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_export_then_import_gives_the_same_file(name, dtype, tmp_path, capsys):
    path, exported, back = (str(tmp_path / f) for f in ("m.safetensors", "m.torch.safetensors", "back.safetensors"))
    save_model(make(name, dtype), path)
    assert main(["export", "--model", path, "--format", "torch", "--out", exported]) == 0
    assert main(["import", "--format", "torch", "--state-dict", exported, "--out", back]) == 0
    capsys.readouterr()
    assert open(back, "rb").read() == open(path, "rb").read()          # file to file, byte for byte


def test_walkthrough_export_uses_pytorchs_names(tmp_path, capsys):
    model = make("walkthrough")
    tensors = torch_state_dict(model)
    assert sorted(tensors) == ["fc.bias", "fc.weight", "rnn.bias_hh_l0", "rnn.bias_ih_l0",
                               "rnn.weight_hh_l0", "rnn.weight_ih_l0"]
    assert (tensors["rnn.weight_ih_l0"] == model.params["Wxh"]).all() and not tensors["rnn.bias_hh_l0"].any()
    assert (tensors["rnn.bias_ih_l0"] == model.params["bh"]).all() and (tensors["fc.weight"] == model.params["Why"]).all()


def test_import_of_a_state_dict_with_vocabulary_and_class_files(tmp_path, capsys):
    """A state_dict with no tinyrnn metadata: the architecture comes from names and shapes."""
    model = make("gru-bi-embed-mean")
    state = tmp_path / "sd.safetensors"
    state.write_bytes(safetensors.numpy.save(torch_state_dict(model)))
    vocab, classes = tmp_path / "vocab.txt", tmp_path / "classes.json"
    vocab.write_text("\n".join(model.vocab.tokens) + "\n")
    classes.write_text(json.dumps(model.classes))
    out = str(tmp_path / "m.safetensors")
    assert main(["import", "--state-dict", str(state), "--vocab", str(vocab), "--classes", str(classes),
                 "--pool", "mean", "--out", out]) == 0
    assert "bidirectional" in capsys.readouterr().err
    imported = load_model(out)
    ids, mask = padded_batch()
    np.testing.assert_array_equal(tinyrnn_probabilities(imported, ids, mask), tinyrnn_probabilities(model, ids, mask))


@pytest.mark.parametrize("change, message", [
    (lambda t: t.pop("fc.bias"), "no fc.bias"),
    (lambda t: t.pop("rnn.bias_hh_l0"), "layer 0 lacks rnn.bias_hh_l0"),
    (lambda t: t.update({"decoder.weight": np.zeros(3)}), "tensors tinyrnn does not know: decoder.weight"),
    (lambda t: t.update({"fc.weight": np.zeros((3, 7))}), "fc.weight is [3, 7], expected [3, 5]"),
    (lambda t: t.update({"rnn.weight_hh_l0": np.zeros((10, 5))}), "not 1, 3 or 4 gate blocks"),
    (lambda t: t.update({"fc.bias": t["fc.bias"].astype(np.float32)}), "must all be float32 or all float64"),
    (lambda t: t.update({"fc.bias": np.array([0.0, np.nan, 1.0])}), "NaN or infinite"),
    (lambda t: [t.pop(name) for name in list(t) if name.startswith("rnn.")], "no rnn.weight_ih_l0 / rnn.weight_hh_l0 (found fc.bias, fc.weight)"),
])
def test_import_refuses_what_does_not_fit_in_one_line(change, message, tmp_path, capsys):
    model = make("lstm")
    tensors = torch_state_dict(model)
    change(tensors)
    state = tmp_path / "sd.safetensors"
    state.write_bytes(safetensors.numpy.save(tensors))
    vocab, classes = tmp_path / "v.json", tmp_path / "c.json"
    vocab.write_text(json.dumps(model.vocab.tokens))
    classes.write_text(json.dumps(model.classes))
    out = tmp_path / "m.safetensors"
    assert main(["import", "--state-dict", str(state), "--vocab", str(vocab), "--classes", str(classes),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


def _bfloat16_file(path):
    """A valid safetensors file with one bfloat16 tensor (NumPy cannot write one)."""
    import struct
    header = json.dumps({"fc.bias": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}).encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\x80\x3f\x00\x40")


def test_import_refuses_strange_files_in_one_line(tmp_path, capsys):
    model = make("gru-bi-embed-mean")
    vocab = tmp_path / "v.json"
    vocab.write_text(json.dumps(model.vocab.tokens))
    state = tmp_path / "sd.safetensors"

    def refused(tensors, message, *options, metadata=None):
        if tensors is not None:
            state.write_bytes(safetensors.numpy.save(tensors, metadata=metadata))
        assert main(["import", "--state-dict", str(state), "--vocab", str(vocab), *options,
                     "--out", str(tmp_path / "m.safetensors")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    tensors = torch_state_dict(model)
    refused({**tensors, "rnn.weight_hh_l0": np.zeros(15)}, "rnn.weight_hh_l0 has shape [15]; expected a non-empty matrix")
    refused({**tensors, "rnn.weight_hh_l0": np.zeros((0, 0))}, "expected a non-empty matrix")
    refused({**tensors, "embedding.weight": np.zeros(4)}, "embedding.weight has shape [4]")
    refused(tensors, "a classifier? give its classes with --classes FILE")            # forgot --classes
    refused({"emb.weight": np.zeros((9, 4)), "gru.weight_ih_l0": np.zeros((6, 4))}, "found emb.weight, "
            "gru.weight_ih_l0): tinyrnn reads state_dicts named embedding.*, rnn.*, fc.*")
    refused(tensors, "its config metadata is not a JSON object", metadata={"config": "[1, 2]"})
    refused(tensors, "its classes metadata is not a JSON list of strings", metadata={"classes": "5"})
    (tmp_path / "c.json").write_text(json.dumps(model.classes))
    refused(tensors, "--pool max disagrees with the file's config (mean)", "--classes", str(tmp_path / "c.json"),
            "--pool", "max", metadata={"config": json.dumps(stored_config(model))})
    _bfloat16_file(state)
    refused(None, "tensors of type BF16 (fc.bias): tinyrnn reads float32 or float64; save them as float32")
    path = str(tmp_path / "model.safetensors")
    save_model(model, path)
    assert main(["import", "--state-dict", path, "--out", str(tmp_path / "x.safetensors")]) == 2
    assert "is a tinyrnn model already" in capsys.readouterr().err


def test_vocabulary_files_one_per_line(tmp_path, capsys):
    model = make("lstm")
    state = tmp_path / "sd.safetensors"
    state.write_bytes(safetensors.numpy.save(torch_state_dict(model)))
    classes = tmp_path / "c.txt"
    classes.write_text("\n".join(model.classes) + "\n")
    vocab = tmp_path / "v.txt"
    out = str(tmp_path / "m.safetensors")
    argv = ["import", "--state-dict", str(state), "--vocab", str(vocab), "--classes", str(classes), "--out", out]
    vocab.write_bytes(("\ufeff" + "\r\n".join(model.vocab.tokens) + "\r\n").encode())    # a BOM, CRLF
    assert main(argv) == 0
    assert load_model(out).vocab.tokens == model.vocab.tokens
    vocab.write_text("<pad>\n<unk>\n\nw0\n")
    assert main(argv + ["--force"]) == 2
    assert "v.txt:3: an empty line" in capsys.readouterr().err
    vocab.write_text("<pad>\n<unk>\nw0\nw0\n")
    assert main(argv + ["--force"]) == 2
    assert "'w0' is listed more than once" in capsys.readouterr().err


def test_import_needs_a_vocabulary_that_fits(tmp_path, capsys):
    model = make("lstm")
    state = tmp_path / "sd.safetensors"
    state.write_bytes(safetensors.numpy.save(torch_state_dict(model)))
    vocab = tmp_path / "v.txt"
    for content, message in ((None, "carries no vocab: give it with --vocab"),
                             ("the\ncat\n", "v.txt: a tinyrnn vocabulary starts with <pad>, <unk>"),
                             ("<pad>\n<unk>\na\n", "weight_ih_l0 is [20, 9], expected [20, 3] (vocabulary 3")):
        argv = ["import", "--state-dict", str(state), "--out", str(tmp_path / "m.safetensors")]
        if content is not None:
            vocab.write_text(content)
            argv += ["--vocab", str(vocab)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 50)
    assert main(["import", "--state-dict", str(tmp_path / "junk.safetensors"), "--vocab", str(vocab)]) == 2
    assert "not a safetensors state_dict" in capsys.readouterr().err


def test_export_refuses_other_files_and_needs_onnx_named_onnx(tmp_path, capsys):
    path = str(tmp_path / "m.safetensors")
    save_model(make("gru-2"), path)
    mine = tmp_path / "notes.safetensors"
    mine.write_bytes(b"precious")
    for argv, message in ((["--format", "torch", "--out", str(mine)], "is not a tinyrnn PyTorch export"),
                          (["--format", "onnx", "--out", str(tmp_path / "m.bin")], "an ONNX file; give it a name ending .onnx"),
                          (["--format", "torch", "--out", str(tmp_path / "t.onnx")], "name ending .safetensors"),
                          (["--format", "torch", "--out", path], "is the --model input")):
        assert main(["export", "--model", path, *argv]) == 2
        assert message in capsys.readouterr().err
    assert mine.read_bytes() == b"precious"
    notes = tmp_path / "notes.onnx"
    notes.write_bytes(b"my notes \x12\x07tinyrnn precious")        # tinyrnn's mark, in the wrong place
    assert main(["export", "--model", path, "--format", "onnx", "--out", str(notes)]) == 2
    assert "is not an ONNX file written by tinyrnn" in capsys.readouterr().err
    for _ in range(2):                                               # its own ONNX file it may replace
        assert main(["export", "--model", path, "--format", "onnx", "--out", str(tmp_path / "again.onnx")]) == 0
    capsys.readouterr()
    result = subprocess.run([sys.executable, "-m", "tinyrnn", "export", "--model", path, "--format", "onnx",
                             "--out", str(tmp_path / "m.onnx")], capture_output=True, text=True, timeout=60,
                            env=environment_without(tmp_path, "onnx"))
    assert result.returncode == 2 and "ONNX export needs onnx" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "m.onnx").exists()


# ---- with torch: the printed loading code, and a state_dict made by PyTorch -------------------

@pytest.mark.parametrize("name", ARCHITECTURES)
def test_the_printed_code_loads_a_module_that_gives_tinyrnns_outputs(name, tmp_path, capsys):
    torch = pytest.importorskip("torch")
    model = make(name)
    path, exported = str(tmp_path / "m.safetensors"), str(tmp_path / "m.torch.safetensors")
    save_model(model, path)
    assert main(["export", "--model", path, "--format", "torch", "--out", exported]) == 0
    code = capsys.readouterr().out
    namespace = {}
    exec(code, namespace)                                      # the lines exactly as printed
    module = namespace["model"]
    ids, mask = padded_batch()
    with torch.no_grad():
        result = module(torch.from_numpy(ids), torch.from_numpy(mask.sum(axis=1))).numpy()
    expected = tinyrnn_probabilities(model, ids, mask)
    if model.task == "lm":
        result = result * mask[:, :, None]
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-10)
    assert json.loads(json.dumps(namespace["vocab"])) == model.vocab.tokens


def test_a_state_dict_saved_by_pytorch_imports_with_the_same_outputs(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    from tinyrnn.torch_model import TorchRNN
    torch.manual_seed(0)
    config = {"task": "classify", "cell": "lstm", "vocab_size": 9, "hidden_size": 6, "num_layers": 2,
              "bidirectional": True, "embed_size": 5, "num_classes": 4, "pool": "max"}
    module = TorchRNN(config).double().eval()                  # PyTorch's own initialisation
    save_file(module.state_dict(), str(tmp_path / "sd.safetensors"))
    (tmp_path / "v.json").write_text(json.dumps(["<pad>", "<unk>", *"abcdefg"]))
    (tmp_path / "c.txt").write_text("w\nx\ny\nz\n")
    assert main(["import", "--state-dict", str(tmp_path / "sd.safetensors"), "--vocab", str(tmp_path / "v.json"),
                 "--classes", str(tmp_path / "c.txt"), "--pool", "max",
                 "--out", str(tmp_path / "m.safetensors")]) == 0
    capsys.readouterr()
    model = load_model(str(tmp_path / "m.safetensors"))
    ids, mask = padded_batch()
    with torch.no_grad():
        expected = module(torch.from_numpy(ids), torch.from_numpy(mask.sum(axis=1))).numpy()
    np.testing.assert_allclose(tinyrnn_probabilities(model, ids, mask), expected, rtol=0, atol=1e-10)


def test_exporting_for_pytorch_needs_no_torch(tmp_path):
    path = str(tmp_path / "m.safetensors")
    save_model(make("lstm-2-bi-embed"), path)
    result = subprocess.run([sys.executable, "-m", "tinyrnn", "export", "--model", path, "--format", "torch",
                             "--out", str(tmp_path / "m.torch.safetensors")], capture_output=True, text=True,
                            timeout=60, env=environment_without(tmp_path, "torch"))
    assert result.returncode == 0, result.stderr
    assert "from tinyrnn.torch_model import TorchRNN" in result.stdout
    state = safetensors.numpy.load_file(str(tmp_path / "m.torch.safetensors"))
    assert set(state) == set(torch_state_dict(load_model(path)))
