"""tinyrnn at batch size 1 against a straightforward, independent implementation of the
walkthrough's equations: column vectors, one-hot inputs, per-sample BPTT (with the
correct Whh^T), element-wise clipping to [-1, 1], SGD."""
import numpy as np
import pytest

from tinyrnn.data import default_dataset
from tinyrnn.models import Classifier
from tinyrnn.tasks import encode_examples, train
from tinyrnn.training import TrainConfig
from tinyrnn.vocab import Vocab, tokenize


def reference_step(W, sequence, target, vocab_size, lr=0.02):
    """One walkthrough sample: forward, backward, clip, update (W holds column-form arrays)."""
    Wxh, Whh, Why, bh, by = W["Wxh"], W["Whh"], W["Why"], W["bh"], W["by"]
    xs = []
    hs = {0: np.zeros((Whh.shape[0], 1))}
    for t, word in enumerate(sequence):
        x = np.zeros((vocab_size, 1))
        x[word] = 1
        xs.append(x)
        hs[t + 1] = np.tanh(Wxh @ x + Whh @ hs[t] + bh)
    y = Why @ hs[len(sequence)] + by
    p = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
    loss = -np.log(p[target, 0])
    dy = p.copy()
    dy[target] -= 1
    grads = {"Why": dy @ hs[len(sequence)].T, "by": dy, "Whh": np.zeros_like(Whh),
             "Wxh": np.zeros_like(Wxh), "bh": np.zeros_like(bh)}
    dh = Why.T @ dy
    for t in reversed(range(len(sequence))):
        temp = (1 - hs[t + 1] ** 2) * dh
        grads["bh"] += temp
        grads["Whh"] += temp @ hs[t].T
        grads["Wxh"] += temp @ xs[t].T
        dh = Whh.T @ temp
    for name, grad in grads.items():
        W[name] -= lr * np.clip(grad, -1, 1)
    W["largest_gradient"] = max(W.get("largest_gradient", 0), *(np.abs(g).max() for g in grads.values()))
    return loss, p


@pytest.mark.parametrize("weight_scale", [None, 1.0])   # None: the walkthrough's normal/1000
def test_one_epoch_equals_the_reference_to_1e_10(weight_scale):
    train_set, _ = default_dataset()
    vocab = Vocab.build(tokenize(text) for text in train_set.texts)
    classes = sorted(set(train_set.labels))
    rng = np.random.default_rng(7)
    model = Classifier(vocab, classes, 16).initialize(rng)
    if weight_scale:                                     # large weights: clipping is active
        for array in model.params.values():
            array[...] = rng.normal(0, weight_scale, size=array.shape)
    reference = {name: array.copy() for name, array in model.params.items()}
    reference["bh"] = reference["bh"][:, None]          # column vectors
    reference["by"] = reference["by"][:, None]
    data, _ = encode_examples(model, train_set)

    order = np.random.default_rng(99).permutation(len(data))
    for i in order:
        reference_step(reference, data.sequences[i], data.targets[i], len(vocab))
    history = train(model, data, TrainConfig(epochs=1), np.random.default_rng(99))
    assert history[0].epoch == 1
    if weight_scale:
        assert reference["largest_gradient"] > 1, "this case should exercise clipping"
    for name, array in model.params.items():
        np.testing.assert_allclose(array, reference[name].reshape(array.shape), rtol=0, atol=1e-10,
                                   err_msg=name)


def test_forward_equals_the_reference():
    rng = np.random.default_rng(3)
    vocab = Vocab(["<pad>", "<unk>", "a", "b", "c"])
    model = Classifier(vocab, ["neg", "pos"], 8)
    for array in model.params.values():
        array[...] = rng.normal(size=array.shape)
    W = {name: array.copy() for name, array in model.params.items()}
    W["bh"], W["by"] = W["bh"][:, None], W["by"][:, None]
    sequence = np.array([2, 4, 3, 3])
    _, p_ref = reference_step(dict(W), sequence, 1, len(vocab), lr=0.0)
    probs = model.predict_proba([sequence])
    np.testing.assert_allclose(probs[0], p_ref[:, 0], rtol=0, atol=1e-12)
