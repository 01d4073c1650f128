"""Models: an input, a stack of recurrent layers (nn/stack.py) and an output layer.

Classifier (many-to-one, the walkthrough's sentiment model):

    s_t = cell(x_t, s_{t-1}),  s_0 = 0          every layer and direction
    y   = W h_n + b                             h_n the top layer's last real h (both directions;
                                                or the mean / max of h_t over the words: pool)
    p   = softmax(y),   L = -ln p_c

LanguageModel (many-to-many): the same recurrence with an output at every step,

    y_t = W h_t + b,   L = mean over real steps of -ln softmax(y_t)[x_{t+1}]

The single-layer, one-direction tanh RNN over one-hot words keeps the walkthrough's names
(Wxh, Whh, bh, Why, by); every other model uses PyTorch's (rnn.weight_ih_l0, ..., fc.weight).
Shapes: B batch, T time, V vocabulary, E embedding, H hidden, C classes, L layers,
D directions, S state width (H, or 2H for the LSTM's [h | c]).
"""
import copy
from dataclasses import dataclass

import numpy as np

from .nn.functional import log_softmax, softmax
from .nn.layers import dropout_mask
from .nn.losses import softmax_cross_entropy
from .nn.params import flat_views, initialize
from .nn.pooling import POOLS, pool_backward, pool_forward
from .nn.stack import RecurrentStack
from .vocab import WORDS, Vocab, pad_batch, tokenizer_of

DTYPES = ("float64", "float32")
ARCHITECTURE = {"cell": "rnn", "num_layers": 1, "bidirectional": False, "nonlinearity": "tanh",
                "embed_size": None, "dropout": 0.0, "pool": "last", "embed_dropout": 0.0,
                "weight_drop": 0.0}                                                   # the defaults


@dataclass
class StepResult:
    """What loss_and_gradients returns besides the gradients it writes into model.grads."""

    loss: float                          # mean cross-entropy
    final_state: np.ndarray              # (L*D, B, S), a copy: carry it into the next chunk
    initial_state_grad: np.ndarray       # dL/ds_0, (L*D, B, S)
    predicted: np.ndarray | None = None  # classifier: the predicted class of each row


def check_architecture(hidden_size, cell, num_layers, bidirectional, nonlinearity, embed_size, dropout,
                       pool="last", embed_dropout=0.0, weight_drop=0.0):
    """Raise ValueError naming the first architecture setting that cannot work (the cell and
    its nonlinearity are checked by nn.make_cell)."""
    for name, value in (("hidden size", hidden_size), ("number of layers", num_layers)):
        if type(value) is not int or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if embed_size is not None and (type(embed_size) is not int or embed_size < 1):
        raise ValueError(f"embedding size must be a positive integer or None, got {embed_size!r}")
    for name, rate in (("dropout", dropout), ("embedding dropout", embed_dropout), ("weight drop", weight_drop)):
        if not (isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 <= rate < 1):
            raise ValueError(f"{name} must be in [0, 1), got {rate!r}")
    if embed_dropout and not embed_size:
        raise ValueError("embedding dropout needs a learned embedding (embed_size)")
    if not isinstance(bidirectional, bool):
        raise ValueError(f"bidirectional must be True or False, got {bidirectional!r}")
    if pool not in POOLS:
        raise ValueError(f"unknown pooling {pool!r}; expected one of {list(POOLS)}")


def uses_walkthrough_names(cell, num_layers, bidirectional, nonlinearity, embed_size, pool="last", **_):
    """The walkthrough's own model (one one-hot, one-direction tanh RNN layer read at h_n)
    keeps its names."""
    return cell == "rnn" and nonlinearity == "tanh" and num_layers == 1 and not bidirectional \
        and not embed_size and pool == "last"


def parameter_shapes(vocab_size, output_size, hidden_size, dtype="float64", **architecture):
    """(stack, {name: shape}) of a model; allocates no parameters (io checks files with it)."""
    arch = {**ARCHITECTURE, **architecture}
    check_architecture(hidden_size, **arch)
    legacy = uses_walkthrough_names(**arch)
    stack = RecurrentStack(arch["cell"], vocab_size, hidden_size, arch["num_layers"], arch["bidirectional"],
                           arch["nonlinearity"], arch["embed_size"], arch["dropout"], dtype, legacy,
                           arch["embed_dropout"], arch["weight_drop"])
    weight, bias = ("Why", "by") if legacy else ("fc.weight", "fc.bias")
    features = hidden_size * stack.directions
    return stack, {**stack.param_shapes(), weight: (output_size, features), bias: (output_size,)}


class RecurrentModel:
    """What every model shares: a vocabulary, the recurrent stack, an output layer of
    `output_size` rows, parameters and gradients as views into flat buffers."""

    task = None

    def __init__(self, vocab, output_size, hidden_size, cell, dtype, architecture):
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; expected one of {list(DTYPES)}")
        self.vocab = vocab if isinstance(vocab, Vocab) else Vocab(vocab)
        self.dtype = np.dtype(dtype)
        self.architecture = {**ARCHITECTURE, **architecture, "cell": cell}
        self.stack, shapes = parameter_shapes(len(self.vocab), output_size, hidden_size, dtype,
                                              **self.architecture)
        self.output_weight, self.output_bias = list(shapes)[-2:]
        self.flat, self.params = flat_views(shapes, self.dtype)
        self.flat_grads, self.grads = flat_views(shapes, self.dtype)

    def __repr__(self):
        arch = ", ".join(f"{key}={value!r}" for key, value in self.architecture.items()
                         if value != ARCHITECTURE[key] or key == "cell")
        return (f"{type(self).__name__}({arch}, hidden_size={self.hidden_size}, "
                f"vocab={len(self.vocab)}, outputs={self.params[self.output_bias].shape[0]}, "
                f"parameters={self.flat.size}, dtype={self.dtype.name})")

    @property
    def hidden_size(self):
        return self.stack.hidden_size

    @property
    def cell(self):
        return self.stack.cell

    def initialize(self, rng, scheme="walkthrough", forget_bias=0.0):
        """Draw the weights from rng (nn/params.py); forget_bias starts an LSTM's f gate bias."""
        if forget_bias and self.architecture["cell"] != "lstm":
            raise ValueError(f"a forget-gate bias applies to the lstm cell, not {self.architecture['cell']}")
        roles = {**self.stack.param_roles(), self.output_weight: "output_weight",
                 self.output_bias: "output_bias"}
        initialize(self.params, roles, rng, scheme, self.hidden_size, forget_bias)
        return self

    def config(self):
        """Everything needed to rebuild this model besides weights, vocab and classes."""
        arch = self.architecture
        return {"task": self.task, "cell": arch["cell"], "input": "embedding" if arch["embed_size"] else "onehot",
                "vocab_size": len(self.vocab), "hidden_size": self.hidden_size, **{
                    key: arch[key] for key in ("num_layers", "bidirectional", "nonlinearity", "embed_size",
                                               "dropout", "pool", "embed_dropout", "weight_drop")},
                "dtype": self.dtype.name}

    def tokenize(self, text):
        """The text's tokens as this model reads them (self.tokenizer: vocab.WORDS or CHARS)."""
        return self.tokenizer.split(text)

    def summary(self):
        """What the model is, for people and pages (tinyrnn info, explain, serve)."""
        arch = self.architecture
        facts = {"task": self.task, "cell": arch["cell"], "layers": arch["num_layers"],
                 "directions": self.stack.directions, "hidden_size": self.hidden_size,
                 "input": f"embedding of size {arch['embed_size']}" if arch["embed_size"] else "one-hot",
                 "vocabulary": len(self.vocab), "parameters": int(self.flat.size), "dtype": self.dtype.name,
                 "tokenizer": self.tokenizer.describe()}
        if arch["cell"] == "rnn":
            facts["nonlinearity"] = arch["nonlinearity"]
        if self.task == "classify":
            facts.update(classes=list(self.classes), pool=arch["pool"])
        facts.update(dropout=arch["dropout"], embedding_dropout=arch["embed_dropout"],   # training only
                     weight_drop=arch["weight_drop"])
        facts["tensors"] = {name: list(array.shape) for name, array in self.params.items()}
        return facts

    def describe(self, short=False):
        """One line: 'a 1-layer GRU classifier, 64 hidden units, bidirectional, ...'; short:
        only the first two parts."""
        arch = self.architecture
        cell = {"rnn": f"{arch['nonlinearity']} RNN", "lstm": "LSTM", "gru": "GRU"}[arch["cell"]]
        what = "classifier" if self.task == "classify" else "language model"
        parts = [f"a {arch['num_layers']}-layer {cell} {what}", f"{self.hidden_size} hidden units"]
        if short:
            return ", ".join(parts)
        if self.stack.directions == 2:
            parts.append("bidirectional")
        parts.append(f"{len(self.vocab.words):,} {self.tokenizer.unit}s in the vocabulary")
        if self.task == "classify":
            parts.append(f"classes {', '.join(self.classes)}")
        return ", ".join(parts) + f" ({self.flat.size:,} parameters)"

    def _run(self, ids, mask, initial_state, rng):
        """The stack over ids from s_0 (zeros when None; (B, S) accepted for one state)."""
        self._check_batch(ids, mask)
        if initial_state is not None:
            initial_state = np.asarray(initial_state, dtype=self.dtype)
            if initial_state.ndim == 2:
                initial_state = initial_state[None]
            expected = (self.stack.num_states, ids.shape[0], self.stack.state_size)
            if initial_state.shape != expected:
                raise ValueError(f"initial state must have shape {expected}, got {initial_state.shape}")
        return self.stack.forward(self.params, ids, mask, initial_state, rng)

    def forward(self, ids, mask=None, initial_state=None):
        """ids (B, T), mask (B, T) bool or None (no padding) -> (logits, final states (L*D, B, S)).

        Logits are (B, C) for a classifier, (T, B, V) time-major for a language model.
        initial_state (L*D, B, S) is s_0; zeros (the walkthrough's h_0) when not given."""
        logits, run, _, _ = self._forward(ids, mask, initial_state, None)
        return logits, self.stack.final_states(run)

    def hidden_states(self, ids):
        """The top layer's h_t at every step of one sequence of ids (T,): (T, D*H), both
        directions side by side in time order (evaluation, no dropout); a copy."""
        run = self._run(np.asarray(ids)[None], None, None, None)
        return self.stack.layer_outputs(run, -1)[:, 0].copy()

    def replica(self):
        """A model that shares this one's parameters (to read, not to train) with workspaces and
        gradients of its own: one per thread or request, so concurrent users share no buffer."""
        twin = copy.copy(self)
        twin.stack, shapes = parameter_shapes(len(self.vocab), len(self.params[self.output_bias]),
                                              self.hidden_size, self.dtype.name, **self.architecture)
        twin.flat_grads, twin.grads = flat_views(shapes, self.dtype)
        return twin

    def _check_batch(self, ids, mask):
        """ids (B, T) integers in [0, V), B and T at least 1; mask None or bool (B, T)."""
        if not (isinstance(ids, np.ndarray) and ids.ndim == 2 and ids.dtype.kind in "iu" and ids.size):
            raise ValueError(f"ids must be a non-empty (B, T) integer array, got "
                             f"{getattr(ids, 'shape', type(ids).__name__)} {getattr(ids, 'dtype', '')}")
        if ids.min() < 0 or ids.max() >= len(self.vocab):
            raise ValueError(f"ids must be in [0, {len(self.vocab)}), got {ids.min()} .. {ids.max()}")
        if mask is not None and not (isinstance(mask, np.ndarray) and mask.dtype == bool
                                     and mask.shape == ids.shape):
            raise ValueError(f"mask must be a bool array shaped like ids {ids.shape}, got "
                             f"{getattr(mask, 'shape', type(mask).__name__)} {getattr(mask, 'dtype', '')}")

    def _dropout(self, features, rng):
        """features and the multiplier of the dropout before the output layer (None: off)."""
        rate = self.architecture["dropout"]
        if rng is None or rate == 0:
            return features, None
        keep = dropout_mask(rng, features.shape, rate, self.dtype)
        return features * keep, keep

    def _output_backward(self, dlogits, features):
        """dW = dy^T features, db = sum dy; returns dL/dfeatures = dy W."""
        np.dot(dlogits.T, features, out=self.grads[self.output_weight])          # sum dy h^T
        np.add.reduce(dlogits, axis=0, out=self.grads[self.output_bias])          # sum dy
        return np.dot(dlogits, self.params[self.output_weight])                   # W^T dy


class Classifier(RecurrentModel):
    """Many-to-one RNN classifier over word ids.

    The walkthrough's model: params {"Wxh" [H, V], "Whh" [H, H], "bh" [H], "Why" [C, H],
    "by" [C]}; other architectures use PyTorch's names (see models' docstring). Views into
    self.flat; self.grads has the same names (views into self.flat_grads).
    """

    task = "classify"
    tokenizer = WORDS

    def __init__(self, vocab, classes, hidden_size=64, cell="rnn", dtype="float64", **architecture):
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError(f"a classifier needs at least two distinct classes, got {list(classes)}")
        self.classes = list(classes)
        super().__init__(vocab, len(self.classes), hidden_size, cell, dtype, architecture)

    def config(self):
        return {**super().config(), "num_classes": len(self.classes), "tokenizer": self.tokenizer.config()}

    def encode(self, texts):
        """Texts -> (list of id arrays, list of unknown-word lists)."""
        encoded = [self.vocab.encode(self.tokenize(text)) for text in texts]
        return [ids for ids, _ in encoded], [unknown for _, unknown in encoded]

    def _forward(self, ids, mask, initial_state, rng):
        run = self._run(ids, mask, initial_state, rng)
        pool = self.architecture["pool"]
        if pool == "last":
            run.pooled = self.stack.final_hidden(run)                          # h_n, (B, D*H)
        else:                                                                  # over h_t, (T, B, D*H)
            run.pooled, run.pool_cache = pool_forward(pool, self.stack.layer_outputs(run, -1), run.mask)
        features, keep = self._dropout(run.pooled, rng)
        logits = np.dot(features, self.params[self.output_weight].T)          # y = W h_n + b
        logits += self.params[self.output_bias]
        return logits, run, features, keep

    def loss_and_gradients(self, ids, mask, targets, initial_state=None, rng=None):
        """Mean cross-entropy of the batch; fills self.grads. rng: draw dropout from it
        (training); None: no dropout. Returns a StepResult (with predicted classes)."""
        logits, run, features, keep = self._forward(ids, mask, initial_state, rng)
        loss, dlogits = softmax_cross_entropy(logits, targets)                # dL/dy = p - onehot(c)
        d_initial = self._backward(run, dlogits, features, keep)
        return StepResult(loss, self.stack.final_states(run), d_initial, logits.argmax(axis=1))

    def _backward(self, run, dlogits, features, keep):
        """From dL/dy to every gradient (written into self.grads); returns dL/ds_0."""
        d_features = self._output_backward(dlogits, features)                 # dh_n = W^T dy
        if keep is not None:
            d_features *= keep
        pool = self.architecture["pool"]
        if pool == "last":
            return self.stack.backward(self.params, self.grads, run, None, d_features)
        T, B = run.ids.shape
        d_outputs = pool_backward(pool, d_features, run.pool_cache, (T, B, len(features[0])))
        return self.stack.backward(self.params, self.grads, run, d_outputs)

    def input_relevance(self, ids, target):
        """Gradient x input of ln p_target for one text of ids (T,): x_t . d ln p_target / d x_t
        at every step, (T,) (RecurrentStack.input_relevance). Overwrites self.grads."""
        logits, run, features, keep = self._forward(np.asarray(ids)[None], None, None, None)
        _, dlogits = softmax_cross_entropy(logits, np.array([target]))        # of L = -ln p_target
        self._backward(run, dlogits, features, keep)
        return -self.stack.input_relevance(self.params, run)[:, 0]

    def predict_proba(self, sequences, batch_size=256):
        """Id arrays -> class probabilities (N, C), in batches."""
        out = np.empty((len(sequences), len(self.classes)), dtype=self.dtype)
        for start in range(0, len(sequences), batch_size):
            ids, mask = pad_batch(sequences[start:start + batch_size])
            logits, _ = self.forward(ids, mask)
            out[start:start + batch_size] = softmax(logits)
        return out


class LanguageModel(RecurrentModel):
    """Many-to-many: predicts token t + 1 from tokens up to t, at every step."""

    task = "lm"

    def __init__(self, vocab, hidden_size=100, cell="rnn", dtype="float64", tokenizer="chars", **architecture):
        if architecture.get("bidirectional"):
            raise ValueError("a language model cannot be bidirectional: the reverse direction "
                             "would see the tokens it has to predict")
        if architecture.get("pool", "last") != "last":
            raise ValueError("pooling applies to classifiers; a language model reads h_t at every step")
        self.tokenizer = tokenizer_of(tokenizer)            # "chars", "words" or a vocab.Tokenizer
        super().__init__(vocab, len(vocab), hidden_size, cell, dtype, architecture)

    def config(self):
        return {**super().config(), "tokenizer": self.tokenizer.config()}

    def _forward(self, ids, mask, initial_state, rng):
        run = self._run(ids, mask, initial_state, rng)
        T, B = run.ids.shape
        outputs = self.stack.layer_outputs(run, -1).reshape(T * B, -1)        # h_t, all steps
        outputs, keep = self._dropout(outputs, rng)
        logits = np.dot(outputs, self.params[self.output_weight].T)           # y_t = W h_t + b
        logits += self.params[self.output_bias]
        return logits.reshape(T, B, -1), run, outputs, keep

    def read(self, ids):
        """One sequence of ids (T,) from s_0 = 0 -> (logits of the next token at every step
        (T, V), the top layer's h_t (T, H)), copies."""
        logits, run, _, _ = self._forward(np.asarray(ids)[None], None, None, None)
        return logits[:, 0].copy(), self.stack.layer_outputs(run, -1)[:, 0].copy()

    def loss_sum(self, ids, targets, initial_state=None):
        """Forward only: (summed cross-entropy over all steps, final states (L*D, B, S) copy)."""
        logits, states = self.forward(ids, None, initial_state)
        T, B, V = logits.shape
        log_probs = log_softmax(logits.reshape(T * B, V))
        return float(-log_probs[np.arange(T * B), targets.T.reshape(-1)].sum()), states

    def loss_and_gradients(self, ids, mask, targets, initial_state=None, rng=None, sum_over_time=False):
        """Mean cross-entropy over all real steps; fills self.grads.

        ids, targets (B, T) int (targets[:, t] is the token after ids[:, t]); mask (B, T)
        or None. With sum_over_time the gradients are those of the loss summed over the T
        steps of each sequence (min-char-rnn's convention), T times the mean's; the
        returned loss is still the mean per token. Returns a StepResult."""
        logits, run, outputs, keep = self._forward(ids, mask, initial_state, rng)
        T, B, V = logits.shape
        weights = None if mask is None else mask.T.reshape(-1).astype(self.dtype)
        loss, dlogits = softmax_cross_entropy(logits.reshape(T * B, V), targets.T.reshape(-1), weights)
        if sum_over_time:
            dlogits *= T
        d_outputs = self._output_backward(dlogits, outputs)                    # W^T dy_t, (T*B, H)
        if keep is not None:
            d_outputs *= keep
        d_initial = self.stack.backward(self.params, self.grads, run, d_outputs.reshape(T, B, -1))
        return StepResult(loss, self.stack.final_states(run), d_initial)


def build_model(config, vocab, classes=None):
    """The one model factory: a Classifier or LanguageModel from a config dict (as
    model.config() returns and model files store; missing architecture keys take the
    defaults, so files of earlier versions load)."""
    architecture = {key: config.get(key, default) for key, default in ARCHITECTURE.items() if key != "cell"}
    if config["task"] == "classify":
        return Classifier(vocab, classes, config["hidden_size"], config["cell"], config["dtype"], **architecture)
    return LanguageModel(vocab, config["hidden_size"], config["cell"], config["dtype"],
                         config["tokenizer"]["kind"], **architecture)
