"""A tinyrnn model that reads numbers (config "features": F per step) as a PyTorch nn.Module.

Like torch_model.py this file needs only torch: copy it into a project that has left tinyrnn.
Build the module from the "config" metadata of a file written by `tinyrnn export --format
torch` and load that file's tensors into it (strictly: the standardisation statistics are
tensors of the file, registered here as buffers under the same names):

    import json
    from safetensors import safe_open
    from safetensors.torch import load_file
    with safe_open("model.torch.safetensors", "pt") as f:
        config = json.loads(f.metadata()["config"])
    model = build(config).double()                    # .double() for a float64 model
    model.load_state_dict(load_file("model.torch.safetensors"))

build(config) is TorchNumericClassifier (task "classify"), TorchRegressor ("regress") or
TorchForecaster ("forecast"). Every one standardises its inputs itself and gives its outputs
in the data's units (dropout, which tinyrnn uses only in training, is not part of the module):

    x'_t = (x_t - input_mean) / input_std             per feature, (F,) buffers
    outputs, h_n = RNN / LSTM / GRU (x', packed by length)
    features = h_n of the top layer, both directions; or the mean / max of the top layer's
               outputs over the real steps (config "pool")
    classifier:  p = softmax(fc(features))                                     (B, C)
    regressor:   y = fc(features) * target_std + target_mean                   (B, R)
    forecaster:  a window (B, W, C) of C series, C = F, read as x' = (x - m) / s, with
                 scaling "window": m, s the window's own per-series mean and spread,
                 s = sqrt(var over the W steps + (0.03 input_std)^2); "global": m = input_mean,
                 s = input_std. fc's H*C outputs are ordered step by step [t+1: c_1 .. c_C,
                 t+2: ...]; the forecast is fc(h_n).view(B, H, C) * s + m          (B, H, C)
"""
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
WINDOW_FLOOR = 0.03           # scaling "window": the spread's floor, in units of input_std (tinyrnn.numeric's)


def build(config):
    """The module of a numeric tinyrnn file's config (by its task)."""
    kinds = {"classify": TorchNumericClassifier, "regress": TorchRegressor, "forecast": TorchForecaster}
    if config.get("task") not in kinds or not config.get("features"):
        raise ValueError(f"not a config of a numeric classifier, regressor or forecaster: task "
                         f"{config.get('task')!r}, features {config.get('features')!r}")
    return kinds[config["task"]](config)


class NumericRNN(nn.Module):
    """nn.RNN / nn.LSTM / nn.GRU (batch_first) over F standardised numbers per step, and
    nn.Linear: named rnn, fc; buffers input_mean, input_std (F,)."""

    def __init__(self, config, outputs):
        super().__init__()
        F, H = config["features"], config["hidden_size"]
        self.pool, self.directions = config.get("pool", "last"), 2 if config.get("bidirectional") else 1
        extra = {"nonlinearity": config.get("nonlinearity", "tanh")} if config["cell"] == "rnn" else {}
        self.rnn = CELLS[config["cell"]](F, H, num_layers=config.get("num_layers", 1), batch_first=True,
                                         bidirectional=self.directions == 2, **extra)
        self.fc = nn.Linear(self.directions * H, outputs)
        self.register_buffer("input_mean", torch.zeros(F))
        self.register_buffer("input_std", torch.ones(F))

    def standardized(self, values):
        """x' = (x - input_mean) / input_std, per feature."""
        return (values - self.input_mean) / self.input_std

    def features(self, scaled, lengths=None):
        """What fc reads (B, D*H) from standardised inputs (B, T, F); lengths (B,) >= 1 of the
        real steps (None: every row has all T; the padding's values are never read)."""
        T = scaled.shape[1]
        if lengths is None:
            outputs, state = self.rnn(scaled)
        else:
            packed = pack_padded_sequence(scaled, lengths.cpu(), batch_first=True, enforce_sorted=False)
            outputs, state = self.rnn(packed)
        if self.pool == "last":
            h_n = state[0] if isinstance(state, tuple) else state          # the LSTM's (h_n, c_n)
            return torch.cat(list(h_n[-self.directions:]), dim=1)          # top layer, both directions
        if lengths is None:
            return outputs.mean(dim=1) if self.pool == "mean" else outputs.amax(dim=1)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=T)
        lengths = lengths.to(outputs.device)
        real = (torch.arange(T, device=outputs.device)[None, :] < lengths[:, None]).unsqueeze(2)
        if self.pool == "mean":
            return (outputs * real).sum(dim=1) / lengths[:, None].to(outputs.dtype)
        return outputs.masked_fill(~real, float("-inf")).amax(dim=1)

    def outputs(self, values, lengths=None):
        """fc's outputs for raw values (B, T, F): logits, or standardised predictions."""
        return self.fc(self.features(self.standardized(values), lengths))


class TorchNumericClassifier(NumericRNN):
    """Sequences of F numbers per step -> class probabilities (B, C)."""

    def __init__(self, config):
        super().__init__(config, config["num_classes"])

    def logits(self, values, lengths=None):
        """values (B, T, F) float in the data's units, lengths (B,) int64 or None -> (B, C)."""
        return self.outputs(values, lengths)

    def forward(self, values, lengths=None):
        return torch.softmax(self.logits(values, lengths), dim=-1)

    def log_probabilities(self, values, lengths=None):
        """ln of forward's probabilities, computed stably (for a loss such as nll_loss)."""
        return torch.log_softmax(self.logits(values, lengths), dim=-1)


class TorchRegressor(NumericRNN):
    """Sequences of F numbers per step -> R real targets in the data's units; buffers
    target_mean, target_std (R,)."""

    def __init__(self, config):
        R = config["num_targets"]
        super().__init__(config, R)
        self.register_buffer("target_mean", torch.zeros(R))
        self.register_buffer("target_std", torch.ones(R))

    def forward(self, values, lengths=None):
        """values (B, T, F) float, lengths (B,) int64 or None -> predictions (B, R)."""
        return self.outputs(values, lengths) * self.target_std + self.target_mean


class TorchForecaster(NumericRNN):
    """Windows of W past steps of C series -> their next H values (the direct strategy)."""

    def __init__(self, config):
        super().__init__(config, config["horizon"] * config["features"])
        self.horizon, self.series, self.scaling = config["horizon"], config["features"], config.get("scaling", "window")

    def scale(self, windows):
        """(m, s), each (B, 1, C) for scaling "window", (C,) for "global"."""
        if self.scaling == "global":
            return self.input_mean, self.input_std
        mean = windows.mean(dim=1, keepdim=True)
        floor = WINDOW_FLOOR * self.input_std
        return mean, torch.sqrt(windows.var(dim=1, unbiased=False, keepdim=True) + floor * floor)

    def forward(self, windows):
        """windows (B, W, C) float in the data's units -> forecasts (B, H, C), step t+1 first."""
        mean, spread = self.scale(windows)
        z = self.fc(self.features((windows - mean) / spread))
        return z.view(-1, self.horizon, self.series) * spread + mean
