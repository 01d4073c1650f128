"""`tinyrnn train --task forecast --series FILE`: a forecaster of one or more series (the
file's value columns) from windows of --window past steps to the next --horizon values, all at
once from the last state. --holdout N keeps the last N values out of training and tests on
them; --valid-split F validates on the last windows in time order."""
from contextlib import nullcontext

import numpy as np

from ..errors import DataError, TinyRNNError
from ..plots import require_matplotlib
from ..tasks.regress import RealTargets, RegressTask, holdout_windows, make_windows, seasonal_scale, split_windows
from ..training import Trainer
from .checkpointing import command_checkpoints
from .common import data_inputs, locked_outputs, model_options, output_may_close
from .numeric_data import read_forecast_series
from .presets import recipe_for, with_preset_options
from .train_numeric import RegressionReport, finish, train_or_resume
from .training import train_config


def run(args):
    args = with_preset_options(args, "forecast")
    if not args.series:
        raise TinyRNNError("--task forecast needs --series FILE (a CSV with a header and one or more value columns)")
    if args.plot:
        require_matplotlib()
    outputs = {"--out": (args.out, "model:forecast"), "--json-log": (args.json_log, "log"),
               "--checkpoint-dir": (args.checkpoint_dir, "folder"), "--plot": (args.plot, "png")}
    checkpoints = command_checkpoints(args)
    with locked_outputs(outputs, data_inputs(series=args.series, init_from=args.init_from), args.force), \
            checkpoints.held() if checkpoints else nullcontext(), output_may_close():
        return _run(args, checkpoints)


def _run(args, checkpoints):
    series = read_forecast_series(args.series, args)
    overrides = {name: getattr(args, name) for name in ("epochs", "hidden", "init", "optimizer", "lr", "batch_size",
                                                        "clip_value", "log_every", "window", "horizon")}
    recipe, given = recipe_for("forecast", args.preset, overrides)
    saved = None
    if args.init_from:
        from ..io import load_model
        saved = load_model(args.init_from)
        for name in ("window", "horizon"):          # the file's, unless the options give them
            if saved.task == "forecast" and getattr(args, name) is None:
                recipe[name] = getattr(saved, name)
    window, horizon, held = recipe["window"], recipe["horizon"], args.holdout or 0
    if held >= len(series.values):
        raise TinyRNNError(f"--holdout {held} leaves no training values of the {len(series.values)} in {args.series}")
    history = series.values[:len(series.values) - held]
    scale = seasonal_scale(history, args.season or 1)
    inputs, targets = make_windows(history, window, horizon)
    if args.valid_split:
        train_data, valid_data = split_windows(inputs, targets, horizon, args.valid_split)
        valid_data.scale = scale                           # its figures as the test's: sMAPE, MASE
    else:
        train_data, valid_data = RealTargets(list(inputs), targets), None
    test_data = holdout_windows(history, series.values[len(history):], window, horizon, scale) if held else None
    config = train_config(args, recipe, given)
    rng = np.random.default_rng(args.seed)
    trained_on = history[:len(train_data) + window + horizon - 1]     # the values training windows read
    model = _model(args, recipe, series, trained_on, rng, saved)
    task = RegressTask(train_data, valid_data, test_data, shuffle=not args.no_shuffle, bucket=False,
                       loss=args.loss or "mse")
    print(f"{len(series.values)} steps of {len(series.names)} series ({', '.join(series.names)}); "
          f"{len(train_data)} training windows of {window} steps -> {horizon}"
          + (f"; {len(valid_data)} validation windows" if valid_data else "")
          + (f"; the last {held} values held out for testing" if held else ""))
    trainer = Trainer(model, task, config, rng)
    report = RegressionReport(len(train_data))
    history = train_or_resume(trainer, task, report, args, args.json_log, checkpoints,
                              (train_data, valid_data, test_data))
    finish(trainer, report, history, args, report.figures_line)
    return 0


def _model(args, recipe, series, history, rng, saved):
    if saved is not None:                         # --init-from
        model = saved
        if model.task != "forecast" or model.series_names != series.names or model.window != recipe["window"] \
                or model.horizon != recipe["horizon"]:
            raise TinyRNNError(f"{args.init_from} is not a forecaster of {', '.join(series.names)} with window "
                               f"{recipe['window']} and horizon {recipe['horizon']}")
        model_options(args).check_agrees(model, args.init_from)
        if args.scaling and args.scaling != model.config.scaling:
            raise TinyRNNError(f"--scaling {args.scaling} disagrees with {args.init_from} ({model.config.scaling})")
        return model
    settings = {"task": "forecast", "hidden_size": recipe["hidden"], "dtype": args.dtype or recipe.get("dtype", "float64"),
                "features": len(series.names), "input": "numeric", "horizon": recipe["horizon"],
                "window": recipe["window"], "scaling": args.scaling or "window"}
    model = model_options(args).build(settings, series.names, series.names, rng, recipe["init"])
    try:
        model.standardize_inputs([history])
    except DataError as error:
        raise DataError(f"{series.source}: {error}", remedy=error.remedy) from None
    return model
