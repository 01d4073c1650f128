"""The training loop: history and configuration checks (divergence: test_reliability.py)."""
import numpy as np
import pytest

from conftest import small_model
from tinyrnn.train import LabelledSequences, TrainConfig, train

DATA = LabelledSequences([np.array([2, 3]), np.array([4, 5, 6]), np.array([7])], np.array([0, 1, 2]))


def test_history_logs_every_n_epochs_and_the_last():
    history = train(small_model(), DATA, TrainConfig(epochs=7, log_every=3), np.random.default_rng(0))
    assert [s.epoch for s in history if s.logged] == [3, 6, 7]
    assert all(s.test_loss is None for s in history)
    assert 0 <= history[-1].train_accuracy <= 1 and history[-1].train_seconds > 0


def test_training_lowers_the_loss():
    model = small_model(scale=0.1)
    history = train(model, DATA, TrainConfig(epochs=200, lr=0.1), np.random.default_rng(0))
    assert history[-1].train_loss < 0.5 * history[0].train_loss
    assert history[-1].train_accuracy == 1.0


@pytest.mark.parametrize("change,message", [
    ({"epochs": -1}, "epochs"), ({"batch_size": 0}, "batch size"), ({"lr": 0.0}, "learning rate"),
    ({"lr": float("nan")}, "learning rate"), ({"clip_value": -1.0}, "clip value"),
    ({"optimizer": "magic"}, "unknown optimizer"), ({"target_accuracy": 2.0}, "target accuracy")])
def test_bad_configs_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        train(small_model(), DATA, TrainConfig(**change), np.random.default_rng(0))
