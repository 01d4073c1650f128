"""Compare hand-written gradients with float64 central differences.

    dL/dw ~ (L(w + eps) - L(w - eps)) / (2 eps)     for every element w of every tensor

A tensor passes when every element satisfies |analytic - numeric| <= atol + rtol |numeric|
(PyTorch's gradcheck rule and defaults).
"""
from dataclasses import dataclass

import numpy as np

from .models import Classifier, LanguageModel
from .vocab import EOS_ID, PAD_ID, SPECIALS, TARGET_SPECIALS


@dataclass
class TensorCheck:
    name: str
    max_abs_error: float
    relative_error: float        # max |analytic - numeric| / max |numeric|
    passed: bool


def random_classifier(rng, vocab_words=7, hidden=5, classes=3, scale=0.5, dtype="float64", *, cell="rnn",
                      **architecture):
    """A small classifier (words w0, w1, ...; classes c0, c1, ...) whose weights and biases
    are all drawn from N(0, scale^2): large enough to give real gradients everywhere."""
    vocab = [*SPECIALS, *(f"w{i}" for i in range(vocab_words))]
    model = Classifier(vocab, [f"c{i}" for i in range(classes)], hidden, cell, dtype, **architecture)
    return _randomize(model, rng, scale)


def random_language_model(rng, vocab_words=7, hidden=5, scale=0.5, dtype="float64", *, cell="rnn", **architecture):
    """A small language model over tokens w0, w1, ... with N(0, scale^2) weights and biases."""
    vocab = [*SPECIALS, *(f"w{i}" for i in range(vocab_words))]
    return _randomize(LanguageModel(vocab, hidden, cell, dtype, "words", **architecture), rng, scale)


def random_seq2seq(rng, vocab_words=7, hidden=5, target_words=None, scale=0.5, dtype="float64", *, cell="rnn",
                   **architecture):
    """A small Seq2Seq translating words w0, w1, ... into t0, t1, ... (target_words of them;
    None: vocab_words) with N(0, scale^2) weights and biases. architecture: ModelConfig's
    settings (attention, attention_size, num_layers, bidirectional, embed_size, dropout, ...)."""
    from .seq2seq import Seq2Seq                     # seq2seq.py builds on models.py
    source = [*SPECIALS, *(f"w{i}" for i in range(vocab_words))]
    target = [*TARGET_SPECIALS, *(f"t{i}" for i in range(vocab_words if target_words is None else target_words))]
    return _randomize(Seq2Seq(source, target, hidden, cell, dtype, **architecture), rng, scale)


def _randomize(model, rng, scale):
    for array in model.params.values():
        array[...] = rng.normal(0.0, scale, size=array.shape)
    return model


def random_problem(rng, vocab_words=7, hidden=5, classes=3, batch=4, max_length=6, *, cell="rnn",
                   task="classify", scale=None, **architecture):
    """A small float64 model with random weights and biases, and a padded batch.

    Returns (model, ids (B, T), mask (B, T), targets, initial_state (L*D, B, S)); targets
    are (B,) classes, or (B, T) next tokens for task "lm". Row 0 has max_length tokens and
    the others 1 to max_length - 1, so padding is exercised. Task "seq2seq" (classes: the
    number of target words) gives (model, ids, mask, targets (B, T'), None): each target
    row 1 to max_length tokens, <eos>, then <pad>, the last row the longest, and no initial
    state (the decoder starts from the encoder). Weights and biases are drawn from
    N(0, scale^2); scale None: 0.5, and 1 for seq2seq, whose attention scores would otherwise
    get gradients too small (about 1e-5 for an LSTM's) for the check to tell right from wrong."""
    if task in ("regress", "forecast") or architecture.get("features"):
        return _numeric_problem(rng, hidden, classes, batch, max_length, 0.5 if scale is None else scale,
                                task=task, cell=cell, **architecture)
    if task == "seq2seq":
        scale = 1.0 if scale is None else scale
        return _seq2seq_problem(rng, vocab_words, hidden, classes, batch, max_length, scale, cell=cell,
                                **architecture)
    scale = 0.5 if scale is None else scale
    if task == "lm":
        model = random_language_model(rng, vocab_words, hidden, scale, cell=cell, **architecture)
    else:
        model = random_classifier(rng, vocab_words, hidden, classes, scale, cell=cell, **architecture)
    shorter = rng.integers(1, max(max_length, 2), size=batch - 1)           # padded when max_length > 1
    lengths = np.concatenate([[max_length], np.minimum(shorter, max_length)])
    ids = rng.integers(len(SPECIALS), len(model.vocab), size=(batch, max_length))
    mask = np.arange(max_length)[None, :] < lengths[:, None]
    ids[~mask] = 0
    if task == "lm":
        targets = rng.integers(len(SPECIALS), len(model.vocab), size=(batch, max_length))
    else:
        targets = rng.integers(0, classes, size=batch)
    stack = model.stack
    initial_state = rng.normal(0.0, 0.5, size=(stack.num_states, batch, stack.state_size))
    return model, ids, mask, targets, initial_state


def _numeric_problem(rng, hidden, outputs, batch, max_length, scale, *, task, features=None, **architecture):
    """A model reading numbers (features F, default 3) with non-trivial standardisation, and a
    batch of them: (model, values (B, T, F), mask, targets, initial state). Task "forecast":
    windows of max_length steps -> 2 steps ahead of F series, scaling as architecture says,
    no padding and no initial state; "regress": `outputs` real targets; "classify": classes."""
    from .model_config import ModelConfig
    from .models import build_model
    F = features or 3
    settings = {"features": F, "cell": architecture.pop("cell", "rnn"), **architecture}
    if task == "forecast":
        settings.update(horizon=2, window=max_length)
    names = [f"x{i}" for i in range(F)] if task == "forecast" else \
        [f"c{i}" for i in range(outputs)] if task == "classify" else [f"y{i}" for i in range(outputs)]
    model = _randomize(build_model(ModelConfig(task, hidden, **settings), None, names), rng, scale)
    model.buffers["input_mean"][...] = rng.normal(0.0, 2.0, size=F)
    model.buffers["input_std"][...] = rng.uniform(0.5, 3.0, size=F)
    values = rng.normal(0.0, 2.0, size=(batch, max_length, F)) * model.buffers["input_std"] + model.buffers["input_mean"]
    if task == "forecast":
        return model, values, None, rng.normal(size=(batch, len(model.classes))) * 2.0 + 1.0, None
    _, mask = _padded_rows(rng, batch, max_length, 0, 1, longest=0)
    values[~mask] = 0.0
    if task == "regress":
        model.buffers["target_mean"][...] = rng.normal(size=outputs)
        model.buffers["target_std"][...] = rng.uniform(0.5, 2.0, size=outputs)
        targets = rng.normal(size=(batch, outputs)) * 1.5
    else:
        targets = rng.integers(0, outputs, size=batch)
    stack = model.stack
    return model, values, mask, targets, rng.normal(0.0, 0.5, size=(stack.num_states, batch, stack.state_size))


def _seq2seq_problem(rng, vocab_words, hidden, target_words, batch, max_length, scale, **architecture):
    model = random_seq2seq(rng, vocab_words, hidden, target_words, scale, **architecture)
    ids, mask = _padded_rows(rng, batch, max_length, len(SPECIALS), len(model.vocab), longest=0)
    tokens, target_mask = _padded_rows(rng, batch, max_length, len(TARGET_SPECIALS), len(model.target_vocab),
                                       longest=batch - 1)
    lengths = target_mask.sum(axis=1)
    targets = np.full((batch, max_length + 1), PAD_ID)                 # tokens, <eos>, <pad> ...
    targets[:, :max_length] = tokens
    targets[np.arange(batch), lengths] = EOS_ID
    return model, ids, mask, targets, None


def _padded_rows(rng, batch, max_length, low, high, longest):
    """ids (B, T) drawn from [low, high) and their mask: row `longest` has max_length tokens,
    the others 1 to max_length - 1 (padded with 0)."""
    lengths = np.minimum(rng.integers(1, max(max_length, 2), size=batch), max_length)
    lengths[longest] = max_length
    ids = rng.integers(low, high, size=(batch, max_length))
    mask = np.arange(max_length)[None, :] < lengths[:, None]
    ids[~mask] = PAD_ID
    return ids, mask


def check_gradients(model, ids, mask, targets, initial_state=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                    dropout_seed=None):
    """TensorCheck for every parameter of a model, then for s_0 when given (named "h0"; for
    an LSTM it holds [h_0 | c_0]). With
    dropout_seed, every evaluation draws the same dropout masks from that seed."""
    def loss(h0):
        rng = None if dropout_seed is None else np.random.default_rng(dropout_seed)
        result = model.loss_and_gradients(ids, mask, targets, h0, rng)
        return result.loss, result.initial_state_grad
    return check_loss_gradients(model, loss, initial_state, eps, atol, rtol)


def check_loss_gradients(model, loss, initial_state=None, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Compare model.grads (and the gradient of the initial state) with central differences.

    loss(initial_state) must run forward and backward and return (loss, dL/d initial_state).
    """
    if initial_state is not None:
        initial_state = np.array(initial_state, dtype=np.float64)
    _, initial_grad = loss(initial_state)
    analytic = {name: grad.copy() for name, grad in model.grads.items()}
    perturbed = dict(model.params)
    if initial_state is not None:
        analytic["h0"] = np.array(initial_grad).reshape(initial_state.shape)
        perturbed["h0"] = initial_state
    results = []
    for name, array in perturbed.items():
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + eps
            plus = loss(initial_state)[0]
            array[index] = saved - eps
            minus = loss(initial_state)[0]
            array[index] = saved
            numeric[index] = (plus - minus) / (2 * eps)
        error = np.abs(analytic[name] - numeric)
        scale = max(float(np.abs(numeric).max()), 1e-12)
        results.append(TensorCheck(name, float(error.max()), float(error.max()) / scale,
                                   bool((error <= atol + rtol * np.abs(numeric)).all())))
    return results
