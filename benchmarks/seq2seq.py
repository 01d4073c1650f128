"""French -> English with attention: tinyrnn beside the PyTorch tutorial's network
(benchmarks/seq2seq_reference.py), on the same pairs, the same split and the same sizes.

    python benchmarks/seq2seq.py speed [--hidden 128] [--repeats 30] [--rounds 5]
        training tokens per second of one step (forward, backward, Adam), batch 32, every
        source and target 10 tokens: each network in a process of its own, 2 threads, in
        alternating rounds so that a busy machine slows both alike; the ratio is what counts.
        torch is timed with OMP_WAIT_POLICY=PASSIVE (its threads sleep between operations)
        and ACTIVE (they spin: faster alone, slower beside anything else).
    python benchmarks/seq2seq.py train [--seed 0] [--hidden 256] [--epochs 30] [--minutes 10]
        tinyrnn's `translate` preset on the reference's split (its vocabularies, its test set):
        test BLEU greedy and with a beam of 5 of the epoch with the lowest validation loss.

tinyrnn's network: a GRU encoder (speed: one direction, as the reference's; train: two, as
the preset's) and a GRU decoder over learned embeddings, additive (Bahdanau) attention after
the decoder (Luong's attentional state, no input feeding), float32; the reference feeds the
context back into the decoder's input, as the tutorial does, so its decoder runs step by step.
"""
import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")        # before torch starts its threads (speed sets it)
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402

import seq2seq_reference as reference  # noqa: E402
from common import THREADS  # noqa: E402
from tinyrnn.seq2seq import Seq2Seq  # noqa: E402
from tinyrnn.tasks.seq2seq import PairedSequences, evaluate_pairs  # noqa: E402
from tinyrnn.training import TrainConfig, Trainer  # noqa: E402
from tinyrnn.training.config import make_optimizer, make_update  # noqa: E402
from tinyrnn.tasks.seq2seq import Seq2SeqTask  # noqa: E402
from tinyrnn.vocab import Vocab  # noqa: E402


def tinyrnn_model(source_size, target_size, hidden, seed=0, attention="additive", embed=None, **settings):
    """tinyrnn's network at the reference's sizes (vocabularies laid out as Vocab.build does)."""
    source = Vocab(["<pad>", "<unk>", *[f"s{i}" for i in range(source_size - 2)]])
    target = Vocab(["<pad>", "<unk>", "<bos>", "<eos>", *[f"t{i}" for i in range(target_size - 4)]])
    return Seq2Seq(source, target, hidden, cell="gru", attention=attention, embed_size=embed or hidden,
                   dtype="float32", **settings).initialize(np.random.default_rng(seed), "uniform")


def tinyrnn_step(batch=32, length=10, hidden=128, src_vocab=2000, tgt_vocab=1500, seed=0):
    """One training step of tinyrnn's network on random ids (a function to time)."""
    model = tinyrnn_model(src_vocab, tgt_vocab, hidden, seed)
    config = TrainConfig(epochs=1, optimizer="adam", lr=1e-3, batch_size=batch)
    update = make_update(model, config, make_optimizer(config))
    generator = np.random.default_rng(seed)
    source = generator.integers(2, src_vocab, (batch, length))
    target = generator.integers(4, tgt_vocab, (batch, length))

    def step():
        model.loss_and_gradients(source, None, target)
        update()
    return step


def step_seconds(which, hidden, repeats, data):
    """Median seconds of one training step of tinyrnn's network or the reference's."""
    sizes = dict(hidden=hidden, src_vocab=len(data.source_vocab), tgt_vocab=len(data.target_vocab))
    step = tinyrnn_step(**sizes) if which == "tinyrnn" else reference.torch_step(**sizes)
    for _ in range(3):                                      # warm up
        step()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def speed(hidden, repeats, rounds, args):
    """Each network timed in a process of its own (so that one's idle threads never slow the
    other), in alternating rounds; torch with OMP_WAIT_POLICY PASSIVE and ACTIVE. Returns the
    medians over rounds and tinyrnn's target tokens per second over each torch's."""
    runs = {"tinyrnn": {}, "torch PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
            "torch ACTIVE": {"OMP_WAIT_POLICY": "ACTIVE"}}
    seconds = {name: [] for name in runs}
    for _ in range(rounds):
        for name, env in runs.items():
            command = [sys.executable, __file__, "time", name.split()[0], "--hidden", str(hidden),
                       "--repeats", str(repeats), "--data", args.data]
            output = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, check=True)
            seconds[name].append(float(output.stdout.split()[-1]))
    result = {name: {"seconds": float(np.median(values)), "tokens_per_s": 320 / float(np.median(values)),
                     "rounds": values} for name, values in seconds.items()}
    for name in ("torch PASSIVE", "torch ACTIVE"):
        result[f"ratio vs {name}"] = result["tinyrnn"]["tokens_per_s"] / result[name]["tokens_per_s"]
    return result


def paired(data, pairs):
    """The reference's encoded pairs as tinyrnn's PairedSequences (the same ids)."""
    sources = [reference.encode(french, data.source_vocab, False) for french, _ in pairs]
    targets = [reference.encode(english, data.target_vocab, True) for _, english in pairs]
    return PairedSequences(sources, targets, [english for _, english in pairs])


def train(data, hidden, seed, epochs, minutes, dropout, lr):
    """tinyrnn's recipe on the reference's data; returns the JSON summary."""
    source = Vocab(sorted(data.source_vocab, key=data.source_vocab.get))
    target = Vocab(sorted(data.target_vocab, key=data.target_vocab.get))
    model = Seq2Seq(source, target, hidden, cell="gru", attention="additive", embed_size=hidden, bidirectional=True,
                    dropout=dropout, dtype="float32").initialize(np.random.default_rng(seed), "uniform")
    train_data, valid, test = paired(data, data.train), paired(data, data.valid), paired(data, data.test)
    config = TrainConfig(epochs=epochs, minutes=minutes, optimizer="adam", lr=lr, batch_size=32, clip_norm=5.0,
                         log_every=1, keep_best=True, early_stop=4)
    history = Trainer(model, Seq2SeqTask(train_data, valid), config, np.random.default_rng([seed, 1])).run()
    best = max((r for r in history if r.best), key=lambda r: r.epoch)
    for record in history:
        print(f"{record.epoch:>5} {record.train_loss:>10.4f} {record.valid_loss:>10.4f} "
              f"{record.valid.get('bleu') or 0:>10.2f} {record.train_seconds:>8.1f}", flush=True)
    test_greedy, _ = evaluate_pairs(model, test, 1)
    test_beam, _ = evaluate_pairs(model, test, 5)
    return {"seed": seed, "hidden": hidden, "dropout": dropout, "lr": lr, "epochs_run": len(history),
            "best_epoch": best.epoch, "valid_loss": best.valid_loss, "train_seconds_to_best": best.train_seconds,
            "test_bleu_greedy": test_greedy["bleu"], "test_bleu_beam5": test_beam["bleu"],
            "test_exact_match": test_greedy["exact_match"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["speed", "train", "time"])
    parser.add_argument("network", nargs="?", choices=["tinyrnn", "torch"], help="time: which one")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data", default=reference.DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--minutes", type=float)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    data = reference.tutorial_pairs(args.data, args.seed)
    machine = {"cpu": reference.cpu_name(), "threads": THREADS}
    if args.command == "time":
        print(step_seconds(args.network, args.hidden or 128, args.repeats, data))
    elif args.command == "speed":
        print(json.dumps({"batch": 32, "length": 10, "hidden": args.hidden or 128,
                          **speed(args.hidden or 128, args.repeats, args.rounds, args), **machine}))
    else:
        print(json.dumps({**train(data, args.hidden or 256, args.seed, args.epochs, args.minutes, args.dropout,
                                  args.lr), **machine}))


if __name__ == "__main__":
    main()
