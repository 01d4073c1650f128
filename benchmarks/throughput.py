"""Language-model training-step throughput, tokens per second, tinyrnn vs PyTorch, for the
rnn (tanh), lstm and gru cells.

One step: forward over T = 32 steps, output layer and mean cross-entropy at every step,
backward through time, SGD update. V = 65 (a character vocabulary). tinyrnn's model is
LanguageModel(vocab, H, cell=cell, dtype=dtype): its input layer is the one-hot product
W_ih x_t (a column lookup of G*H values). The PyTorch reference is nn.Embedding(V, H) ->
nn.RNN / nn.LSTM / nn.GRU(H, H, batch_first=True) -> nn.Linear(H, V), the usual way to
write it. Both run with 2 threads and the same dtype, alternating, and the median is
reported.

The recurrent-chain lower bound. With G the number of gates (1 rnn, 4 lstm, 3 gru), the
T forward products (B, H) @ (H, G*H) and the T backward products (B, G*H) @ (G*H, H)
cannot be batched over time; their best measured times (np.dot or np.matmul, whichever
is faster), plus all other matrix-product FLOPs of the model at the measured peak GEMM
rate (a 1024^3 matmul, the best seen in the run), give the fastest possible step:

    seconds = T * t_forward + T * t_backward + other / peak
    other   = 3 * 2*B*T*H*V          output layer: forward, dW and dh
            + 2*B*T*H*G*H            dW_hh = sum_t d gh_t h_{t-1}^T, one product

Those are tinyrnn's model's FLOPs (its one-hot input needs none). The reference's
embedding input adds the input projection's forward, dW_ih and dx products,
3 * 2*B*T*H*G*H more, which the bound_embedding figure (JSON) includes. Elementwise gate
work is not counted, so the bound is loose for small H.

    python benchmarks/throughput.py [--cell rnn|lstm|gru|all] [--quick] [--json] [--no-torch]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import best_of, calls_for, emit, load_torch, median  # noqa: E402

from tinyrnn.models import LanguageModel  # noqa: E402
from tinyrnn.optim import SGD  # noqa: E402

T, V, LR = 32, 65, 0.01
SETTLE = 0.25      # seconds of idle before each PyTorch block (see measure)
CELLS = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
COLUMNS = [("cell", "cell", "s"), ("dtype", "dtype", "s"), ("batch", "B", "d"), ("hidden", "H", "d"),
           ("tokens_per_s", "tinyrnn tok/s", ",.0f"), ("torch_tokens_per_s", "torch tok/s", ",.0f"),
           ("vs_torch", "x torch", ".2f"), ("chain_bound_tokens_per_s", "bound tok/s", ",.0f"),
           ("vs_bound", "of bound", ".2f")]


def tinyrnn_step(cell, batch, hidden, dtype, rng):
    vocab = ["<pad>", "<unk>", *(chr(33 + i) for i in range(V - 2))]
    model = LanguageModel(vocab, hidden, cell=cell, dtype=dtype).initialize(rng, "xavier")
    tokens = rng.integers(0, V, size=(batch, T + 1))
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    optimizer = SGD(LR)

    def step():
        model.loss_and_gradients(inputs, None, targets)
        optimizer.step(model.flat, model.flat_grads)
    return step


def torch_step(torch, cell, batch, hidden, dtype, rng):
    torch.manual_seed(0)
    tdtype = getattr(torch, dtype)
    recurrent = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    embed = torch.nn.Embedding(V, hidden).to(tdtype)
    rnn = recurrent(hidden, hidden, batch_first=True).to(tdtype)
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


def product(rows, inner, outer, dtype):
    """A call of (rows, inner) @ (inner, outer) into a preallocated output, np.dot and np.matmul."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((rows, inner)).astype(dtype)
    b = rng.standard_normal((inner, outer)).astype(dtype)
    out = np.empty((rows, outer), dtype)
    return [lambda: np.dot(a, b, out=out), lambda: np.matmul(a, b, out=out)]


def product_time(functions, repeats=5, seconds=0.005):
    """Best time of one product call, whichever of np.dot and np.matmul is faster."""
    return min(best_of(function, repeats=repeats, number=calls_for(function, seconds))
               for function in functions)


def chain_products(cell, batch, hidden, dtype):
    """The chain's two product calls: forward h_{t-1} W_hh^T, (B, H) @ (H, G*H), and
    backward d gh_t W_hh, (B, G*H) @ (G*H, H) (the same shape for the rnn cell)."""
    G = GATES[cell]
    forward = product(batch, hidden, G * hidden, dtype)
    return forward, forward if G == 1 else product(batch, G * hidden, hidden, dtype)


def chain_bounds(cell, batch, hidden, forward, backward, peak_flops):
    """Tokens/s of the recurrent-chain lower bound (see the module docstring), given the
    best times of one forward and one backward chain product: (tinyrnn's model, the same
    with the reference's embedding input projection added)."""
    G, BT = GATES[cell], batch * T
    other = 3 * 2 * BT * hidden * V + 2 * BT * hidden * G * hidden     # output layer; dW_hh
    embedding = 3 * 2 * BT * hidden * G * hidden                       # input projection
    chain = T * (forward + backward)
    return BT / (chain + other / peak_flops), BT / (chain + (other + embedding) / peak_flops)


def peak_gemm_flops(dtype, repeats=5):
    n = 1024
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    out = np.empty_like(a)
    return 2 * n ** 3 / best_of(lambda: np.matmul(a, a, out=out), repeats=repeats, number=3)


def measure(cell, batch, hidden, dtype, torch, rounds, seconds, peaks):
    """One grid point. The chain products and the peak GEMM rate are timed in every round
    too, between the steps, and their best taken (peaks[dtype] keeps the best rate seen in
    the whole run), so a burst of load from other processes does not lower the bound.

    Each PyTorch block starts after SETTLE seconds idle: after a NumPy call OpenBLAS's
    worker threads keep spinning for about 0.1 s, which on 2 cores slowed PyTorch's first
    0.1 s of steps by up to 1.5x (PyTorch's libgomp threads spin only briefly, and tinyrnn
    right after PyTorch measured as fast as alone)."""
    rng = np.random.default_rng(0)
    ours = tinyrnn_step(cell, batch, hidden, dtype, rng)
    theirs = torch_step(torch, cell, batch, hidden, dtype, rng) if torch else None
    forward_call, backward_call = chain_products(cell, batch, hidden, dtype)
    ours_n = calls_for(ours, seconds)
    theirs_n = calls_for(theirs, seconds) if theirs else 0
    ours_t, theirs_t, forward_t, backward_t = [], [], [], []
    for _ in range(rounds):                                  # alternate, so drift hits both
        ours_t.append(best_of(ours, repeats=1, number=ours_n))
        if theirs:
            time.sleep(SETTLE)
            theirs_t.append(best_of(theirs, repeats=1, number=theirs_n))
        forward_t.append(product_time(forward_call))
        backward_t.append(forward_t[-1] if backward_call is forward_call else product_time(backward_call))
    peaks[dtype] = max(peaks.get(dtype, 0.0), peak_gemm_flops(dtype, repeats=2))
    tokens = batch * T
    bound, bound_embedding = chain_bounds(cell, batch, hidden, min(forward_t), min(backward_t), peaks[dtype])
    row = {"cell": cell, "batch": batch, "hidden": hidden, "dtype": dtype,
           "tokens_per_s": tokens / median(ours_t),
           "chain_bound_tokens_per_s": bound, "bound_embedding_tokens_per_s": bound_embedding}
    if theirs:
        row["torch_tokens_per_s"] = tokens / median(theirs_t)
        row["vs_torch"] = row["tokens_per_s"] / row["torch_tokens_per_s"]
    row["vs_bound"] = row["tokens_per_s"] / row["chain_bound_tokens_per_s"]
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=[*CELLS, "all"], default="rnn",
                        help="recurrent cell to measure; all: rnn, lstm and gru in turn (default rnn)")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (under a minute per cell)")
    parser.add_argument("--json", action="store_true", help="one JSON object per measurement")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    args = parser.parse_args()
    torch = None if args.no_torch else load_torch()
    rounds, seconds = (3, 0.15) if args.quick else (5, 0.5)
    cells = CELLS if args.cell == "all" else (args.cell,)
    peaks = {}
    for number, cell in enumerate(cells):
        rows = []
        for dtype in ("float32", "float64"):
            if dtype not in peaks:
                peaks[dtype] = peak_gemm_flops(dtype)
            for batch in (1, 32):
                for hidden in (64, 256, 1024):
                    rows.append(measure(cell, batch, hidden, dtype, torch, rounds, seconds, peaks))
                    if args.json:
                        emit(rows[-1:], None, True)
                        sys.stdout.flush()
        if not args.json:
            if number:
                print()
            emit(rows, COLUMNS, False)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
