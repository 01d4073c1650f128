"""Each cell's fast step, looped by the real layer (nn/recurrent.py), equals the cell's
reference_step: its equations as plain NumPy (nn/rnn.py, lstm.py, gru.py), in float64, over
several steps of a padded batch, for every input path of the layer."""
import numpy as np
import pytest

from tinyrnn.nn import gru, lstm, make_cell, rnn
from tinyrnn.nn.recurrent import RecurrentLayer

T, B, H = 6, 4, 3
LENGTHS = [6, 4, 1, 5]                       # rows 1-3 end in padding
NAMES = {role: role for role in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
INPUTS = {"vectors": 5, "onehot-table": 7, "onehot-rows": 40}    # input width; rows: V > T*B


def problem(kind, nonlinearity, inputs, seed=0):
    """A layer, its parameters, inputs (T, B) ids or (T, B, in), the mask and s_0."""
    width = INPUTS[inputs]
    layer = RecurrentLayer(make_cell(kind, H, nonlinearity), width, inputs != "vectors", NAMES, "float64")
    rng = np.random.default_rng(seed)
    params = {name: rng.normal(0, 0.7, size=shape) for name, shape in layer.param_shapes().items()}
    xs = rng.integers(0, width, size=(T, B)) if inputs != "vectors" else rng.normal(size=(T, B, width))
    mask = np.arange(T)[:, None] < np.array(LENGTHS)[None, :]                    # (T, B)
    state0 = rng.normal(0, 0.5, size=(B, layer.cell.state_factor * H))
    return layer, params, xs, mask, state0


def reference_states(kind, nonlinearity, params, xs, mask, state0, width):
    """s_0 .. s_T by the cell's reference_step, one step at a time; padding keeps the state."""
    states, state = [state0], state0
    for x, real in zip(xs, mask):
        x = np.eye(width)[x] if x.ndim == 1 else x                                # one-hot rows (B, V)
        if kind == "rnn":
            new = rnn.reference_step(x, state, **params, nonlinearity=nonlinearity)
        elif kind == "gru":
            new = gru.reference_step(x, state, **params)
        else:
            new = np.concatenate(lstm.reference_step(x, state[:, :H], state[:, H:], **params), axis=1)
        state = np.where(real[:, None], new, state)
        states.append(state)
    return np.array(states)


def fast_states(layer, params, xs, mask, state0):
    return layer.forward(params, xs, mask, state0).states.copy()


@pytest.mark.parametrize("inputs", INPUTS)
@pytest.mark.parametrize("kind, nonlinearity", CELLS)
def test_fast_step_equals_reference_step(kind, nonlinearity, inputs):
    layer, params, xs, mask, state0 = problem(kind, nonlinearity, inputs)
    mine = fast_states(layer, params, xs, mask, state0)
    reference = reference_states(kind, nonlinearity, params, xs, mask, state0, INPUTS[inputs])
    assert not mask.all() and np.abs(np.diff(mine, axis=0)).max() > 0.1, "the problem must move the state"
    np.testing.assert_allclose(mine, reference, rtol=0, atol=1e-12, err_msg=f"{kind} fast step vs reference_step")


def rolled_gates(params, gates):
    """The same parameters with their gate blocks in the wrong order (rolled by one)."""
    return {name: np.roll(array, array.shape[0] // gates, axis=0) for name, array in params.items()}


@pytest.mark.parametrize("kind, nonlinearity", CELLS)
def test_a_wrong_reference_is_told_apart(kind, nonlinearity, monkeypatch):
    """The comparison above fails for a reference with the wrong gate order or nonlinearity."""
    layer, params, xs, mask, state0 = problem(kind, nonlinearity, "vectors")
    mine = fast_states(layer, params, xs, mask, state0)
    gates = len(layer.cell.GATES)
    if kind == "rnn":
        wrong = [reference_states(kind, "relu" if nonlinearity == "tanh" else "tanh", params, xs, mask, state0, 5)]
    else:
        wrong = [reference_states(kind, nonlinearity, rolled_gates(params, gates), xs, mask, state0, 5)]
        module = lstm if kind == "lstm" else gru
        monkeypatch.setattr(module, "sigmoid", lambda a: 0.5 * np.tanh(a / 2))       # the trick without + 0.5
        wrong.append(reference_states(kind, nonlinearity, params, xs, mask, state0, 5))
    for reference in wrong:
        assert np.abs(mine - reference).max() > 1e-3


def test_each_cell_declares_its_gate_order_once():
    assert make_cell("lstm", 2).GATES == lstm.GATES == ("i", "f", "g", "o")
    assert make_cell("gru", 2).GATES == gru.GATES == ("r", "z", "n")
    assert len(make_cell("rnn", 2).GATES) == 1
