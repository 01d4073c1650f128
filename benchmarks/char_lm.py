"""Character language model: the classic min-char-rnn recipe, side by side.

Recipe: one-hot characters, hidden 100, seq_length 25, Adagrad lr 0.1, gradients clipped
to [-5, 5], normal * 0.01 init, float64. Three runs read the same number of characters:

    reference         a straightforward NumPy implementation of that recipe, written for
                      this benchmark in the classic style (column vectors, one step at a
                      time, a Python loop over the 25 steps forward and backward)
    tinyrnn minchar   the same recipe through tinyrnn's engine (--preset minchar)
    tinyrnn batched   --preset charrnn: 32 parallel streams, hidden 128, Adam lr 0.005, float32

The reference and tinyrnn minchar start from the same weights, so their losses agree to
rounding: the speed-up is the engine alone.

Reported: characters per second (training only), the mean training loss over the last
10 % of steps, and the validation loss (nats/char) on the held-out last 10 % of the text.

    python benchmarks/char_lm.py [--quick] [--json] [--text FILE] [--chars N]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import emit  # noqa: E402

from tinyrnn.data.corpus import build_vocab, default_corpus, encode_text, read_corpus  # noqa: E402
from tinyrnn.models import LanguageModel  # noqa: E402
from tinyrnn.commands.presets import PRESETS  # noqa: E402
from tinyrnn.tasks import evaluate_lm, train_language_model  # noqa: E402
from tinyrnn.training import Listener, TrainConfig  # noqa: E402

SEQ, HIDDEN = 25, 100


def reference_train(ids, initial, chars):
    """min-char-rnn's algorithm, one sequence at a time, from the weights `initial` (in
    tinyrnn's names and shapes). Returns (weights, seconds, per-step mean losses)."""
    W = {name: array.copy() for name, array in initial.items()}
    W["bh"], W["by"] = W["bh"].reshape(-1, 1), W["by"].reshape(-1, 1)      # column vectors
    H, V = W["Whh"].shape[0], W["Wxh"].shape[1]
    memory = {name: np.zeros_like(w) for name, w in W.items()}
    position, h_prev, losses, seconds, seen = 0, np.zeros((H, 1)), [], 0.0, 0
    while seen < chars:
        started = time.perf_counter()
        if position + SEQ + 1 >= len(ids):
            position, h_prev = 0, np.zeros((H, 1))
        inputs, targets = ids[position:position + SEQ], ids[position + 1:position + SEQ + 1]
        xs, hs, ps, loss = {}, {-1: h_prev}, {}, 0.0
        for t in range(SEQ):                                       # forward
            xs[t] = np.zeros((V, 1))
            xs[t][inputs[t]] = 1
            hs[t] = np.tanh(W["Wxh"] @ xs[t] + W["Whh"] @ hs[t - 1] + W["bh"])
            y = W["Why"] @ hs[t] + W["by"]
            ps[t] = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
            loss -= np.log(ps[t][targets[t], 0])
        grads = {name: np.zeros_like(w) for name, w in W.items()}
        dh_next = np.zeros((H, 1))
        for t in reversed(range(SEQ)):                             # backward
            dy = ps[t].copy()
            dy[targets[t]] -= 1
            grads["Why"] += dy @ hs[t].T
            grads["by"] += dy
            dh = W["Why"].T @ dy + dh_next
            draw = (1 - hs[t] * hs[t]) * dh
            grads["bh"] += draw
            grads["Wxh"] += draw @ xs[t].T
            grads["Whh"] += draw @ hs[t - 1].T
            dh_next = W["Whh"].T @ draw
        for name, w in W.items():                                  # clip, Adagrad
            np.clip(grads[name], -5, 5, out=grads[name])
            memory[name] += grads[name] * grads[name]
            w -= 0.1 * grads[name] / np.sqrt(memory[name] + 1e-8)
        h_prev = hs[SEQ - 1]
        position += SEQ
        seen += SEQ
        seconds += time.perf_counter() - started
        losses.append(loss / SEQ)
    return W, seconds, losses


def as_tinyrnn(W, vocab):
    model = LanguageModel(vocab, HIDDEN)
    for name, array in W.items():
        model.params[name][...] = array.reshape(model.params[name].shape)
    return model


def tinyrnn_train(model, train_ids, chars, recipe):
    steps = max(1, chars // (recipe["batch_size"] * recipe["seq_length"]))
    losses = []
    config = TrainConfig(epochs=None, batch_size=recipe["batch_size"], steps=steps, optimizer=recipe["optimizer"],
                         lr=recipe["lr"], clip_value=recipe["clip_value"], log_every=max(1, steps // 50),
                         log_every_seconds=None)
    listener = Listener()
    listener.on_record = lambda record: losses.append(record.train_loss)
    history = train_language_model(model, train_ids, config, listener=listener, seq_length=recipe["seq_length"],
                                   sum_over_time=recipe.get("sum_over_time", False))
    return history[-1].train_seconds, history[-1].seen, losses


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 characters (under a minute)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--text", help="training text (default: Python's documentation topics)")
    parser.add_argument("--chars", type=int, help="characters each run reads (default 500,000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    chars = args.chars or (100_000 if args.quick else 500_000)
    text = read_corpus(args.text) if args.text else default_corpus()
    cut = int(len(text) * 0.9)
    vocab = build_vocab(text[:cut], "chars")
    train_ids, _ = encode_text(text[:cut], vocab, "chars")
    val_ids, _ = encode_text(text[cut:], vocab, "chars")
    val_ids = val_ids[:50_000]

    rows = []
    minchar, charrnn = PRESETS["lm"]["minchar"], PRESETS["lm"]["charrnn"]
    start = LanguageModel(vocab, HIDDEN).initialize(np.random.default_rng(args.seed), "minchar")
    W, seconds, losses = reference_train(train_ids, start.params, chars)
    rows.append(_row("reference (min-char-rnn style)", len(losses) * SEQ, seconds, losses,
                     evaluate_lm(as_tinyrnn(W, vocab), val_ids)))
    batched = LanguageModel(vocab, charrnn["hidden"], dtype=charrnn["dtype"])
    batched.initialize(np.random.default_rng(args.seed), charrnn["init"])
    for name, model, recipe in (("tinyrnn minchar (B=1)", start, minchar),
                                ("tinyrnn charrnn (B=32)", batched, charrnn)):
        seconds, seen, losses = tinyrnn_train(model, train_ids, chars, recipe)
        rows.append(_row(name, seen, seconds, losses, evaluate_lm(model, val_ids)))
    for row in rows[1:]:
        row["vs_reference"] = row["chars_per_s"] / rows[0]["chars_per_s"]
    emit(rows, [("run", "run", "s"), ("chars", "chars", ",d"), ("chars_per_s", "chars/s", ",.0f"),
                ("vs_reference", "x reference", ".1f"), ("final_train_loss", "train loss", ".3f"),
                ("val_loss", "val loss", ".3f")], args.json)


def _row(name, chars, seconds, losses, val_loss):
    tail = losses[-max(1, len(losses) // 10):]
    return {"run": name, "chars": chars, "seconds": seconds, "chars_per_s": chars / seconds,
            "final_train_loss": float(np.mean(tail)), "val_loss": val_loss}


if __name__ == "__main__":
    main()
