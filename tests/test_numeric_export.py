"""Models that read numbers (classifiers, regressors, forecasters) through export and import:
the PyTorch module the exported file loads into (strictly, standardisation buffers included)
gives tinyrnn's outputs to 1e-10 in float64 on the same raw inputs, ONNX runtime to 1e-5 in
float32, and export -> import gives the same model file, byte for byte."""
import json

import numpy as np
import pytest
import safetensors.numpy

from tinyrnn.cli import main
from tinyrnn.export_torch import torch_state_dict
from tinyrnn.io import load_model, save_model, stored_config
from tinyrnn.model_config import ModelConfig
from tinyrnn.models import build_model
from tinyrnn.nn.functional import softmax
from tinyrnn.numeric import pad_values

FEATURES = ["temp", "wind", "load"]
INPUT_MEAN, INPUT_STD = np.array([3.0, -2.0, 10.0]), np.array([0.5, 2.0, 4.0])
NAMES = {"classify": ["cat", "dog", "eel"], "regress": ["price", "volume"], "forecast": FEATURES}
SPECS = {
    "classify-rnn": ("classify", "rnn", {}),
    "classify-rnn-relu-2-bi-max": ("classify", "rnn", dict(nonlinearity="relu", num_layers=2, bidirectional=True,
                                                           pool="max")),
    "classify-lstm-bi-mean": ("classify", "lstm", dict(bidirectional=True, pool="mean")),
    "classify-lstm-2": ("classify", "lstm", dict(num_layers=2)),
    "classify-gru-2-bi": ("classify", "gru", dict(num_layers=2, bidirectional=True)),
    "classify-gru-max": ("classify", "gru", dict(pool="max")),
    "regress-gru-bi-mean": ("regress", "gru", dict(bidirectional=True, pool="mean")),
    "regress-lstm-2-max": ("regress", "lstm", dict(num_layers=2, pool="max")),
    "regress-rnn": ("regress", "rnn", {}),
    "forecast-lstm-window": ("forecast", "lstm", dict(horizon=3, window=6)),
    "forecast-gru-2-global": ("forecast", "gru", dict(num_layers=2, horizon=2, window=6, scaling="global")),
    "forecast-rnn-bi-window": ("forecast", "rnn", dict(bidirectional=True, horizon=3, window=6)),
    "forecast-lstm-2-bi-global": ("forecast", "lstm", dict(num_layers=2, bidirectional=True, horizon=1, window=6,
                                                           scaling="global")),
}


def make(name, dtype="float64", seed=0):
    """A small model with non-zero biases and standardisation far from (0, 1)."""
    task, cell, arch = SPECS[name]
    config = ModelConfig(task, 4, cell=cell, features=len(FEATURES), dtype=dtype, **arch)
    model = build_model(config, FEATURES, NAMES[task]).initialize(np.random.default_rng(seed), "orthogonal")
    rng = np.random.default_rng(seed + 100)
    for key, array in model.params.items():
        if "bias" in key:
            array[...] = rng.normal(0, 0.3, size=array.shape)
    model.buffers["input_mean"][...], model.buffers["input_std"][...] = INPUT_MEAN, INPUT_STD
    if task == "regress":
        model.buffers["target_mean"][...], model.buffers["target_std"][...] = [5.0, -1.0], [3.0, 0.25]
    return model


def sequences(seed=1, lengths=(5, 1, 3, 4)):
    """Raw sequences in the data's units, of unequal lengths."""
    rng = np.random.default_rng(seed)
    return [INPUT_MEAN + INPUT_STD * rng.normal(size=(n, len(FEATURES))) for n in lengths]


def padded(seqs, seed=2):
    """(values (B, T, F) with garbage at the padding, which must not matter; lengths (B,))."""
    values, mask = pad_values(seqs)
    values[~mask] = np.random.default_rng(seed).normal(0, 100, size=values[~mask].shape)
    return values, mask


def windows(seed=3, batch=4, steps=6):
    """Windows (B, W, C) with levels and trends of their own; one series of row 0 is flat (the
    window scaling's floor)."""
    rng = np.random.default_rng(seed)
    level = rng.normal(0, 20, size=(batch, 1, len(FEATURES)))
    trend = rng.normal(0, 2, size=(batch, 1, len(FEATURES))) * np.arange(steps)[None, :, None]
    values = INPUT_MEAN + level + trend + INPUT_STD * rng.normal(size=(batch, steps, len(FEATURES)))
    values[0, :, 1] = 7.0
    return values


def tinyrnn_outputs(model, inputs):
    """What the model gives in the data's units: probabilities (B, C) (and logits) of a classifier
    for (values, mask); predictions (B, R) of a regressor for sequences; forecasts (B, H, C)."""
    if model.task == "classify":
        logits, _ = model.forward(*inputs)
        return softmax(logits), logits
    if model.task == "regress":
        return model.predict(inputs), None
    return model.predict(list(inputs)).reshape(len(inputs), model.config.horizon, len(FEATURES)), None


def exported(name, tmp_path, capsys, fmt="torch", dtype="float64"):
    """(model, path of its export, what export printed on stdout, on stderr)."""
    model = make(name, dtype)
    path = str(tmp_path / "m.safetensors")
    out = str(tmp_path / ("m.onnx" if fmt == "onnx" else "m.torch.safetensors"))
    save_model(model, path)
    assert main(["export", "--model", path, "--format", fmt, "--out", out]) == 0
    captured = capsys.readouterr()
    return model, out, captured.out, captured.err


# ---- PyTorch ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SPECS)
def test_the_printed_code_loads_a_module_that_gives_tinyrnns_outputs(name, tmp_path, capsys):
    torch = pytest.importorskip("torch")
    model, out, code, _ = exported(name, tmp_path, capsys)
    namespace = {}
    exec(code, namespace)                                      # the lines exactly as printed
    module = namespace["model"]
    buffers = {"input_mean", "input_std"} | ({"target_mean", "target_std"} if model.task == "regress" else set())
    assert set(dict(module.named_buffers())) == buffers
    assert set(module.state_dict()) == set(safetensors.numpy.load_file(out))
    assert namespace["features"] == FEATURES
    with torch.no_grad():
        if model.task == "forecast":
            batch = windows()
            result = module(torch.from_numpy(batch)).numpy()
            expected, _ = tinyrnn_outputs(model, batch)
            assert namespace["series"] == FEATURES
        else:
            seqs = sequences()
            values, mask = padded(seqs)
            args = torch.from_numpy(values), torch.from_numpy(mask.sum(axis=1))
            result = module(*args).numpy()
            expected, logits = tinyrnn_outputs(model, (values, mask) if model.task == "classify" else seqs)
            if model.task == "classify":
                np.testing.assert_allclose(module.logits(*args).numpy(), logits, rtol=0, atol=1e-10)
                assert namespace["classes"] == NAMES["classify"]
            else:
                assert namespace["targets"] == NAMES["regress"]
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", ["classify-lstm-bi-mean", "classify-rnn-relu-2-bi-max", "regress-gru-bi-mean",
                                  "regress-rnn"])
def test_equal_lengths_need_no_lengths(name, tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from tinyrnn.torch_model import build
    model = make(name)
    module = build(stored_config(model)).double()
    module.load_state_dict({key: torch.from_numpy(array) for key, array in torch_state_dict(model).items()})
    seqs = sequences(lengths=(4, 4, 4))
    expected, _ = tinyrnn_outputs(model, (np.stack(seqs), None) if model.task == "classify" else seqs)
    with torch.no_grad():
        result = module(torch.from_numpy(np.stack(seqs))).numpy()
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-10)


def test_the_standardisation_is_the_modules_own(tmp_path, capsys):
    """Changing a buffer of the module changes its outputs as tinyrnn's do with the model's."""
    torch = pytest.importorskip("torch")
    from tinyrnn.torch_numeric import build
    for name, buffer in (("regress-rnn", "target_std"), ("forecast-gru-2-global", "input_std"),
                         ("forecast-lstm-window", "input_std"), ("classify-gru-max", "input_mean")):
        model = make(name)
        module = build(stored_config(model)).double()
        module.load_state_dict({key: torch.from_numpy(array) for key, array in torch_state_dict(model).items()})
        inputs = windows() if model.task == "forecast" else sequences(lengths=(4, 4))
        before, _ = tinyrnn_outputs(model, (np.stack(inputs), None) if model.task == "classify" else inputs)
        model.buffers[buffer] *= 3.0
        getattr(module, buffer).mul_(3.0)
        after, _ = tinyrnn_outputs(model, (np.stack(inputs), None) if model.task == "classify" else inputs)
        assert np.abs(after - before).max() > 1e-6, name
        with torch.no_grad():
            np.testing.assert_allclose(module(torch.from_numpy(np.stack(inputs))).numpy(), after, rtol=0, atol=1e-10)


def test_state_dicts_saved_by_pytorch_import_with_the_same_outputs(tmp_path, capsys):
    """State_dicts with no tinyrnn metadata (a regressor: target_mean tells), a forecaster with a
    config naming only what its tensors cannot tell, and a classifier with --classes."""
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    from tinyrnn.torch_numeric import TorchForecaster, TorchNumericClassifier, TorchRegressor
    torch.manual_seed(0)
    base = {"cell": "gru", "hidden_size": 5, "features": 3, "num_layers": 2, "bidirectional": True}
    cases = [
        (TorchRegressor({**base, "task": "regress", "num_targets": 2, "pool": "mean"}), {}, ["--pool", "mean"]),
        (TorchForecaster({**base, "cell": "lstm", "task": "forecast", "horizon": 2, "scaling": "global"}),
         {"config": json.dumps({"task": "forecast", "window": 6, "scaling": "global"})}, []),
        (TorchNumericClassifier({**base, "cell": "rnn", "task": "classify", "num_classes": 3}), {},
         ["--classes", str(tmp_path / "c.txt")]),
    ]
    (tmp_path / "c.txt").write_text("a\nb\nc\n")
    for number, (module, metadata, options) in enumerate(cases):
        module = module.double().eval()
        for buffer, values in dict(module.named_buffers()).items():
            values.copy_(torch.linspace(0.5, 2.5, len(values)) * (-1 if buffer.endswith("mean") else 1))
        state, out = tmp_path / f"sd{number}.safetensors", str(tmp_path / f"m{number}.safetensors")
        save_file(module.state_dict(), str(state), metadata=metadata or None)
        assert main(["import", "--state-dict", str(state), "--out", out, *options]) == 0, capsys.readouterr().err
        capsys.readouterr()
        model = load_model(out)
        assert model.feature_names == ["x0", "x1", "x2"]
        if model.task == "forecast":
            assert (model.config.horizon, model.window, model.config.scaling) == (2, 6, "global")
            batch = windows()
            expected, _ = tinyrnn_outputs(model, batch)
        else:
            seqs = sequences()
            values, mask = padded(seqs)
            batch = (torch.from_numpy(values), torch.from_numpy(mask.sum(axis=1)))
            expected, _ = tinyrnn_outputs(model, (values, mask) if model.task == "classify" else seqs)
        assert model.task == ("regress", "forecast", "classify")[number]
        assert model.classes[:2] == (["y0", "y1"], ["x0[t+1]", "x1[t+1]"], ["a", "b"])[number]
        with torch.no_grad():
            result = module(torch.from_numpy(batch) if model.task == "forecast" else batch[0],
                            *([] if model.task == "forecast" else [batch[1]])).numpy()
        np.testing.assert_allclose(expected, result, rtol=0, atol=1e-10)


# ---- ONNX ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SPECS)
def test_onnx_runtime_gives_tinyrnns_outputs_in_float32(name, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model, out, _, err = exported(name, tmp_path, capsys, "onnx")
    assert "saved" in err
    session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    if model.task == "forecast":
        assert "windows (B, W, 3)" in err and [i.name for i in session.get_inputs()] == ["windows"]
        batch = windows()
        result = session.run(["forecasts"], {"windows": batch.astype(np.float32)})[0]
        expected, _ = tinyrnn_outputs(model, batch)
    else:
        seqs = sequences()
        values, mask = padded(seqs)
        output = "probabilities" if model.task == "classify" else "predictions"
        result = session.run([output], {"values": values.astype(np.float32), "lengths": mask.sum(axis=1)})[0]
        expected, _ = tinyrnn_outputs(model, (values, mask) if model.task == "classify" else seqs)
    assert result.dtype == np.float32 and result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)
    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["features"]) == FEATURES
    assert json.loads(metadata["config"]) == stored_config(model)


# ---- export -> import ------------------------------------------------------------------------

@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_export_then_import_gives_the_same_file(name, dtype, tmp_path, capsys):
    path, exported_path, back = (str(tmp_path / f) for f in ("m.safetensors", "m.t.safetensors", "b.safetensors"))
    model = make(name, dtype)
    save_model(model, path)
    assert main(["export", "--model", path, "--format", "torch", "--out", exported_path]) == 0
    state = safetensors.numpy.load_file(exported_path)
    assert set(state) == set(model.params) | set(model.buffers)
    assert all((state[key] == array).all() for key, array in model.buffers.items())
    assert main(["import", "--format", "torch", "--state-dict", exported_path, "--out", back]) == 0
    capsys.readouterr()
    assert open(back, "rb").read() == open(path, "rb").read()          # file to file, byte for byte
    assert main(["info", back]) == 0
    assert "temp, wind, load" in capsys.readouterr().out


def _refused(tmp_path, capsys, tensors, message, *options, metadata=None):
    state, out = tmp_path / "sd.safetensors", tmp_path / "out.safetensors"
    state.write_bytes(safetensors.numpy.save(tensors, metadata=metadata))
    assert main(["import", "--state-dict", str(state), "--out", str(out), *options]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_import_refuses_numeric_state_dicts_that_do_not_fit_in_one_line(tmp_path, capsys):
    classifier = torch_state_dict(make("classify-gru-2-bi"))
    regressor = torch_state_dict(make("regress-rnn"))
    forecaster = torch_state_dict(make("forecast-lstm-window"))
    (tmp_path / "c.txt").write_text("a\nb\nc\n")
    (tmp_path / "v.txt").write_text("<pad>\n<unk>\n")
    classes = ["--classes", str(tmp_path / "c.txt")]
    _refused(tmp_path, capsys, classifier, "without target_mean and target_std is a classifier or a forecaster, "
             "and no config metadata says which (a forecaster's config names task forecast, window and scaling); "
             "a classifier? give its classes with --classes FILE")
    _refused(tmp_path, capsys, {k: v for k, v in classifier.items() if k != "input_std"}, "no input_std", *classes)
    _refused(tmp_path, capsys, {**classifier, "input_std": -INPUT_STD}, "input_std (a standard deviation) must "
             "be positive", *classes)
    _refused(tmp_path, capsys, {**classifier, "input_mean": np.zeros(4)}, "input_mean is [4], expected [3]", *classes)
    _refused(tmp_path, capsys, {**classifier, "embedding.weight": np.zeros((5, 3))},
             "tensors tinyrnn does not know: embedding.weight", *classes)
    _refused(tmp_path, capsys, classifier, "has no vocabulary or tokenizer (--vocab)", *classes,
             "--vocab", str(tmp_path / "v.txt"))
    _refused(tmp_path, capsys, {k: v for k, v in regressor.items() if k != "target_std"}, "no target_std",
             metadata={"config": json.dumps({"task": "regress"})})
    _refused(tmp_path, capsys, forecaster, "a forecaster's config metadata must name its window",
             metadata={"config": json.dumps({"task": "forecast"})})
    _refused(tmp_path, capsys, forecaster, "fc.weight is [9, 4], expected [6, 4]",
             metadata={"config": json.dumps({"task": "forecast", "window": 6, "horizon": 2})})
    _refused(tmp_path, capsys, forecaster, "its config says task 'lm', but its tensors read numbers",
             metadata={"config": json.dumps({"task": "lm"})})
    _refused(tmp_path, capsys, forecaster, "--pool max disagrees with the file's config (last)", "--pool", "max",
             metadata={"config": json.dumps({"task": "forecast", "window": 6, "pool": "last"})})
