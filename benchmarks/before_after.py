"""Two versions of tinyrnn side by side in one process: one epoch of the walkthrough's
train(), then one language-model training step (forward and BPTT) per cell, dtype, batch and
hidden size. Interleaved short blocks, CPU time, the best block of each: for a change that
must not slow anything down. Check the earlier version out into another folder, then

    OMP_NUM_THREADS=1 python benchmarks/before_after.py BEFORE/src AFTER/src [--rounds N]
"""
import argparse
import importlib
import json
import sys
import time

import numpy as np


def load(src):
    """(models, train, encode_examples, TrainConfig, data) of the tinyrnn under src."""
    for name in [module for module in sys.modules if module == "tinyrnn" or module.startswith("tinyrnn.")]:
        del sys.modules[name]
    sys.path.insert(0, src)
    try:
        models, data = importlib.import_module("tinyrnn.models"), importlib.import_module("tinyrnn.data")
        try:                                             # one training core
            tasks, training = importlib.import_module("tinyrnn.tasks"), importlib.import_module("tinyrnn.training")
            return models, tasks.train, tasks.encode_examples, training.TrainConfig, data
        except ImportError:                              # versions with train.py
            train = importlib.import_module("tinyrnn.train")
            return models, train.train, train.encode_examples, train.TrainConfig, data
    finally:
        sys.path.remove(src)


def best_of(steps, rounds, block):
    """The best seconds per call of each step, calls in blocks of about `block` CPU seconds."""
    started, calls = time.process_time(), 0
    while time.process_time() - started < block:
        steps["before"]()
        calls += 1
    best = {name: float("inf") for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            started = time.process_time()
            for _ in range(calls):
                step()
            best[name] = min(best[name], (time.process_time() - started) / calls)
    return best


def walkthrough_epoch(models, train, encode, TrainConfig, data):
    train_set, _ = data.default_dataset()
    vocab = ["<pad>", "<unk>"] + sorted({word for text in train_set.texts for word in text.split()})
    rng = np.random.default_rng(0)
    model = models.Classifier(vocab, sorted(set(train_set.labels)), 64).initialize(rng, "walkthrough")
    examples, _ = encode(model, train_set)
    return lambda: train(model, examples, TrainConfig(epochs=1, log_every=1), rng)


def lm_step(models, cell, dtype, batch, hidden, T=32, V=65):
    vocab = ["<pad>", "<unk>", *(chr(33 + i) for i in range(V - 2))]
    rng = np.random.default_rng(0)
    model = models.LanguageModel(vocab, hidden, cell=cell, dtype=dtype).initialize(rng, "xavier")
    tokens = rng.integers(0, V, size=(batch, T + 1))
    return lambda: model.loss_and_gradients(tokens[:, :-1], None, tokens[:, 1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    versions = {"before": load(args.before), "after": load(args.after)}
    best = best_of({name: walkthrough_epoch(*parts) for name, parts in versions.items()}, args.rounds, 0.2)
    print(json.dumps({"walkthrough_us_per_sample": {name: round(s * 1e6 / 78, 1) for name, s in best.items()},
                      "speed_after_vs_before": round(best["before"] / best["after"], 3)}), flush=True)
    for cell in ("rnn", "lstm", "gru"):
        for dtype in ("float32", "float64"):
            for batch, hidden in ((1, 64), (32, 64), (1, 256), (32, 256), (1, 1024), (32, 1024)):
                steps = {name: lm_step(parts[0], cell, dtype, batch, hidden) for name, parts in versions.items()}
                best = best_of(steps, args.rounds if hidden < 1024 else max(3, args.rounds // 3), 0.03)
                print(json.dumps({"cell": cell, "dtype": dtype, "batch": batch, "hidden": hidden,
                                  **{f"{name}_tokens_per_s": round(batch * 32 / s) for name, s in best.items()},
                                  "speed_after_vs_before": round(best["before"] / best["after"], 3)}), flush=True)


if __name__ == "__main__":
    main()
