"""`tinyrnn explain --model M --data FILE [--example N]` for a model that reads numbers: its
prediction for one sequence of the file, and how much each time step and feature moved it
(gradient x input of the standardised numbers: x'_t,f * d out / d x'_t,f, where out is the
predicted class's ln p, or a regressor's first target); --png draws the series above them."""
import json
import sys

import numpy as np

from ..errors import TinyRNNError
from ..nn.functional import softmax
from ..sampling import check_finite
from ..text_output import printable
from .numeric_data import read_for_model


def explain_numeric(model, args):
    if model.task == "forecast":
        raise TinyRNNError(f"{args.model} is a forecaster; explain reads classifiers and regressors "
                           f"(see its forecasts with tinyrnn forecast --plot)")
    if args.text is not None or args.text_file or args.html:
        raise TinyRNNError(f"{args.model} reads numeric sequences: give --data FILE (and --example N), "
                           f"not a text")
    if not args.data:
        raise TinyRNNError(f"{args.model} reads numeric sequences: give --data FILE (.ts, .npz or long CSV) "
                           f"and --example N (default: 1, the first)")
    dataset = read_for_model(model, [args.data], args, labels_optional=True)
    number = args.example or 1
    if number > len(dataset):
        raise TinyRNNError(f"{args.data}: --example {number}, but the file has {len(dataset)} sequences")
    values = np.asarray(dataset.series[number - 1], dtype=model.dtype)
    with np.errstate(all="ignore"):
        facts = _explanation(model, values)
    numbers = [*facts.get("probabilities", {}).values(), *facts.get("prediction", {}).values(),
               *facts["step_relevance"]]
    check_finite(np.array(numbers, dtype=np.float64))
    facts["source"] = dataset.sources[number - 1]
    if args.png:
        from ..plots_series import plot_relevance
        standardised = (values - model.buffers["input_mean"]) / model.buffers["input_std"]
        plot_relevance(args.png, standardised, np.array(facts["relevance"]), model.feature_names,
                       f"{facts['source']}: {facts['explained']}")
        print(f"saved {printable(args.png)}", file=sys.stderr)
    if args.json:
        print(json.dumps(facts))
        return 0
    _print(facts, model.feature_names)
    return 0


def _explanation(model, values):
    """The prediction and the relevance (T, F) of each step and feature, as a JSON-ready dict."""
    if model.task == "classify":
        logits, _ = model.forward(values[None])
        probabilities = softmax(logits)[0]
        predicted = int(probabilities.argmax())
        relevance = model.input_relevance(values, predicted)
        facts = {"label": model.classes[predicted],
                 "probabilities": {name: float(p) for name, p in zip(model.classes, probabilities)},
                 "explained": f"ln p({model.classes[predicted]})"}
    else:
        prediction = model.predict([values])[0]
        relevance = model.input_relevance(values, 0)
        facts = {"prediction": {name: float(v) for name, v in zip(model.target_names, prediction)},
                 "explained": f"{model.target_names[0]} (standardised)"}
    relevance = np.asarray(relevance).reshape(len(values), -1)
    return {**facts, "features": list(model.feature_names), "steps": len(values),
            "relevance": relevance.tolist(), "step_relevance": relevance.sum(axis=1).tolist()}


def _print(facts, names):
    if "label" in facts:
        print(f"{facts['label']}\t{facts['probabilities'][facts['label']]:.3f}\t{facts['source']}")
    else:
        print("\t".join(f"{name} {value:.6g}" for name, value in facts["prediction"].items()) + f"\t{facts['source']}")
    relevance = np.array(facts["relevance"])
    print(f"\n{'step':>6}{'relevance':>12}  most relevant feature")
    for step, row in enumerate(relevance, start=1):
        top = int(np.abs(row).argmax())
        print(f"{step:>6}{row.sum():>+12.3g}  {names[top]} ({row[top]:+.3g})")
    print(f"\nrelevance: gradient x input of {facts['explained']} for the standardised numbers of each step "
          f"(summed over features; the feature whose share is largest beside it).")
