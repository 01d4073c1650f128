"""`tinyrnn train --task lm`: train a character (or word) language model on a text and save it."""
import sys
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ..data.corpus import build_vocab, default_corpus, encode_text, read_corpus
from ..errors import DataError, TinyRNNError
from ..checkpoint import fingerprint
from ..io import load_model, save_model
from ..sampling import generate
from ..train import make_optimizer
from ..train_lm import LM_PRESETS, LMConfig, LMState, train_language_model
from ..vocab import tokenizer_of
from .checkpointing import Run, run_checkpoints, signature
from ..plots import require_matplotlib
from .common import (JsonLog, data_inputs, draw_training_plot, locked_outputs, model_options, output_may_close,
                     progress_bar, recipe_for, warn_unknown)

SAMPLE_LENGTH = 200                      # tokens in each sample printed during training


@dataclass(frozen=True)
class Outputs:
    """What training writes besides the log blocks on stdout."""

    model_path: str                      # --out
    json_log: str | None                 # --json-log
    progress: bool                       # --progress: a bar on stderr even when it is no terminal
    sample_every: int | None             # --sample-every: steps between samples (0: never; None: at log points)
    keep_best: bool                      # --keep-best: save the model at each lowest validation loss


def run(args):
    """Train on --text (default: Python's documentation topics), print logs and samples, save --out."""
    outputs = {"--out": (args.out, "model"), "--json-log": (args.json_log, "log"),
               "--checkpoint-dir": (args.checkpoint_dir, "folder"), "--plot": (args.plot, "png")}
    if args.plot:
        require_matplotlib()                         # before the run, not after an hour of it
    checkpoints = run_checkpoints(args)
    with locked_outputs(outputs, data_inputs(text=args.text, init_from=args.init_from), args.force), \
            checkpoints.held() if checkpoints else nullcontext(), output_may_close():
        return _run(args, checkpoints)


def _run(args, checkpoints):
    overrides = {"epochs": args.epochs, "hidden": args.hidden, "init": args.init,
                 "optimizer": args.optimizer, "lr": args.lr, "batch_size": args.batch_size,
                 "seq_length": args.seq_length, "clip_value": args.clip_value,
                 "log_every": args.log_every, "dtype": args.dtype}
    settings = {"steps": args.steps, "minutes": args.minutes, "momentum": args.momentum,
                "nesterov": args.nesterov, "lr_decay": args.lr_decay,
                "clip_norm": None if args.clip_norm == "none" else args.clip_norm,
                "early_stop": args.early_stop, "ema": None if args.ema in (None, "none") else args.ema,
                "log_every_seconds": None if args.log_every_seconds == "none" else args.log_every_seconds}
    text_path, encoding, val_fraction = args.text, args.encoding, args.val_fraction
    tokenizer, preset, seed = args.tokenizer, args.preset, args.seed
    outputs = Outputs(args.out, args.json_log, args.progress, args.sample_every, args.keep_best)
    architecture = model_options(args)

    recipe, given = recipe_for(LM_PRESETS, preset or "charrnn", overrides)
    if (settings["steps"] or settings["minutes"]) and "epochs" not in given:
        recipe["epochs"] = None                          # --steps / --minutes decide alone
    config = _config(recipe, settings)
    if args.init_from:
        model = _saved_model(args.init_from, architecture, overrides, tokenizer)
        vocab, train_ids, val_ids = _corpus(text_path, encoding, val_fraction, model.tokenizer, model.vocab)
    else:
        vocab, train_ids, val_ids = _corpus(text_path, encoding, val_fraction, tokenizer)
        model_config = {"task": "lm", "hidden_size": recipe["hidden"], "dtype": recipe["dtype"],
                        "tokenizer": {"kind": tokenizer}}
        model = architecture.build(model_config, vocab, None, np.random.default_rng(seed), recipe["init"])
    run = Run(model, {"dropout": np.random.default_rng([seed, 1]), "samples": np.random.default_rng([seed, 2])},
              LMState(), make_optimizer(config.as_train_config()), checkpoints)
    if checkpoints:
        checkpoints.signature = signature(model, config, seed, fingerprint(train_ids, val_ids))
    if not checkpoints or run.resume(LMState, _where):     # a finished run: its model is saved again
        _train(run, config, train_ids, val_ids, outputs)
    if outputs.keep_best and run.state.best_weights is not None:
        model.flat[...] = run.state.best_weights
        save_model(model, outputs.model_path)
        print(f"saved {outputs.model_path} (lowest validation loss, {run.state.best_loss:.3f} "
              f"nats/{model.tokenizer.unit[:4]})", file=sys.stderr)
    else:
        save_model(model, outputs.model_path)
        print(f"saved {outputs.model_path}", file=sys.stderr)
    draw_training_plot(args.plot, [_record(stats) for stats in run.state.history],
                       f"{outputs.model_path}: {model.describe(short=True)}", model.tokenizer.unit)
    return 0


def _config(recipe, settings):
    """The validated LMConfig of the recipe and the options that no preset sets."""
    config = LMConfig(seq_length=recipe["seq_length"], batch_size=recipe["batch_size"],
                      epochs=recipe["epochs"], optimizer=recipe["optimizer"], lr=recipe["lr"],
                      clip_value=recipe["clip_value"], log_every=recipe["log_every"],
                      sum_over_time=recipe.get("sum_over_time", False), **settings)
    config.validate()
    return config


def _corpus(path, encoding, val_fraction, tokenizer, vocab=None):
    """(vocab, training ids, validation ids) of the text at path or the default corpus; prints
    their sizes. vocab: a saved model's (--init-from), else built from the training text."""
    tokenizer = tokenizer_of(tokenizer)
    text = read_corpus(path, encoding) if path else default_corpus()
    train_text, val_text = _split_text(text, val_fraction)
    vocab = vocab or build_vocab(train_text, tokenizer)
    train_ids, unknown = encode_text(train_text, vocab, tokenizer)
    warn_unknown([repr(token) for token in unknown], "training text", tokenizer.unit)
    val_ids, unknown = encode_text(val_text, vocab, tokenizer)
    warn_unknown([repr(token) for token in unknown], "validation text", tokenizer.unit)
    print(f"{len(vocab.words)} unique {tokenizer.unit}s found ({len(train_ids):,} for training, "
          f"{len(val_ids):,} for validation)")
    return vocab, train_ids, val_ids


def _split_text(text, fraction):
    """(training text, the last `fraction` held out for validation)."""
    if not text.strip():
        raise DataError("the text is empty")
    cut = int(round(len(text) * (1 - fraction)))
    if cut < 2:
        raise DataError(f"the text has {len(text)} characters: too short to train on")
    return text[:cut], text[cut:]


def _where(state):
    """Where a language model's run stands, for the resume messages."""
    return f"at step {state.steps}" if state.finished else f"next: step {state.steps + 1}"


def _train(run, config, train_ids, val_ids, outputs):
    """Train, printing log blocks and samples, JSON-logging, saving new bests if asked and
    checkpoints if a folder is set."""
    model, state, checkpoints = run.model, run.state, run.checkpoints
    unit, sample_rng = model.tokenizer.unit + "s", run.rngs["samples"]
    per_epoch = -(-((len(train_ids) - 1) // config.batch_size) // config.seq_length)
    totals = [n for n in (config.steps, config.epochs and config.epochs * per_epoch) if n]
    with JsonLog(outputs.json_log) as log, progress_bar(min(totals, default=None), "step",
                                                        outputs.progress) as bar:
        bar.update(state.steps)
        for stats in state.history:                  # a resumed run's log starts as the first did
            log.write_record(_record(stats))

        def on_log(stats):
            tqdm.write(_log_block(stats, unit), file=sys.stdout)
            if outputs.sample_every is None:                          # default: a sample per log point
                _print_sample(model, sample_rng, stats.step)
            if stats.stopped_early:
                tqdm.write(f"Stopped at step {stats.step}: no lower validation loss in the last "
                           f"{config.early_stop} log points", file=sys.stdout)
            log.write_record(_record(stats))
            if outputs.keep_best and stats.best:
                state.best_weights = model.flat.copy()
                save_model(model, outputs.model_path)

        def on_step(step):
            bar.update(1)
            if outputs.sample_every and step % outputs.sample_every == 0:
                _print_sample(model, sample_rng, step)
            if checkpoints:
                checkpoints.interrupt_if_asked(run.checkpoint)
                if checkpoints.due(step):
                    run.checkpoint()
        with checkpoints.deferred_signals() if checkpoints else nullcontext():
            train_language_model(model, train_ids, config, val_ids, on_log, on_step, run.rngs["dropout"],
                                 state, run.optimizer)
            if checkpoints:
                run.checkpoint()                     # the finished run


def _record(stats):
    return {"step": stats.step, "epoch": stats.epoch, "chars_seen": stats.chars_seen,
            "train_loss": stats.train_loss, "val_loss": stats.val_loss,
            "val_bits_per_char": stats.val_bits, "train_seconds": stats.train_seconds}


def _saved_model(path, architecture, overrides, tokenizer):
    """The language model saved at path (--init-from); options that set the model must agree."""
    model = load_model(path)
    if model.task != "lm":
        raise TinyRNNError(f"{path} is a classifier; --task lm --init-from needs a language model")
    architecture.check_agrees(model, path)
    for option, value, saved in (("--hidden", overrides["hidden"], model.hidden_size),
                                 ("--dtype", overrides["dtype"], model.dtype.name),
                                 ("--init", overrides["init"], None)):
        if value is not None and value != saved:
            raise TinyRNNError(f"{option} {value} disagrees with {path} ({saved or 'its weights'})")
    if tokenizer != model.tokenizer.kind and tokenizer != "chars":      # chars: the option's default
        raise TinyRNNError(f"--tokenizer {tokenizer} disagrees with {path} ({model.tokenizer.kind})")
    return model


def _print_sample(model, rng, step):
    sample = "".join(model.tokenizer.pieces(generate(model, rng, SAMPLE_LENGTH)))
    tqdm.write(f"--- Sample at step {step}\n{sample}", file=sys.stdout)


def _log_block(stats, unit):
    per = "char" if unit == "characters" else "word"
    lines = [f"--- Step {stats.step} | {stats.chars_seen:,} {unit} | {stats.train_seconds:.1f} s",
             f"Train:\tLoss {stats.train_loss:.3f} nats/{per}"]
    if stats.val_loss is not None:
        lines.append(f"Val:\tLoss {stats.val_loss:.3f} nats/{per} | {stats.val_bits:.3f} bits/{per}")
    return "\n".join(lines)
