"""`tinyrnn eval` of models that read numbers: a numeric classifier (accuracy, confusion matrix,
per-class figures and its most confident mistakes, as for texts), a regressor (loss, RMSE, MAE,
R^2 per target and over all) and a forecaster (sMAPE, MASE, MAE of forecasts of held-out values)."""
import json

from ..options import given
from ..errors import TinyRNNError
from ..tasks.regress import evaluate_regression, holdout_windows, regression_figures, seasonal_scale
from .numeric_data import check_data_kind, encode, read_for_model, shown
from .predict import predictions


def evaluate_numeric(model, args, report_classifier):
    """eval of a numeric classifier or regressor on --data; a forecaster on --series --holdout."""
    if model.task == "forecast":
        return _evaluate_forecaster(model, args)
    if args.series or args.holdout:
        raise TinyRNNError(f"--series and --holdout apply to forecasters; {args.model} is a {model.task} model")
    if not model.config.features:                          # a regressor of texts (numbers: read_for_model)
        check_data_kind(model, args.data, args.format, args.model)
        if not args.data:
            raise TinyRNNError(f"{args.model} is a regressor of texts: give --data FILE with a text column and "
                               f"a number in --label-column")
        from .text_regression import read_texts
        if not given(args, "label_column") and len(model.target_names) == 1:
            args.label_column = model.target_names[0]      # the regressor's target: its name
        dataset = read_texts(args.data, args)
        return _report_regressor(model, encode(model, dataset), args)
    if not args.data:
        raise TinyRNNError(f"{args.model} reads numeric sequences: give --data FILE (.ts, .npz or long CSV)")
    dataset = read_for_model(model, args.data, args)
    examples = encode(model, dataset)
    if model.task == "classify":
        return report_classifier(model, examples, args.json, args.errors,
                                 lambda row: f"({len(examples.sequences[row])} steps)", dataset.sources)
    return _report_regressor(model, examples, args)


def _report_regressor(model, examples, args):
    """Loss, RMSE, MAE and R^2 over all targets, then per target when there are several."""
    if examples.targets.shape[1] != len(model.target_names):
        raise TinyRNNError(f"{args.data[0]}: {examples.targets.shape[1]} targets; {args.model} predicts "
                           f"{len(model.target_names)}")
    predicted = predictions(model, examples.sequences)             # refused first if not finite
    figures = evaluate_regression(model, examples)
    per_target = {name: regression_figures(predicted[:, [i]], examples.targets[:, [i]])
                  for i, name in enumerate(model.target_names)}
    if args.json:
        print(json.dumps({"examples": len(examples), **figures, "targets": per_target}))
        return 0
    print(f"Loss {figures['loss']:.4f} | RMSE {figures['rmse']:.4g} | MAE {figures['mae']:.4g} | "
          f"R^2 {shown(figures['r2'], '.3f')} ({len(examples)} examples)")
    if len(per_target) > 1:
        for name, values in per_target.items():
            print(f"{name}\tRMSE {values['rmse']:.4g} | MAE {values['mae']:.4g} | R^2 {shown(values['r2'], '.3f')}")
    return 0


def _evaluate_forecaster(model, args):
    from .forecast import read_model_series
    if args.data:
        raise TinyRNNError(f"{args.model} is a forecaster: give --series FILE --holdout N, not --data")
    if not (args.series and args.holdout):
        raise TinyRNNError(f"{args.model} is a forecaster: give --series FILE and --holdout N (the last N "
                           f"values are forecast from the ones before them)")
    series = read_model_series(model, args.series, args)
    if args.holdout >= len(series.values):
        raise TinyRNNError(f"--holdout {args.holdout} leaves no history of the {len(series.values)} values")
    history, held_out = series.values[:-args.holdout], series.values[-args.holdout:]
    data = holdout_windows(history, held_out, model.window, model.horizon, seasonal_scale(history, args.season or 1))
    predicted = predictions(model, data.sequences)
    figures = evaluate_regression(model, data)
    report = {"forecasts": len(data), "horizon": model.horizon, "values": int(data.targets.size),
              **{key: figures[key] for key in ("smape", "mase", "mae", "rmse")},
              **{key: (values[:, 0] if values.shape[1] == 1 else values).tolist() for key, values in
                 (("forecast", predicted.reshape(-1, len(model.series_names))),
                  ("actual", data.targets.reshape(-1, len(model.series_names))))}}
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"sMAPE {figures['smape']:.2f} % | MASE {shown(figures['mase'], '.3f')} (season {args.season or 1}) | "
          f"MAE {figures['mae']:.4g} | RMSE {figures['rmse']:.4g} ({len(data)} forecast(s) of "
          f"{model.horizon} steps, {data.targets.size} values)")
    return 0

