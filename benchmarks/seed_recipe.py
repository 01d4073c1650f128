"""The walkthrough's recipe: time per 1000 epochs and microseconds per sample.

Per-sample SGD (lr 0.02), element-wise clipping to [-1, 1], hidden 64, normal/1000 init,
shuffled every epoch, float64; training time only (no evaluation). tinyrnn (its NumPy
engine, and its compiled engine where numba is installed) and PyTorch (nn.RNN on one-hot
inputs, the same recipe) alternate over several rounds; medians.

    python benchmarks/seed_recipe.py [--quick] [--json] [--train T.csv --test S.csv]
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
from tinyrnn.tasks import train  # noqa: E402
from tinyrnn.training import TrainConfig  # noqa: E402


def engines():
    """The engines to measure: NumPy's, and the compiled one where numba is installed."""
    return ["numpy", "compiled"] if importlib.util.find_spec("numba") else ["numpy"]


def tinyrnn_seconds(vocab, classes, data, epochs, seed, engine="numpy"):
    os.environ["TINYRNN_ENGINE"] = engine                # (read at the model's first step)
    rng = np.random.default_rng(seed)
    model = Classifier(vocab, classes, 64).initialize(rng, "walkthrough")
    history = train(model, data, TrainConfig(epochs=epochs, log_every=epochs), rng)
    return history[-1].train_seconds


def torch_seconds(torch, vocab, classes, data, epochs, seed):
    torch.manual_seed(seed)
    model = TorchClassifier(torch, len(vocab), len(classes), 64, "float64", init_scale=1e-3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02)
    samples = [model.batch(data, [i]) for i in range(len(data))]
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    for _ in range(epochs):
        for i in rng.permutation(len(samples)):
            onehot, last, target = samples[i]
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model.logits(onehot, last), target)
            loss.backward()
            torch.nn.utils.clip_grad_value_(model.parameters(), 1.0)
            optimizer.step()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and rounds (under a minute)")
    parser.add_argument("--json", action="store_true", help="one JSON object per implementation")
    parser.add_argument("--epochs", type=int, help="epochs per round (default 300; --quick 30)")
    parser.add_argument("--rounds", type=int, help="alternating rounds (default 3; --quick 2)")
    parser.add_argument("--train", help="training CSV/TSV/JSONL (default: the embedded dataset)")
    parser.add_argument("--test", help="test file (unused for timing; checked for format)")
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    epochs = args.epochs or (30 if args.quick else 300)
    rounds = args.rounds or (2 if args.quick else 3)
    torch = None if args.no_torch else load_torch()
    vocab, classes, train_set, test_set = task(args.train, args.test or args.train)
    data = encoded(vocab, classes, train_set)
    results = {f"tinyrnn ({engine} engine)": [] for engine in engines()}
    results["torch"] = []
    for engine in engines():                             # (the compiled engine compiles, or loads its cache)
        tinyrnn_seconds(vocab, classes, data, 1, 0, engine)
    for round_ in range(rounds):
        for engine in engines():
            results[f"tinyrnn ({engine} engine)"].append(tinyrnn_seconds(vocab, classes, data, epochs, round_, engine))
        if torch:
            results["torch"].append(torch_seconds(torch, vocab, classes, data, epochs, round_))
    rows = []
    for name, seconds in results.items():
        if seconds:
            per_epoch = median(seconds) / epochs
            rows.append({"implementation": name, "samples": len(data), "epochs": epochs,
                         "seconds_per_1000_epochs": per_epoch * 1000,
                         "us_per_sample": per_epoch / len(data) * 1e6})
    if results["torch"]:
        for row in rows[:-1]:
            row["vs_torch"] = rows[-1]["us_per_sample"] / row["us_per_sample"]
    emit(rows, [("implementation", "implementation", "s"), ("samples", "samples", "d"),
                ("seconds_per_1000_epochs", "s / 1000 epochs", ".2f"),
                ("us_per_sample", "us / sample", ".1f"), ("vs_torch", "x torch", ".1f")], args.json)


if __name__ == "__main__":
    main()
