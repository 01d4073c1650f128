"""Time to 100 % test accuracy: tinyrnn's presets vs PyTorch's full-batch Adam.

For each of 5 seeds, train until the test accuracy first reaches the target (evaluated
after every epoch; evaluation time excluded) or the epoch limit. Reports the median
training time over the seeds that reach it, and how many do.

    tinyrnn fast             --preset fast (Adam lr 0.02, batches of 16, hidden 32, orthogonal)
    tinyrnn full-batch Adam  the PyTorch recipe below, run by tinyrnn (same math)
    tinyrnn walkthrough      per-sample SGD, the walkthrough's recipe (on the NumPy engine, and
                             on the compiled one where numba is installed)
    torch full-batch Adam    nn.RNN on one-hot inputs, hidden 64, Adam lr 0.03, clip 1

    python benchmarks/time_to_accuracy.py [--quick] [--json] [--train T.csv --test S.csv]
"""
import argparse
import importlib.util
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import emit, load_torch, median  # noqa: E402
from recipes import TorchClassifier, encoded, task  # noqa: E402

from tinyrnn.models import Classifier  # noqa: E402
from tinyrnn.commands.presets import PRESETS  # noqa: E402
from tinyrnn.tasks import train  # noqa: E402
from tinyrnn.training import TrainConfig  # noqa: E402

RECIPES = {
    "tinyrnn fast": dict(PRESETS["classify"]["fast"]),
    "tinyrnn full-batch Adam": {"hidden": 64, "init": "xavier", "optimizer": "adam", "lr": 0.03,
                                "batch_size": 1_000_000, "clip_value": 1.0},
    "tinyrnn walkthrough": dict(PRESETS["classify"]["walkthrough"]),
}
if importlib.util.find_spec("numba"):      # the walkthrough's recipe on the compiled engine too
    RECIPES["tinyrnn walkthrough, compiled engine"] = {**RECIPES["tinyrnn walkthrough"], "engine": "compiled"}


def tinyrnn_run(recipe, vocab, classes, train_data, test_data, seed, target, max_epochs):
    os.environ["TINYRNN_ENGINE"] = recipe.get("engine", "numpy")    # (read at the model's first step)
    rng = np.random.default_rng(seed)
    model = Classifier(vocab, classes, recipe["hidden"]).initialize(rng, recipe["init"])
    config = TrainConfig(epochs=max_epochs, optimizer=recipe["optimizer"], lr=recipe["lr"],
                         batch_size=recipe["batch_size"], clip_value=recipe["clip_value"],
                         log_every=max_epochs, target_accuracy=target)
    last = train(model, train_data, config, rng, test_data)[-1]
    return (last.epoch, last.train_seconds) if last.target_reached else None


def torch_run(torch, vocab, classes, train_data, test_data, seed, target, max_epochs):
    torch.manual_seed(seed)
    model = TorchClassifier(torch, len(vocab), len(classes), 64, "float64")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    batch = model.batch(train_data, range(len(train_data)))
    test_batch = model.batch(test_data, range(len(test_data)))
    seconds = 0.0
    for epoch in range(1, max_epochs + 1):
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model.logits(batch[0], batch[1]), batch[2])
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 1.0)
        optimizer.step()
        seconds += time.perf_counter() - started
        if model.accuracy(test_batch) >= target:
            return epoch, seconds
    return None


def summarize(name, runs):
    reached = [run for run in runs if run]
    return {"recipe": name, "seeds": len(runs), "reached": len(reached),
            "median_seconds": median([s for _, s in reached]),
            "median_epochs": median([e for e, _ in reached]),
            "epochs": [run[0] if run else None for run in runs]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the slow walkthrough recipe")
    parser.add_argument("--json", action="store_true", help="one JSON object per recipe")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--target", type=float, default=1.0)
    parser.add_argument("--train", help="training file (default: the embedded dataset)")
    parser.add_argument("--test", help="test file (needed with --train)")
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    if bool(args.train) != bool(args.test):
        parser.error("--train and --test go together")
    torch = None if args.no_torch else load_torch()
    vocab, classes, train_set, test_set = task(args.train, args.test)
    train_data, test_data = encoded(vocab, classes, train_set), encoded(vocab, classes, test_set)
    seeds = range(args.seeds)
    rows = []
    for name, recipe in RECIPES.items():
        walkthrough = name.startswith("tinyrnn walkthrough")
        if args.quick and walkthrough:
            continue
        max_epochs = 1000 if walkthrough else 300
        tinyrnn_run(recipe, vocab, classes, train_data, test_data, 0, args.target, 1)   # (compiles, if compiled)
        rows.append(summarize(name, [tinyrnn_run(recipe, vocab, classes, train_data, test_data, seed,
                                                 args.target, max_epochs) for seed in seeds]))
    if torch:
        rows.append(summarize("torch full-batch Adam", [torch_run(torch, vocab, classes, train_data,
                                                                  test_data, seed, args.target, 300)
                                                        for seed in seeds]))
        torch_seconds = rows[-1]["median_seconds"]
        for row in rows[:-1]:
            if torch_seconds and row["median_seconds"]:
                row["vs_torch"] = torch_seconds / row["median_seconds"]
    emit(rows, [("recipe", "recipe", "s"), ("reached", "seeds at target", "d"),
                ("median_epochs", "median epochs", ".0f"), ("median_seconds", "median s", ".4f"),
                ("vs_torch", "x torch", ".1f")], args.json)


if __name__ == "__main__":
    main()
