"""Named recipes (--preset) and the option values that mean "off": the command line's own
vocabulary. The library knows neither; a recipe becomes a TrainConfig, a task's settings and
a model's architecture here.

Classify: "walkthrough" is the walkthrough's recipe; "fast" reaches 100 % test accuracy on
the walkthrough-style datasets in a few dozen epochs (chosen over 30 seeds on two datasets,
every seed reaching it). "text" is for real sentences (thousands of examples, a large
vocabulary): a bidirectional GRU over learned embeddings, read by its mean state, with
dropout, Adam on minibatches, and a held-out tenth that picks the epoch kept and stops
training; its "options" are the architecture and validation options it sets (any of them
given on the command line wins).
Language models (--task lm): "charrnn" (Adam, 32 streams, log points every 30 seconds) and
"minchar" (the classic min-char-rnn recipe: Adagrad, one stream, gradients of the sum).
Translation (--task seq2seq): "dates" (the embedded dates -> ISO 8601: a bidirectional GRU
encoder over characters, so that the output reading a digit knows what follows it, general
attention, Adam) and "translate" (sentence pairs of real languages: words, a
larger bidirectional GRU encoder with additive attention, dropout, keep-best and early stop
on a held-out tenth; on the PyTorch tutorial's French -> English pairs it beats the
tutorial's network, docs/benchmarks.md).
Numeric sequences (classify on .ts/.npz/long CSV, --task regress): "timeseries" (the default
for numbers: a bidirectional GRU read by the max of its states over time, Adam on batches of
16, 200 epochs, evaluated and saved as the moving average of its weights; one setting for the UEA/UCR archive's JapaneseVowels, BasicMotions, GunPoint
and ItalyPowerDemand, docs/benchmarks.md). Forecasting (--task forecast): "forecast" (a GRU
over windows of 24 steps, each read relative to its own mean and spread, the next 24 values
at once from its last state, 600 epochs of Adam).
"""
import argparse

TIMESERIES = {"epochs": 200, "hidden": 64, "init": "orthogonal", "optimizer": "adam", "lr": 0.003,
                       "batch_size": 16, "clip_value": None, "log_every": 20, "target_accuracy": None,
                       "dtype": "float32",
                       "options": {"cell": "gru", "bidirectional": True, "pool": "max", "clip_norm": 5.0, "ema": 0.99}}
PRESETS = {
    "classify": {
        "walkthrough": {"epochs": 1000, "hidden": 64, "init": "walkthrough", "optimizer": "sgd",
                        "lr": 0.02, "batch_size": 1, "clip_value": 1.0, "log_every": 100,
                        "target_accuracy": None},
        "fast": {"epochs": 300, "hidden": 32, "init": "orthogonal", "optimizer": "adam", "lr": 0.02,
                 "batch_size": 16, "clip_value": 1.0, "log_every": 10, "target_accuracy": 1.0},
        "text": {"epochs": 30, "hidden": 64, "init": "orthogonal", "optimizer": "adam", "lr": 0.001,
                 "batch_size": 50, "clip_value": None, "log_every": 1, "target_accuracy": None,
                 "options": {"cell": "gru", "bidirectional": True, "embed": 128, "embed_dropout": 0.3,
                             "dropout": 0.5, "pool": "mean", "valid_split": 0.1, "early_stop": 3,
                             "keep_best": True, "clip_norm": 5.0, "min_count": 2}},
        "timeseries": TIMESERIES,
    },
    "lm": {
        "charrnn": {"epochs": 10, "hidden": 128, "init": "xavier", "optimizer": "adam", "lr": 0.005,
                    "batch_size": 32, "seq_length": 25, "clip_value": 5.0, "log_every": None,
                    "dtype": "float32"},                 # log points: every --log-every-seconds
        "minchar": {"epochs": 1, "hidden": 100, "init": "minchar", "optimizer": "adagrad", "lr": 0.1,
                    "batch_size": 1, "seq_length": 25, "clip_value": 5.0, "log_every": 1000,
                    "dtype": "float64", "sum_over_time": True},
    },
    "seq2seq": {
        "dates": {"epochs": 4, "hidden": 64, "init": "uniform", "optimizer": "adam", "lr": 0.003,
                  "batch_size": 64, "clip_value": None, "log_every": 1, "dtype": "float32",
                  "options": {"cell": "gru", "bidirectional": True, "embed": 32, "attention": "general",
                              "clip_norm": 5.0, "lr_decay": 0.7}},
        "translate": {"epochs": 30, "hidden": 256, "init": "uniform", "optimizer": "adam", "lr": 0.001,
                      "batch_size": 32, "clip_value": None, "log_every": 1, "dtype": "float32",
                      "options": {"cell": "gru", "bidirectional": True, "embed": 256, "attention": "additive",
                                  "dropout": 0.3, "clip_norm": 5.0, "keep_best": True, "early_stop": 4}},
    },
    "regress": {"timeseries": TIMESERIES},
    "forecast": {
        "forecast": {"epochs": 600, "hidden": 64, "init": "orthogonal", "optimizer": "adam", "lr": 0.001,
                     "batch_size": 16, "clip_value": None, "log_every": 100, "dtype": "float64",
                     "window": 24, "horizon": 24, "options": {"cell": "gru", "clip_norm": 5.0}},
    },
}
DEFAULT_PRESET = {"classify": "walkthrough", "lm": "charrnn", "seq2seq": "dates", "regress": "timeseries",
                  "forecast": "forecast"}

OFF = "none"                             # --clip-value none, --clip-norm none, --ema none, ...


def off_or(value):
    """An option's value, None where it says "none"."""
    return None if value == OFF else value


def recipe_for(task, preset, overrides):
    """(recipe, given): the task's preset (default: DEFAULT_PRESET's) overridden by every option given
    on the command line. overrides maps option names to their values (None: not given); given
    holds the ones that are in the preset and were given."""
    recipes = PRESETS[task]
    recipe = {name: value for name, value in recipes[preset or DEFAULT_PRESET[task]].items() if name != "options"}
    given = {name: overrides[name] for name in recipe if overrides.get(name) is not None}
    if "optimizer" in given and "lr" not in given and given["optimizer"] != recipe["optimizer"]:
        recipe["lr"] = None                              # that optimizer's own default
    recipe.update(given)
    recipe["clip_value"] = off_or(recipe["clip_value"])
    return recipe, given


def preset_options(task, preset):
    """The architecture and validation options a preset sets, {option name: value}."""
    return PRESETS[task].get(preset or DEFAULT_PRESET[task], {}).get("options", {})


MODEL_SETTINGS = ("cell", "bidirectional", "embed", "dropout", "pool", "embed_dropout", "weight_drop", "attention",
                  "attention_size", "min_count")          # what a saved model (--init-from) has already
EXPLICIT_BOOLEANS = ("bidirectional",)                     # --x / --no-x: False was given


def with_preset_options(args, task, keep=()):
    """A copy of train's namespace with the preset's options filled in where the command line
    gives none (None, or False for a flag that is only ever switched on); keep: options the
    preset leaves alone. A model started from a saved one (--init-from) keeps its settings."""
    keep = (*keep, *(MODEL_SETTINGS if args.init_from else ()))
    values = dict(vars(args))
    for name, value in preset_options(task, args.preset).items():
        given = values[name]
        if name not in keep and (given is None or (given is False and name not in EXPLICIT_BOOLEANS)):
            values[name] = value
    return argparse.Namespace(**values)


def all_presets():
    return sorted({name for recipes in PRESETS.values() for name in recipes})
