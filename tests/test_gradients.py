"""Hand-written BPTT against float64 central differences, for every parameter and h_0."""
import numpy as np
from hypothesis import given, settings, strategies as st

from tinyrnn.gradcheck import check_gradients, random_problem


def test_every_parameter_and_initial_state_match_finite_differences():
    model, ids, mask, targets, h0 = random_problem(np.random.default_rng(1), batch=5, max_length=7)
    assert not mask.all(), "the batch must contain padding"
    results = check_gradients(model, ids, mask, targets, h0)
    assert [r.name for r in results] == ["Wxh", "Whh", "bh", "Why", "by", "h0"]
    for result in results:
        assert result.passed and result.relative_error < 1e-6, result


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), hidden=st.integers(1, 6), classes=st.integers(2, 4),
       batch=st.integers(1, 4), length=st.integers(1, 5))
def test_gradients_on_random_shapes(seed, hidden, classes, batch, length):
    problem = random_problem(np.random.default_rng(seed), 4, hidden, classes, batch, length)
    for result in check_gradients(*problem):
        assert result.passed, f"{result.name}: mine vs finite differences, {result}"


def test_gradcheck_detects_a_wrong_gradient(monkeypatch):
    """The check itself must fail on the walkthrough's BPTT bug (Whh instead of Whh^T)."""
    from tinyrnn.nn.rnn import RNNCell

    def buggy_backward_step(self, Whh):
        def step(s):
            np.multiply(s.local, s.d_hidden, out=s.d_pre)
            np.matmul(s.d_pre, Whh.T, out=s.d_hidden_prev)  # Whh dpre: the bug
        return step
    monkeypatch.setattr(RNNCell, "backward_step", buggy_backward_step)
    model, ids, mask, targets, h0 = random_problem(np.random.default_rng(2))
    failed = {r.name for r in check_gradients(model, ids, mask, targets, h0) if not r.passed}
    assert "Whh" in failed and "Wxh" in failed


def test_language_model_per_step_loss_and_carried_state():
    from tinyrnn.gradcheck import check_loss_gradients
    from tinyrnn.models import LanguageModel

    rng = np.random.default_rng(4)
    model = LanguageModel(["<pad>", "<unk>", "a", "b", "c"], hidden_size=4)
    for array in model.params.values():
        array[...] = rng.normal(0, 0.5, size=array.shape)
    ids, targets = rng.integers(2, 5, size=(3, 6)), rng.integers(2, 5, size=(3, 6))
    mask = np.ones((3, 6), bool)
    mask[2, 4:] = False
    h0 = rng.normal(0, 0.5, size=(3, 4))                 # the state carried from a previous chunk

    def loss(initial_state):
        result = model.loss_and_gradients(ids, mask, targets, initial_state)
        return result.loss, result.initial_state_grad
    results = check_loss_gradients(model, loss, h0)
    assert [r.name for r in results] == ["Wxh", "Whh", "bh", "Why", "by", "h0"]
    for result in results:
        assert result.passed and result.relative_error < 1e-6, result
