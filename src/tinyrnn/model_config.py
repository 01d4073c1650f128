"""ModelConfig: everything that defines a model besides its weights and its data (the
vocabulary and the classes). Validated once, here; stored as JSON in every model file
(docs/model-format.md), from which from_json rebuilds it."""
from dataclasses import asdict, dataclass, fields

from .data.pairs import NORMALIZATIONS                  # seq2seq: how texts are normalised
from .nn import make_cell
from .nn.pooling import POOLS
from .vocab import TOKENIZERS, tokenizer_of

TASKS = ("classify", "lm", "seq2seq", "regress", "forecast")
ATTENTIONS = ("dot", "general", "additive", "none")     # seq2seq: Luong's dot, general; Bahdanau's additive
SEQ2SEQ = ("attention", "attention_size", "normalize")  # settings of the seq2seq task only
FORECAST = ("horizon", "window", "scaling")             # settings of the forecast task only
SCALINGS = ("window", "global")                         # forecast: each window by its own mean and spread,
                                                        # or every value by the training series'
NUMERIC_TASKS = ("classify", "regress", "forecast")     # the tasks that read vectors of numbers
DTYPES = ("float64", "float32")
ARCHITECTURE = ("cell", "num_layers", "bidirectional", "nonlinearity", "embed_size", "dropout", "pool",
                "embed_dropout", "weight_drop")                 # the settings of the recurrent body
DEFAULT_TOKENIZER = {"classify": "words", "lm": "chars", "seq2seq": "words", "regress": "words", "forecast": None}
DERIVED = ("input", "vocab_size", "num_classes", "target_vocab_size", "num_targets")  # stored in files, not settings


@dataclass(frozen=True)
class ModelConfig:
    """A model's architecture. task "classify" (many-to-one), "lm" (many-to-many) or
    "seq2seq" (an encoder-decoder: the recurrent settings are the encoder's and the decoder's,
    bidirectional the encoder's only); tokenizer "words" or "chars" (None: the task's own,
    chars for a language model, else words). Raises ValueError naming the first setting that
    cannot work."""

    task: str
    hidden_size: int                     # H
    cell: str = "rnn"                    # rnn, lstm or gru
    num_layers: int = 1                  # L
    bidirectional: bool = False          # D = 2 when True (classifiers only)
    nonlinearity: str = "tanh"           # tanh or relu (the rnn cell only)
    embed_size: int | None = None        # E of a learned embedding; None: one-hot input
    dropout: float = 0.0                 # training only: between layers and before the output
    pool: str = "last"                   # what a classifier's output reads: last, mean or max
    embed_dropout: float = 0.0           # training only: on the embedded words
    weight_drop: float = 0.0             # training only: DropConnect on W_hh
    dtype: str = "float64"
    tokenizer: str | None = None
    attention: str | None = None         # seq2seq: dot, general, additive or none (None: general)
    attention_size: int | None = None    # seq2seq, additive attention: A (None: H)
    normalize: str = "none"              # seq2seq: how texts are normalised before tokenizing
    features: int | None = None          # F numbers per step (numeric input); None: tokens
    horizon: int | None = None           # forecast: the H future steps predicted at once
    window: int | None = None            # forecast: the W past steps it reads
    scaling: str | None = None           # forecast: "window" (each window by its own mean and
                                         # standard deviation) or "global" (None: window)

    def __post_init__(self):
        _choose("task", self.task, TASKS)
        for name, value in (("hidden size", self.hidden_size), ("number of layers", self.num_layers)):
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.embed_size is not None and (type(self.embed_size) is not int or self.embed_size < 1):
            raise ValueError(f"embedding size must be a positive integer or None, got {self.embed_size!r}")
        for key, name in (("dropout", "dropout"), ("embed_dropout", "embedding dropout"),
                          ("weight_drop", "weight drop")):
            rate = getattr(self, key)
            if not (isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 <= rate < 1):
                raise ValueError(f"{name} must be in [0, 1), got {rate!r}")
            object.__setattr__(self, key, float(rate))          # 0 and 0.0 store alike
        if self.embed_dropout and not self.embed_size:
            raise ValueError("embedding dropout needs a learned embedding (embed_size)")
        if not isinstance(self.bidirectional, bool):
            raise ValueError(f"bidirectional must be True or False, got {self.bidirectional!r}")
        _choose("pooling", self.pool, POOLS)
        for name in ("cell", "nonlinearity"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a name, got {getattr(self, name)!r}")
        make_cell(self.cell, self.hidden_size, self.nonlinearity)   # names the cell or nonlinearity
        _choose("dtype", self.dtype, DTYPES)
        for name in ("tokenizer", "attention", "scaling"):           # None: the default; else a name
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a name or None, got {getattr(self, name)!r}")
        self._check_input()
        self._check_task()

    def _check_input(self):
        """Tokens (a tokenizer) or F numbers per step (no tokenizer, no embedding)."""
        if self.features is None:
            if self.task == "forecast":
                raise ValueError("a forecaster reads numbers: it needs features (the series' columns)")
            object.__setattr__(self, "tokenizer", self.tokenizer or DEFAULT_TOKENIZER[self.task])
            _choose("tokenizer", self.tokenizer, TOKENIZERS)
            return
        if type(self.features) is not int or self.features < 1:
            raise ValueError(f"features must be a positive integer or None, got {self.features!r}")
        if self.task not in NUMERIC_TASKS:
            raise ValueError(f"numeric input is for {', '.join(NUMERIC_TASKS)} models, not {self.task}")
        if self.embed_size is not None or self.tokenizer is not None:
            raise ValueError("numeric input has no tokenizer and no embedding")

    def _check_task(self):
        if self.task == "forecast":
            self._check_forecast()
        elif any(getattr(self, key) is not None for key in FORECAST):
            raise ValueError(f"horizon, window and scaling are settings of forecasters, not {self.task}")
        if self.task == "seq2seq":
            self._check_seq2seq()
        elif self.attention is not None or self.attention_size is not None or self.normalize != "none":
            raise ValueError(f"attention and text normalisation are settings of seq2seq models, not {self.task}")
        if self.task in ("classify", "regress") and self.features is None and self.tokenizer != "words":
            raise ValueError(f"a classifier reads words; its config names tokenizer {self.tokenizer!r}")
        if self.task == "lm" and self.bidirectional:
            raise ValueError("a language model cannot be bidirectional: the reverse direction "
                             "would see the tokens it has to predict")
        if self.task == "lm" and self.pool != "last":
            raise ValueError("pooling applies to classifiers; a language model reads h_t at every step")

    def _check_forecast(self):
        for name in ("horizon", "window"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"a forecaster's {name} must be a positive integer, got {value!r}")
        object.__setattr__(self, "scaling", self.scaling or "window")
        _choose("scaling", self.scaling, SCALINGS)
        if self.scaling == "window" and self.window < 2:
            raise ValueError("a forecaster with window scaling needs a window of at least 2 steps: it scales each "
                             "window by its own spread, and one step has none (scaling global reads one)")
        if self.pool != "last":
            raise ValueError("a forecaster reads the last state (the direct strategy); it has no pooling")

    def _check_seq2seq(self):
        object.__setattr__(self, "attention", self.attention or "general")
        _choose("attention", self.attention, ATTENTIONS)
        _choose("normalization", self.normalize, NORMALIZATIONS)
        if self.attention_size is not None and (self.attention != "additive" or type(self.attention_size) is not int
                                                or self.attention_size < 1):
            raise ValueError(f"an attention size is a positive integer for additive attention, got "
                             f"{self.attention_size!r} with {self.attention} attention")
        if self.attention == "dot" and self.bidirectional:
            raise ValueError("dot attention needs encoder outputs as wide as the decoder's states; a "
                             "bidirectional encoder's are twice as wide (general or additive attention "
                             "reads them)")
        if self.pool != "last":
            raise ValueError("pooling applies to classifiers; a seq2seq decoder reads every step")

    @property
    def directions(self):
        """D: 2 for a bidirectional model, else 1."""
        return 2 if self.bidirectional else 1

    def to_json(self):
        """The JSON object model files store (without the data's sizes, which io adds):
        "input" says onehot or embedding, "tokenizer" is the tokenizer's own config."""
        settings = asdict(self)
        if self.features is None:
            settings["tokenizer"] = tokenizer_of(self.tokenizer).config()
            del settings["features"]
        else:
            del settings["tokenizer"], settings["embed_size"]
        for task, keys in (("seq2seq", SEQ2SEQ), ("forecast", FORECAST)):
            if self.task != task:
                for key in keys:
                    del settings[key]
        return {"task": self.task, "cell": self.cell, "input": self.input_kind,
                **{key: value for key, value in settings.items() if key not in ("task", "cell")}}

    @property
    def input_kind(self):
        """What a step reads: "onehot" or "embedding" (token ids) or "numeric" (F numbers)."""
        return "numeric" if self.features else "embedding" if self.embed_size else "onehot"

    @classmethod
    def from_json(cls, stored):
        """The ModelConfig of a JSON object as to_json writes it, or as files of earlier versions
        stored it: missing settings take their defaults (a file of the first version is one
        one-hot tanh layer read at h_n); "input", "vocab_size" and "num_classes" are facts of
        the file, not settings (io checks them). A tokenizer is its config or its name."""
        if not isinstance(stored, dict):
            raise ValueError(f"a model config must be a JSON object, got {type(stored).__name__}")
        unknown = sorted(set(stored) - {field.name for field in fields(cls)} - set(DERIVED))
        if unknown:
            raise ValueError(f"unknown model setting {unknown[0]!r}")
        settings = {key: value for key, value in stored.items() if key not in DERIVED}
        tokenizer = settings.get("tokenizer")
        if isinstance(tokenizer, dict):
            settings["tokenizer"] = tokenizer.get("kind")
        for required in ("task", "hidden_size"):
            if required not in settings:
                raise ValueError(f"a model config needs {required!r}")
        config = cls(**settings)
        if stored.get("input", config.input_kind) != config.input_kind:
            raise ValueError(f"config input {stored['input']!r} disagrees with its embed_size and features")
        return config


def uses_walkthrough_names(config):
    """The walkthrough's own model (one one-hot, one-direction tanh RNN layer read at h_n)
    keeps its names (Wxh, Whh, bh, Why, by)."""
    return config.cell == "rnn" and config.nonlinearity == "tanh" and config.num_layers == 1 \
        and not config.bidirectional and not config.embed_size and config.pool == "last" \
        and config.task in ("classify", "lm") and config.features is None


def _choose(name, value, choices):
    if not (isinstance(value, str) and value in choices):
        raise ValueError(f"unknown {name} {value!r}; expected one of {list(choices)}")
