"""Every command's options: the argparse parser of the tinyrnn command line (cli.py runs it).
A usage error is one line on stderr and exit status 2, as every other bad input."""
import argparse

from . import __version__
from .argtypes import (average_decay_or_none, checkpoint_interval, finite_float, fraction, fraction_below_one,
                       fraction_or_zero, integer, non_negative_float, positive_float, positive_float_or_none)
from .errors import TinyRNNError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2)."""

    def error(self, message):
        self.exit(TinyRNNError.exit_status, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_data_options(parser):
    parser.add_argument("--format", choices=["csv", "tsv", "jsonl"],
                        help="file format (default: from the extension: .csv, .tsv, .jsonl)")
    parser.add_argument("--encoding", default="utf-8", help="text encoding of data files (default: utf-8)")
    parser.add_argument("--text-column", default="text", help="column/key holding the text (default: text)")
    parser.add_argument("--label-column", default="label", help="column/key holding the label (default: label)")
    parser.add_argument("--skip-bad-rows", action="store_true", help="leave out rows with a bad field "
                        "(empty text, missing label, wrong number of fields, invalid JSON), counted in "
                        "a warning, instead of stopping at the first")


def build_parser():
    parser = _Parser(prog="tinyrnn", description="Recurrent neural networks from scratch in NumPy.")
    parser.add_argument("--version", action="version", version=f"tinyrnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    _add_train(commands)
    _add_use_commands(commands)
    return parser


def _add_train(commands):
    """train, for both tasks; its options come in the groups that --help shows."""
    train = commands.add_parser("train", help="train a model (default: the walkthrough's recipe on the "
                                "embedded dataset)", description="Train a sentiment classifier (data: "
                                "PATH (.csv/.tsv/.jsonl) or LABEL=FILE, one example per line, repeatable) "
                                "or, with --task lm, a language model on a text file.")
    train.add_argument("--task", choices=["classify", "lm"], default="classify",
                       help="classify: one label per text (default); lm: predict the next character "
                       "(or word) of a text")
    train.add_argument("--train", action="append", metavar="DATA", help="training data (default: embedded)")
    train.add_argument("--test", action="append", metavar="DATA", help="test data (default: embedded, "
                       "when --train is not given); only reported, never used to choose anything")
    train.add_argument("--valid", action="append", metavar="DATA", help="validation data, measured "
                       "after every epoch; it chooses --keep-best's epoch and --early-stop's")
    train.add_argument("--valid-split", type=fraction_below_one, metavar="F", help="hold out the "
                       "fraction F of the training data for validation (stratified by label, from --seed)")
    train.add_argument("--folds", type=integer(2), metavar="K", help="stratified K-fold cross-validation "
                       "of the training data: K models, each tested on one fold; prints each fold's "
                       "accuracy and their mean (saves no model)")
    train.add_argument("--early-stop", type=integer(1), metavar="N", help="stop after N epochs "
                       "without a better validation epoch (accuracy, ties by loss; lm: N log points "
                       "without a lower validation loss)")
    train.add_argument("--min-count", type=integer(1), metavar="K", help="keep words seen at least "
                       "K times in the training data; the rest are read as <unk> (default: 1)")
    train.add_argument("--max-vocab", type=integer(1), metavar="N", help="keep at most the N most "
                       "frequent words; the rest are read as <unk>")
    _add_data_options(train)
    _add_recipe_options(train.add_argument_group("recipe (defaults come from --preset; see the README)"))
    _add_model_options(train.add_argument_group("model architecture (both tasks; default: the "
                                                "walkthrough's one-layer tanh RNN over one-hot words)"))
    _add_lm_options(train.add_argument_group("language models (--task lm)"))
    _add_training_options(train)


def _add_model_options(model):
    """The network: cell, layers, directions, input, dropout (train; gradcheck has its own)."""
    model.add_argument("--cell", choices=["rnn", "lstm", "gru"], help="recurrent cell (default: rnn)")
    model.add_argument("--layers", type=integer(1), metavar="N", help="stacked recurrent layers (default: 1)")
    model.add_argument("--bidirectional", action="store_true", help="a second direction reads each "
                       "text backwards; the classifier sees both final states (classify only)")
    model.add_argument("--embed", type=integer(1), metavar="E", help="learn an E-dimensional embedding "
                       "of each token (default: none, one-hot inputs as in the walkthrough)")
    model.add_argument("--dropout", type=fraction_below_one, metavar="P", help="inverted dropout with "
                       "rate P between layers and before the output layer, in training only (default: 0)")
    model.add_argument("--embeddings", metavar="FILE", help="start the embedding from pretrained word "
                       "vectors (GloVe / word2vec text format; its size sets --embed); words it lacks "
                       "start random (classify only)")
    model.add_argument("--freeze-embeddings", action="store_true", help="keep the embedding as it "
                       "starts (classify only)")
    model.add_argument("--embed-dropout", type=fraction_below_one, metavar="P", help="dropout of the "
                       "embedded words, in training only (with --embed; default: 0)")
    model.add_argument("--weight-drop", type=fraction_below_one, metavar="P", help="in training, drop each "
                       "recurrent weight (W_hh) with probability P, one draw per batch for all steps "
                       "(DropConnect, as in AWD-LSTM; default: 0)")
    model.add_argument("--word-dropout", type=fraction_below_one, metavar="P", help="in training, read each "
                       "word as <unk> with probability P (classify only; default: 0)")
    model.add_argument("--nonlinearity", choices=["tanh", "relu"], help="of the rnn cell (default: tanh)")
    model.add_argument("--pool", choices=["last", "mean", "max"], help="what the classifier's output "
                       "layer reads: the final states (default), or the mean or maximum of h_t over "
                       "the words (classify only)")
    model.add_argument("--forget-bias", type=finite_float, metavar="B", help="start the LSTM's forget-gate "
                       "bias (bias_ih's f block) at B, e.g. 1 (default: 0)")


def _add_recipe_options(preset):
    """The options a --preset sets (of either task)."""
    from .nn.params import INIT_SCHEMES
    from .optim import OPTIMIZERS
    from .train import PRESETS
    from .train_lm import LM_PRESETS

    preset.add_argument("--preset", choices=sorted([*PRESETS, *LM_PRESETS]),
                        help="classify: walkthrough (default; per-sentence SGD as in the walkthrough), "
                        "fast (Adam on minibatches, stopping at 100%% test accuracy) or text (real "
                        "sentences: bidirectional GRU, embeddings, dropout, validation, early stop); "
                        "lm: charrnn "
                        "(default; Adam, 32 streams) or minchar (the classic min-char-rnn recipe)")
    preset.add_argument("--epochs", type=integer(0), help="passes over the data (walkthrough: 1000; "
                        "0 saves the initialised model)")
    preset.add_argument("--hidden", type=integer(1), help="hidden size (walkthrough: 64)")
    preset.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="(walkthrough: sgd)")
    preset.add_argument("--lr", type=positive_float, help="learning rate (walkthrough: 0.02; default "
                        "per optimizer: sgd 0.02, adagrad 0.1, rmsprop 0.01, adam 0.001)")
    preset.add_argument("--batch-size", type=integer(1), help="examples per update (walkthrough: 1)")
    preset.add_argument("--clip-value", type=positive_float_or_none, metavar="V",
                        help="clip every gradient element to [-V, V] (walkthrough: 1.0; 'none' turns it off)")
    preset.add_argument("--init", choices=INIT_SCHEMES, help="weight init: walkthrough (normal/1000; the "
                        "default for the walkthrough's model), minchar (normal/100), xavier (Glorot "
                        "uniform per gate), orthogonal (orthogonal W_hh per gate, xavier elsewhere; "
                        "the classifier's default for every other architecture) or uniform (+-1/sqrt(H), "
                        "PyTorch's defaults)")
    preset.add_argument("--log-every", type=integer(1), help="epochs (lm: steps) between log blocks "
                        "(walkthrough: 100)")
    preset.add_argument("--target-accuracy", type=fraction, metavar="A", help="evaluate the test set "
                        "every epoch and stop at the first epoch with accuracy >= A")


def _add_lm_options(lm):
    """Options of train --task lm only."""
    lm.add_argument("--text", metavar="FILE", help="training text (default: Python's own documentation "
                    "topics); the last --val-fraction is held out")
    lm.add_argument("--tokenizer", choices=["chars", "words"], default="chars", help="(default: chars)")
    lm.add_argument("--seq-length", type=integer(1), help="truncated-BPTT chunk length (default: 25)")
    lm.add_argument("--steps", type=integer(1), help="stop after N updates")
    lm.add_argument("--minutes", type=positive_float, help="stop after M minutes of wall time, "
                    "evaluation and samples included")
    lm.add_argument("--val-fraction", type=fraction, default=0.1, help="(default: 0.1)")
    lm.add_argument("--sample-every", type=integer(0), metavar="N",
                    help="print a generated sample every N steps (0: never; default: at every log point)")


def _add_training_options(train):
    """Optimizer details, output and reproducibility options of train (either task)."""
    from .model_config import DTYPES

    train.add_argument("--momentum", type=fraction_or_zero, default=0.0, help="sgd momentum (default: 0)")
    train.add_argument("--nesterov", action="store_true", help="Nesterov momentum (sgd)")
    train.add_argument("--lr-decay", type=fraction, default=1.0, metavar="G",
                       help="multiply the learning rate by G after every epoch (default: 1, no decay)")
    train.add_argument("--ema", type=average_decay_or_none, metavar="D", help="keep an exponential moving "
                       "average of the weights (decay D per update, such as 0.999: about the last "
                       "1 / (1 - D) updates); validation, --keep-best and the saved model use it "
                       "(default: none)")
    train.add_argument("--clip-norm", type=positive_float_or_none, default=None, metavar="N",
                       help="scale gradients to global L2 norm <= N (default: none)")
    train.add_argument("--no-bucket", action="store_true", help="with --batch-size > 1: batch examples "
                       "at random instead of grouping similar lengths")
    train.add_argument("--dtype", choices=DTYPES, help="(default: float64; float32 with --task lm's "
                       "default preset charrnn)")
    train.add_argument("--seed", type=integer(0), default=0, help="random seed; same seed, same "
                       "result bit for bit (default: 0)")
    train.add_argument("--out", default="model.safetensors", help="model file to write "
                       "(default: model.safetensors)")
    train.add_argument("--json-log", metavar="PATH", help="write one JSON object per logged epoch "
                       "(lm: per log point)")
    train.add_argument("--plot", metavar="FILE.png", help="draw the logged loss and accuracy (lm: bits "
                       "per character) into a PNG at the end (needs the plot extra)")
    train.add_argument("--init-from", metavar="MODEL", help="start from a saved model's weights, "
                       "vocabulary and classes")
    train.add_argument("--no-shuffle", action="store_true", help="keep the data order in every epoch")
    train.add_argument("--log-every-seconds", type=positive_float_or_none, default=30.0, metavar="S",
                       help="also log when S seconds have passed since the last log line (classify: "
                       "the epoch, or a line within a long epoch; lm: a log point with validation and "
                       "a sample) ('none': only --log-every; default: 30)")
    train.add_argument("--keep-best", action="store_true", help="save the weights of the best "
                       "validation epoch (classify: accuracy, ties by loss; lm: loss, at every log "
                       "point) instead of the last")
    train.add_argument("--checkpoint-dir", metavar="D", help="save checkpoints (weights, optimizer, "
                       "position, random state) in folder D, keeping the last two; Ctrl-C and SIGTERM "
                       "save one before stopping")
    train.add_argument("--checkpoint-every", metavar="N", type=checkpoint_interval,
                       help="checkpoint every N epochs (lm: steps), or Nm for every N minutes "
                       "(default: 10m); also at the end and at Ctrl-C / SIGTERM")
    train.add_argument("--resume", action="store_true", help="continue the run checkpointed in "
                       "--checkpoint-dir exactly where it stopped (refused if the model, recipe or data "
                       "differ, unless --force)")
    train.add_argument("--force", action="store_true", help="let --out and --json-log replace an "
                       "existing file that is not a tinyrnn model or log (never an input of the run); "
                       "let --resume continue despite changed settings or data")
    train.add_argument("--progress", action="store_true", help="show a progress bar on stderr even "
                       "when it is not a terminal")


def _add_use_commands(commands):
    """predict, eval, generate and gradcheck."""
    predict = commands.add_parser("predict", help="classify texts with a saved model")
    predict.add_argument("texts", nargs="*", metavar="TEXT", help="texts (default: one per line on stdin)")
    predict.add_argument("--model", default="model.safetensors", help="(default: model.safetensors)")
    predict.add_argument("--json", action="store_true", help="one JSON object per text")
    predict.add_argument("--strict", action="store_true", help="unknown words are an error, not a warning")

    evaluate = commands.add_parser("eval", help="loss, accuracy, confusion matrix and per-class "
                                   "precision, recall and F1 on a dataset")
    evaluate.add_argument("--model", default="model.safetensors", help="(default: model.safetensors)")
    evaluate.add_argument("--data", action="append", metavar="DATA", help="labelled data "
                          "(default: the embedded test set)")
    _add_data_options(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--errors", type=integer(1), metavar="N", help="also list the N most "
                          "confidently wrong examples (file:line, label, prediction, probability, text)")

    generate = commands.add_parser("generate", help="sample text from a language model")
    generate.add_argument("--model", default="model.safetensors", help="(default: model.safetensors)")
    generate.add_argument("--prime", default="", help="text to start from (default: none)")
    generate.add_argument("--length", type=integer(0), default=500, help="tokens to generate (default: 500)")
    generate.add_argument("--temperature", type=non_negative_float, default=1.0,
                          help="softmax temperature; 0 always takes the most likely token (default: 1)")
    generate.add_argument("--top-k", type=integer(1), help="sample only among the K most likely tokens")
    generate.add_argument("--seed", type=integer(0), default=0, help="(default: 0)")
    generate.add_argument("--strict", action="store_true", help="unknown prime characters are an error")

    _add_gradcheck(commands)
    _add_looking_commands(commands)
    _add_exchange_commands(commands)


def _add_looking_commands(commands):
    """info, plot, explain and serve: seeing what a model is and does."""
    info = commands.add_parser("info", help="what a saved model is: task, cell, sizes, vocabulary, "
                               "classes, format, checksum")
    info.add_argument("model", metavar="MODEL", nargs="?", default="model.safetensors",
                      help="a tinyrnn model file (default: model.safetensors)")
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
                    "hidden units that follow quotes, line breaks and brackets; --html draws it.")
    explain.add_argument("text", nargs="?", metavar="TEXT", help="the sentence to explain (classifiers)")
    explain.add_argument("--model", default="model.safetensors", help="(default: model.safetensors)")
    explain.add_argument("--png", metavar="FILE.png", help="draw the probabilities over the words above a "
                         "heatmap of the hidden units (classifiers; needs the plot extra)")
    explain.add_argument("--text", dest="text_file", metavar="FILE", help="the text a language model reads")
    explain.add_argument("--html", metavar="OUT.html", help="write a self-contained page colouring each "
                         "character by its surprisal or by a chosen hidden unit (language models)")
    explain.add_argument("--max-chars", type=integer(1, 1_000_000), default=10_000, metavar="N",
                         help="read at most the first N characters of --text (default: 10000; at most "
                         "1000000)")
    explain.add_argument("--encoding", default="utf-8", help="of --text (default: utf-8)")
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
                                 "(printing the Python lines that load it into tinyrnn.torch_model.TorchRNN); "
                                 "onnx: an ONNX graph with the RNN / LSTM / GRU operators (needs the onnx extra).")
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
                          "state_dict named embedding.weight, rnn.*, fc.* (as tinyrnn export writes)")
    importer.add_argument("--vocab", metavar="FILE", help="the tokens of ids 0, 1, ... (a JSON list, or "
                          "one per line), starting <pad>, <unk> (default: the file's own, if it has one)")
    importer.add_argument("--classes", metavar="FILE", help="the classes of fc's rows (JSON list or one per "
                          "line): a classifier (default: the file's own; none: a language model)")
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
                    "[h0 | c0] for an LSTM) with central differences. Exit status 1 on a mismatch.")
    gradcheck.add_argument("--task", choices=["classify", "lm"], default="classify",
                           help="classify: loss of the final state; lm: loss at every step (default: classify)")
    gradcheck.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="rnn", help="(default: rnn)")
    gradcheck.add_argument("--layers", type=integer(1), default=1, metavar="N",
                           help="stacked layers (default: 1)")
    gradcheck.add_argument("--bidirectional", action="store_true", help="two directions (classify only)")
    gradcheck.add_argument("--embed", type=integer(1), metavar="E", help="a learned E-dimensional "
                           "embedding instead of one-hot inputs")
    gradcheck.add_argument("--nonlinearity", choices=["tanh", "relu"], default="tanh",
                           help="of the rnn cell (default: tanh)")
    gradcheck.add_argument("--pool", choices=["last", "mean", "max"], default="last",
                           help="the classifier's pooling (default: last)")
    gradcheck.add_argument("--dropout", type=fraction_below_one, default=0.0, metavar="P",
                           help="dropout rate; the same masks are drawn for every evaluation (default: 0)")
    gradcheck.add_argument("--all", action="store_true", help="check every combination of cell, 1 or 2 "
                           "layers, directions, input and task (tanh, no dropout; one summary line each)")
    gradcheck.add_argument("--seed", type=integer(0), default=0, help="(default: 0)")
    gradcheck.add_argument("--hidden", type=integer(1), default=5, help="(default: 5)")
    gradcheck.add_argument("--vocab", type=integer(1), default=7, help="number of words (default: 7)")
    gradcheck.add_argument("--classes", type=integer(2), default=3, help="(default: 3)")
    gradcheck.add_argument("--batch", type=integer(1), default=4, help="(default: 4)")
    gradcheck.add_argument("--max-length", type=integer(1), default=6, help="longest row (default: 6)")
    gradcheck.add_argument("--eps", type=positive_float, default=1e-6, help="finite-difference step "
                           "(default: 1e-6)")
