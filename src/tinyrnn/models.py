"""Models: an input, a stack of recurrent layers (nn/stack.py) and an output layer.

Classifier (many-to-one, the walkthrough's sentiment model):

    s_t = cell(x_t, s_{t-1}),  s_0 = 0          every layer and direction
    y   = W h_n + b                             h_n the top layer's last real h (both directions;
                                                or the mean / max of h_t over the words: pool)
    p   = softmax(y),   L = -ln p_c

Numeric input (task classify, regress or forecast with config.features = F): x_t is the step's F
numbers, standardised with the training data's mean and std (buffers input_mean, input_std),
and layer 0's W_ih is [G*H, F]. Regressor and Forecaster (regression.py) put a linear output
on the same pooled states.

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

from .describe import describe, representation, summary
from .model_config import ModelConfig, uses_walkthrough_names
from .nn import compiled
from .nn.functional import log_softmax, softmax
from .nn.layers import dropout_mask
from .nn.losses import softmax_cross_entropy
from .nn.params import flat_views, initialize
from .nn.pooling import pool_backward, pool_forward
from .nn.rnn import RNNCell
from .nn.stack import RecurrentStack
from .numeric import fit_standardization, pad_values
from .vocab import Vocab, pad_batch, tokenizer_of


@dataclass
class StepResult:
    """What loss_and_gradients returns besides the gradients it writes into model.grads."""

    loss: float                          # mean cross-entropy
    final_state: np.ndarray              # (L*D, B, S), a copy: carry it into the next chunk
    initial_state_grad: np.ndarray       # dL/ds_0, (L*D, B, S)
    predicted: np.ndarray | None = None  # classifier: the predicted class of each row


def parameter_shapes(config, vocab_size, output_size):
    """(stack, {name: shape}) of a model of config over vocab_size tokens with output_size
    outputs; allocates no parameters (io checks a file's tensors with it before building).
    A seq2seq model's (task "seq2seq": output_size is its target vocabulary's) is
    ((encoder, decoder), {name: shape})."""
    if config.task == "seq2seq":
        from .seq2seq import seq2seq_shapes          # seq2seq.py builds on this module
        return seq2seq_shapes(config, vocab_size, output_size)
    legacy = uses_walkthrough_names(config)
    stack = RecurrentStack(config, None if config.features else vocab_size, legacy)
    weight, bias = ("Why", "by") if legacy else ("fc.weight", "fc.bias")
    features = config.hidden_size * stack.directions
    return stack, {**stack.param_shapes(), weight: (output_size, features), bias: (output_size,)}


def buffer_shapes(config, output_size):
    """{name: shape} of the numbers a model stores beside its parameters, fitted on the training
    data and never trained: a numeric model's input standardisation (F,), a regressor's
    target standardisation (R,)."""
    shapes = {}
    if config.features:
        shapes.update(input_mean=(config.features,), input_std=(config.features,))
    if config.task == "regress":
        shapes.update(target_mean=(output_size,), target_std=(output_size,))
    return shapes


class RecurrentModel:
    """What every model shares: a ModelConfig (self.config), a vocabulary, the recurrent
    stack, an output layer, parameters and gradients as views into flat buffers. Built by
    build_model (or the Classifier and LanguageModel constructors)."""

    task = None
    origin = None                        # where the weights came from: {"pretrained": file, "task", "sha256"}
    initialized = None                   # how initialize() drew them: {"init": scheme, "forget_bias": b}

    def _build(self, config, vocab, classes, layout=None):
        """layout: parameter_shapes(config, ...) when the caller has it already."""
        self.config, self.dtype = config, np.dtype(config.dtype)
        self._check_classes(classes)
        if config.features:                              # numbers in: no vocabulary, no tokenizer
            self.vocab, self.tokenizer = None, None      # vocab: the F features' names (or None)
            self.feature_names = [f"x{i}" for i in range(config.features)] if vocab is None else list(vocab)
            if len(self.feature_names) != config.features:
                raise ValueError(f"{config.features} features need {config.features} names, got {vocab}")
        else:
            self.vocab = vocab if isinstance(vocab, Vocab) else Vocab(vocab)
            self.tokenizer = tokenizer_of(config.tokenizer)
        outputs = len(self.vocab) if classes is None else len(self.classes)
        layers, shapes = layout or parameter_shapes(config, self.input_size, outputs)
        self._use_layers(layers)
        self.output_weight, self.output_bias = list(shapes)[-2:]
        self.flat, self.params = flat_views(shapes, self.dtype)
        self.flat_grads, self.grads = flat_views(shapes, self.dtype)
        self.buffers = {name: np.zeros(shape, self.dtype) if name.endswith("mean") else np.ones(shape, self.dtype)
                        for name, shape in buffer_shapes(config, outputs).items()}
        self.compiled_step, self.kernel_layout = None, None      # chosen at the first training step

    __repr__, summary, describe = representation, summary, describe      # for people: describe.py

    @property
    def hidden_size(self):
        return self.config.hidden_size

    @property
    def input_size(self):
        """What a step reads: V token ids, or F numbers (numeric input)."""
        return self.config.features or len(self.vocab)

    def standardize_inputs(self, sequences):
        """Fit the numeric input's standardisation to training sequences ((T_i, F) each)."""
        mean, std = fit_standardization(sequences, self.dtype, "input numbers")
        self.buffers["input_mean"][...], self.buffers["input_std"][...] = mean, std

    def pad(self, sequences):
        """Sequences as one batch: (ids (B, T) or values (B, T, F), mask (B, T))."""
        return pad_values(sequences, self.dtype) if self.config.features else pad_batch(sequences)

    def initialize(self, rng, scheme="walkthrough", forget_bias=0.0):
        """Draw the weights from rng (nn/params.py); forget_bias starts an LSTM's f gate bias."""
        if forget_bias and self.config.cell != "lstm":
            raise ValueError(f"a forget-gate bias applies to the lstm cell, not {self.config.cell}")
        roles = {**self.stack.param_roles(), self.output_weight: "output_weight",
                 self.output_bias: "output_bias"}
        initialize(self.params, roles, rng, scheme, self.hidden_size, forget_bias)
        self.initialized = {"init": scheme, "forget_bias": float(forget_bias)}
        return self

    def tokenize(self, text):
        """The text's tokens as this model reads them (self.tokenizer: vocab.WORDS or CHARS)."""
        return self.tokenizer.split(text)

    def _run(self, ids, mask, initial_state, rng):
        """The stack over ids from s_0 (zeros when None; (B, S) accepted for one state)."""
        self._check_batch(ids, mask)
        initial_state = self._initial_state(ids, initial_state)
        scale = None
        if self.config.features:                       # x' = (x - mean) / std, zero at padding
            scale = self.input_scale(ids, mask)
            ids = ((ids - scale[0]) / scale[1]).astype(self.dtype, copy=False)
            if mask is not None:
                ids[~mask] = 0.0
        run = self.stack.forward(self.params, ids, mask, initial_state, rng)
        run.scale = scale
        return run

    def _initial_state(self, ids, initial_state):
        """s_0 as given, checked and shaped (L*D, B, S); None stays None (zeros)."""
        if initial_state is None:
            return None
        initial_state = np.asarray(initial_state, dtype=self.dtype)
        if initial_state.ndim == 2:
            initial_state = initial_state[None]
        expected = (self.stack.num_states, ids.shape[0], self.stack.state_size)
        if initial_state.shape != expected:
            raise ValueError(f"initial state must have shape {expected}, got {initial_state.shape}")
        return initial_state

    def input_scale(self, values, mask):
        """(mean, std) that numbers (B, T, F) are standardised with: the training data's, per feature."""
        return self.buffers["input_mean"], self.buffers["input_std"]

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
        layers, shapes = parameter_shapes(self.config, self.input_size, len(self.params[self.output_bias]))
        twin._use_layers(layers)
        twin.flat_grads, twin.grads = flat_views(shapes, self.dtype)
        return twin

    def _uses_compiled_step(self):
        """Whether loss_and_gradients may run as one compiled call (nn/compiled.py): a
        Classifier of one one-hot, one-direction vanilla RNN layer of at most
        compiled.MAX_HIDDEN units read at h_n, without dropout (the walkthrough's model), on
        the compiled engine. Chosen at the model's first training step."""
        config = self.config
        return type(self) is Classifier and config.hidden_size <= compiled.MAX_HIDDEN and config.cell == "rnn" \
            and config.num_layers == 1 \
            and not config.bidirectional and not config.embed_size and not config.features \
            and config.pool == "last" and not (config.dropout or config.embed_dropout or config.weight_drop) \
            and compiled.kernels() is not None

    def _compiled(self, ids):
        """Whether this training step runs compiled: one sequence at a time (the kernel is the
        faster of the two only there: docs/benchmarks.md), and the cell as built (a cell
        replaced by hand runs on NumPy)."""
        if self.compiled_step is None:
            self.compiled_step = self._uses_compiled_step()
        return self.compiled_step and isinstance(ids, np.ndarray) and ids.shape[:1] == (1,) \
            and type(self.stack.layers[0][0].cell) is RNNCell

    def _compiled_start(self, ids, mask, initial_state):
        """The checks of a batch, and h_0 (B, H)."""
        self._check_batch(ids, mask)
        initial_state = self._initial_state(ids, initial_state)
        return np.zeros((len(ids), self.hidden_size), self.dtype) if initial_state is None else initial_state[0]

    def _use_layers(self, stack):
        """Take the recurrent layers (with their workspaces) that parameter_shapes built."""
        self.stack = stack

    def _check_batch(self, ids, mask):
        """ids (B, T) integers in [0, V) (numeric input: finite numbers (B, T, F)), B and T at
        least 1; mask None or bool (B, T)."""
        if self.config.features:
            self._check_values(ids)
        elif not (isinstance(ids, np.ndarray) and ids.ndim == 2 and ids.dtype.kind in "iu" and ids.size):
            raise ValueError(f"ids must be a non-empty (B, T) integer array, got "
                             f"{getattr(ids, 'shape', type(ids).__name__)} {getattr(ids, 'dtype', '')}")
        elif ids.min() < 0 or ids.max() >= len(self.vocab):
            raise ValueError(f"ids must be in [0, {len(self.vocab)}), got {ids.min()} .. {ids.max()}")
        if mask is not None and not (isinstance(mask, np.ndarray) and mask.dtype == bool
                                     and mask.shape == ids.shape[:2]):
            raise ValueError(f"mask must be a bool array shaped like ids {ids.shape}, got "
                             f"{getattr(mask, 'shape', type(mask).__name__)} {getattr(mask, 'dtype', '')}")

    def _check_values(self, values):
        F = self.config.features
        if not (isinstance(values, np.ndarray) and values.ndim == 3 and values.dtype.kind == "f"
                and values.shape[2] == F and values.size):
            raise ValueError(f"numbers must be a non-empty (B, T, {F}) float array, got "
                             f"{getattr(values, 'shape', type(values).__name__)} {getattr(values, 'dtype', '')}")
        if not np.isfinite(values).all():
            raise ValueError("numbers must be finite (no NaN or infinity)")

    def _dropout(self, features, rng):
        """features and the multiplier of the dropout before the output layer (None: off)."""
        rate = self.config.dropout
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

    def __init__(self, vocab, classes, hidden_size=64, cell="rnn", dtype="float64", **settings):
        """Classifier(vocab, classes, 64, "gru", embed_size=16) is build_model(ModelConfig(
        "classify", 64, cell="gru", embed_size=16), vocab, classes); settings: ModelConfig's."""
        self._build(ModelConfig(self.task, hidden_size, cell, dtype=dtype, **settings), vocab, classes)

    def _check_classes(self, classes):
        if classes is None or len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError(f"a classifier needs at least two distinct classes, got "
                             f"{None if classes is None else list(classes)}")
        self.classes = list(classes)

    def encode(self, texts):
        """Texts -> (list of id arrays, list of unknown-word lists)."""
        encoded = [self.vocab.encode(self.tokenize(text)) for text in texts]
        return [ids for ids, _ in encoded], [unknown for _, unknown in encoded]

    def _forward(self, ids, mask, initial_state, rng):
        run = self._run(ids, mask, initial_state, rng)
        pool = self.config.pool
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
        (training); None: no dropout. Returns a StepResult (with predicted classes).

        The walkthrough's model (one one-hot vanilla RNN layer read at h_n, no dropout) runs
        as one compiled call on the compiled engine (nn/compiled.py)."""
        if self._compiled(ids):
            h0 = self._compiled_start(ids, mask, initial_state)
            loss, logits, final, d_initial = compiled.elman_classifier_step(self, ids, mask, targets, h0)
            return StepResult(loss, final[None], d_initial[None], logits.argmax(axis=1))
        logits, run, features, keep = self._forward(ids, mask, initial_state, rng)
        loss, dlogits = softmax_cross_entropy(logits, targets)                # dL/dy = p - onehot(c)
        d_initial = self._backward(run, dlogits, features, keep)
        return StepResult(loss, self.stack.final_states(run), d_initial, logits.argmax(axis=1))

    def _backward(self, run, dlogits, features, keep):
        """From dL/dy to every gradient (written into self.grads); returns dL/ds_0."""
        d_features = self._output_backward(dlogits, features)                 # dh_n = W^T dy
        if keep is not None:
            d_features *= keep
        pool = self.config.pool
        if pool == "last":
            return self.stack.backward(self.params, self.grads, run, None, d_features)
        T, B = run.ids.shape[:2]
        d_outputs = pool_backward(pool, d_features, run.pool_cache, (T, B, len(features[0])))
        return self.stack.backward(self.params, self.grads, run, d_outputs)

    def input_relevance(self, ids, target):
        """Gradient x input of ln p_target for one text of ids (T,): x_t . d ln p_target / d x_t
        at every step, (T,) (RecurrentStack.input_relevance); for numbers (T, F), of each
        standardised number, (T, F). Overwrites self.grads."""
        logits, run, features, keep = self._forward(np.asarray(ids)[None], None, None, None)
        _, dlogits = softmax_cross_entropy(logits, np.array([target]))        # of L = -ln p_target
        self._backward(run, dlogits, features, keep)
        return -self.stack.input_relevance(self.params, run, bool(self.config.features))[:, 0]

    def predict_proba(self, sequences, batch_size=256):
        """Id arrays -> class probabilities (N, C), in batches."""
        out = np.empty((len(sequences), len(self.classes)), dtype=self.dtype)
        for start in range(0, len(sequences), batch_size):
            ids, mask = self.pad(sequences[start:start + batch_size])
            logits, _ = self.forward(ids, mask)
            out[start:start + batch_size] = softmax(logits)
        return out


class LanguageModel(RecurrentModel):
    """Many-to-many: predicts token t + 1 from tokens up to t, at every step."""

    task = "lm"

    def __init__(self, vocab, hidden_size=100, cell="rnn", dtype="float64", tokenizer="chars", **settings):
        """LanguageModel(vocab, 100, "gru") is build_model(ModelConfig("lm", 100, cell="gru",
        tokenizer="chars"), vocab); settings: ModelConfig's."""
        config = ModelConfig(self.task, hidden_size, cell, dtype=dtype, tokenizer=tokenizer_of(tokenizer).kind,
                             **settings)
        self._build(config, vocab, None)

    def _check_classes(self, classes):
        if classes is not None:
            raise ValueError(f"a language model predicts its vocabulary; it has no classes, got {list(classes)}")

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


def build_model(config, vocab, classes=None, layout=None):
    """The one model factory: a Classifier (config.task "classify", with its classes), a
    Regressor ("regress", classes: the names of its targets), a Forecaster ("forecast",
    classes: the series' column names; vocab None), a LanguageModel ("lm") or a Seq2Seq ("seq2seq"; vocab is the pair (source vocabulary,
    target vocabulary)) of config (a ModelConfig) over vocab. layout: parameter_shapes of
    the same config and sizes, when the caller has it already (a file's loader), so the
    stack is built once."""
    if not isinstance(config, ModelConfig):
        raise TypeError(f"build_model needs a ModelConfig, got {type(config).__name__}")
    if config.task == "seq2seq":
        from .seq2seq import Seq2Seq
        kind = Seq2Seq
    elif config.task in ("regress", "forecast"):
        from .regression import Forecaster, Regressor     # regression.py builds on this module
        kind = Regressor if config.task == "regress" else Forecaster
    else:
        kind = Classifier if config.task == "classify" else LanguageModel
    model = object.__new__(kind)
    model._build(config, vocab, classes, layout)        # what the constructors do from their keywords
    return model
