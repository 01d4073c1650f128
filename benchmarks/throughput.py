"""Language-model training-step throughput, tokens per second, tinyrnn vs PyTorch nn.RNN.

One step: forward over T = 32 steps, output layer and mean cross-entropy at every step,
backward through time, SGD update. V = 65 (a character vocabulary). tinyrnn's input
layer is the one-hot product Wxh x_t (a column lookup); the PyTorch reference is
nn.Embedding(V, H) -> nn.RNN(H, H, tanh) -> nn.Linear(H, V), the usual way to write it.
Both run with 2 threads and the same dtype, alternating, and the median is reported.

The recurrent-chain lower bound: the 2T products (B, H) @ (H, H) of forward and backward
cannot be batched over time; their best measured time (np.dot or np.matmul, whichever
is faster), plus all other matrix-product FLOPs of the model at the measured peak GEMM
rate, gives the fastest possible step. "Other FLOPs" are those of tinyrnn's model (output
layer forward and both backward products, dWhh); the reference's embedding adds
3 x 2BTH^2 more, which the bound_embedding column includes.

    python benchmarks/throughput.py [--quick] [--json]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import best_of, calls_for, emit, load_torch, median  # noqa: E402

from tinyrnn.models import LanguageModel  # noqa: E402
from tinyrnn.optim import SGD  # noqa: E402

T, V, LR = 32, 65, 0.01


def tinyrnn_step(batch, hidden, dtype, rng):
    vocab = ["<pad>", "<unk>", *(chr(33 + i) for i in range(V - 2))]
    model = LanguageModel(vocab, hidden, dtype=dtype).initialize(rng, "xavier")
    tokens = rng.integers(0, V, size=(batch, T + 1))
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    optimizer = SGD(LR)

    def step():
        model.loss_and_gradients(inputs, targets)
        optimizer.step(model.flat, model.flat_grads)
    return step


def torch_step(torch, batch, hidden, dtype, rng):
    torch.manual_seed(0)
    tdtype = getattr(torch, dtype)
    embed = torch.nn.Embedding(V, hidden).to(tdtype)
    rnn = torch.nn.RNN(hidden, hidden, batch_first=True).to(tdtype)
    head = torch.nn.Linear(hidden, V).to(tdtype)
    params = [*embed.parameters(), *rnn.parameters(), *head.parameters()]
    optimizer = torch.optim.SGD(params, lr=LR)
    tokens = torch.from_numpy(rng.integers(0, V, size=(batch, T + 1)))
    inputs, targets = tokens[:, :-1], tokens[:, 1:].reshape(-1)

    def step():
        optimizer.zero_grad(set_to_none=True)
        outputs, _ = rnn(embed(inputs))
        loss = torch.nn.functional.cross_entropy(head(outputs).reshape(-1, V), targets)
        loss.backward()
        optimizer.step()
    return step


def chain_bound(batch, hidden, dtype, peak_flops, embedding=False):
    """Tokens/s of the recurrent-chain lower bound (see the module docstring)."""
    rng = np.random.default_rng(0)
    h = rng.standard_normal((batch, hidden)).astype(dtype)
    W = rng.standard_normal((hidden, hidden)).astype(dtype)
    out = np.empty_like(h)
    product = min(best_of(lambda: np.dot(h, W, out=out), repeats=7, number=200),
                  best_of(lambda: np.matmul(h, W, out=out), repeats=7, number=200))
    BT = batch * T
    other = 2 * BT * hidden * hidden + 3 * 2 * BT * hidden * V        # dWhh; output layer
    if embedding:
        other += 3 * 2 * BT * hidden * hidden                          # input projection
    seconds = 2 * T * product + other / peak_flops
    return BT / seconds


def peak_gemm_flops(dtype):
    n = 1024
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    out = np.empty_like(a)
    return 2 * n ** 3 / best_of(lambda: np.matmul(a, a, out=out), repeats=5, number=3)


def measure(batch, hidden, dtype, torch, rounds, seconds, peak):
    rng = np.random.default_rng(0)
    ours = tinyrnn_step(batch, hidden, dtype, rng)
    theirs = torch_step(torch, batch, hidden, dtype, rng) if torch else None
    ours_n = calls_for(ours, seconds)
    theirs_n = calls_for(theirs, seconds) if theirs else 0
    ours_t, theirs_t = [], []
    for _ in range(rounds):                                  # alternate, so drift hits both
        ours_t.append(best_of(ours, repeats=1, number=ours_n))
        if theirs:
            theirs_t.append(best_of(theirs, repeats=1, number=theirs_n))
    tokens = batch * T
    row = {"batch": batch, "hidden": hidden, "dtype": dtype, "tokens_per_s": tokens / median(ours_t),
           "chain_bound_tokens_per_s": chain_bound(batch, hidden, dtype, peak),
           "bound_embedding_tokens_per_s": chain_bound(batch, hidden, dtype, peak, embedding=True)}
    if theirs:
        row["torch_tokens_per_s"] = tokens / median(theirs_t)
        row["vs_torch"] = row["tokens_per_s"] / row["torch_tokens_per_s"]
    row["vs_bound"] = row["tokens_per_s"] / row["chain_bound_tokens_per_s"]
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (under a minute)")
    parser.add_argument("--json", action="store_true", help="one JSON object per measurement")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    args = parser.parse_args()
    torch = None if args.no_torch else load_torch()
    rounds, seconds = (3, 0.15) if args.quick else (5, 0.5)
    rows = []
    for dtype in ("float32", "float64"):
        peak = peak_gemm_flops(dtype)
        for batch in (1, 32):
            for hidden in (64, 256, 1024):
                rows.append(measure(batch, hidden, dtype, torch, rounds, seconds, peak))
                if args.json:
                    emit(rows[-1:], None, True)
    if not args.json:
        emit(rows, [("dtype", "dtype", "s"), ("batch", "B", "d"), ("hidden", "H", "d"),
                    ("tokens_per_s", "tinyrnn tok/s", ",.0f"), ("torch_tokens_per_s", "torch tok/s", ",.0f"),
                    ("vs_torch", "x torch", ".2f"), ("chain_bound_tokens_per_s", "bound tok/s", ",.0f"),
                    ("vs_bound", "of bound", ".2f")], False)


if __name__ == "__main__":
    main()
