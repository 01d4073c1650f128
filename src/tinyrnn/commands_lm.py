"""The language-model subcommands: `tinyrnn train --task lm` and `tinyrnn generate`."""
import sys

import numpy as np
from tqdm import tqdm

from .commands import JsonLog, check_writable_outputs, recipe_for, warn_unknown
from .data.corpus import build_vocab, default_corpus, encode_text, read_corpus
from .errors import DataError, TinyRNNError
from .io import load_model, save_model
from .models import LanguageModel
from .sampling import generate
from .train_lm import LM_PRESETS, LMConfig, train_language_model

SAMPLE_LENGTH = 200


def run_train_lm(args):
    check_writable_outputs(args)
    recipe, given = recipe_for(args, LM_PRESETS, "charrnn")
    if (args.steps or args.minutes) and "epochs" not in given:
        recipe["epochs"] = None                          # --steps / --minutes decide alone
    vocab, train_ids, val_ids = _corpus(args)
    unit = _unit(args.tokenizer) + "s"
    config = LMConfig(seq_length=recipe["seq_length"], batch_size=recipe["batch_size"],
                      steps=args.steps, epochs=recipe["epochs"], minutes=args.minutes,
                      optimizer=recipe["optimizer"], lr=recipe["lr"], momentum=args.momentum,
                      nesterov=args.nesterov, clip_value=recipe["clip_value"],
                      clip_norm=None if args.clip_norm == "none" else args.clip_norm,
                      log_every=recipe["log_every"], sum_over_time=recipe.get("sum_over_time", False),
                      lr_decay=args.lr_decay)
    config.validate()
    model = LanguageModel(vocab, recipe["hidden"], dtype=recipe["dtype"], tokenizer=args.tokenizer)
    model.initialize(np.random.default_rng(args.seed), recipe["init"])
    sample_rng = np.random.default_rng([args.seed, 1])
    total = config.steps or None
    best = [float("inf")]
    with JsonLog(args.json_log) as log, tqdm(total=total, unit="step", file=sys.stderr,
                                             disable=not (args.progress or sys.stderr.isatty())) as bar:
        def on_log(stats):
            tqdm.write(_log_block(stats, unit), file=sys.stdout)
            log.write_record({"step": stats.step, "epoch": stats.epoch, "chars_seen": stats.chars_seen,
                              "train_loss": stats.train_loss, "val_loss": stats.val_loss,
                              "val_bits_per_char": stats.val_bits, "train_seconds": stats.train_seconds})
            if args.keep_best and stats.val_loss is not None and stats.val_loss < best[0]:
                best[0] = stats.val_loss
                save_model(model, args.out)

        def on_step(step):
            bar.update(1)
            if args.sample_every and step % args.sample_every == 0:
                sample = "".join(_spaced(generate(model, sample_rng, SAMPLE_LENGTH), args.tokenizer))
                tqdm.write(f"--- Sample at step {step}\n{sample}", file=sys.stdout)
        train_language_model(model, train_ids, config, val_ids, on_log, on_step)
    if args.keep_best and best[0] < float("inf"):
        print(f"saved {args.out} (lowest validation loss, {best[0]:.3f} nats/{_unit(args.tokenizer)[:4]})",
              file=sys.stderr)
        return 0
    save_model(model, args.out)
    print(f"saved {args.out}", file=sys.stderr)
    return 0


def _corpus(args):
    """(vocab, training ids, validation ids) of --text or the default corpus; prints their sizes."""
    text = read_corpus(args.text, args.encoding) if args.text else default_corpus()
    train_text, val_text = _split_text(text, args.val_fraction)
    vocab = build_vocab(train_text, args.tokenizer)
    train_ids, _ = encode_text(train_text, vocab, args.tokenizer)
    val_ids, unknown = encode_text(val_text, vocab, args.tokenizer)
    warn_unknown([repr(token) for token in unknown], "validation text", _unit(args.tokenizer))
    print(f"{len(vocab.words)} unique {_unit(args.tokenizer)}s found ({len(train_ids):,} for training, "
          f"{len(val_ids):,} for validation)")
    return vocab, train_ids, val_ids


def _unit(tokenizer):
    return "character" if tokenizer == "chars" else "word"


def _split_text(text, fraction):
    if not text.strip():
        raise DataError("the text is empty")
    cut = int(round(len(text) * (1 - fraction)))
    if cut < 2:
        raise DataError(f"the text has {len(text)} characters: too short to train on")
    return text[:cut], text[cut:]


def _log_block(stats, unit):
    per = "char" if unit == "characters" else "word"
    lines = [f"--- Step {stats.step} | {stats.chars_seen:,} {unit} | {stats.train_seconds:.1f} s",
             f"Train:\tLoss {stats.train_loss:.3f} nats/{per}"]
    if stats.val_loss is not None:
        lines.append(f"Val:\tLoss {stats.val_loss:.3f} nats/{per} | {stats.val_bits:.3f} bits/{per}")
    return "\n".join(lines)


def _spaced(tokens, tokenizer):
    """Characters as they are; words separated by spaces."""
    for i, token in enumerate(tokens):
        yield token if tokenizer == "chars" or i == 0 else " " + token


def run_generate(args):
    model = load_model(args.model)
    if not isinstance(model, LanguageModel):
        raise TinyRNNError(f"{args.model} is a classifier; generate needs a language model "
                           f"(tinyrnn train --task lm)")
    _, unknown = model.vocab.encode(model.tokenize(args.prime))
    unknown = sorted(set(unknown))
    if unknown and args.strict:
        raise TinyRNNError(f"prime has tokens the model never saw: {', '.join(map(repr, unknown))}")
    warn_unknown([repr(token) for token in unknown], "prime", _unit(model.tokenizer))
    rng = np.random.default_rng(args.seed)
    sys.stdout.write(args.prime)
    tokens = generate(model, rng, args.length, args.prime, args.temperature, args.top_k)
    for piece in _spaced(tokens, model.tokenizer):
        if model.tokenizer == "words" and args.prime and not piece.startswith(" "):
            piece = " " + piece
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0
