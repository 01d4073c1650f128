"""Numeric sequences: training steps per second, tinyrnn beside the PyTorch networks of
benchmarks/timeseries_reference.py, at the same sizes, side by side in one process.

    classify  tinyrnn's `timeseries` preset network (a bidirectional GRU-64 read by the max of
              its states, Adam, clip-norm 5, float32) against the reference's BiGRU-64 (final
              states, Adam, float32): batch 16 of 29 steps x 12 numbers, 9 classes (the sizes
              of JapaneseVowels)
    forecast  tinyrnn's `forecast` preset network (a GRU-64 over windows of 24 steps, each read
              relative to its own mean and spread, 24 values at once, Adam, clip-norm 5) against
              the reference's direct GRU-64 forecaster: batch 16, in the preset's float64

One step is forward, loss, backward and Adam's update; steps per second x batch x steps per
sequence = time steps per second ("tokens"). Both run with 2 threads, alternating rounds;
PyTorch with OMP_WAIT_POLICY=PASSIVE unless it is set otherwise. Synthetic data (random
numbers): the time of a step does not depend on the values.

    python benchmarks/numeric_speed.py [--rounds 5] [--seconds 1] [--json]
"""
import argparse
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")        # before torch starts its threads
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
from common import best_of, calls_for, emit, load_torch, median  # noqa: E402
from timeseries_reference import classifier, cpu_name, forecaster  # noqa: E402

from tinyrnn.model_config import ModelConfig  # noqa: E402
from tinyrnn.models import build_model  # noqa: E402
from tinyrnn.optim import Adam, clip_by_norm  # noqa: E402

SIZES = {"classify": {"batch": 16, "steps": 29, "features": 12, "classes": 9, "dtype": "float32"},
         "forecast": {"batch": 16, "steps": 24, "features": 1, "horizon": 24, "dtype": "float64"}}


def tinyrnn_step(kind, rng):
    size = SIZES[kind]
    B, T, F = size["batch"], size["steps"], size["features"]
    if kind == "classify":
        config = ModelConfig("classify", 64, cell="gru", bidirectional=True, pool="max", features=F,
                             dtype=size["dtype"])
        model = build_model(config, None, [f"c{i}" for i in range(size["classes"])])
        targets = rng.integers(0, size["classes"], size=B)
    else:
        config = ModelConfig("forecast", 64, cell="gru", features=F, horizon=size["horizon"], window=T,
                             scaling="window", dtype=size["dtype"])
        model = build_model(config, None, ["y"])
        targets = rng.standard_normal((B, size["horizon"]))
    model.initialize(rng, "orthogonal")
    values = rng.standard_normal((B, T, F)).astype(size["dtype"])
    optimizer = Adam(0.003)

    def step():
        model.loss_and_gradients(values, None, targets)
        clip_by_norm(model.flat_grads, 5.0)
        optimizer.step(model.flat, model.flat_grads)
    return step


def torch_step(torch, kind, rng):
    size = SIZES[kind]
    B, T, F = size["batch"], size["steps"], size["features"]
    dtype = getattr(torch, size["dtype"])
    torch.manual_seed(0)
    model = (classifier(F, size["classes"]) if kind == "classify" else forecaster()).to(dtype)
    torch.set_num_threads(2)                            # (the reference module sets one thread)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
    values = torch.from_numpy(rng.standard_normal((B, T, F))).to(dtype)
    if kind == "classify":
        lengths = torch.full((B,), T, dtype=torch.int64)
        targets = torch.from_numpy(rng.integers(0, size["classes"], size=B))

        def loss():
            return torch.nn.functional.cross_entropy(model(values, lengths), targets)
    else:
        targets = torch.from_numpy(rng.standard_normal((B, size["horizon"]))).to(dtype)

        def loss():
            return torch.nn.functional.mse_loss(model(values[:, :, 0]), targets)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    return step


def measure(kind, torch, rounds, seconds):
    rng = np.random.default_rng(0)
    ours, theirs = tinyrnn_step(kind, rng), torch_step(torch, kind, rng)
    ours_n, theirs_n = calls_for(ours, seconds / 5), calls_for(theirs, seconds / 5)
    ours_t, theirs_t = [], []
    for _ in range(rounds):                                   # alternate, so drift hits both
        ours_t.append(best_of(ours, repeats=3, number=ours_n))
        theirs_t.append(best_of(theirs, repeats=3, number=theirs_n))
    size = SIZES[kind]
    tokens = size["batch"] * size["steps"]
    row = {"task": kind, "dtype": size["dtype"], "batch": size["batch"], "steps": size["steps"],
           "tokens_per_s": tokens / median(ours_t), "torch_tokens_per_s": tokens / median(theirs_t)}
    row["vs_torch"] = row["tokens_per_s"] / row["torch_tokens_per_s"]
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="about the time of one round of each")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch = load_torch()
    if torch is None:
        raise SystemExit("PyTorch is not installed: python -m pip install '.[bench]'")
    rows = [measure(kind, torch, args.rounds, args.seconds) for kind in SIZES]
    if not args.json:
        print(f"{cpu_name()}, {os.cpu_count()} cores; numpy {np.__version__}, torch {torch.__version__}")
    emit(rows, [("task", "task", "s"), ("dtype", "dtype", "s"), ("batch", "B", "d"), ("steps", "T", "d"),
                ("tokens_per_s", "tinyrnn steps/s", ",.0f"), ("torch_tokens_per_s", "torch steps/s", ",.0f"),
                ("vs_torch", "x torch", ".2f")], args.json)


if __name__ == "__main__":
    main()
