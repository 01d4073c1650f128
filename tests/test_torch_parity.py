"""tinyrnn against PyTorch: every model variant, saved to a model file, loaded into
nn.Embedding + nn.RNN / nn.LSTM / nn.GRU + nn.Linear (float64), must give the same logits,
loss, parameter gradients, final states and initial-state gradients, to 1e-10.

The torch module is built from the file's config metadata and loaded (strictly) with the
file's tensors; the walkthrough's one-hot, single-layer tanh RNN keeps the names Wxh, Whh,
bh, Why, by, which map to weight_ih_l0, weight_hh_l0, bias_ih_l0 (bias_hh_l0 = 0),
fc.weight and fc.bias. One-hot input is fed to torch as one-hot float64 vectors.
"""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

from safetensors import safe_open  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

from tinyrnn.gradcheck import random_problem  # noqa: E402
from tinyrnn.io import save_model  # noqa: E402

ATOL = 1e-10
SIZES = dict(vocab_words=5, hidden=3, classes=3, batch=3, max_length=5)
LEGACY_TO_TORCH = {"Wxh": "rnn.weight_ih_l0", "Whh": "rnn.weight_hh_l0", "bh": "rnn.bias_ih_l0",
                   "Why": "fc.weight", "by": "fc.bias"}
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
CELL_IDS = ["rnn-tanh", "rnn-relu", "lstm", "gru"]


class TorchModel(nn.Module):
    """[nn.Embedding] + nn.RNN / nn.LSTM / nn.GRU (batch_first) + nn.Linear, float64."""

    def __init__(self, config, outputs):
        super().__init__()
        V, H, E = config["vocab_size"], config["hidden_size"], config["embed_size"]
        self.onehot, self.vocab_size = not E, V
        if E:
            self.embedding = nn.Embedding(V, E)
        kinds = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
        extra = {"nonlinearity": config["nonlinearity"]} if config["cell"] == "rnn" else {}
        self.rnn = kinds[config["cell"]](E or V, H, num_layers=config["num_layers"], batch_first=True,
                                         bidirectional=config["bidirectional"], **extra)
        self.fc = nn.Linear(H * (2 if config["bidirectional"] else 1), outputs)
        self.double()

    def inputs(self, ids):
        return F.one_hot(ids, self.vocab_size).double() if self.onehot else self.embedding(ids)


def load_torch_model(path):
    """(torch module loaded from the file, {torch parameter name: tinyrnn tensor name}, config)."""
    with safe_open(path, "np") as handle:
        metadata = handle.metadata()
    config = json.loads(metadata["config"])
    outputs = len(json.loads(metadata["classes"])) if config["task"] == "classify" else config["vocab_size"]
    tensors = safetensors_torch.load_file(path)
    if "Wxh" in tensors:                                      # the walkthrough's names
        assert set(tensors) == set(LEGACY_TO_TORCH), f"legacy file has tensors {sorted(tensors)}"
        state = {LEGACY_TO_TORCH[name]: tensor for name, tensor in tensors.items()}
        state["rnn.bias_hh_l0"] = torch.zeros_like(tensors["bh"])
        names = {torch_name: name for name, torch_name in LEGACY_TO_TORCH.items()}
        names["rnn.bias_hh_l0"] = "bh"                         # bh = b_ih + b_hh: same gradient
    else:
        state = tensors
        names = {name: name for name in tensors}
    module = TorchModel(config, outputs)
    module.load_state_dict(state, strict=True)                 # every tensor, exact names and shapes
    return module, names, config


def torch_initial_state(initial_state, cell, H):
    """tinyrnn's s_0 (L*D, B, S) -> leaf tensors h0 (and c0 for the LSTM)."""
    h0 = torch.tensor(initial_state[..., :H], dtype=torch.float64, requires_grad=True)
    if cell != "lstm":
        return h0, (h0,)
    c0 = torch.tensor(initial_state[..., H:], dtype=torch.float64, requires_grad=True)
    return (h0, c0), (h0, c0)


def close(actual, expected, what):
    """Assert tinyrnn's array equals torch's tensor to ATOL."""
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"tinyrnn vs torch: {what} shape {actual.shape} != {expected.shape}"
    error = float(np.abs(actual - expected).max()) if actual.size else 0.0
    assert error <= ATOL, f"tinyrnn vs torch: {what} differs by {error:.3e} (atol {ATOL})"


def compare_gradients(model, module, names):
    """Every torch parameter's .grad against the tinyrnn gradient of the tensor it came from."""
    assert set(names.values()) == set(model.grads), \
        f"tinyrnn vs torch: file tensors {sorted(set(names.values()))} != model grads {sorted(model.grads)}"
    for torch_name, param in module.named_parameters():
        assert param.grad is not None, f"torch gave no gradient for {torch_name}"
        close(model.grads[names[torch_name]], param.grad, f"gradient of {names[torch_name]} ({torch_name})")


def compare_states(final_state, h_n, c_n, H, what):
    close(final_state[..., :H], h_n, f"{what} h_n")
    if c_n is not None:
        close(final_state[..., H:], c_n, f"{what} c_n")


def compare_initial_grad(initial_grad, leaves, H):
    close(initial_grad[..., :H], leaves[0].grad, "initial-state gradient dL/dh0")
    if len(leaves) == 2:
        close(initial_grad[..., H:], leaves[1].grad, "initial-state gradient dL/dc0")


def split_state(hidden, cell):
    return hidden if cell == "lstm" else (hidden, None)


@pytest.mark.parametrize("embed", [None, 4], ids=["onehot", "embed4"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2], ids=["L1", "L2"])
@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=CELL_IDS)
def test_classifier_matches_torch(tmp_path, cell, nonlinearity, num_layers, bidirectional, embed):
    seed = 1000 + 100 * CELLS.index((cell, nonlinearity)) + 10 * num_layers + 2 * bidirectional + bool(embed)
    rng = np.random.default_rng(seed)
    model, ids, mask, targets, s0 = random_problem(
        rng, **SIZES, cell=cell, task="classify", num_layers=num_layers, bidirectional=bidirectional,
        embed_size=embed, nonlinearity=nonlinearity)
    assert not mask.all(), "the batch should be padded"
    H = model.hidden_size
    path = str(tmp_path / "model.safetensors")
    save_model(model, path)

    logits, states = model.forward(ids, mask, s0)
    result = model.loss_and_gradients(ids, mask, targets, s0)

    module, names, config = load_torch_model(path)
    assert (config["cell"], config["num_layers"], config["bidirectional"], config["embed_size"]) == \
        (cell, num_layers, bidirectional, embed)
    hx, leaves = torch_initial_state(s0, cell, H)
    ids_t = torch.from_numpy(ids)
    packed = pack_padded_sequence(module.inputs(ids_t), torch.from_numpy(mask.sum(1)), batch_first=True,
                                  enforce_sorted=False)
    _, hidden = module.rnn(packed, hx)
    h_n, c_n = split_state(hidden, cell)
    D = 2 if bidirectional else 1
    features = torch.cat([h_n[-D + d] for d in range(D)], dim=1)       # top layer, every direction
    torch_logits = module.fc(features)
    loss = F.cross_entropy(torch_logits, torch.from_numpy(targets))
    loss.backward()

    close(logits, torch_logits, "logits (forward)")
    close(result.loss, loss, "loss")
    compare_states(states, h_n, c_n, H, "final state (forward)")
    compare_states(result.final_state, h_n, c_n, H, "final state (loss_and_gradients)")
    close(result.predicted, torch_logits.argmax(dim=1), "predicted classes")
    compare_gradients(model, module, names)
    compare_initial_grad(result.initial_state_grad, leaves, H)


@pytest.mark.parametrize("padded", [False, True], ids=["full", "padded"])
@pytest.mark.parametrize("embed", [None, 4], ids=["onehot", "embed4"])
@pytest.mark.parametrize("num_layers", [1, 2], ids=["L1", "L2"])
@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=CELL_IDS)
def test_language_model_matches_torch(tmp_path, cell, nonlinearity, num_layers, embed, padded):
    seed = 2000 + 100 * CELLS.index((cell, nonlinearity)) + 10 * num_layers + 2 * bool(embed) + padded
    rng = np.random.default_rng(seed)
    model, ids, mask, targets, s0 = random_problem(
        rng, **SIZES, cell=cell, task="lm", num_layers=num_layers, embed_size=embed,
        nonlinearity=nonlinearity)
    if padded:
        mask[-1, 2:] = False                                              # at least one short row
        ids[~mask] = 0
        assert mask[0].all() and not mask.all()
    else:
        mask = np.ones_like(mask)
        ids = rng.integers(2, len(model.vocab), size=ids.shape)          # real tokens everywhere
    H, (B, T), V = model.hidden_size, ids.shape, len(model.vocab)
    path = str(tmp_path / "model.safetensors")
    save_model(model, path)

    logits, states = model.forward(ids, mask, s0)
    result = model.loss_and_gradients(ids, mask, targets, s0)

    module, names, config = load_torch_model(path)
    assert (config["task"], config["cell"], config["num_layers"], config["embed_size"]) == \
        ("lm", cell, num_layers, embed)
    hx, leaves = torch_initial_state(s0, cell, H)
    inputs = module.inputs(torch.from_numpy(ids))
    if padded:
        lengths = torch.from_numpy(mask.sum(1))
        packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
        packed_out, hidden = module.rnn(packed, hx)
        outputs, _ = torch.nn.utils.rnn.pad_packed_sequence(packed_out, batch_first=True, total_length=T)
    else:
        outputs, hidden = module.rnn(inputs, hx)
    h_n, c_n = split_state(hidden, cell)
    torch_logits = module.fc(outputs)                                     # (B, T, V)
    real = torch.from_numpy(mask.reshape(-1))
    loss = F.cross_entropy(torch_logits.reshape(B * T, V)[real], torch.from_numpy(targets).reshape(-1)[real])
    loss.backward()

    ours = logits.transpose(1, 0, 2)                                      # (T, B, V) -> (B, T, V)
    close(ours[mask], torch_logits[torch.from_numpy(mask)], "logits at real steps (forward)")
    close(result.loss, loss, "loss")
    compare_states(states, h_n, c_n, H, "final state (forward)")
    compare_states(result.final_state, h_n, c_n, H, "final state (loss_and_gradients)")
    compare_gradients(model, module, names)
    compare_initial_grad(result.initial_state_grad, leaves, H)


@pytest.mark.parametrize("task", ["classify", "lm"])
def test_walkthrough_names_run_in_torch(tmp_path, task):
    """The one-hot single-layer tanh RNN's file holds exactly Wxh, Whh, bh, Why, by; mapped to
    weight_ih_l0, weight_hh_l0, bias_ih_l0 (bias_hh_l0 = 0), fc.weight, fc.bias they give
    tinyrnn's logits, and h_t = tanh(Wxh[:, id_t] + Whh h_{t-1} + bh) step by step."""
    rng = np.random.default_rng(3000 + (task == "lm"))
    model, ids, mask, _, _ = random_problem(rng, **SIZES, task=task)
    path = str(tmp_path / "model.safetensors")
    save_model(model, path)
    tensors = safetensors_torch.load_file(path)
    assert set(tensors) == set(LEGACY_TO_TORCH), f"walkthrough model file has {sorted(tensors)}"
    assert tensors["Wxh"].shape == (SIZES["hidden"], len(model.vocab))
    assert tensors["bh"].abs().max() > 0.1, "bh should be non-zero so the bias mapping matters"

    module, names, _ = load_torch_model(path)
    assert not module.rnn.bias_hh_l0.detach().any()
    assert torch.equal(module.rnn.bias_ih_l0.detach(), tensors["bh"])
    logits, _ = model.forward(ids, mask)                                  # s_0 = 0, as in the walkthrough
    inputs = module.inputs(torch.from_numpy(ids))
    with torch.no_grad():
        if task == "classify":
            packed = pack_padded_sequence(inputs, torch.from_numpy(mask.sum(1)), batch_first=True,
                                          enforce_sorted=False)
            _, h_n = module.rnn(packed)
            close(logits, module.fc(h_n[-1]), "logits of the walkthrough model (Wxh, Whh, bh, Why, by)")
        else:
            outputs, _ = module.rnn(inputs)
            ours = logits.transpose(1, 0, 2)
            close(ours[mask], module.fc(outputs)[torch.from_numpy(mask)],
                  "logits of the walkthrough model (Wxh, Whh, bh, Why, by) at real steps")

    # the same numbers by hand from the file's tensors, as docs/model-format.md reads them
    W = {name: tensor.numpy() for name, tensor in tensors.items()}
    for row in range(ids.shape[0]):
        h = np.zeros(SIZES["hidden"])
        for t in np.flatnonzero(mask[row]):
            h = np.tanh(W["Wxh"][:, ids[row, t]] + W["Whh"] @ h + W["bh"])
            if task == "lm":
                close(logits[t, row], W["Why"] @ h + W["by"], f"lm logits row {row} step {t} by hand")
        if task == "classify":
            close(logits[row], W["Why"] @ h + W["by"], f"classifier logits row {row} by hand")


@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=CELL_IDS)
def test_pytorchs_gate_order_is_the_one_each_cell_declares(cell, nonlinearity):
    """torch_model.py and the exports hand tinyrnn's tensors to nn.RNN / LSTM / GRU unchanged,
    and the ONNX export reorders blocks by name from the cell's GATES: both hold because one
    PyTorch step equals the cell's reference_step, which reads its blocks by GATES."""
    from tinyrnn.nn import gru, lstm, rnn

    rng = np.random.default_rng(7)
    kind = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[cell]
    extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    torch_cell = kind(4, 3, **extra).double()
    params = {}
    for name, tensor in torch_cell.named_parameters():
        params[name] = rng.normal(0, 0.7, size=tuple(tensor.shape))
        tensor.data = torch.from_numpy(params[name])
    x, h, c = rng.normal(size=(2, 4)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    if cell == "lstm":
        theirs = torch.cat(torch_cell(torch.from_numpy(x), (torch.from_numpy(h), torch.from_numpy(c))), 1)
        mine = np.concatenate(lstm.reference_step(x, h, c, **params), axis=1)
    else:
        theirs = torch_cell(torch.from_numpy(x), torch.from_numpy(h))
        mine = gru.reference_step(x, h, **params) if cell == "gru" else \
            rnn.reference_step(x, h, **params, nonlinearity=nonlinearity)
    close(mine, theirs.detach(), f"{cell} reference_step vs PyTorch's step")
