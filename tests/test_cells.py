"""The gated cells and the layer stack: equations, masking, gradients, dropout, initialisation."""
import itertools
from dataclasses import replace

import numpy as np
import pytest

from tinyrnn.gradcheck import check_gradients, random_problem
from tinyrnn.models import Classifier, LanguageModel, build_model
from tinyrnn.vocab import pad_batch

CELLS = ["rnn", "lstm", "gru"]
VOCAB = ["<pad>", "<unk>", "a", "b", "c", "d", "e"]


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def reference_step(cell, W_ih, W_hh, b_ih, b_hh, x, h, c):
    """One step for one sequence with column vectors, straight from the equations (PyTorch's)."""
    if cell == "rnn":
        return np.tanh(W_ih @ x + b_ih + W_hh @ h + b_hh), None
    if cell == "lstm":
        i, f, g, o = np.split(W_ih @ x + b_ih + W_hh @ h + b_hh, 4)
        c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        return sigmoid(o) * np.tanh(c_new), c_new
    (xr, xz, xn), (hr, hz, hn) = np.split(W_ih @ x + b_ih, 3), np.split(W_hh @ h + b_hh, 3)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    return (1 - z) * n + z * h, None


def random_model(cell, seed=0, **architecture):
    model = Classifier(VOCAB, ["x", "y", "z"], 4, cell, **architecture)
    rng = np.random.default_rng(seed)
    for array in model.params.values():
        array[...] = rng.normal(0, 0.6, size=array.shape)
    return model


@pytest.mark.parametrize("cell", CELLS)
def test_each_cell_forward_equals_the_per_step_equations(cell):
    model = random_model(cell, embed_size=3, num_layers=2)        # PyTorch names, two biases
    p, H = model.params, 4
    sentence = np.array([2, 5, 3, 3, 6])
    logits, final = model.forward(sentence[None, :], None)
    inputs = [p["embedding.weight"][token] for token in sentence]
    for layer in range(2):
        h, c, outputs = np.zeros(H), np.zeros(H), []
        for x in inputs:
            h, c_new = reference_step(cell, p[f"rnn.weight_ih_l{layer}"], p[f"rnn.weight_hh_l{layer}"],
                                      p[f"rnn.bias_ih_l{layer}"], p[f"rnn.bias_hh_l{layer}"], x, h, c)
            c = c_new if c_new is not None else c
            outputs.append(h)
        np.testing.assert_allclose(final[layer, 0, :H], h, rtol=0, atol=1e-13, err_msg=f"mine vs reference h, layer {layer}")
        if cell == "lstm":
            np.testing.assert_allclose(final[layer, 0, H:], c, rtol=0, atol=1e-13, err_msg="mine vs reference c")
        inputs = outputs
    np.testing.assert_allclose(logits[0], p["fc.weight"] @ h + p["fc.bias"], rtol=0, atol=1e-13)


def test_relu_rnn_and_the_walkthrough_cell_follow_their_equations():
    relu = random_model("rnn", nonlinearity="relu")
    p = relu.params
    h = np.zeros(4)
    for token in [2, 4, 6]:
        h = np.maximum(0, p["rnn.weight_ih_l0"][:, token] + p["rnn.bias_ih_l0"] + p["rnn.weight_hh_l0"] @ h
                       + p["rnn.bias_hh_l0"])
    np.testing.assert_allclose(relu.forward(np.array([[2, 4, 6]]), None)[1][0, 0], h, rtol=0, atol=1e-13)
    walkthrough = random_model("rnn")
    assert list(walkthrough.params) == ["Wxh", "Whh", "bh", "Why", "by"]


STACKS = [dict(cell=cell, num_layers=2, bidirectional=True, embed_size=3) for cell in CELLS] + \
         [dict(cell=cell) for cell in CELLS]


@pytest.mark.parametrize("arch", STACKS, ids=lambda a: "-".join(str(v) for v in a.values()))
def test_masked_batch_equals_each_sequence_alone(arch):
    arch = dict(arch)
    model = random_model(arch.pop("cell"), **arch)
    sequences = [np.array([2, 3, 4, 5, 6]), np.array([6, 2]), np.array([4]), np.array([5, 5, 3])]
    targets = np.array([0, 2, 1, 2])
    ids, mask = pad_batch(sequences)
    ids[~mask] = 4                                       # whatever stands at padding must not matter
    batch = model.loss_and_gradients(ids, mask, targets)
    batch_grads = model.flat_grads.copy()
    summed, finals = np.zeros_like(batch_grads), []
    for row, sequence in enumerate(sequences):
        alone = model.loss_and_gradients(sequence[None, :], None, targets[row:row + 1])
        summed += model.flat_grads
        finals.append(alone.final_state[:, 0])
        logits, _ = model.forward(sequence[None, :], None)
        np.testing.assert_allclose(model.forward(ids, mask)[0][row], logits[0], rtol=0, atol=1e-13)
    np.testing.assert_allclose(batch.final_state, np.stack(finals, axis=1), rtol=0, atol=1e-13,
                               err_msg="the whole state (h and c) is held over padding")
    np.testing.assert_allclose(batch_grads, summed / len(sequences), rtol=1e-10, atol=1e-14,
                               err_msg="the batch gradient is the mean of the rows' gradients")


COMBINATIONS = [(task, cell, layers, bidirectional, embed)
                for task, cell, layers, bidirectional, embed in itertools.product(
                    ["classify", "lm"], CELLS, [1, 2], [False, True], [None, 3])
                if not (task == "lm" and bidirectional)]


@pytest.mark.parametrize("task,cell,layers,bidirectional,embed", COMBINATIONS)
def test_every_parameter_and_the_initial_state_match_finite_differences(task, cell, layers, bidirectional, embed):
    problem = random_problem(np.random.default_rng(7), 4, 3, 3, 3, 4, cell=cell, task=task, num_layers=layers,
                             bidirectional=bidirectional, embed_size=embed)
    model, ids, mask, targets, h0 = problem
    assert not mask.all() and np.abs(h0).min() > 0, "padding and a non-zero (carried) initial state"
    results = check_gradients(*problem)
    assert {r.name for r in results} == {*model.params, "h0"}
    for result in results:
        assert result.passed and result.relative_error < 1e-6, f"mine vs finite differences: {result}"


@pytest.mark.parametrize("cell", CELLS)
def test_gradients_with_dropout_match_finite_differences_for_fixed_masks(cell):
    problem = random_problem(np.random.default_rng(3), 4, 3, 3, 3, 4, cell=cell, num_layers=2, dropout=0.4,
                             embed_size=3, embed_dropout=0.3, weight_drop=0.3, bidirectional=True)
    results = check_gradients(*problem, dropout_seed=11)
    assert {r.name for r in results} == {*problem[0].params, "h0"}
    for result in results:
        assert result.passed and result.relative_error < 1e-6, f"mine vs finite differences: {result}"
    with pytest.raises(ValueError, match="embedding dropout needs"):
        random_model(cell, embed_dropout=0.2)


def test_dropout_only_in_training_drawn_from_the_generator():
    model = random_model("gru", num_layers=2, dropout=0.5)
    ids, mask = pad_batch([np.array([2, 3, 4]), np.array([5, 6])])
    targets = np.array([0, 1])
    plain = model.loss_and_gradients(ids, mask, targets).loss
    assert model.loss_and_gradients(ids, mask, targets).loss == plain, "no rng: no dropout"
    first = model.loss_and_gradients(ids, mask, targets, rng=np.random.default_rng(1)).loss
    again = model.loss_and_gradients(ids, mask, targets, rng=np.random.default_rng(1)).loss
    other = model.loss_and_gradients(ids, mask, targets, rng=np.random.default_rng(2)).loss
    assert first == again and first != plain and other != first
    logits, _ = model.forward(ids, mask)
    assert np.isclose(-np.log(np.exp(logits[[0, 1], targets]) / np.exp(logits).sum(1)).mean(), plain)


@pytest.mark.parametrize("cell", CELLS)
def test_weight_drop_steps_with_the_masked_recurrent_weights(cell):
    """The first step of a weight-dropped layer equals a plain layer whose W_hh is W_hh * keep,
    keep being the mask the stack draws first (training only; one mask for all steps)."""
    from tinyrnn.nn.layers import dropout_mask
    model = random_model(cell, weight_drop=0.5)
    ids, mask = pad_batch([np.array([2, 3, 4, 5]), np.array([5, 6])])
    targets = np.array([0, 1])
    plain = model.loss_and_gradients(ids, mask, targets)
    assert model.loss_and_gradients(ids, mask, targets).loss == plain.loss, "no rng: no weight drop"
    dropped = model.loss_and_gradients(ids, mask, targets, rng=np.random.default_rng(4))
    name = model.stack.layers[0][0].names["weight_hh"]
    keep = dropout_mask(np.random.default_rng(4), model.params[name].shape, 0.5, model.dtype)
    assert set(np.unique(keep)) == {0.0, 2.0}
    twin = random_model(cell)
    twin.flat[...] = model.flat
    twin.params[name] *= keep
    assert twin.loss_and_gradients(ids, mask, targets).loss == dropped.loss != plain.loss
    assert (model.grads[name][keep == 0] == 0).all(), "a dropped weight gets no gradient"


def test_inverted_dropout_keeps_the_expected_activation():
    from tinyrnn.nn.layers import dropout_mask
    keep = dropout_mask(np.random.default_rng(0), (200_000,), 0.3, np.float64)
    assert set(np.unique(keep)) == {0.0, 1 / 0.7}
    assert abs(keep.mean() - 1.0) < 0.01 and abs((keep == 0).mean() - 0.3) < 0.005


@pytest.mark.parametrize("cell,gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_orthogonal_init_per_gate_and_forget_bias(cell, gates):
    H = 5
    model = Classifier(VOCAB, ["x", "y"], H, cell, num_layers=2)
    model.initialize(np.random.default_rng(0), "orthogonal", forget_bias=1.0 if cell == "lstm" else 0.0)
    for layer in range(2):
        W_hh = model.params[f"rnn.weight_hh_l{layer}"]
        for block in np.split(W_hh, gates):
            np.testing.assert_allclose(block @ block.T, np.eye(H), atol=1e-12)
        bias_ih = model.params[f"rnn.bias_ih_l{layer}"]
        expected = np.zeros(gates * H)
        if cell == "lstm":
            expected[H:2 * H] = 1.0                                    # the f block
        np.testing.assert_array_equal(bias_ih, expected)
        assert not model.params[f"rnn.bias_hh_l{layer}"].any()
    with pytest.raises(ValueError, match="lstm"):
        Classifier(VOCAB, ["x", "y"], H, "gru").initialize(np.random.default_rng(0), "xavier", forget_bias=1.0)


@pytest.mark.parametrize("cell", CELLS)
def test_language_model_carries_every_layers_whole_state(cell):
    model = LanguageModel(VOCAB, 4, cell, num_layers=2, embed_size=3)
    model.initialize(np.random.default_rng(2), "xavier")
    rng = np.random.default_rng(0)
    ids, targets = rng.integers(2, 7, size=(2, 12)), rng.integers(2, 7, size=(2, 12))
    whole, whole_state = model.loss_sum(ids, targets)
    first, state = model.loss_sum(ids[:, :5], targets[:, :5])
    assert state.shape == (2, 2, model.stack.state_size)
    second, second_state = model.loss_sum(ids[:, 5:], targets[:, 5:], state)
    assert abs(whole - (first + second)) < 1e-12
    np.testing.assert_allclose(second_state, whole_state, rtol=0, atol=1e-14)


def test_bad_architectures_are_refused_with_clear_messages():
    for arch, message in [({"cell": "tree"}, "unknown cell"), ({"num_layers": 0}, "number of layers"),
                          ({"dropout": 1.0}, "dropout"), ({"embed_size": 0}, "embedding size"),
                          ({"weight_drop": 1.0}, "weight drop"), ({"weight_drop": -0.1}, "weight drop"),
                          ({"cell": "lstm", "nonlinearity": "relu"}, "applies to the rnn cell")]:
        arch = {"cell": "rnn", **arch}
        with pytest.raises(ValueError, match=message):
            Classifier(VOCAB, ["x", "y"], 3, arch.pop("cell"), **arch)
    with pytest.raises(ValueError, match="bidirectional"):
        LanguageModel(VOCAB, 3, "gru", bidirectional=True)


@pytest.mark.parametrize("pool", ["mean", "max"])
@pytest.mark.parametrize("cell", CELLS)
def test_pooled_classifiers_gradients_and_masking(pool, cell):
    problem = random_problem(np.random.default_rng(5), 4, 3, 3, 3, 5, cell=cell, num_layers=2,
                             bidirectional=True, embed_size=3, pool=pool)
    for result in check_gradients(*problem):
        assert result.passed and result.relative_error < 1e-6, f"mine vs finite differences: {result}"
    model = random_model(cell, bidirectional=True, pool=pool)
    sequences = [np.array([2, 3, 4, 5, 6]), np.array([6, 2]), np.array([4])]
    ids, mask = pad_batch(sequences)
    ids[~mask] = 5
    logits, _ = model.forward(ids, mask)
    for row, sequence in enumerate(sequences):
        np.testing.assert_allclose(logits[row], model.forward(sequence[None, :], None)[0][0], rtol=0, atol=1e-13)


def test_mean_and_max_pooling_follow_their_definitions():
    model = random_model("gru", pool="mean")
    sentence = np.array([[2, 5, 3]])
    outputs = model.stack.layer_outputs(model.stack.forward(model.params, sentence, None), -1)[:, 0].copy()
    p = model.params
    np.testing.assert_allclose(model.forward(sentence)[0][0], p["fc.weight"] @ outputs.mean(axis=0) + p["fc.bias"],
                               rtol=0, atol=1e-13)
    max_pooled = build_model(replace(model.config, pool="max"), model.vocab, model.classes)
    max_pooled.flat[...] = model.flat
    np.testing.assert_allclose(max_pooled.forward(sentence)[0][0], p["fc.weight"] @ outputs.max(axis=0) + p["fc.bias"],
                               rtol=0, atol=1e-13)


def test_uniform_init_follows_pytorchs_default_ranges():
    H = 8
    model = Classifier(VOCAB, ["x", "y"], H, "gru", bidirectional=True, embed_size=5)
    model.initialize(np.random.default_rng(0), "uniform")
    for name, array in model.params.items():
        if name == "embedding.weight":
            assert 0.5 < array.std() < 1.5                                  # standard normal
            continue
        limit = 1 / np.sqrt(2 * H) if name.startswith("fc.") else 1 / np.sqrt(H)
        assert np.abs(array).max() <= limit and (array.size < 20 or np.abs(array).max() > 0.8 * limit), name
