"""Where a step of the walkthrough's recipe goes, on each engine: loss_and_gradients (forward,
softmax cross-entropy, BPTT, the gradients), clipping and the SGD update, and the rest of
train()'s loop per update (the whole step's time, from train(), less the two).

One sentence at a time from the embedded data, hidden 64, float64; each figure the best of 7 rounds.

    python benchmarks/walkthrough_profile.py
"""
import importlib.util
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from recipes import encoded, task  # noqa: E402

from tinyrnn.models import Classifier  # noqa: E402
from tinyrnn.optim import SGD, ClipByValue  # noqa: E402
from tinyrnn.tasks import train  # noqa: E402
from tinyrnn.training import TrainConfig  # noqa: E402


def best_us(function, number=3000, rounds=7):
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(number):
            function()
        best = min(best, (time.perf_counter() - started) / number)
    return best * 1e6


def main():
    vocab, classes, train_set, _ = task(None, None)
    data = encoded(vocab, classes, train_set)
    sentences = [sequence[None] for sequence in data.sequences]
    targets = [data.targets[i:i + 1] for i in range(len(sentences))]
    print(f"{len(sentences)} sentences of {np.mean([s.size for s in sentences]):.1f} words on average")
    engines = ["numpy", "compiled"] if importlib.util.find_spec("numba") else ["numpy"]
    for engine in engines:
        os.environ["TINYRNN_ENGINE"] = engine
        model = Classifier(vocab, classes, 64).initialize(np.random.default_rng(0), "walkthrough")
        turn = [0]

        def step():
            k = turn[0] = (turn[0] + 1) % len(sentences)
            model.loss_and_gradients(sentences[k], None, targets[k])
        clip, sgd = ClipByValue(1.0), SGD(0.02)

        def update():
            clip(model.flat_grads)
            sgd.step(model.flat, model.flat_grads)
        step()                                                  # (the compiled engine compiles)
        gradients, updating = best_us(step), best_us(update)
        whole = float("inf")
        for seed in range(7):                                   # (best of 7 runs of 40 epochs)
            model = Classifier(vocab, classes, 64).initialize(np.random.default_rng(seed), "walkthrough")
            history = train(model, data, TrainConfig(epochs=40, log_every=40), np.random.default_rng(seed))
            whole = min(whole, history[-1].train_seconds / 40 / len(sentences) * 1e6)
        print(f"{engine:>8} engine: loss_and_gradients {gradients:5.1f} us, clip + SGD {updating:4.1f} us, "
              f"the loop's own {whole - gradients - updating:4.1f} us; a step of train() {whole:5.1f} us")


if __name__ == "__main__":
    main()
