"""A model's tensors under PyTorch's state_dict names, in a safetensors file that torch_model.py's
TorchRNN loads (strictly). Needs no torch.

Every model but the walkthrough's already uses PyTorch's names and layouts (docs/model-format.md).
The walkthrough's one-hot tanh RNN is renamed: Wxh -> rnn.weight_ih_l0, Whh -> rnn.weight_hh_l0,
bh -> rnn.bias_ih_l0 with rnn.bias_hh_l0 = 0 (PyTorch adds the two biases), Why -> fc.weight,
by -> fc.bias. One-hot input has no tensor: TorchRNN feeds one_hot(ids) to the RNN, which is
the same as an identity embedding without its V x V weights.
"""
import numpy as np

from .files import atomic_write_bytes
from .io import model_metadata, serialize

TORCH_FORMAT = "tinyrnn-torch/1"
LEGACY_TO_TORCH = {"Wxh": "rnn.weight_ih_l0", "Whh": "rnn.weight_hh_l0", "bh": "rnn.bias_ih_l0",
                   "Why": "fc.weight", "by": "fc.bias"}


def torch_state_dict(model):
    """{PyTorch name: array} of a model's tensors (copies)."""
    if "Wxh" in model.params:
        state = {LEGACY_TO_TORCH[name]: array.copy() for name, array in model.params.items()}
        state["rnn.bias_hh_l0"] = np.zeros_like(model.params["bh"])
        return state
    return {name: array.copy() for name, array in model.params.items()}


def write_torch_file(model, path):
    """The state_dict file: canonical bytes (the same model, the same file), with a checksum."""
    atomic_write_bytes(path, serialize(torch_state_dict(model), model_metadata(model, TORCH_FORMAT)))


def loading_code(model, path):
    """The Python lines that build the matching nn.Module and load the file at path."""
    cast = ".double()" if model.dtype.name == "float64" else ""
    shapes = "(B, C) class" if model.task == "classify" else "(B, T, V) next-token"
    return f'''import json
from safetensors import safe_open
from safetensors.torch import load_file
from tinyrnn.torch_model import TorchRNN    # needs only torch: copy the file to go without tinyrnn

with safe_open({path!r}, "pt") as f:
    config = json.loads(f.metadata()["config"])
    vocab = json.loads(f.metadata()["vocab"])          # id i is vocab[i]; 0 <pad>, 1 <unk>
model = TorchRNN(config){cast}
model.load_state_dict(load_file({path!r}))
model.eval()
# probabilities = model(ids, lengths)   ids (B, T) int64, lengths (B,) -> {shapes} probabilities'''
