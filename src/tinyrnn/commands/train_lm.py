"""`tinyrnn train --task lm`: train a character (or word) language model on a text and save it."""
import sys
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ..checkpoint import fingerprint
from ..data.corpus import build_vocab, default_corpus, encode_text, read_corpus
from ..describe import kind
from ..errors import DataError, TinyRNNError
from ..io import load_model
from ..plots import require_matplotlib
from ..sampling import generate
from ..tasks import NATS_PER_BIT, LanguageModelTask
from ..text_output import printable
from ..training import Trainer, run_signature
from ..vocab import tokenizer_of
from .checkpointing import command_checkpoints
from .common import data_inputs, draw_training_plot, locked_outputs, model_options, output_may_close, warn_unknown
from .presets import recipe_for
from .training import RunReport, run_trainer, save_run_model, train_config

SAMPLE_LENGTH = 200                      # tokens in each sample printed during training


@dataclass(frozen=True)
class Outputs:
    """What training writes besides the log blocks on stdout."""

    model_path: str                      # --out
    json_log: str | None                 # --json-log
    progress: bool                       # --progress: a bar on stderr even when it is no terminal
    sample_every: int | None             # --sample-every: steps between samples (0: never; None: at log points)
    keep_best: bool                      # --keep-best: save the model at each lowest validation loss
    force: bool = False                  # --force: --out may be replaced whatever it holds


def run(args):
    """Train on --text (default: Python's documentation topics), print logs and samples, save --out."""
    outputs = {"--out": (args.out, "model:lm"), "--json-log": (args.json_log, "log"),
               "--checkpoint-dir": (args.checkpoint_dir, "folder"), "--plot": (args.plot, "png")}
    if args.plot:
        require_matplotlib()                         # before the run, not after an hour of it
    checkpoints = command_checkpoints(args)
    with locked_outputs(outputs, data_inputs(text=args.text, init_from=args.init_from), args.force), \
            checkpoints.held() if checkpoints else nullcontext(), output_may_close():
        return _run(args, checkpoints)


def _run(args, checkpoints):
    overrides = {"epochs": args.epochs, "hidden": args.hidden, "init": args.init,
                 "optimizer": args.optimizer, "lr": args.lr, "batch_size": args.batch_size,
                 "seq_length": args.seq_length, "clip_value": args.clip_value,
                 "log_every": args.log_every, "dtype": args.dtype}
    text_path, encoding = args.text, args.encoding
    val_fraction = 0.1 if args.valid_split is None else args.valid_split
    tokenizer, seed = args.tokenizer or "chars", args.seed
    outputs = Outputs(args.out, args.json_log, args.progress, args.sample_every, args.keep_best, args.force)
    architecture = model_options(args)

    recipe, given = recipe_for("lm", args.preset, overrides)
    config = train_config(args, recipe, given)
    config.validate()
    if args.init_from:
        model = _saved_model(args.init_from, architecture, overrides, args.tokenizer)
        vocab, train_ids, val_ids = _corpus(text_path, encoding, val_fraction, model.tokenizer, model.vocab)
    else:
        limits = {"min_count": args.min_count or 1, "max_size": args.max_vocab}
        if tokenizer == "chars" and (args.min_count or args.max_vocab):
            raise TinyRNNError("--min-count and --max-vocab limit a vocabulary of words (--tokenizer words)")
        vocab, train_ids, val_ids = _corpus(text_path, encoding, val_fraction, tokenizer, limits=limits)
        model_config = {"task": "lm", "hidden_size": recipe["hidden"], "dtype": recipe["dtype"],
                        "tokenizer": {"kind": tokenizer}}
        model = architecture.build(model_config, vocab, None, np.random.default_rng(seed), recipe["init"])
    task = LanguageModelTask(train_ids, val_ids, recipe["seq_length"], recipe.get("sum_over_time", False))
    dropout_rng, sample_rng = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])
    trainer = Trainer(model, task, config, dropout_rng)
    report = LanguageModelReport(trainer, sample_rng, outputs, len(train_ids))
    if checkpoints:                                  # a finished run: its log written, its model saved again
        checkpoints.start(trainer, run_signature(model, config, task, seed, fingerprint(train_ids, val_ids)),
                          {"samples": sample_rng}, _where)
    run_trainer(trainer, report, outputs.json_log, outputs.progress, checkpoints, outputs.model_path, args.force)
    state = trainer.state
    save_run_model(model, outputs.model_path, args.force)
    kept = f" (lowest validation loss, {-state.best_score[0]:.3f} nats/{model.tokenizer.unit[:4]})" \
        if outputs.keep_best and state.best_record is not None else ""
    print(f"saved {printable(outputs.model_path)}{kept}", file=sys.stderr)
    draw_training_plot(args.plot, [_record(stats) for stats in state.history],
                       f"{outputs.model_path}: {model.describe(short=True)}", model.tokenizer.unit)
    return 0


def _corpus(path, encoding, val_fraction, tokenizer, vocab=None, limits=None):
    """(vocab, training ids, validation ids) of the text at path or the default corpus; prints
    their sizes. vocab: a saved model's (--init-from), else built from the training text
    within limits (build_vocab's min_count, max_size)."""
    tokenizer = tokenizer_of(tokenizer)
    text = read_corpus(path, encoding) if path else default_corpus()
    train_text, val_text = _split_text(text, val_fraction, path or "the default corpus")
    vocab = vocab or build_vocab(train_text, tokenizer, **(limits or {}))
    train_ids, unknown = encode_text(train_text, vocab, tokenizer)
    limited = limits and (limits.get("min_count", 1) > 1 or limits.get("max_size"))
    if limited:                                      # rare words are <unk> by choice
        print(f"kept {len(vocab.words)} {tokenizer.unit}s; {len(unknown)} rarer ones are read as <unk>")
    else:
        warn_unknown([repr(token) for token in unknown], "training text", tokenizer.unit)
    val_ids, unknown = encode_text(val_text, vocab, tokenizer)
    if not limited:
        warn_unknown([repr(token) for token in unknown], "validation text", tokenizer.unit)
    print(f"{len(vocab.words)} unique {tokenizer.unit}s found ({len(train_ids):,} for training, "
          f"{len(val_ids):,} for validation)")
    return vocab, train_ids, val_ids


def _split_text(text, fraction, source):
    """(training text, the last `fraction` held out for validation); errors name source."""
    if not text.strip():
        raise DataError(f"{source}: the text is empty")
    cut = int(round(len(text) * (1 - fraction)))
    if cut < 2:
        raise DataError(f"{source}: the text has {len(text)} characters: too short to train on")
    return text[:cut], text[cut:]


def _where(state):
    """Where a language model's run stands, for the resume messages."""
    return f"at step {state.steps}" if state.finished else f"next: step {state.steps + 1}"


class LanguageModelReport(RunReport):
    """A language model's log: a block and a sample at each log point, samples every
    --sample-every steps, the model saved at each lowest validation loss with --keep-best."""

    unit = "step"

    def __init__(self, trainer, sample_rng, outputs, tokens):
        self.trainer, self.sample_rng, self.outputs, self.tokens = trainer, sample_rng, outputs, tokens
        self.model = trainer.model

    def updates_per_epoch(self, trainer):
        return -(-((self.tokens - 1) // trainer.config.batch_size) // trainer.task.seq_length)

    def postfix(self, record):
        return {"step": record.step, "loss": f"{record.train_loss:.3f}"}

    def log_block(self, record):
        return _log_block(record, self.model.tokenizer.unit + "s")

    def json_record(self, record):
        return _record(record)

    def after_record(self, record):
        if self.outputs.sample_every is None:                       # default: a sample per log point
            _print_sample(self.model, self.sample_rng, record.step)
        if record.stopped_early:
            tqdm.write(f"Stopped at step {record.step}: no lower validation loss in the last "
                       f"{self.trainer.config.early_stop} log points", file=sys.stdout)
        if self.outputs.keep_best and record.best:                  # a killed run keeps its best model
            save_run_model(self.model, self.outputs.model_path, self.outputs.force)

    def after_update(self, progress):
        every = self.outputs.sample_every
        if every and progress.step % every == 0:
            _print_sample(self.model, self.sample_rng, progress.step)


def _record(stats):
    bits = None if stats.valid_loss is None else stats.valid_loss / NATS_PER_BIT
    return {"step": stats.step, "epoch": stats.epoch, "chars_seen": stats.seen,
            "train_loss": stats.train_loss, "val_loss": stats.valid_loss,
            "val_bits_per_char": bits, "train_seconds": stats.train_seconds}


def _saved_model(path, architecture, overrides, tokenizer):
    """The language model saved at path (--init-from); options that set the model must agree."""
    model = load_model(path)
    if model.task != "lm":
        raise TinyRNNError(f"{path} is {kind(model)}; --task lm --init-from needs a language model")
    architecture.check_agrees(model, path)
    for option, value, saved in (("--hidden", overrides["hidden"], model.hidden_size),
                                 ("--dtype", overrides["dtype"], model.dtype.name),
                                 ("--init", overrides["init"], None)):
        if value is not None and value != saved:
            raise TinyRNNError(f"{option} {value} disagrees with {path} ({saved or 'its weights'})")
    if tokenizer is not None and tokenizer != model.tokenizer.kind:
        raise TinyRNNError(f"--tokenizer {tokenizer} disagrees with {path} ({model.tokenizer.kind})")
    return model


def _print_sample(model, rng, step):
    sample = "".join(model.tokenizer.pieces(generate(model, rng, SAMPLE_LENGTH)))
    tqdm.write(f"--- Sample at step {step}\n{sample}", file=sys.stdout)


def _log_block(stats, unit):
    per = "char" if unit == "characters" else "word"
    lines = [f"--- Step {stats.step} | {stats.seen:,} {unit} | {stats.train_seconds:.1f} s",
             f"Train:\tLoss {stats.train_loss:.3f} nats/{per}"]
    if stats.valid_loss is not None:
        lines.append(f"Val:\tLoss {stats.valid_loss:.3f} nats/{per} | {stats.valid_loss / NATS_PER_BIT:.3f} "
                     f"bits/{per}")
    return "\n".join(lines)
