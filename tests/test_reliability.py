"""Runs you can trust: diverging training stops cleanly (exit 3, nothing saved)."""
import warnings

import numpy as np
import pytest

from test_cli import run
from tinyrnn.errors import DivergenceError
from tinyrnn.gradcheck import random_classifier
from tinyrnn.guard import DivergenceGuard
from tinyrnn.train import LabelledSequences, TrainConfig, train


@pytest.mark.parametrize("task_args,where", [
    (("--epochs", "5"), "at epoch 1:"),                                              # walkthrough recipe, float64 SGD
    (("--task", "lm", "--text", "TEXT", "--steps", "200", "--log-every", "20"), "at step 20 (epoch"),
])
def test_a_huge_learning_rate_stops_with_one_line_exit_3_and_nothing_saved(tmp_path, capsys, task_args, where):
    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog\n" * 40)
    out_path = tmp_path / "model.safetensors"
    argv = [arg if arg != "TEXT" else text for arg in task_args]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # a NumPy overflow warning would raise here
        status, out, err = run(capsys, "train", *argv, "--lr", "1e6", "--out", out_path)
    assert status == 3 and err.count("\n") == 1, err
    assert "diverged" in err and where in err and "learning rate 1e+06" in err and "gradient norm" in err
    assert not out_path.exists()


def classifier_and_data(seed=0):
    model = random_classifier(np.random.default_rng(seed), 6, 4, 2)
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(2, 6, size=rng.integers(2, 6)) for _ in range(12)]
    return model, LabelledSequences(sequences, rng.integers(0, 2, size=12))


def test_a_nan_loss_stops_at_its_step_with_the_learning_rate_and_gradient_norm():
    model, data = classifier_and_data()
    model.params["Whh"][0, 0] = np.nan
    with pytest.raises(DivergenceError, match=r"at epoch 1, step 1: the loss became nan "
                                              r"\(learning rate 0.02, last gradient norm nan\)"):
        train(model, data, TrainConfig(epochs=3), np.random.default_rng(0))


def test_weights_that_stop_being_finite_stop_training_even_when_the_loss_does_not_show_it():
    model, data = classifier_and_data()
    unused = model.vocab.index["w5"]                      # a word no example contains
    model.params["Wxh"][:, unused] = np.inf
    with pytest.raises(DivergenceError, match="at epoch 1: the weights are no longer finite"):
        train(model, data, TrainConfig(epochs=3), np.random.default_rng(0))


def test_the_explosion_reference_is_at_least_chance_level():
    """A run that starts from trained weights (first loss near 0) and then has an ordinary
    loss is not taken for divergence; 100 times chance level is."""
    model, _ = classifier_and_data()
    guard = DivergenceGuard(model)
    guard.check_step(0.001, "epoch 1, step 1", 0.1)
    guard.check_mean(0.9, "epoch 1", 0.1)                 # > 100 x 0.001, < 100 x ln 2
    with pytest.raises(DivergenceError, match="epoch 2: the mean loss is 70"):
        guard.check_mean(70.0, "epoch 2", 0.1)
