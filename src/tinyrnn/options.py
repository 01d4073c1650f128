"""Every command's options: the argparse parser of the tinyrnn command line (cli.py runs it).
A usage error is one line on stderr and exit status 2, as every other bad input."""
import argparse
import difflib

from . import __version__
from .argtypes import (MAX_BEAM, MAX_LAYERS, MAX_OUTPUT_TOKENS, MAX_SEED, MAX_STEPS_AHEAD, MAX_WIDTH,
                       fraction_below_one, integer, non_negative_float, positive_float, text_encoding)
from .errors import TinyRNNError
from .train_options import add_train

GRADCHECK_MAX = 100_000          # gradcheck's --vocab, --classes, --batch, --max-length: beyond, building
                                 # the model alone takes minutes (its check is refused by its duration)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), and an option is only ever
    its whole name (no abbreviations: --epoch is not taken for --epochs)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(TinyRNNError.exit_status, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_args(self, args=None, namespace=None):
        """As argparse, but an option no command knows is named by the command's own parser,
        whose help lists the options it has (tinyrnn gradcheck --help, not tinyrnn --help)."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(self, "commands", {}).get(getattr(parsed, "command", None), self)
            known = [flag for action in command._actions for flag in action.option_strings]
            near = next((match for extra in extras if extra.startswith("--")
                         for match in difflib.get_close_matches(extra.split("=")[0], known, n=1, cutoff=0.75)), None)
            command.error(f"unrecognized arguments: {' '.join(extras)}"
                          + (f"; did you mean {near}?" if near else ""))
        return parsed


LATE_DEFAULTS = {"text_column": "text", "label_column": "label", "encoding": "utf-8"}
# options whose default is set after parsing (cli.main), so that a value given is told from it:
# args.given_options names those given


def given(args, name):
    """Was the option `name` (its dest) given: a late default named in args.given_options, else
    any value but None and False?"""
    if name in LATE_DEFAULTS:
        return name in getattr(args, "given_options", ())
    return getattr(args, name, None) not in (None, False)


MIN_EPS, MAX_EPS = 1e-10, 1e-2        # gradcheck --eps: below, rounding swamps the difference; above, curvature


def _finite_difference_step(text):
    """gradcheck --eps: a step at which central differences of float64 can match a gradient."""
    value = positive_float(text)
    if not MIN_EPS <= value <= MAX_EPS:
        raise argparse.ArgumentTypeError(f"must be from {MIN_EPS:g} to {MAX_EPS:g}, got {text}")
    return value


def _add_data_options(parser):
    parser.add_argument("--format", choices=["csv", "tsv", "jsonl", "ts", "npz", "long"],
                        help="file format (default: from the extension: .csv, .tsv, .jsonl for texts; "
                        ".ts (the UEA/UCR archive's) and .npz for numeric sequences; long: a CSV of "
                        "numeric sequences, one row per time step)")
    parser.add_argument("--encoding", type=text_encoding, help="text encoding of data files (default: utf-8)")
    parser.add_argument("--text-column", help="column/key holding the text (default: text)")
    parser.add_argument("--label-column", help="column/key holding the label (default: label)")
    parser.add_argument("--skip-bad-rows", action="store_true", help="leave out rows with a bad field "
                        "(empty text, missing label, wrong number of fields, invalid JSON), counted in "
                        "a warning, instead of stopping at the first")
    _add_long_csv_options(parser)


def _add_long_csv_options(parser):
    numeric = parser.add_argument_group("numeric sequences in a long CSV (one row per time step)")
    numeric.add_argument("--id-column", metavar="NAME", help="the column naming each row's sequence "
                         "(default: series)")
    numeric.add_argument("--time-column", metavar="NAME", help="the column that orders a sequence's rows "
                         "(default: file order; forecast --series: a first column that is not numbers)")
    numeric.add_argument("--feature-columns", metavar="A,B,..", help="the columns of numbers read at each "
                         "step (default: every column but the id, time and label ones)")


def build_parser():
    parser = _Parser(prog="tinyrnn", description="Recurrent neural networks from scratch in NumPy.")
    parser.add_argument("--version", action="version", version=f"tinyrnn {__version__}")
    # not required here: cli.main prints the usage and the list of commands when none is given
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    add_train(commands, _add_data_options)
    _add_use_commands(commands)
    _add_forecast(commands)
    parser.command_names = list(commands.choices)   # for cli.main's usage line when none is given
    parser.commands = commands.choices                # {name: its parser}: parse_args names unknown options
    return parser


def _add_forecast(commands):
    forecast = commands.add_parser("forecast", help="forecast the next values of a series with a saved "
                                   "forecaster", description="Print the next values after the end of --series "
                                   "(one line per step; --json: {\"forecast\": [...]}).")
    forecast.add_argument("--model", default="forecaster.safetensors", help="(default: forecaster.safetensors, "
                          "what train --task forecast writes)")
    forecast.add_argument("--series", required=True, metavar="FILE", help="the history: a CSV with a header "
                          "and the model's value columns, in time order (its last --window values are read)")
    forecast.add_argument("--horizon", type=integer(1, MAX_STEPS_AHEAD), metavar="H", help="steps to forecast (default: the "
                          "model's; more are forecast by feeding forecasts back as history)")
    forecast.add_argument("--columns", metavar="A,B,..", help="the value columns (default: the model's series)")
    forecast.add_argument("--time-column", metavar="NAME", help="(default: a first column that is not numbers)")
    forecast.add_argument("--encoding", type=text_encoding, help="(default: utf-8)")
    forecast.add_argument("--json", action="store_true", help='print {"forecast": [...]} (several series: '
                          'a list of values per step)')
    forecast.add_argument("--plot", metavar="FILE.png", help="draw the history and the forecast")
    forecast.add_argument("--force", action="store_true", help="replace an existing --plot that tinyrnn did not write")


def _add_use_commands(commands):
    """predict, eval, translate, generate and gradcheck."""
    predict = commands.add_parser("predict", help="classify texts with a saved model")
    predict.add_argument("texts", nargs="*", metavar="TEXT", help="texts (default: one per line on stdin)")
    predict.add_argument("--model", default="model.safetensors", help="(default: model.safetensors)")
    predict.add_argument("--json", action="store_true", help="one JSON object per text")
    predict.add_argument("--strict", action="store_true", help="unknown words are an error, not a warning")
    predict.add_argument("--data", metavar="FILE", help="models that read numbers: predict every sequence of "
                         "FILE (.ts, .npz or long CSV; its labels or targets, if any, are checked as train "
                         "reads them, but not used)")
    predict.add_argument("--format", choices=["ts", "npz", "long"], help="of --data (default: from the extension; "
                         "a CSV of numeric sequences: long)")
    predict.add_argument("--encoding", type=text_encoding, help="of --data (default: utf-8)")
    _add_long_csv_options(predict)

    evaluate = commands.add_parser("eval", help="loss, accuracy, confusion matrix and per-class "
                                   "precision, recall and F1 on a dataset (seq2seq: loss, token accuracy, "
                                   "exact match, BLEU and chrF on sentence pairs)")
    evaluate.add_argument("--model", default="model.safetensors", help="(default: model.safetensors)")
    evaluate.add_argument("--data", action="append", metavar="DATA", help="labelled data "
                          "(default: the embedded test set); seq2seq: sentence pairs, as train reads them")
    _add_data_options(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--errors", type=integer(1), metavar="N", help="also list the N most "
                          "confidently wrong examples (file:line, label, prediction, probability, text); "
                          "seq2seq: the N worst translations (highest token error rate)")
    forecasts = evaluate.add_argument_group("forecasters (--series FILE --holdout N)")
    forecasts.add_argument("--series", metavar="FILE", help="the series, as train --task forecast reads it")
    forecasts.add_argument("--holdout", type=integer(1), metavar="N", help="forecast the last N values from "
                           "the ones before them (every horizon's steps while N last) and measure them")
    forecasts.add_argument("--season", type=integer(1), metavar="M", help="MASE's season: its error is "
                           "divided by that of repeating the value M steps back (default: 1)")
    forecasts.add_argument("--columns", metavar="A,B,..", help="the series' value columns (default: the model's)")
    pairs = evaluate.add_argument_group("seq2seq models (--data FILE of pairs, or source=FILE and target=FILE)")
    pairs.add_argument("--swap", action="store_true", help="translate the second column into the first")
    pairs.add_argument("--source-column", help="column/key of the source text in .csv/.jsonl pairs "
                       "(default: source)")
    pairs.add_argument("--target-column", help="column/key of the target text (default: target)")
    pairs.add_argument("--beam", type=integer(1, MAX_BEAM), metavar="K", help="beam of the translations (default: 1, "
                       "greedy)")

    _add_translate(commands)

    generate = commands.add_parser("generate", help="sample text from a language model")
    generate.add_argument("--model", default="lm.safetensors", help="(default: lm.safetensors, what train "
                          "--task lm writes)")
    generate.add_argument("--prime", default="", help="text to start from (default: none)")
    generate.add_argument("--length", type=integer(0), default=500, help="tokens to generate (default: 500)")
    generate.add_argument("--temperature", type=non_negative_float, default=1.0,
                          help="softmax temperature; 0 always takes the most likely token (default: 1)")
    generate.add_argument("--top-k", type=integer(1), help="sample only among the K most likely tokens")
    generate.add_argument("--seed", type=integer(0, MAX_SEED), default=0, help="(default: 0)")
    generate.add_argument("--strict", action="store_true", help="unknown prime characters are an error")

    _add_gradcheck(commands)
    _add_looking_commands(commands)
    _add_exchange_commands(commands)


def _add_translate(commands):
    translate = commands.add_parser("translate", help="translate texts with a seq2seq model",
                                    description="Translate each TEXT, or each line of stdin as it arrives "
                                    "(one output line per input line; a blank line gives a blank line).")
    translate.add_argument("texts", nargs="*", metavar="TEXT", help="texts (default: one per line on stdin)")
    translate.add_argument("--model", default="translator.safetensors", help="(default: translator.safetensors, "
                           "what train --task seq2seq writes)")
    translate.add_argument("--beam", type=integer(1, MAX_BEAM), default=1, metavar="K", help="keep the K best "
                           "hypotheses (beam search; default: 1, greedy)")
    translate.add_argument("--max-length", type=integer(1, MAX_OUTPUT_TOKENS), metavar="N", help="at most N output tokens "
                           "(default: twice the longest source's tokens + 10)")
    translate.add_argument("--json", action="store_true", help="one JSON object per text: translation, "
                           "scores, source tokens and the attention weights of each output step")
    translate.add_argument("--strict", action="store_true", help="unknown source tokens are an error, "
                           "not a warning")


def _add_looking_commands(commands):
    """info, plot, explain and serve: seeing what a model is and does."""
    info = commands.add_parser("info", help="what a saved model is: task, cell, sizes, vocabulary, "
                               "classes, format, checksum")
    info.add_argument("model", metavar="MODEL", nargs="?", default="model.safetensors",
                      help="a tinyrnn model file (default: model.safetensors)")
    info.add_argument("--model", dest="model_option", metavar="MODEL", help="the same, as the other commands "
                      "name it")
    info.add_argument("--json", action="store_true", help="print one JSON object")

    plot = commands.add_parser("plot", help="draw a JSON log's curves (train --json-log) into a PNG")
    plot.add_argument("log", metavar="LOG", help="a JSON log written by tinyrnn train --json-log")
    plot.add_argument("--out", metavar="FILE.png", help="(default: LOG with .png instead of its extension)")
    plot.add_argument("--force", action="store_true", help="replace an existing --out that tinyrnn did not write")

    explain = commands.add_parser(
        "explain", help="what a model computes on a text, word by word",
        description="Classifier: the class probabilities after each word, each word's contribution "
                    "(leave-one-out occlusion and gradient x input) and the hidden units over the "
                    "words. Language model: the surprisal of every character of --text FILE and the "
                    "hidden units that follow quotes, line breaks and brackets; --html draws it. "
                    "Translator (seq2seq): the greedy translation of TEXT and its attention, each output "
                    "token's weights over the source tokens.")
    explain.add_argument("text", nargs="?", metavar="TEXT", help="the sentence to explain (classifiers, "
                         "translators)")
    explain.add_argument("--model", default="model.safetensors", help="(default: model.safetensors)")
    explain.add_argument("--data", metavar="FILE", help="numeric models: the file (.ts, .npz or long CSV) "
                         "holding the sequence to explain")
    explain.add_argument("--example", type=integer(1), metavar="N", help="numeric models: explain the "
                         "file's N-th sequence (default: 1)")
    explain.add_argument("--format", choices=["ts", "npz", "long"], help="of --data (default: from the "
                         "extension; a CSV of numeric sequences: long)")
    _add_long_csv_options(explain)
    explain.add_argument("--png", metavar="FILE.png", help="draw the probabilities over the words above a "
                         "heatmap of the hidden units (classifiers), or the attention matrix (translators); needs "
                         "the plot extra")
    explain.add_argument("--text", dest="text_file", metavar="FILE", help="the text a language model reads")
    explain.add_argument("--html", metavar="OUT.html", help="write a self-contained page colouring each "
                         "character by its surprisal or by a chosen hidden unit (language models)")
    explain.add_argument("--max-chars", type=integer(1, 1_000_000), metavar="N",
                         help="read at most the first N characters of --text (default: 10000; at most "
                         "1000000)")
    explain.add_argument("--encoding", type=text_encoding, help="of --text (default: utf-8)")
    explain.add_argument("--json", action="store_true", help="print one JSON object")
    explain.add_argument("--force", action="store_true", help="replace an existing --png or --html that "
                         "tinyrnn did not write")

    serve = commands.add_parser("serve", help="a local web page to try a model as you type (needs "
                                "the serve extra)")
    serve.add_argument("--model", default="model.safetensors", help="(default: model.safetensors)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, "
                       "this machine only)")
    serve.add_argument("--port", type=integer(0, 65535), default=8000, help="(default: 8000; 0: any free port)")
    serve.add_argument("--allow-host", action="append", default=[], metavar="NAME", help="also accept "
                       "requests whose Host header names NAME (default: only the listening address "
                       "and localhost)")


def _add_exchange_commands(commands):
    """export and import: to and from PyTorch and ONNX."""
    export = commands.add_parser("export", help="write a model for PyTorch (state_dict) or ONNX runtimes",
                                 description="torch: a safetensors file with PyTorch's state_dict names "
                                 "(printing the Python lines that load it into tinyrnn.torch_model.TorchRNN, or TorchSeq2Seq "
                                 "for a seq2seq model); onnx: an ONNX graph with the RNN / LSTM / GRU operators "
                                 "(a seq2seq model's: the encoder and a loop of greedy decoder steps; needs the "
                                 "onnx extra).")
    export.add_argument("--model", default="model.safetensors", help="(default: model.safetensors)")
    export.add_argument("--format", choices=["torch", "onnx"], required=True)
    export.add_argument("--out", required=True, metavar="FILE", help="the file to write (.safetensors for "
                        "torch, .onnx for onnx)")
    export.add_argument("--force", action="store_true", help="replace an existing --out that tinyrnn did not write")

    importer = commands.add_parser("import", help="a PyTorch state_dict (safetensors) as a tinyrnn model",
                                   description="Any cell, stacked, bidirectional, with or without an "
                                   "embedding; the architecture is read from the tensors' names and shapes.")
    importer.add_argument("--format", choices=["torch"], default="torch", help="(default: torch)")
    importer.add_argument("--state-dict", required=True, metavar="FILE", help="safetensors file of a "
                          "state_dict named embedding.weight, rnn.*, fc.* (a seq2seq model's: encoder.*, "
                          "decoder.*, attention.*, combine.weight, fc.*), as tinyrnn export writes")
    importer.add_argument("--vocab", metavar="FILE", help="the tokens of ids 0, 1, ... (a JSON list, or "
                          "one per line), starting <pad>, <unk> (default: the file's own, if it has one)")
    importer.add_argument("--classes", metavar="FILE", help="the classes of fc's rows (JSON list or one per "
                          "line): a classifier (default: the file's own; none: a language model)")
    importer.add_argument("--task", choices=["classify", "regress", "forecast"], help="models that read numbers "
                          "(input_mean, input_std): what fc gives (default: the file's config, else regress "
                          "with target_mean, classify with --classes)")
    importer.add_argument("--window", type=integer(1), metavar="W", help="a forecaster's past steps (default: "
                          "the file's config)")
    importer.add_argument("--scaling", choices=["window", "global"], help="a forecaster's scaling (default: the "
                          "file's config, else window)")
    importer.add_argument("--nonlinearity", choices=["tanh", "relu"], help="of an rnn cell (default: the "
                          "file's own, else tanh)")
    importer.add_argument("--pool", choices=["last", "mean", "max"], help="what fc reads (default: the "
                          "file's own, else last)")
    importer.add_argument("--tokenizer", choices=["words", "chars"], help="(default: the file's own, else "
                          "words for a classifier, chars for a language model)")
    importer.add_argument("--out", default="model.safetensors", help="(default: model.safetensors)")
    importer.add_argument("--force", action="store_true", help="replace an existing --out that is not a "
                          "tinyrnn model")


def _add_gradcheck(commands):
    gradcheck = commands.add_parser(
        "gradcheck", help="compare gradients with finite differences",
        description="Build a small float64 model with random weights, run a padded batch (rows of "
                    "different lengths) from a random non-zero initial state, and compare the "
                    "hand-written gradient of every parameter and of the initial state (row h0; "
                    "[h0 | c0] for an LSTM; seq2seq models have none: the decoder starts from the "
                    "encoder) with central differences. Exit status 1 on a mismatch.")
    gradcheck.add_argument("--task", choices=["classify", "lm", "seq2seq", "regress", "forecast"],
                           default="classify", help="classify: loss of the final state; lm: loss at every step; "
                           "seq2seq: an encoder-decoder's loss per target token; regress: the mean squared "
                           "error of real targets; forecast: of the next values of windows of numbers "
                           "(default: classify)")
    gradcheck.add_argument("--features", type=integer(1, MAX_WIDTH), metavar="F", help="read F numbers per step instead "
                           "of words (classify; regress and forecast always read numbers: default 3)")
    gradcheck.add_argument("--attention", choices=["dot", "general", "additive", "none"],
                           help="seq2seq: the decoder's attention (default: general)")
    gradcheck.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="rnn", help="(default: rnn)")
    gradcheck.add_argument("--layers", type=integer(1, MAX_LAYERS), default=1, metavar="N",
                           help="stacked layers (default: 1)")
    gradcheck.add_argument("--bidirectional", action="store_true", help="two directions (classify; seq2seq: "
                           "the encoder)")
    gradcheck.add_argument("--embed", type=integer(1, MAX_WIDTH), metavar="E", help="a learned E-dimensional "
                           "embedding instead of one-hot inputs")
    gradcheck.add_argument("--nonlinearity", choices=["tanh", "relu"], default="tanh",
                           help="of the rnn cell (default: tanh)")
    gradcheck.add_argument("--pool", choices=["last", "mean", "max"], default="last",
                           help="the classifier's pooling (default: last)")
    gradcheck.add_argument("--dropout", type=fraction_below_one, default=0.0, metavar="P",
                           help="dropout rate; the same masks are drawn for every evaluation (default: 0)")
    gradcheck.add_argument("--all", action="store_true", help="check every combination of cell, 1 or 2 "
                           "layers, directions, input and task (tanh, no dropout; one summary line each; with "
                           "--task seq2seq: every attention too)")
    gradcheck.add_argument("--seed", type=integer(0, MAX_SEED), default=0, help="(default: 0)")
    gradcheck.add_argument("--hidden", type=integer(1, MAX_WIDTH), default=5, help="(default: 5)")
    gradcheck.add_argument("--vocab", type=integer(1, GRADCHECK_MAX), default=7, help="number of words (seq2seq: on each "
                           "side; default: 7)")
    gradcheck.add_argument("--classes", type=integer(2, GRADCHECK_MAX), default=3, help="(default: 3)")
    gradcheck.add_argument("--batch", type=integer(1, GRADCHECK_MAX), default=4, help="(default: 4)")
    gradcheck.add_argument("--max-length", type=integer(1, GRADCHECK_MAX), default=6, help="longest row (default: 6)")
    gradcheck.add_argument("--eps", type=_finite_difference_step, default=1e-6, help="finite-difference step, "
                           f"from {MIN_EPS:g} to {MAX_EPS:g} (default: 1e-6)")
