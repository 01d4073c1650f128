"""`tinyrnn train --task seq2seq`: train a translator on sentence pairs and save it.

Data: --train FILE (source<TAB>target lines, .csv or .jsonl with source and target
columns) or --train source=FILE --train target=FILE (two aligned files); --swap reverses
the direction. Without --train: the embedded dates -> ISO 8601 pairs (data/dates.py), over
characters. Validation: --valid or a --valid-split of the source sentences (default 0.1);
test: --test or a --test-split (default 0.1), both held out by source sentence."""
import importlib.util
import sys
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from ..checkpoint import fingerprint
from ..data.dates import default_date_pairs
from ..data.pairs import filter_pairs, normalize, normalize_pairs, read_pairs, split_pairs
from ..errors import DataError, TinyRNNError
from ..io import load_model
from ..notices import say
from ..plots import require_matplotlib
from ..tasks.seq2seq import Seq2SeqTask, encode_pairs, evaluate_pairs
from ..text_output import printable
from ..training import Trainer, run_signature
from ..vocab import TARGET_SPECIALS, Vocab, tokenizer_of
from .checkpointing import command_checkpoints
from .common import data_inputs, draw_training_plot, locked_outputs, model_options, output_may_close, warn_unknown
from .presets import recipe_for, with_preset_options
from .training import RunReport, epoch_where, run_trainer, save_run_model, saying_weights_saved, train_config

DEFAULT_SPLIT = 0.1                      # of the source sentences, for validation and for test
SACREBLEU_NOTE = ("note: BLEU and chrF need sacrebleu: python -m pip install sacrebleu (or the translate "
                  "extra, '.[translate]' in a checkout of tinyrnn)")


def run(args):
    """Train on --train (default: the embedded dates), print the log blocks, save --out."""
    args = with_preset_options(args, "seq2seq")
    outputs = {"--out": (args.out, "model:seq2seq"), "--json-log": (args.json_log, "log"),
               "--checkpoint-dir": (args.checkpoint_dir, "folder"), "--plot": (args.plot, "png")}
    if args.plot:
        require_matplotlib()                         # before the run, not after an hour of it
    inputs = data_inputs(train=_paths(args.train), test=_paths(args.test), valid=_paths(args.valid),
                         init_from=args.init_from)
    checkpoints = command_checkpoints(args)
    with locked_outputs(outputs, inputs, args.force), checkpoints.held() if checkpoints else nullcontext(), \
            output_may_close():
        return _run(args, checkpoints)


@dataclass(frozen=True)
class PairOptions:
    """How sentence pairs are read and chosen."""

    encoding: str
    source_column: str
    target_column: str
    skip_bad: bool
    swap: bool
    normalize: str
    max_length: int | None
    target_prefixes: tuple | None
    tokenizer: object                    # vocab.Tokenizer: counts --max-length's tokens
    columns_given: bool = False          # --source-column or --target-column given

    def read(self, specs, option):
        """The Pairs of --train/--valid/--test specs: FILE, or source=FILE and target=FILE."""
        files = dict(spec.split("=", 1) if spec.startswith(("source=", "target=")) else ("pairs", spec)
                     for spec in specs)
        if len(files) != len(specs) or set(files) not in ({"pairs"}, {"source", "target"}):
            raise TinyRNNError(f"{option} takes one file of pairs, or source=FILE and target=FILE")
        if "pairs" in files:
            pairs = read_pairs(files["pairs"], self.encoding, source_column=self.source_column,
                               target_column=self.target_column, skip_bad=self.skip_bad)
        else:
            if self.columns_given:                    # two files of lines have no columns
                raise TinyRNNError(f"--source-column and --target-column name columns of one file of pairs; "
                                   f"{option} source=FILE target=FILE reads lines")
            pairs = read_pairs(files["source"], self.encoding, target_path=files["target"], skip_bad=self.skip_bad)
        if pairs.skipped:
            say(f"warning: skipped {len(pairs.skipped)} bad row(s) (--skip-bad-rows); the first: "
                f"{pairs.skipped[0]}")
        return pairs.swapped() if self.swap else pairs

    def chosen(self, pairs, where):
        """pairs normalised (so that --max-length and --target-prefix see what the model reads:
        the prefixes are normalised alike) and filtered, what was left out said on stderr; an
        empty result is an error naming where they came from."""
        count = len(pairs)
        if self.normalize != "none":
            pairs = normalize_pairs(pairs, self.normalize)
            if len(pairs) < count:
                say(f"warning: {where}: {count - len(pairs)} pair(s) left out, empty once normalised; the "
                    f"first: {pairs.skipped[-(count - len(pairs))]}")
        if self.max_length or self.target_prefixes:
            prefixes = None if not self.target_prefixes else tuple(
                normalize(prefix, self.normalize).rstrip() + (" " if prefix.endswith(" ") else "")
                for prefix in self.target_prefixes)
            pairs = filter_pairs(pairs, max_length=self.max_length, target_prefixes=prefixes,
                                 tokenize=self.tokenizer.split)
        if not len(pairs):
            applied = [name for name, used in (("normalisation", self.normalize != "none"),
                                               ("--max-length", self.max_length),
                                               ("--target-prefix", self.target_prefixes)) if used]
            raise DataError(f"{where}: no pairs left after {' and '.join(applied)}")
        if len(pairs) < count:
            say(f"{where}: {len(pairs):,} of {count:,} pairs kept")
        return pairs

    def same_source(self, text):
        """What makes two sources the same sentence: their tokens."""
        return tuple(self.tokenizer.split(text))


def _paths(specs):
    return [spec.split("=", 1)[1] if spec.startswith(("source=", "target=")) else spec for spec in specs or []]


def _run(args, checkpoints):
    overrides = {"epochs": args.epochs, "hidden": args.hidden, "init": args.init, "optimizer": args.optimizer,
                 "lr": args.lr, "batch_size": args.batch_size, "clip_value": args.clip_value,
                 "log_every": args.log_every, "dtype": args.dtype, "target_accuracy": args.target_accuracy}
    if args.valid and args.valid_split is not None:
        raise TinyRNNError("give either --valid or --valid-split, not both")
    if (args.valid_split or 0) + (args.test_split or 0) >= 1:   # (validation is a share of what the test leaves)
        kept = (1 - (args.valid_split or 0)) * (1 - (args.test_split or 0))
        raise TinyRNNError(f"--valid-split {args.valid_split} and --test-split {args.test_split} leave training "
                           f"{kept:.0%} of the pairs; give shares that add up to less than 1")
    if args.test and args.test_split is not None:
        raise TinyRNNError("give either --test or --test-split, not both")
    if args.init_from and (args.min_count or args.max_vocab or args.normalize or args.tokenizer):
        raise TinyRNNError("--min-count, --max-vocab, --normalize and --tokenizer make a new model; "
                           "--init-from keeps the saved model's")
    embedded = not args.train
    if embedded and (args.test or args.valid or args.swap):
        raise TinyRNNError("--test, --valid and --swap read files; give the training pairs with --train")
    prefixes = None if not args.target_prefix else tuple(
        prefix for given in args.target_prefix for prefix in given.split(",") if prefix)
    saved = _saved_model(args.init_from, args) if args.init_from else None
    tokenizer = saved.tokenizer if saved else tokenizer_of(args.tokenizer or ("chars" if embedded else "words"))
    normalization = saved.config.normalize if saved else args.normalize or "none"
    options = PairOptions(args.encoding, args.source_column or "source", args.target_column or "target",
                          args.skip_bad_rows, args.swap, normalization, args.max_length, prefixes, tokenizer,
                          bool(args.source_column or args.target_column))
    seed = args.seed
    train_set, valid_set, test_set = _datasets(args, options, embedded, seed)

    recipe, given = recipe_for("seq2seq", args.preset, overrides)
    config = train_config(args, recipe, given)
    for name in ("keep_best", "early_stop"):          # --valid-split 0: no validation pairs
        if getattr(config, name) and valid_set is None:
            raise TinyRNNError(f"--{name.replace('_', '-')} (of the preset or given) needs validation pairs; "
                               f"--valid-split 0 holds none out")
    config.validate()
    rng = np.random.default_rng(seed)
    model = saved or _new_model(args, recipe, options, train_set, rng)
    print(f"{len(model.vocab.words)} source and {len(model.target_vocab.words)} target "
          f"{model.tokenizer.unit}s; {len(train_set):,} training, {len(valid_set or ()):,} validation, "
          f"{len(test_set or ()):,} test pairs")
    train_data, unknown, _ = encode_pairs(model, train_set)
    valid_data = _encoded(model, valid_set, "validation")
    test_data = _encoded(model, test_set, "test")
    task = Seq2SeqTask(train_data, valid_data, test_data, shuffle=not args.no_shuffle, bucket=not args.no_bucket,
                       beam=args.beam or 1)
    if importlib.util.find_spec("sacrebleu") is None:
        print(SACREBLEU_NOTE, file=sys.stderr)                 # once the run is sure to start
    trainer = Trainer(model, task, config, np.random.default_rng([seed, 1]))
    report = Seq2SeqReport(trainer, sum(len(target) for target in train_data.targets), len(train_data))
    target_words = np.frombuffer("\n".join(model.target_vocab.tokens).encode(), dtype=np.uint8)
    data = fingerprint(target_words, *[seq for part in (train_data, valid_data, test_data) if part
                                       for seq in part.sources + part.targets])
    if checkpoints:                                  # a finished run: its log written, its model saved again
        checkpoints.start(trainer, run_signature(model, config, task, seed, data), {}, epoch_where)
    run_trainer(trainer, report, args.json_log, args.progress, checkpoints, args.out, args.force)
    history = trainer.state.history
    _summary(history, config)
    if test_data is not None and history and (config.keep_best or args.beam):
        _final_test(model, test_data, args.beam or 1, config.keep_best)
    save_run_model(model, args.out, args.force)
    print(f"saved {printable(args.out)}", file=sys.stderr)
    draw_training_plot(args.plot, [saying_weights_saved(_record(stats), config.keep_best) for stats in history],
                       f"{args.out}: {model.describe(short=True)}")
    return 0


def _datasets(args, options, embedded, seed):
    """(train, validation or None, test or None) Pairs: the files given, or held-out parts of
    the training pairs by source sentence (validation from seed [seed, 3], test [seed, 5])."""
    if embedded:
        pairs = options.chosen(default_date_pairs(seed), "the embedded dates")
    else:
        pairs = options.chosen(options.read(args.train, "--train"), args.train[0])
    test_set = options.chosen(options.read(args.test, "--test"), args.test[0]) if args.test else None
    if test_set is None and args.test_split != 0:       # (0: hold out none)
        pairs, test_set = _split(pairs, DEFAULT_SPLIT if args.test_split is None else args.test_split, [seed, 5],
                                 "test", options.same_source)
    valid_set = options.chosen(options.read(args.valid, "--valid"), args.valid[0]) if args.valid else None
    if valid_set is None and args.valid_split != 0:
        pairs, valid_set = _split(pairs, DEFAULT_SPLIT if args.valid_split is None else args.valid_split, [seed, 3],
                                  "validation", options.same_source)
    return pairs, valid_set, test_set


def _split(pairs, fraction, seed, what, key):
    try:
        return split_pairs(pairs, fraction, np.random.default_rng(seed), key)
    except DataError as error:
        raise DataError(f"{pairs.origins[0]}: too few pairs to hold out {fraction} for {what} ({error})") from None


def _encoded(model, pairs, what):
    if pairs is None:
        return None
    data, unknown, _ = encode_pairs(model, pairs)
    warn_unknown(unknown, f"{what} sources", model.tokenizer.unit)
    return data


def _new_model(args, recipe, options, train_set, rng):
    """A new Seq2Seq with vocabularies of the training pairs (--min-count, --max-vocab per side)."""
    tokenizer = options.tokenizer
    limits = {"min_count": args.min_count or 1, "max_size": args.max_vocab}
    source = Vocab.build([tokenizer.split(text) for text in train_set.sources], **limits)
    target = Vocab.build([tokenizer.split(text) for text in train_set.targets], specials=TARGET_SPECIALS, **limits)
    settings = {"task": "seq2seq", "hidden_size": recipe["hidden"], "dtype": recipe["dtype"],
                "tokenizer": {"kind": tokenizer.kind}, "normalize": options.normalize,
                **({"attention": args.attention} if args.attention else {}),
                **({"attention_size": args.attention_size} if args.attention_size else {})}
    return model_options(args).build(settings, (source, target), None, rng, recipe["init"])


def _saved_model(path, args):
    """The seq2seq model saved at path (--init-from); options that set the model must agree."""
    model = load_model(path)
    if model.task != "seq2seq":
        raise TinyRNNError(f"{path} is not a seq2seq model; --task seq2seq --init-from needs one")
    model_options(args).check_agrees(model, path)
    for option, value, saved in (("--hidden", args.hidden, model.hidden_size), ("--dtype", args.dtype, model.dtype.name),
                                 ("--attention", args.attention, model.attention)):
        if value is not None and value != saved:
            raise TinyRNNError(f"{option} {value} disagrees with {path} ({saved})")
    return model


def _final_test(model, test_data, beam, kept):
    """The test figures of the model saved: greedy translations, and a beam's when one is given."""
    for width in sorted({1, beam}):
        figures, _ = evaluate_pairs(model, test_data, width)
        what = ("kept weights, " if kept else "") + ("greedy" if width == 1 else f"beam {width}")
        print(f"Test ({what}):\t{_figures_line(figures)}")


def _summary(history, config):
    if not history:
        return
    last = history[-1]
    if last.target_reached:
        print(f"Reached test exact match {last.test['exact_match']:.3f} at epoch {last.epoch} "
              f"after {last.train_seconds:.1f} s of training")
    if last.stopped_early:
        print(f"Stopped at epoch {last.epoch}: no lower validation loss in the last {config.early_stop} epochs")
    best = [stats for stats in history if stats.best]
    if config.keep_best and best:
        print(f"Kept epoch {best[-1].epoch}: lowest validation loss {best[-1].valid_loss:.3f}")


def _figures_line(figures):
    line = f"Loss {figures['loss']:.3f} | Token accuracy: {figures['token_accuracy']:.3f}"
    if "exact_match" in figures:
        line += f" | Exact match: {figures['exact_match']:.3f}"
    if figures.get("bleu") is not None:
        line += f" | BLEU {figures['bleu']:.1f} | chrF {figures['chrf']:.1f}"
    return line


class Seq2SeqReport(RunReport):
    """A translator's log: a block per logged epoch (train, validation and test figures), a
    line per --log-every-seconds within a long epoch, a JSON record per logged epoch."""

    def __init__(self, trainer, tokens, pairs):
        self.trainer, self.tokens, self.examples = trainer, tokens, pairs

    def progress_line(self, progress):
        return (f"    epoch {progress.epoch}, batch {progress.batch}/{progress.batches}: train loss "
                f"{progress.train['loss']:.3f}, token accuracy {progress.train['token_accuracy']:.3f} "
                f"({progress.train_seconds:.0f} s)")

    def postfix(self, record):
        postfix = super().postfix(record)
        if record.valid:
            postfix["valid_exact"] = f"{record.valid['exact_match']:.3f}"
        return postfix

    def log_block(self, stats):
        lines = [f"--- Epoch {stats.epoch} | {stats.seen:,} target tokens | {stats.train_seconds:.1f} s",
                 f"Train:\tLoss {stats.train_loss:.3f} | Token accuracy: {stats.train['token_accuracy']:.3f}"]
        if stats.valid:
            lines.append("Valid:\t" + _figures_line(stats.valid) + ("  (best so far)" if stats.best else ""))
        if stats.test:
            lines.append("Test:\t" + _figures_line(stats.test))
        return "\n".join(lines)

    def json_record(self, record):
        return _record(record)


def _record(stats):
    """A seq2seq epoch's Record as a JSON log record."""
    record = {"epoch": stats.epoch, "tokens_seen": stats.seen, "train_loss": stats.train_loss,
              "train_token_accuracy": stats.train["token_accuracy"], "train_seconds": stats.train_seconds}
    for prefix, figures in (("val", stats.valid), ("test", stats.test)):
        if figures:
            record.update({f"{prefix}_{name}": value for name, value in figures.items()})
    if stats.valid:
        record["best"] = stats.best
    for flag in ("target_reached", "stopped_early"):
        if getattr(stats, flag):
            record[flag] = True
    return record
