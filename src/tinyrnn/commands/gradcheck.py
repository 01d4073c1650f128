"""`tinyrnn gradcheck`: compare a random model's gradients with finite differences."""
import itertools
import time

import numpy as np

from ..errors import ConfigError
from ..gradcheck import check_gradients, random_problem


def run(args):
    """One row per tensor (or, with --all, one line per combination); exit status 1 on a mismatch."""
    options = {"task": args.task, "cell": args.cell, "num_layers": args.layers,
               "bidirectional": args.bidirectional, "embed_size": args.embed,
               "nonlinearity": args.nonlinearity, "dropout": args.dropout, "pool": args.pool,
               "attention": getattr(args, "attention", None),          # --attention: seq2seq only
               "features": getattr(args, "features", None)}            # numbers in: classify, regress, forecast
    sizes = {"vocab_words": args.vocab, "hidden": args.hidden, "batch": args.batch, "max_length": args.max_length,
             "classes": args.vocab if args.task == "seq2seq" else args.classes}   # seq2seq: target words
    seed, eps = args.seed, args.eps
    if args.all:
        chosen = [_OPTION.get(key, f"--{key}") for key, default in _ALL_DEFAULTS.items()
                  if options[key] != default and not (key == "task" and options[key] in ("seq2seq", "regress", "forecast"))]
        if chosen:
            raise ConfigError(f"--all checks every combination itself; drop {', '.join(chosen)}")
        own = args.task in ("seq2seq", "regress", "forecast")
        return _check_all(sizes, seed, eps, (args.task,) if own else ("classify", "lm"))
    compiled_engine_checked = []
    results = _check(sizes, options, seed, eps, compiled_engine_checked)
    width = max(24, 2 + max(len(result.name) for result in results))
    print(f"{'tensor':<{width}}{'max abs error':>16}{'relative error':>16}  result")
    for result in results:
        print(f"{result.name:<{width}}{result.max_abs_error:>16.3e}{result.relative_error:>16.3e}  "
              f"{'ok' if result.passed else 'FAIL'}")
    failed = [result.name for result in results if not result.passed]
    print("gradients match finite differences" if not failed else f"mismatch in {', '.join(failed)}")
    if compiled_engine_checked[0]:
        print("(checked: the compiled engine, which trains this model one sentence at a time; TINYRNN_ENGINE=numpy checks the "
              "NumPy engine)")
    return 1 if failed else 0


_ALL_DEFAULTS = {"task": "classify", "cell": "rnn", "num_layers": 1, "bidirectional": False,
                 "embed_size": None, "nonlinearity": "tanh", "dropout": 0.0, "pool": "last", "attention": None,
                 "features": None}
_OPTION = {"num_layers": "--layers", "embed_size": "--embed"}


def _check(sizes, options, seed, eps, compiled_engine_checked=None):
    """The TensorChecks of one model; an impossible combination is a ConfigError. Appends to
    compiled_engine_checked whether the model ran on the compiled engine (nn/compiled.py)."""
    task = options["task"]
    if options["bidirectional"] and task == "lm":
        raise ConfigError("--bidirectional applies to --task classify and seq2seq: a language model must not "
                          "see the tokens it predicts")
    if options["bidirectional"] and task == "forecast":
        raise ConfigError("--bidirectional applies to --task classify, regress and seq2seq, not forecast")
    if options["attention"] is not None and task != "seq2seq":
        raise ConfigError(f"--attention applies to --task seq2seq, not {task}")
    if options["pool"] != "last" and task not in ("classify", "regress"):
        raise ConfigError(f"--pool applies to --task classify and regress, not {task}")
    if options["attention"] == "dot" and options["bidirectional"]:
        raise ConfigError("--attention dot needs encoder outputs as wide as the decoder's states; a "
                          "--bidirectional encoder's are twice as wide (use general or additive)")
    numeric = task in ("regress", "forecast") or options["features"]
    if options["features"] and task not in ("classify", "regress", "forecast"):
        raise ConfigError(f"--features applies to --task classify, regress and forecast, not {task}")
    if numeric and options["embed_size"]:
        raise ConfigError("--embed applies to words; a model that reads numbers has no embedding")
    architecture = {key: value for key, value in options.items() if (key != "attention" or task == "seq2seq")
                    and (key != "features" or numeric)}
    try:
        problem = random_problem(np.random.default_rng(seed), **sizes, **architecture)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    dropout_seed = seed if options["dropout"] else None
    _refuse_slow(problem, dropout_seed)
    if compiled_engine_checked is not None:
        model, ids = problem[0], problem[1]
        compiled_engine_checked.append(bool(getattr(model, "compiled_step", False)) and model._compiled(ids))
    return check_gradients(*problem, eps=eps, dropout_seed=dropout_seed)


MAX_SECONDS = 60


def _refuse_slow(problem, dropout_seed):
    """Finite differences evaluate the loss twice per number checked: time one evaluation
    and refuse, before starting, a check that would take more than MAX_SECONDS."""
    model, ids, mask, targets, initial_state = problem
    numbers = model.flat.size + (0 if initial_state is None else initial_state.size)
    def evaluate():
        rng = None if dropout_seed is None else np.random.default_rng(dropout_seed)
        model.loss_and_gradients(ids, mask, targets, initial_state, rng)
    evaluate()                                   # (the compiled engine compiles at its first call)
    started = time.perf_counter()
    evaluate()
    seconds = 2 * numbers * (time.perf_counter() - started)
    if seconds > MAX_SECONDS:
        duration = f"{seconds / 60:.0f} minutes" if seconds < 7200 else f"{seconds / 3600:.0f} hours"
        raise ConfigError(f"checking {numbers:,} numbers would take about {duration} "
                          f"(two loss evaluations each); choose smaller sizes (--hidden, --vocab, "
                          f"--batch, --max-length)")


def _combinations(tasks):
    """(task, cell, layers, bidirectional, embed, attention) of every combination that can be built."""
    for task, cell, layers, bidirectional, embed in itertools.product(
            tasks, ("rnn", "lstm", "gru"), (1, 2), (False, True), (None, 3)):
        if bidirectional and task == "lm" or embed and task in ("regress", "forecast"):
            continue
        for attention in ("dot", "general", "additive", "none") if task == "seq2seq" else (None,):
            if not (attention == "dot" and bidirectional):
                yield task, cell, layers, bidirectional, embed, attention


def _check_all(sizes, seed, eps, tasks):
    """Every cell x {1, 2} layers x directions x {one-hot, embedding} x task (x attention
    for seq2seq)."""
    failures = 0
    for task, cell, layers, bidirectional, embed, attention in _combinations(tasks):
        options = {"task": task, "cell": cell, "num_layers": layers, "bidirectional": bidirectional,
                   "embed_size": embed, "nonlinearity": "tanh", "dropout": 0.0, "pool": "last",
                   "attention": attention, "features": None}
        results = _check(sizes, options, seed, eps)
        worst = max(results, key=lambda result: result.relative_error)
        ok = all(result.passed for result in results)
        failures += not ok
        reading = f"{f'{attention} attention':<20}" if attention else ""       # seq2seq only
        print(f"{task:<9}{cell:<5}layers {layers}  {'bidirectional' if bidirectional else 'one direction':<14}"
              f"{'embedding' if embed else 'numbers' if task in ('regress', 'forecast') else 'one-hot':<10}{reading}{len(results):>3} tensors  worst relative "
              f"error {worst.relative_error:.1e} ({worst.name})  {'ok' if ok else 'FAIL'}")
    print("gradients match finite differences" if not failures else f"{failures} combination(s) failed")
    return 1 if failures else 0
