"""Real numbers out: a Regressor (sequence -> R real targets) and a Forecaster (a window of W
past steps of C series -> their next H values at once, the direct strategy). Both read the
pooled states of the one stack, like the Classifier, through a linear output:

    z = W h_n + b                          z in standardised units, (B, R) or (B, H*C)
    L = mean (z - z*)^2  (or Huber's loss)  z* the targets standardised:
        regress:  z* = (y - target_mean) / target_std           (buffers, fitted on training targets)
        forecast: z* = (y - m) / s      m, s: the window's own mean and spread, s floored at 0.03 of the
                                        training series' std (scaling "window"),
                                        or the training series' (scaling "global")
    prediction y = z std + mean        back in the data's units

Inputs are numbers (B, T, F) (a regressor may read tokens instead); the Forecaster's F is the
series' C columns, and its outputs are ordered step by step: [y_{t+1} c_1 .. c_C, y_{t+2} ...].
"""
import numpy as np

from .models import Classifier, StepResult
from .nn.losses import regression_loss
from .numeric import WINDOW_FLOOR, fit_standardization, window_scale


class Regressor(Classifier):
    """Many-to-one regression: `classes` of the Classifier are here the names of the R targets."""

    task = "regress"

    def _check_classes(self, names):
        if names is None or len(names) < 1 or len(set(names)) != len(names):
            raise ValueError(f"a {self.task} model needs distinct names of its outputs, got "
                             f"{None if names is None else list(names)}")
        self.classes = list(names)

    @property
    def target_names(self):
        return self.classes

    def standardize_targets(self, targets):
        """Fit the target standardisation to the training targets (N, R)."""
        mean, std = fit_standardization([targets], self.dtype, "targets")
        self.buffers["target_mean"][...], self.buffers["target_std"][...] = mean, std

    def _target_scale(self, run):
        """(mean, std) that turn outputs into the data's units, broadcasting over (B, R)."""
        return self.target_scale_of(None, None)

    def target_scale_of(self, values, mask):
        """_target_scale of a batch of inputs (B, T, F), without running the network."""
        return self.buffers["target_mean"], self.buffers["target_std"]

    def loss_and_gradients(self, ids, mask, targets, initial_state=None, rng=None, loss="mse"):
        """Mean loss (mse or huber) of the standardised outputs against the standardised
        targets (B, R) given in the data's units; fills self.grads. Returns a StepResult."""
        outputs, run, features, keep = self._forward(ids, mask, initial_state, rng)
        mean, std = self._target_scale(run)
        wanted = ((targets.reshape(outputs.shape) - mean) / std).astype(self.dtype, copy=False)
        value, d_outputs = regression_loss(outputs, wanted, loss)
        d_initial = self._backward(run, d_outputs, features, keep)
        return StepResult(value, self.stack.final_states(run), d_initial)

    def predict_proba(self, sequences, batch_size=256):
        raise TypeError(f"a {self.task} model gives numbers, not class probabilities: use predict")

    def predict(self, sequences, batch_size=256):
        """Sequences -> predictions in the data's units, (N, R)."""
        return self.predict_with_loss(sequences, None, batch_size)[0]

    def predict_with_loss(self, sequences, targets, batch_size=256, loss="mse"):
        """(predictions (N, R) in the data's units, mean loss of the standardised outputs against
        targets (N, R) as training measures it; None without targets)."""
        out = np.empty((len(sequences), len(self.classes)), dtype=self.dtype)
        total = 0.0
        for start in range(0, len(sequences), batch_size):
            ids, mask = self.pad(sequences[start:start + batch_size])
            outputs, run, _, _ = self._forward(ids, mask, None, None)
            mean, std = self._target_scale(run)
            out[start:start + batch_size] = outputs * std + mean
            if targets is not None:
                wanted = (targets[start:start + batch_size] - mean) / std
                total += regression_loss(outputs, wanted, loss)[0] * len(outputs)
        return out, None if targets is None else total / len(sequences)

    def input_relevance(self, ids, output=0):
        """Gradient x input of output `output` (standardised) for one sequence: (T,) for ids,
        (T, F) for numbers. Overwrites self.grads."""
        outputs, run, features, keep = self._forward(np.asarray(ids)[None], None, None, None)
        d_outputs = np.zeros_like(outputs)
        d_outputs[0, output] = 1.0
        self._backward(run, d_outputs, features, keep)
        return self.stack.input_relevance(self.params, run, bool(self.config.features))[:, 0]


class Forecaster(Regressor):
    """Windows (B, W, C) of C series -> their next H values, (B, H, C). `classes`: the C column
    names. Scaling "window" reads each window relative to its own mean and spread (trend and
    growing seasons look alike at every level); "global" by the training series' mean and std."""

    task = "forecast"

    @property
    def horizon(self):
        return self.config.horizon

    @property
    def window(self):
        return self.config.window

    def _check_classes(self, names):
        super()._check_classes(names)
        if len(names) != self.config.features:
            raise ValueError(f"a forecaster of {self.config.features} series needs their {self.config.features} "
                             f"names, got {list(names)}")
        self.series_names = self.classes                               # C names; outputs: H*C
        self.classes = [f"{name}[t+{step}]" for step in range(1, self.horizon + 1) for name in names]

    def input_scale(self, values, mask):
        """Windows (B, W, C) of W steps exactly: (m, s) of each window (B, 1, C) (scaling "window",
        s floored at WINDOW_FLOOR input_std), or the training series' (scaling "global")."""
        if values.shape[1] != self.window or not (mask is None or mask.all()):
            raise ValueError(f"a forecaster reads windows of {self.window} steps, got {values.shape[1]} "
                             f"{'with padding' if mask is not None and not mask.all() else 'steps'}")
        if self.config.scaling == "global":
            return self.buffers["input_mean"], self.buffers["input_std"]
        return window_scale(values, WINDOW_FLOOR * self.buffers["input_std"])

    def _target_scale(self, run):
        return self._tiled(*run.scale)

    def target_scale_of(self, values, mask):
        return self._tiled(*self.input_scale(values, mask))

    def _tiled(self, mean, spread):
        """Each window's (m, s) (B or 1, 1, C) for its H*C outputs, (B or 1, H*C)."""
        H, C = self.config.horizon, self.config.features
        return np.tile(mean.reshape(-1, C), H), np.tile(spread.reshape(-1, C), H)

    def forecast(self, history):
        """The next H values after history (T, C) in the data's units, (H, C): reads its last W steps."""
        history = np.asarray(history, dtype=self.dtype)
        if history.ndim != 2 or history.shape[1] != self.config.features or len(history) < self.window:
            raise ValueError(f"a history of at least {self.window} steps of {self.config.features} series "
                             f"is needed, got shape {history.shape}")
        return self.predict([history[-self.window:]])[0].reshape(self.horizon, self.config.features)
