"""A model's tensors under PyTorch's state_dict names, in a safetensors file that torch_model.py's
TorchRNN (a classifier, a language model) or TorchSeq2Seq, or torch_numeric.py's
TorchNumericClassifier, TorchRegressor or TorchForecaster (models that read numbers) loads
(strictly). Needs no torch.

Every model but the walkthrough's already uses PyTorch's names and layouts (docs/model-format.md).
The walkthrough's one-hot tanh RNN is renamed: Wxh -> rnn.weight_ih_l0, Whh -> rnn.weight_hh_l0,
bh -> rnn.bias_ih_l0 with rnn.bias_hh_l0 = 0 (PyTorch adds the two biases), Why -> fc.weight,
by -> fc.bias. One-hot input has no tensor: TorchRNN feeds one_hot(ids) to the RNN, which is
the same as an identity embedding without its V x V weights. A seq2seq model's names
(encoder.*, decoder.*, bridge.*, attention.*, combine.weight, fc.*) are TorchSeq2Seq's already.
A numeric model's standardisation statistics (input_mean, input_std; a regressor's target_mean,
target_std) are the buffers of the same names of torch_numeric.py's modules.
"""
import numpy as np

from .files import atomic_write_bytes
from .io import model_metadata, serialize

TORCH_FORMAT = "tinyrnn-torch/1"
LEGACY_TO_TORCH = {"Wxh": "rnn.weight_ih_l0", "Whh": "rnn.weight_hh_l0", "bh": "rnn.bias_ih_l0",
                   "Why": "fc.weight", "by": "fc.bias"}


NUMERIC_MODULES = {"classify": "TorchNumericClassifier", "regress": "TorchRegressor", "forecast": "TorchForecaster"}


def torch_state_dict(model):
    """{PyTorch name: array} of a model's tensors and buffers (copies)."""
    if "Wxh" in model.params:
        state = {LEGACY_TO_TORCH[name]: array.copy() for name, array in model.params.items()}
        state["rnn.bias_hh_l0"] = np.zeros_like(model.params["bh"])
        return state
    return {name: array.copy() for name, array in {**model.params, **model.buffers}.items()}


def write_torch_file(model, path):
    """The state_dict file: canonical bytes (the same model, the same file), with a checksum."""
    atomic_write_bytes(path, serialize(torch_state_dict(model), model_metadata(model, TORCH_FORMAT)))


def loading_code(model, path):
    """The Python lines that build the matching nn.Module and load the file at path."""
    cast = ".double()" if model.dtype.name == "float64" else ""
    if model.config.features:
        return _numeric_loading_code(model, path, cast)
    if model.task == "seq2seq":
        module, usage = "TorchSeq2Seq", (
            "\n    target_vocab = json.loads(f.metadata()[\"target_vocab\"])   # 0 <pad>, 1 <unk>, 2 <bos>, 3 <eos>",
            "# ids = model.translate(source, lengths, beam=1)   source (B, S) int64, lengths (B,) -> ids per row\n"
            "# logits = model(source, lengths, target_in)       target_in (B, T) = <bos>, y_1 .. y_(T-1)")
    else:
        shapes = "(B, C) class" if model.task == "classify" else "(B, T, V) next-token"
        module, usage = "TorchRNN", ("", f"# probabilities = model(ids, lengths)   ids (B, T) int64, lengths (B,) -> "
                                         f"{shapes} probabilities")
    return f'''import json
from safetensors import safe_open
from safetensors.torch import load_file
from tinyrnn.torch_model import {module}    # needs only torch: copy the file to go without tinyrnn

with safe_open({path!r}, "pt") as f:
    config = json.loads(f.metadata()["config"])
    vocab = json.loads(f.metadata()["vocab"])          # id i is vocab[i]; 0 <pad>, 1 <unk>{usage[0]}
model = {module}(config){cast}
model.load_state_dict(load_file({path!r}))
model.eval()
{usage[1]}'''


def _numeric_loading_code(model, path, cast):
    """loading_code for a model that reads numbers (torch_numeric.py's modules)."""
    module = NUMERIC_MODULES[model.task]
    if model.task == "forecast":
        names = '    series = json.loads(f.metadata()["series"])         # the C series, in column order'
        usage = (f"# forecasts = model(windows)   windows (B, {model.config.window}, {model.config.features}) "
                 f"float, the last {model.config.window} steps -> (B, {model.config.horizon}, "
                 f"{model.config.features}) next values, in the data's units")
    else:
        key, shape = ("classes", "(B, C) class probabilities") if model.task == "classify" else \
            ("targets", "(B, R) predictions in the data's units")
        names = f'    {key} = json.loads(f.metadata()["{key}"])'
        usage = (f"# {'probabilities' if model.task == 'classify' else 'predictions'} = model(values, lengths)   "
                 f"values (B, T, F) float, lengths (B,) int64 (None: no padding) -> {shape}")
    return f'''import json
from safetensors import safe_open
from safetensors.torch import load_file
from tinyrnn.torch_numeric import {module}    # needs only torch: copy the file to go without tinyrnn

with safe_open({path!r}, "pt") as f:
    config = json.loads(f.metadata()["config"])
    features = json.loads(f.metadata()["features"])    # the F numbers of a step, in column order
{names}
model = {module}(config){cast}
model.load_state_dict(load_file({path!r}))          # weights and the standardisation buffers
model.eval()
{usage}'''
