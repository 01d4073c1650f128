"""`tinyrnn train --task lm`: train a character (or word) language model on a text and save it."""
import sys
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ..data.corpus import build_vocab, default_corpus, encode_text, read_corpus
from ..errors import DataError
from ..io import save_model
from ..sampling import generate
from ..train import TrainState
from ..train_lm import LM_PRESETS, LMConfig, train_language_model
from .common import (JsonLog, data_inputs, locked_outputs, model_options, progress_bar, recipe_for, spaced,
                     token_unit, warn_unknown)

SAMPLE_LENGTH = 200                      # tokens in each sample printed during training


@dataclass(frozen=True)
class Outputs:
    """What training writes besides the log blocks on stdout."""

    model_path: str                      # --out
    json_log: str | None                 # --json-log
    progress: bool                       # --progress: a bar on stderr even when it is no terminal
    sample_every: int | None             # --sample-every: steps between samples (0: never; None: at log points)


def run(args):
    """Train on --text (default: Python's documentation topics), print logs and samples, save --out."""
    outputs = {"--out": (args.out, "model"), "--json-log": (args.json_log, "log")}
    with locked_outputs(outputs, data_inputs(text=args.text), args.force):
        return _run(args)


def _run(args):
    overrides = {"epochs": args.epochs, "hidden": args.hidden, "init": args.init,
                 "optimizer": args.optimizer, "lr": args.lr, "batch_size": args.batch_size,
                 "seq_length": args.seq_length, "clip_value": args.clip_value,
                 "log_every": args.log_every, "dtype": args.dtype}
    settings = {"steps": args.steps, "minutes": args.minutes, "momentum": args.momentum,
                "nesterov": args.nesterov, "lr_decay": args.lr_decay,
                "clip_norm": None if args.clip_norm == "none" else args.clip_norm,
                "early_stop": args.early_stop,
                "log_every_seconds": None if args.log_every_seconds == "none" else args.log_every_seconds}
    text_path, encoding, val_fraction = args.text, args.encoding, args.val_fraction
    tokenizer, preset, seed = args.tokenizer, args.preset, args.seed
    outputs = Outputs(args.out, args.json_log, args.progress, args.sample_every)
    best = TrainState() if args.keep_best else None       # the lowest validation loss so far
    architecture = model_options(args)

    recipe, given = recipe_for(LM_PRESETS, preset or "charrnn", overrides)
    if (settings["steps"] or settings["minutes"]) and "epochs" not in given:
        recipe["epochs"] = None                          # --steps / --minutes decide alone
    vocab, train_ids, val_ids = _corpus(text_path, encoding, val_fraction, tokenizer)
    config = _config(recipe, settings)
    model_config = {"task": "lm", "hidden_size": recipe["hidden"], "dtype": recipe["dtype"],
                    "tokenizer": {"kind": tokenizer}}
    model = architecture.build(model_config, vocab, None, np.random.default_rng(seed), recipe["init"])
    _train(model, train_ids, val_ids, config, outputs, best, np.random.default_rng([seed, 1]),
           np.random.default_rng([seed, 2]))
    if best is not None and best.best_epoch is not None:
        print(f"saved {outputs.model_path} (lowest validation loss, {-best.best_score[0]:.3f} "
              f"nats/{token_unit(tokenizer)[:4]})", file=sys.stderr)
        return 0
    save_model(model, outputs.model_path)
    print(f"saved {outputs.model_path}", file=sys.stderr)
    return 0


def _config(recipe, settings):
    """The validated LMConfig of the recipe and the options that no preset sets."""
    config = LMConfig(seq_length=recipe["seq_length"], batch_size=recipe["batch_size"],
                      epochs=recipe["epochs"], optimizer=recipe["optimizer"], lr=recipe["lr"],
                      clip_value=recipe["clip_value"], log_every=recipe["log_every"],
                      sum_over_time=recipe.get("sum_over_time", False), **settings)
    config.validate()
    return config


def _corpus(path, encoding, val_fraction, tokenizer):
    """(vocab, training ids, validation ids) of the text at path or the default corpus; prints their sizes."""
    text = read_corpus(path, encoding) if path else default_corpus()
    train_text, val_text = _split_text(text, val_fraction)
    vocab = build_vocab(train_text, tokenizer)
    train_ids, _ = encode_text(train_text, vocab, tokenizer)
    val_ids, unknown = encode_text(val_text, vocab, tokenizer)
    warn_unknown([repr(token) for token in unknown], "validation text", token_unit(tokenizer))
    print(f"{len(vocab.words)} unique {token_unit(tokenizer)}s found ({len(train_ids):,} for training, "
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


def _train(model, train_ids, val_ids, config, outputs, best, sample_rng, dropout_rng):
    """Train, printing log blocks and samples, JSON-logging, and saving new bests if asked."""
    unit = token_unit(model.tokenizer) + "s"
    per_epoch = -(-((len(train_ids) - 1) // config.batch_size) // config.seq_length)
    totals = [n for n in (config.steps, config.epochs and config.epochs * per_epoch) if n]
    with JsonLog(outputs.json_log) as log, progress_bar(min(totals, default=None), "step",
                                                        outputs.progress) as bar:
        def on_log(stats):
            tqdm.write(_log_block(stats, unit), file=sys.stdout)
            if outputs.sample_every is None:                          # default: a sample per log point
                _print_sample(model, sample_rng, stats.step)
            if stats.stopped_early:
                tqdm.write(f"Stopped at step {stats.step}: no lower validation loss in the last "
                           f"{config.early_stop} log points", file=sys.stdout)
            log.write_record({"step": stats.step, "epoch": stats.epoch, "chars_seen": stats.chars_seen,
                              "train_loss": stats.train_loss, "val_loss": stats.val_loss,
                              "val_bits_per_char": stats.val_bits, "train_seconds": stats.train_seconds})
            new_best = best is not None and stats.val_loss is not None and \
                best.observe(stats.step, (-stats.val_loss,))              # lower loss is better
            if new_best:
                save_model(model, outputs.model_path)

        def on_step(step):
            bar.update(1)
            if outputs.sample_every and step % outputs.sample_every == 0:
                _print_sample(model, sample_rng, step)
        train_language_model(model, train_ids, config, val_ids, on_log, on_step, dropout_rng)


def _print_sample(model, rng, step):
    sample = "".join(spaced(generate(model, rng, SAMPLE_LENGTH), model.tokenizer))
    tqdm.write(f"--- Sample at step {step}\n{sample}", file=sys.stdout)


def _log_block(stats, unit):
    per = "char" if unit == "characters" else "word"
    lines = [f"--- Step {stats.step} | {stats.chars_seen:,} {unit} | {stats.train_seconds:.1f} s",
             f"Train:\tLoss {stats.train_loss:.3f} nats/{per}"]
    if stats.val_loss is not None:
        lines.append(f"Val:\tLoss {stats.val_loss:.3f} nats/{per} | {stats.val_bits:.3f} bits/{per}")
    return "\n".join(lines)
