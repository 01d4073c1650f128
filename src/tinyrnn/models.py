"""Models: a cell from nn/, the shared time loop, and an output layer.

Classifier (many-to-one, the walkthrough's sentiment model):

    h_t = cell(x_t, h_{t-1}),  h_0 = 0
    y   = Why h_n + by                    h_n the state after the last real word
    p   = softmax(y),   L = -ln p_c

LanguageModel (many-to-many): the same recurrence with an output at every step,

    y_t = Why h_t + by,   L = mean over real steps of -ln softmax(y_t)[x_{t+1}]

Shapes: B batch, T time, V vocabulary, H hidden, C classes.
"""
import numpy as np

from .nn import CELLS
from .nn.losses import softmax_cross_entropy
from .nn.functional import log_softmax, softmax
from .nn.params import flat_views, initialize
from .nn.recurrent import RecurrentLayer
from .vocab import Vocab, pad_batch, tokenize

DTYPES = ("float64", "float32")
TOKENIZERS = {"words": {"kind": "words", "normalize": "NFKC", "casefold": True},  # vocab.tokenize
              "chars": {"kind": "chars"}}                                       # every character


def classifier_shapes(cell, num_classes):
    """{name: shape} of a classifier's parameters: the cell's, then Why [C, H] and by [C]."""
    return {**cell.param_shapes(), "Why": (num_classes, cell.hidden_size), "by": (num_classes,)}


class RecurrentModel:
    """What every model shares: a vocabulary, a cell over one-hot inputs, an output layer
    of `output_size` rows, parameters and gradients as views into flat buffers."""

    task = None

    def __init__(self, vocab, output_size, hidden_size, cell, dtype):
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; expected one of {sorted(CELLS)}")
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; expected one of {list(DTYPES)}")
        if not isinstance(hidden_size, int) or hidden_size < 1:
            raise ValueError(f"hidden size must be a positive integer, got {hidden_size!r}")
        self.vocab = vocab if isinstance(vocab, Vocab) else Vocab(vocab)
        self.dtype = np.dtype(dtype)
        self.cell = CELLS[cell](len(self.vocab), hidden_size)
        shapes = output_shapes(self.cell, output_size)
        self.flat, self.params = flat_views(shapes, self.dtype)
        self.flat_grads, self.grads = flat_views(shapes, self.dtype)
        self.recurrent = RecurrentLayer(self.cell, self.dtype)

    def __repr__(self):
        return (f"{type(self).__name__}({self.cell!r}, outputs={self.params['by'].shape[0]}, "
                f"parameters={self.flat.size}, dtype={self.dtype.name})")

    @property
    def hidden_size(self):
        return self.cell.hidden_size

    def initialize(self, rng, scheme="walkthrough"):
        initialize(self.params, rng, scheme)
        return self

    def _states(self, ids, mask, initial_state):
        """The recurrence over ids: (states (T + 1, B, H), workspace); h_0 = 0 by default."""
        h0 = 0.0 if initial_state is None else initial_state
        return self.recurrent.forward(self.params, ids, mask, h0)


def output_shapes(cell, output_size):
    """{name: shape} of a model's parameters: the cell's, then Why [C, H] and by [C]."""
    return {**cell.param_shapes(), "Why": (output_size, cell.hidden_size), "by": (output_size,)}


class Classifier(RecurrentModel):
    """Many-to-one RNN classifier over word ids.

    params: {"Wxh" [H, V], "Whh" [H, H], "bh" [H], "Why" [C, H], "by" [C]}, views into
    self.flat; self.grads has the same names (views into self.flat_grads).
    """

    task = "classify"

    def __init__(self, vocab, classes, hidden_size=64, cell="rnn", dtype="float64"):
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError(f"a classifier needs at least two distinct classes, got {list(classes)}")
        self.classes = list(classes)
        super().__init__(vocab, len(self.classes), hidden_size, cell, dtype)

    def config(self):
        """Everything needed to rebuild this model besides weights, vocab and classes."""
        return {"task": "classify", "cell": self.cell.kind, "input": "onehot",
                "vocab_size": len(self.vocab), "hidden_size": self.hidden_size,
                "num_classes": len(self.classes), "dtype": self.dtype.name,
                "tokenizer": TOKENIZERS["words"]}

    def encode(self, texts):
        """Texts -> (list of id arrays, list of unknown-word lists)."""
        encoded = [self.vocab.encode(tokenize(text)) for text in texts]
        return [ids for ids, _ in encoded], [unknown for _, unknown in encoded]

    def forward(self, ids, mask, initial_state=None):
        """ids (B, T), mask (B, T) bool or None -> logits (B, C) and states (T + 1, B, H).

        initial_state (B, H) is h_0; zeros (the walkthrough's h_0) when not given. The
        states are time-major and reused by the next call: copy them to keep them.
        """
        logits, states, _ = self._forward(ids, mask, initial_state)
        return logits, states

    def _forward(self, ids, mask, initial_state):
        states, work = self._states(ids, mask, initial_state)
        logits = np.dot(states[-1], self.params["Why"].T)              # y = Why h_n + by
        logits += self.params["by"]
        return logits, states, work

    def loss_and_gradients(self, ids, mask, targets, initial_state=None):
        """Mean cross-entropy of the batch; fills self.grads and self.initial_state_grad
        (dL/dh_0, (B, H)). Returns (loss, predicted class indices (B,))."""
        logits, states, work = self._forward(ids, mask, initial_state)
        predicted = logits.argmax(axis=1)
        loss, dlogits = softmax_cross_entropy(logits, targets)         # dL/dy = p - onehot(c)
        final = states[-1]                                             # h_n, (B, H)
        np.dot(dlogits.T, final, out=self.grads["Why"])               # dWhy = dy h_n^T
        np.add.reduce(dlogits, axis=0, out=self.grads["by"])           # dby = dy
        d_final = np.dot(dlogits, self.params["Why"])                  # dh_n = Why^T dy
        self.initial_state_grad = self.recurrent.backward(self.params, work, d_final, self.grads)
        return loss, predicted

    def predict_proba(self, sequences, batch_size=256):
        """Id arrays -> class probabilities (N, C), in batches."""
        out = np.empty((len(sequences), len(self.classes)), dtype=self.dtype)
        for start in range(0, len(sequences), batch_size):
            ids, mask = pad_batch(sequences[start:start + batch_size])
            logits, _ = self.forward(ids, mask)
            out[start:start + batch_size] = softmax(logits)
        return out


class LanguageModel(RecurrentModel):
    """Many-to-many: predicts token t + 1 from tokens up to t, at every step.

    params: {"Wxh" [H, V], "Whh" [H, H], "bh" [H], "Why" [V, H], "by" [V]}.
    """

    task = "lm"

    def __init__(self, vocab, hidden_size=100, cell="rnn", dtype="float64", tokenizer="chars"):
        if tokenizer not in TOKENIZERS:
            raise ValueError(f"unknown tokenizer {tokenizer!r}; expected one of {list(TOKENIZERS)}")
        self.tokenizer = tokenizer
        super().__init__(vocab, len(vocab), hidden_size, cell, dtype)

    def config(self):
        """Everything needed to rebuild this model besides weights and vocab."""
        return {"task": "lm", "cell": self.cell.kind, "input": "onehot",
                "vocab_size": len(self.vocab), "hidden_size": self.hidden_size,
                "dtype": self.dtype.name, "tokenizer": TOKENIZERS[self.tokenizer]}

    def tokenize(self, text):
        return list(text) if self.tokenizer == "chars" else tokenize(text)

    def forward(self, ids, mask=None, initial_state=None):
        """ids (B, T) -> logits (T, B, V) and states (T + 1, B, H), both time-major.

        The states are reused by the next call: copy them to keep them."""
        logits, states, _ = self._forward(ids, mask, initial_state)
        return logits, states

    def _forward(self, ids, mask, initial_state):
        states, work = self._states(ids, mask, initial_state)
        logits = states[1:] @ self.params["Why"].T + self.params["by"]    # y_t = Why h_t + by
        return logits, states, work

    def loss_sum(self, ids, targets, initial_state=None):
        """Forward only: (summed cross-entropy over all steps, final state (B, H) copy)."""
        logits, states = self.forward(ids, None, initial_state)
        T, B, V = logits.shape
        log_probs = log_softmax(logits.reshape(T * B, V))
        return float(-log_probs[np.arange(T * B), targets.T.reshape(-1)].sum()), states[-1].copy()

    def loss_and_gradients(self, ids, targets, mask=None, initial_state=None, sum_over_time=False):
        """Mean cross-entropy over all real steps; fills self.grads.

        ids, targets (B, T) int (targets[:, t] is the token after ids[:, t]); mask (B, T)
        or None. With sum_over_time the gradients are those of the loss summed over the T
        steps of each sequence (min-char-rnn's convention), T times the mean's; the
        returned loss is still the mean per token.
        Returns (loss, final state (B, H), a copy to carry into the next chunk).
        """
        logits, states, work = self._forward(ids, mask, initial_state)
        T, B, V = logits.shape
        H = self.hidden_size
        weights = None if mask is None else mask.T.reshape(-1).astype(self.dtype)
        loss, dlogits = softmax_cross_entropy(logits.reshape(T * B, V), targets.T.reshape(-1), weights)
        if sum_over_time:
            dlogits *= T
        outputs = states[1:].reshape(T * B, H)                                  # h_t, all steps
        np.dot(dlogits.T, outputs, out=self.grads["Why"])                      # sum_t dy_t h_t^T
        np.add.reduce(dlogits, axis=0, out=self.grads["by"])                    # sum_t dy_t
        d_outputs = work.make_backward_buffers().d_outputs                      # (T, B, H)
        np.dot(dlogits, self.params["Why"], out=d_outputs.reshape(T * B, H))   # Why^T dy_t
        self.initial_state_grad = self.recurrent.backward(self.params, work, 0.0, self.grads, d_outputs)
        return loss, states[-1].copy()
