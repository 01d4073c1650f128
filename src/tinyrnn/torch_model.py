"""A tinyrnn model as a PyTorch nn.Module, for training at scale or deploying with PyTorch.

This file needs only torch (not tinyrnn, not NumPy): copy it into a project that has left
tinyrnn. Build it from the "config" metadata of a file written by
`tinyrnn export --format torch` and load that file's tensors into it:

    import json
    from safetensors import safe_open
    from safetensors.torch import load_file
    with safe_open("model.torch.safetensors", "pt") as f:
        config = json.loads(f.metadata()["config"])
    model = TorchRNN(config).double()                 # .double() for a float64 model
    model.load_state_dict(load_file("model.torch.safetensors"))

The tensors load as they are: each tinyrnn cell declares PyTorch's gate order as its own
(GATES in tinyrnn/nn/lstm.py and gru.py: i, f, g, o and r, z, n), which tinyrnn's tests hold
equal to nn.LSTM's and nn.GRU's (tests/test_torch_parity.py).

It computes what tinyrnn computes (dropout, which tinyrnn uses only in training, is not
part of the module: add it where you train):

    x_t = E[id_t]  or  onehot(id_t)                  (one-hot models hold no embedding tensor)
    outputs, h_n = RNN / LSTM / GRU (x, packed by length)
    classifier:      p = softmax(fc(h_n of the top layer, both directions; or the mean / max
                     of the top layer's outputs over the real steps))           (B, C)
    language model:  p_t = softmax(fc(h_t)) at every step                      (B, T, V)
"""
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class TorchRNN(nn.Module):
    """[nn.Embedding] + nn.RNN / nn.LSTM / nn.GRU (batch_first) + nn.Linear, named embedding, rnn, fc."""

    def __init__(self, config):
        super().__init__()
        V, H, E = config["vocab_size"], config["hidden_size"], config.get("embed_size")
        self.task, self.pool = config["task"], config.get("pool", "last")
        self.vocab_size, self.directions = V, 2 if config.get("bidirectional") else 1
        if E:
            self.embedding = nn.Embedding(V, E)
        extra = {"nonlinearity": config.get("nonlinearity", "tanh")} if config["cell"] == "rnn" else {}
        self.rnn = CELLS[config["cell"]](E or V, H, num_layers=config.get("num_layers", 1), batch_first=True,
                                         bidirectional=self.directions == 2, **extra)
        outputs = config["num_classes"] if self.task == "classify" else V
        self.fc = nn.Linear(self.directions * H, outputs)

    def inputs(self, ids):
        """x_t for every step: (B, T, E), or one-hot (B, T, V)."""
        if hasattr(self, "embedding"):
            return self.embedding(ids)
        return nn.functional.one_hot(ids, self.vocab_size).to(self.fc.weight.dtype)

    def logits(self, ids, lengths):
        """ids (B, T) int64 (padding: any id, e.g. 0), lengths (B,) >= 1 -> fc's outputs:
        (B, C) for a classifier, (B, T, V) for a language model."""
        packed = pack_padded_sequence(self.inputs(ids), lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, state = self.rnn(packed)
        if self.task == "lm":
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=ids.shape[1])
            return self.fc(outputs)
        if self.pool == "last":
            h_n = state[0] if isinstance(state, tuple) else state          # the LSTM's (h_n, c_n)
            features = torch.cat(list(h_n[-self.directions:]), dim=1)      # top layer, both directions
        else:
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=ids.shape[1])
            lengths = lengths.to(outputs.device)
            real = (torch.arange(ids.shape[1], device=outputs.device)[None, :] < lengths[:, None]).unsqueeze(2)
            if self.pool == "mean":
                features = (outputs * real).sum(dim=1) / lengths[:, None].to(outputs.dtype)
            else:
                features = outputs.masked_fill(~real, float("-inf")).amax(dim=1)
        return self.fc(features)

    def forward(self, ids, lengths):
        """Probabilities: (B, C) for a classifier, (B, T, V) for a language model."""
        return torch.softmax(self.logits(ids, lengths), dim=-1)

    def log_probabilities(self, ids, lengths):
        """ln of forward's probabilities, computed stably (for a loss such as nll_loss)."""
        return torch.log_softmax(self.logits(ids, lengths), dim=-1)
