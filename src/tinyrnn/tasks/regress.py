"""Real targets: regression (sequence -> R numbers) and forecasting (windows of a long series ->
its next H values). The loss is the mean squared error (or Huber's) of the standardised outputs
(regression.py); the figures are in the data's units:

    RMSE = sqrt(mean (y - f)^2)    MAE = mean |y - f|    R^2 = 1 - sum (y - f)^2 / sum (y - mean y)^2
    sMAPE = mean 200 |y - f| / (|y| + |f|)  (%)        MASE = MAE / mean |x_t - x_{t-m}| of the
                                                        training series (m the season; 1: the naive step)
Validation (keep-best, early stop) reads the loss."""
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError
from ..nn.losses import REGRESSION_LOSSES
from ..numeric import root_mean_square
from ..training.task import Batch
from .classify import ClassifyTask, pad_sequences


@dataclass
class RealTargets:
    """Examples with real targets: sequences[i] (T_i, F) numbers (or (T_i,) ids), targets (N, R).
    scale: forecasts' MASE denominator (their figures then include sMAPE and MASE)."""

    sequences: list
    targets: np.ndarray
    scale: float | None = None

    def __len__(self):
        return len(self.sequences)


def regression_figures(predicted, actual):
    """RMSE, MAE and R^2 (over all outputs together; None where the actual values do not vary)
    of predictions against actual values (N, R)."""
    error = np.asarray(predicted, dtype=np.float64) - actual
    rmse, spread = root_mean_square(error), root_mean_square(actual - actual.mean(axis=0))
    with np.errstate(over="ignore"):
        r2 = 1.0 - float(np.square(np.float64(rmse) / spread)) if spread > 0 else None  # 1 - sum e^2 / sum d^2
    return {"rmse": float(rmse), "mae": float(np.mean(np.abs(error))), "r2": r2}


def forecast_figures(predicted, actual, scale):
    """sMAPE (%), MASE and MAE of forecasts against the actual values, both (..., C) or (N, H*C)
    step by step (the last axis runs through the C series). scale (C,): each series' MASE
    denominator; MASE is the mean over the series of their MAE / scale (None if a scale is 0)."""
    scale = np.atleast_1d(np.asarray(scale, dtype=np.float64))
    error = np.abs(predicted - actual).reshape(-1, len(scale))                 # (values per series, C)
    both = (np.abs(actual) + np.abs(predicted)).reshape(error.shape)
    smape = float(np.mean(np.where(both > 0, 200.0 * error / np.where(both > 0, both, 1.0), 0.0)))
    with np.errstate(all="ignore"):
        mase = float(np.mean(error.mean(axis=0) / scale)) if (scale > 0).all() else None
    mase = mase if mase is not None and np.isfinite(mase) else None     # (a scale that underflows: n/a)
    return {"smape": smape, "mase": mase, "mae": float(error.mean())}


def seasonal_scale(values, season):
    """Each series' MASE denominator: mean |x_t - x_{t-m}| over the training series (T, C), (C,)."""
    if len(values) <= season:
        raise DataError(f"a season of {season} steps needs more than {season} values before the held-out "
                        f"ones; there are {len(values)}")
    return np.mean(np.abs(values[season:] - values[:-season]), axis=0)


def evaluate_regression(model, data, loss="mse"):
    """{"loss": mean loss in standardised units, "rmse", "mae", "r2"} of model on data."""
    predicted, value = model.predict_with_loss(data.sequences, data.targets, loss=loss)
    figures = {"loss": value, **regression_figures(predicted, data.targets)}
    if data.scale is not None:
        figures.update(forecast_figures(predicted, data.targets, data.scale))
    return figures


class RegressTask(ClassifyTask):
    """Batches as a classifier's (of similar lengths, in a new order each epoch); the targets
    are numbers, the loss mse or huber; validation by the loss (lower is better)."""

    def __init__(self, train_data, valid=None, test=None, shuffle=True, bucket=True, loss="mse"):
        super().__init__(train_data, valid, test, shuffle, bucket)
        self.loss = loss

    def prepare(self, config):
        if self.loss not in REGRESSION_LOSSES:
            raise ConfigError(f"unknown regression loss {self.loss!r}; expected one of {list(REGRESSION_LOSSES)}")
        if config.target_accuracy is not None:
            raise ConfigError("a target accuracy applies to classifiers; regression has none")
        super().prepare(config)

    def settings(self):
        return {"shuffle": self.shuffle, "bucket": self.bucket, "loss": self.loss}

    def batch(self, rows, rng):
        rows = [rows] if isinstance(rows, int) else rows
        values, mask = pad_sequences([self.data.sequences[i] for i in rows])
        return Batch(values, None if mask.all() else mask, self.data.targets[rows], len(rows), {"loss": self.loss})

    def tally(self, running, batch, result):
        running["loss"] = running.get("loss", 0.0) + result.loss * batch.count
        running["count"] = running.get("count", 0) + batch.count

    def means(self, running):
        return {"loss": running["loss"] / running["count"]}

    def evaluate(self, model, data):
        return evaluate_regression(model, data, self.loss)

    def loss_reference(self, model, batch_size=256):
        """The largest loss of one training example when the model answers 0 (the targets'
        standardised mean): a batch holding an outlier, or a forecast window that was flat
        before a rise, has a large loss that is the data's, not a sign of divergence."""
        worst, data = 0.0, self.data
        for start in range(0, len(data), batch_size):
            values, mask = model.pad(data.sequences[start:start + batch_size])
            mean, std = model.target_scale_of(values, mask)
            with np.errstate(all="ignore"):
                z = (data.targets[start:start + batch_size].reshape(len(values), -1) - mean) / std
                losses = z * z if self.loss == "mse" else np.where(np.abs(z) <= 1.0, 0.5 * z * z, np.abs(z) - 0.5)
            worst = max(worst, float(np.max(losses.mean(axis=1))))
        return worst

    def score(self, figures):
        return [-figures["loss"]]


def make_windows(values, window, horizon):
    """Every window of a series (T, C) in time order: inputs (N, W, C) and the next H values
    (N, H*C), N = T - W - H + 1."""
    count = len(values) - window - horizon + 1
    if count < 1:
        raise DataError(f"a series of {len(values)} steps has no window of {window} steps followed by "
                        f"{horizon} more")
    starts = np.arange(count)
    inputs = values[starts[:, None] + np.arange(window)]                     # (N, W, C)
    targets = values[starts[:, None] + window + np.arange(horizon)]           # (N, H, C)
    return inputs, targets.reshape(count, -1)


def holdout_windows(history, held_out, window, horizon, scale):
    """Test forecasts of the held-out values (N, C) after history (T, C): from the end of the
    history, then every H steps (rolling origin), so N must be a multiple of H."""
    if len(held_out) < horizon or len(held_out) % horizon:
        raise DataError(f"{len(held_out)} held-out values: forecasts of {horizon} steps test a multiple of "
                        f"{horizon} (every held-out value once)")
    values = np.concatenate([history, held_out])
    origins = range(len(history), len(values) - horizon + 1, horizon)
    if len(history) < window:
        raise DataError(f"{len(history)} values before the held-out ones are fewer than the window ({window})")
    return RealTargets([values[origin - window:origin] for origin in origins],
                       np.stack([values[origin:origin + horizon].reshape(-1) for origin in origins]), scale)


def split_windows(inputs, targets, horizon, valid_fraction):
    """(training, validation) RealTargets: the last windows in time order validate (a fraction
    of them, at least one); the training windows end before the first validation target, so no
    value the validation predicts is ever trained on."""
    count = len(inputs)
    held = max(1, int(round(valid_fraction * count)))
    first_valid = count - held
    last_train = first_valid - horizon                 # its targets end where validation's begin
    if last_train < 0:
        raise DataError(f"{count} windows are too few to validate on the last {held} (and keep the "
                        f"{horizon - 1} between them out)")
    return RealTargets(list(inputs[:last_train + 1]), targets[:last_train + 1]), \
        RealTargets(list(inputs[first_valid:]), targets[first_valid:])
