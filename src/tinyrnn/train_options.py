"""The options of `tinyrnn train` (every task), in the groups its --help shows."""
import argparse

from .argtypes import (MAX_BEAM, MAX_SEED, MAX_LAYERS, MAX_STEPS_AHEAD, MAX_WIDTH, average_decay_or_none, checkpoint_interval,
                       finite_float, fraction, fraction_below_one, integer, positive_float, positive_float_or_none)


DEFAULT_OUT = {"classify": "model.safetensors", "lm": "lm.safetensors", "seq2seq": "translator.safetensors",
               "regress": "regressor.safetensors", "forecast": "forecaster.safetensors"}   # train --out per --task


def add_train(commands, add_data_options):
    """train, for every task; its options come in the groups that --help shows."""
    train = commands.add_parser("train", help="train a model (default: the walkthrough's recipe on the "
                                "embedded dataset)", description="Train a sentiment classifier (data: "
                                "PATH (.csv/.tsv/.jsonl) or LABEL=FILE, one example per line, repeatable), "
                                "with --task lm a language model on a text file, or with --task seq2seq "
                                "a translator on sentence pairs (source<TAB>target lines, .csv/.jsonl "
                                "with source and target columns, or source=FILE target=FILE).")
    train.add_argument("--task", choices=["classify", "lm", "seq2seq", "regress", "forecast"], default="classify",
                       help="classify: one label per text or numeric sequence (default); lm: predict the "
                       "next character (or word) of a text; seq2seq: translate a text into another (an "
                       "encoder-decoder with attention; default data: dates in many forms -> ISO 8601); "
                       "regress: real targets of numeric sequences; forecast: the next values of a series")
    train.add_argument("--train", action="append", metavar="DATA", help="training data (default: embedded)")
    train.add_argument("--test", action="append", metavar="DATA", help="test data (default: embedded, "
                       "when --train is not given); only reported, never used to choose anything")
    train.add_argument("--valid", action="append", metavar="DATA", help="validation data, measured "
                       "after every epoch; it chooses --keep-best's epoch and --early-stop's")
    train.add_argument("--valid-split", "--val-fraction", type=fraction_below_one, metavar="F", help="hold "
                       "out the fraction F of the training data for validation (classify: stratified by "
                       "label, from --seed; lm: the end of the text, default 0.1)")
    train.add_argument("--folds", type=integer(2), metavar="K", help="stratified K-fold cross-validation "
                       "of the training data: K models, each tested on one fold; prints each fold's "
                       "accuracy and their mean (saves no model)")
    train.add_argument("--fold", type=integer(1), metavar="N", help="classify, with --folds K: run fold N alone (the same "
                       "split as the whole cross-validation: share the folds among processes or machines)")
    train.add_argument("--early-stop", type=integer(1), metavar="N", help="stop after N epochs "
                       "without a better validation epoch (accuracy, ties by loss; lm: N log points "
                       "without a lower validation loss)")
    train.add_argument("--min-count", type=integer(1), metavar="K", help="keep words seen at least "
                       "K times in the training data; the rest are read as <unk> (default: 1)")
    train.add_argument("--max-vocab", type=integer(1), metavar="N", help="keep at most the N most "
                       "frequent words; the rest are read as <unk>")
    add_data_options(train)
    _add_recipe_options(train.add_argument_group("recipe (defaults come from --preset; see the README)"))
    _add_model_options(train.add_argument_group("model architecture (both tasks; default: the "
                                                "walkthrough's one-layer tanh RNN over one-hot words)"))
    _add_lm_options(train.add_argument_group("language models (--task lm)"))
    _add_seq2seq_options(train.add_argument_group("translation (--task seq2seq)"))
    _add_numeric_options(train.add_argument_group("numeric sequences (--task regress, forecast; classify "
                                                  "on .ts, .npz or --format long)"))
    _add_training_options(train)


def _add_numeric_options(numeric):
    numeric.add_argument("--loss", choices=["mse", "huber"], help="of regression and forecasting, on "
                         "standardised targets (default: mse)")
    numeric.add_argument("--series", metavar="FILE", help="forecast: a CSV with a header, one row per time "
                         "step, one or more value columns (all are forecast)")
    numeric.add_argument("--columns", metavar="A,B,..", help="forecast: the value columns (default: every "
                         "numeric one)")
    numeric.add_argument("--window", type=integer(1), metavar="W", help="forecast: past steps read (default: 24)")
    numeric.add_argument("--horizon", type=integer(1, MAX_STEPS_AHEAD), metavar="H", help="forecast: future steps predicted "
                         "at once from the last state (default: 24)")
    numeric.add_argument("--holdout", type=integer(1), metavar="N", help="forecast: keep the last N values "
                         "out of training and test forecasts of them")
    numeric.add_argument("--scaling", choices=["window", "global"], help="forecast: read each window "
                         "relative to its own mean and standard deviation (window, the default) or "
                         "standardise with the training series' (global)")
    numeric.add_argument("--season", type=integer(1), metavar="M", help="forecast: MASE's season (default: 1)")


def _add_seq2seq_options(seq2seq):
    seq2seq.add_argument("--attention", choices=["dot", "general", "additive", "none"],
                         help="how the decoder reads the encoder's outputs: Luong's dot or general score, "
                         "Bahdanau's additive score, or none (a plain encoder-decoder) (default: general)")
    seq2seq.add_argument("--attention-size", type=integer(1, MAX_WIDTH), metavar="A", help="width of the additive "
                         "score (default: the hidden size)")
    seq2seq.add_argument("--normalize", choices=["none", "accents", "letters"], help="read texts "
                         "lower-cased with accents stripped (accents), and also only letters and .!? "
                         "(letters); stored in the model, so translate reads input the same way "
                         "(default: none)")
    seq2seq.add_argument("--swap", action="store_true", help="translate the second column into the first "
                         "(source<TAB>target files list English first: --swap translates into English)")
    seq2seq.add_argument("--max-length", type=integer(1), metavar="N", help="train on pairs of at most N "
                         "tokens on each side")
    seq2seq.add_argument("--target-prefix", action="append", metavar="P", help="train on pairs whose "
                         "target starts with P (repeatable; commas separate several)")
    seq2seq.add_argument("--source-column", help="column/key of the source text in "
                         ".csv/.jsonl pairs (default: source)")
    seq2seq.add_argument("--target-column", help="column/key of the target text "
                         "(default: target)")
    seq2seq.add_argument("--test-split", type=fraction_below_one, metavar="F", help="hold out the "
                         "fraction F of the source sentences for testing (every pair of a held-out "
                         "source; default without --test: 0.1)")
    seq2seq.add_argument("--beam", type=integer(1, MAX_BEAM), metavar="K", help="beam of the translations measured "
                         "for validation and test (default: 1, greedy)")


def _add_model_options(model):
    """The network: cell, layers, directions, input, dropout (train; gradcheck has its own)."""
    model.add_argument("--cell", choices=["rnn", "lstm", "gru"], help="recurrent cell (default: rnn)")
    model.add_argument("--layers", type=integer(1, MAX_LAYERS), metavar="N", help="stacked recurrent layers (default: 1)")
    model.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, help="a second direction "
                       "reads each text backwards; the classifier sees both final states (classify; seq2seq: "
                       "the encoder); --no-bidirectional turns off a preset's")
    model.add_argument("--embed", type=integer(1, MAX_WIDTH), metavar="E", help="learn an E-dimensional embedding "
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
    from .commands.presets import all_presets

    preset.add_argument("--preset", choices=all_presets(),
                        help="classify: walkthrough (default; per-sentence SGD as in the walkthrough), "
                        "fast (Adam on minibatches, stopping at 100%% test accuracy) or text (real "
                        "sentences: bidirectional GRU, embeddings, dropout, validation, early stop); "
                        "lm: charrnn "
                        "(default; Adam, 32 streams) or minchar (the classic min-char-rnn recipe); seq2seq: "
                        "dates (default) or translate; numeric sequences (classify, regress): timeseries "
                        "(the default for them); forecast: forecast (the default)")
    preset.add_argument("--epochs", type=integer(0), help="passes over the data (walkthrough: 1000; "
                        "0 saves the initialised model)")
    preset.add_argument("--steps", type=integer(1), help="stop after N updates (alone, without "
                        "--epochs: no limit of epochs)")
    preset.add_argument("--minutes", type=positive_float, help="stop after M minutes of wall time, "
                        "evaluation included (alone, without --epochs: no limit of epochs)")
    preset.add_argument("--hidden", type=integer(1, MAX_WIDTH), help="hidden size (walkthrough: 64)")
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
    lm.add_argument("--tokenizer", choices=["chars", "words"], help="(default: chars; seq2seq: words, "
                    "chars for its embedded dates)")
    lm.add_argument("--seq-length", type=integer(1), help="truncated-BPTT chunk length (default: 25)")
    lm.add_argument("--sample-every", type=integer(0), metavar="N",
                    help="print a generated sample every N steps (0: never; default: at every log point)")


def _add_training_options(train):
    """Optimizer details, output and reproducibility options of train (either task)."""
    from .model_config import DTYPES

    train.add_argument("--momentum", type=fraction_below_one, default=0.0, help="sgd momentum, at least 0 "
                       "and below 1 (default: 0)")
    train.add_argument("--nesterov", action="store_true", help="Nesterov momentum (sgd; needs --momentum)")
    train.add_argument("--lr-decay", type=fraction, metavar="G",
                       help="multiply the learning rate by G after every epoch (default: 1, no decay; the dates "
                            "preset 0.7)")
    train.add_argument("--schedule", choices=["constant", "slanted", "onecycle"], default="constant",
                       help="the learning rate over the run's updates: slanted (slanted triangular: a "
                       "linear rise over --warmup, then a linear fall to lr/32), onecycle (the same rise, "
                       "then half a cosine to 0); needs --epochs or --steps (default: constant)")
    train.add_argument("--warmup", type=fraction_below_one, metavar="F",
                       help="slanted, onecycle: the fraction of the updates that rise (default: 0.1)")
    train.add_argument("--lr-layer-decay", type=fraction, metavar="D", default=1.0,
                       help="per-layer learning rates: each layer below the output learns at D times "
                       "the rate of the one above it, down to the embedding (ULMFiT: 1/2.6 = 0.38; "
                       "default: 1, one rate)")
    train.add_argument("--unfreeze-every", type=integer(1), metavar="N",
                       help="gradual unfreezing: only the output layer learns at first, then one more "
                       "layer (from the top) every N epochs (N updates for --task lm) (default: all "
                       "layers learn from the start)")
    train.add_argument("--ema", type=average_decay_or_none, metavar="D", help="keep an exponential moving "
                       "average of the weights (decay D per update, such as 0.999: about the last "
                       "1 / (1 - D) updates); validation, --keep-best and the saved model use it "
                       "(default: none)")
    train.add_argument("--clip-norm", type=positive_float_or_none, default=None, metavar="N",
                       help="scale gradients to global L2 norm <= N (default: none)")
    train.add_argument("--no-bucket", action="store_true", help="with --batch-size > 1: batch examples "
                       "at random instead of grouping similar lengths")
    train.add_argument("--dtype", choices=DTYPES, help="(default: the preset's: float32 for charrnn, "
                       "dates, translate and timeseries, float64 for the others)")
    train.add_argument("--seed", type=integer(0, MAX_SEED), default=0, help="random seed; same seed, same "
                       "result bit for bit (default: 0)")
    train.add_argument("--out", help="model file to write (default: model.safetensors for classify; "
                       + ", ".join(f"{name} for {task}" for task, name in DEFAULT_OUT.items() if task != "classify")
                       + ": each task's own, so that training one does not replace another's model)")
    train.add_argument("--json-log", metavar="PATH", help="write one JSON object per logged epoch "
                       "(lm: per log point)")
    train.add_argument("--plot", metavar="FILE.png", help="draw the logged loss and accuracy (lm: bits "
                       "per character) into a PNG at the end (needs the plot extra)")
    train.add_argument("--init-from", metavar="MODEL", help="start from a saved model's weights, "
                       "vocabulary and classes")
    train.add_argument("--pretrained", metavar="MODEL", help="classify: start from a pretrained language "
                       "model (train --task lm --tokenizer words) or sequence autoencoder: its vocabulary, "
                       "embedding and recurrent layers, with a new output layer (see --lr-layer-decay, "
                       "--unfreeze-every, --schedule)")
    train.add_argument("--pretrain-text", metavar="SOURCE", help="classify: first pretrain a word language "
                       "model on 'train' (the training texts: with --folds, each fold's own) or on a FILE of "
                       "unlabelled text (one document per line) together with them, then fine-tune it "
                       "as the classifier (as --pretrained)")
    train.add_argument("--pretrain-epochs", type=integer(1, 1000), metavar="N",
                       help="passes of the pretraining over its text (default: 10)")
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
