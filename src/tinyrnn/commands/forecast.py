"""`tinyrnn forecast --model M --series FILE`: the next values after the end of a series, from
a saved forecaster. Beyond the model's horizon the forecasts are fed back as history (the
recursive strategy) to reach --horizon."""
import json
import sys
from argparse import Namespace

import numpy as np

from ..describe import kind
from ..errors import TinyRNNError
from ..io import load_model
from ..numeric import WINDOW_FLOOR
from ..plots import require_matplotlib
from ..sampling import check_finite
from ..text_output import printable
from .common import locked_outputs
from .numeric_data import in_model_order, read_forecast_series, refuse_blank


def run(args):
    if args.plot:
        require_matplotlib()
    with locked_outputs({"--plot": (args.plot, "png")}, [("--series", args.series), ("--model", args.model)],
                        args.force):
        return _run(args)


def _run(args):
    model = load_forecaster(args.model, "forecast")
    series = read_model_series(model, args.series, args)
    steps = args.horizon or model.horizon
    with np.errstate(all="ignore"):
        forecast = forecast_steps(model, series.values, steps)
    check_finite(forecast)
    names = model.series_names
    if args.json:
        values = forecast[:, 0].tolist() if len(names) == 1 else forecast.tolist()
        print(json.dumps({"forecast": values, "series": names}))
    else:
        print("step\t" + "\t".join(names))
        digits = significant_digits(series.values)
        for step, row in enumerate(forecast, start=1):
            print(f"t+{step}\t" + "\t".join(f"{value:.{digits}g}" for value in row))
    if args.plot:
        from ..plots_series import plot_forecast
        plot_forecast(args.plot, series.values, forecast, names, f"{args.model}: {steps} steps ahead")
        print(f"saved {printable(args.plot)}", file=sys.stderr)
    return 0


def significant_digits(values):
    """Digits to print forecasts of values (T, C) with: 6 for the variation of the series from
    step to step (the median change), more when it rides on a level over 100 times that change
    (1e12 + sin t would print 1e+12 at every step)."""
    steps = np.abs(np.diff(values, axis=0))
    level, spread = float(np.max(np.abs(values))), float(np.median(steps[steps > 0])) if (steps > 0).any() else 0.0
    extra = int(np.floor(np.log10(level / spread))) - 1 if spread > 0 and level > spread else 0
    return min(6 + max(extra, 0), 17)


def load_forecaster(path, command):
    model = load_model(path)
    if model.task != "forecast":
        raise TinyRNNError(f"{path} is {kind(model)}; {command} needs a forecaster "
                           f"(train one with tinyrnn train --task forecast)")
    return model


def read_model_series(model, path, args):
    """The series at path with the model's columns (or --columns), as many as the model reads."""
    refuse_blank("--columns", args.columns)
    columns = ",".join(in_model_order("--columns", args.columns.split(","), model.series_names, args.model)
                       if args.columns else model.series_names)
    series = read_forecast_series(path, Namespace(columns=columns, encoding=args.encoding,
                                                  time_column=getattr(args, "time_column", None)))
    if len(series.names) != len(model.series_names):
        raise TinyRNNError(f"{path}: {len(series.names)} value columns; {args.model} forecasts "
                           f"{len(model.series_names)} ({', '.join(model.series_names)})")
    if len(series.values) < model.window:
        raise TinyRNNError(f"{path}: {len(series.values)} values; {args.model} reads the last {model.window}")
    _check_scale(model, series, path, args.model)
    return series


def _check_scale(model, series, path, model_path):
    """With window scaling, a window's spread is floored at WINDOW_FLOOR of the training series'
    (numeric.window_scale): a series that varies less than that floor would be read as flat,
    and forecast wrong without a word. Such a series is of another scale than the model's."""
    if model.config.scaling != "window":
        return
    floor = WINDOW_FLOOR * model.buffers["input_std"].astype(np.float64)
    spread = series.values.std(axis=0)
    below = np.flatnonzero(spread < floor)
    if len(below):
        column = below[0]
        raise TinyRNNError(f"{path}: series {printable(model.series_names[column])!r} varies by {spread[column]:.3g}, "
                           f"below the {floor[column]:.3g} at which {model_path} floors a window's spread "
                           f"({WINDOW_FLOOR:g} of its training series'): it would read this series as flat; it "
                           f"forecasts series of the scale it was trained on")


def forecast_steps(model, history, steps):
    """The next `steps` values after history (T, C), (steps, C): H at a time, each block read
    from the history extended by the ones before it."""
    blocks, known = [], np.asarray(history, dtype=model.dtype)
    while sum(len(block) for block in blocks) < steps:
        block = model.forecast(known)
        blocks.append(block)
        known = np.concatenate([known, block])
    return np.concatenate(blocks)[:steps]
