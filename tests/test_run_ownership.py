"""A forward pass's activations live in a workspace that the next pass of the same shape
reuses: reading or backpropagating a run after that raises instead of using another run's
numbers; a replica's passes leave the original's runs intact."""
import numpy as np
import pytest

from tinyrnn.gradcheck import random_classifier
from tinyrnn.nn import make_cell
from tinyrnn.nn.recurrent import RecurrentLayer, StaleRunError

NAMES = {role: role for role in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}


def lstm_layer(seed=0):
    layer = RecurrentLayer(make_cell("lstm", 3), 4, False, NAMES, "float64")
    rng = np.random.default_rng(seed)
    params = {name: rng.normal(0, 0.5, size=shape) for name, shape in layer.param_shapes().items()}
    grads = {name: np.empty_like(array) for name, array in params.items()}
    return layer, params, grads, rng


def test_backward_of_a_run_overwritten_by_a_later_forward_raises():
    layer, params, grads, rng = lstm_layer()
    first = layer.forward(params, rng.normal(size=(5, 2, 4)), None, 0.0)
    second = layer.forward(params, rng.normal(size=(5, 2, 4)), None, 0.0)       # same (T, B)
    assert first.work is second.work
    with pytest.raises(StaleRunError, match="overwritten by a later forward"):
        layer.backward(params, first, grads, np.ones((2, 3)))
    with pytest.raises(StaleRunError):
        first.states
    layer.backward(params, second, grads, np.ones((2, 3)))                     # the latest run is fine
    other_shape = layer.forward(params, rng.normal(size=(4, 2, 4)), None, 0.0)
    assert second.states is second.work.states and other_shape.work is not second.work


def classifier():
    """A bidirectional GRU classifier over 4 words (ids 2 .. 5), hidden 3: D*H = 6 features."""
    return random_classifier(np.random.default_rng(0), 4, 3, 2, 0.6, cell="gru", bidirectional=True)


def test_stack_backward_and_input_relevance_refuse_a_stale_run():
    model = classifier()
    ids = np.array([[2, 3, 4, 5], [5, 4, 3, 2]])
    first = model.stack.forward(model.params, ids, None)
    with pytest.raises(StaleRunError, match="no backward"):
        model.stack.input_relevance(model.params, first)
    model.stack.forward(model.params, ids[::-1], None)
    d_final = np.ones((2, 6))
    with pytest.raises(StaleRunError):
        model.stack.backward(model.params, model.grads, first, None, d_final)


def test_a_replica_runs_in_workspaces_of_its_own():
    """The server's pattern (a replica per request): a replica's passes of the same shape
    leave a pending run of the original intact; the original's own next pass does not."""
    model = classifier()
    ids, targets = np.array([[2, 3, 4, 5], [5, 4, 3, 2]]), np.array([0, 1])
    d_final = np.random.default_rng(1).normal(size=(2, 6))
    model.stack.backward(model.params, model.grads, model.stack.forward(model.params, ids, None), None, d_final)
    expected = model.flat_grads.copy()
    run = model.stack.forward(model.params, ids, None)
    twin = model.replica()
    twin.loss_and_gradients(ids[::-1], None, targets)                         # same shape, other words
    model.stack.backward(model.params, model.grads, run, None, d_final)
    np.testing.assert_array_equal(model.flat_grads, expected)
    model.forward(ids[::-1], None)
    with pytest.raises(StaleRunError):
        model.stack.backward(model.params, model.grads, run, None, d_final)
