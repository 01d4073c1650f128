"""Presets, initialisation schemes, minibatching and bucketing."""
import numpy as np
import pytest

from conftest import small_model
from test_cli import run
from tinyrnn.io import load_model
from tinyrnn.models import Classifier
from tinyrnn.tasks import ClassifyTask, LabelledSequences, train
from tinyrnn.training import TrainConfig
from tinyrnn.vocab import Vocab, pad_batch

LENGTHS = [5, 1, 3, 7, 2, 2, 6, 4, 1, 3, 5, 2]


def dataset(seed=0):
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(2, 8, size=n) for n in LENGTHS]
    return LabelledSequences(sequences, rng.integers(0, 3, size=len(LENGTHS)))


def test_orthogonal_init_gives_an_orthogonal_recurrent_matrix():
    model = Classifier(Vocab(["<pad>", "<unk>", "a"]), ["x", "y"], 16)
    model.initialize(np.random.default_rng(0), "orthogonal")
    Whh = model.params["Whh"]
    np.testing.assert_allclose(Whh @ Whh.T, np.eye(16), atol=1e-12)
    assert not model.params["bh"].any() and np.abs(model.params["Why"]).max() <= np.sqrt(6 / 18)


def test_bucketing_groups_lengths_and_covers_every_example_once():
    rng = np.random.default_rng(5)
    data = LabelledSequences([rng.integers(2, 8, size=n) for n in rng.integers(1, 30, size=60)],
                             np.arange(60))
    config = TrainConfig(batch_size=4)

    def epoch(task):
        task.prepare(config)
        return [task.batch(rows, None) for rows in task.epoch_batches(config, np.random.default_rng(1))]
    batches = epoch(ClassifyTask(data))
    seen = sorted(int(t) for batch in batches for t in batch.targets)
    assert seen == list(range(60)) and sum(batch.count for batch in batches) == 60
    padding = sum(int((~batch.mask).sum()) for batch in batches)
    unbucketed = epoch(ClassifyTask(data, bucket=False))
    assert 3 * padding < sum(int((~batch.mask).sum()) for batch in unbucketed)


def test_full_batch_step_is_the_same_with_or_without_bucketing():
    """Order and padding of a full batch change nothing beyond floating-point reordering."""
    results = []
    for bucket in (True, False):
        model = small_model(words=6)
        config = TrainConfig(epochs=1, batch_size=len(LENGTHS), optimizer="adam", lr=0.01)
        train(model, dataset(), config, np.random.default_rng(0), bucket=bucket)
        results.append(model.flat.copy())
    np.testing.assert_allclose(results[0], results[1], rtol=0, atol=1e-14)


def test_minibatch_gradient_is_the_mean_of_per_example_gradients():
    data, model = dataset(), small_model(words=6)
    rows = [3, 0, 8]                                  # lengths 7, 5, 1: plenty of padding
    ids, mask = pad_batch([data.sequences[i] for i in rows])
    model.loss_and_gradients(ids, mask, data.targets[rows])
    batch = model.flat_grads.copy()
    mean = np.zeros_like(batch)
    for i in rows:
        model.loss_and_gradients(data.sequences[i][None, :], None, data.targets[i:i + 1])
        mean += model.flat_grads / len(rows)
    np.testing.assert_allclose(batch, mean, rtol=1e-12, atol=1e-15)


def test_fast_preset_reaches_full_test_accuracy_quickly(tmp_path, capsys):
    status, out, err = run(capsys, "train", "--preset", "fast", "--out", tmp_path / "m.safetensors")
    assert status == 0, err
    assert "Reached test accuracy 1.000 at epoch" in out
    model = load_model(str(tmp_path / "m.safetensors"))
    assert model.hidden_size == 32


def test_explicit_options_override_the_preset(tmp_path, capsys):
    status, out, _ = run(capsys, "train", "--preset", "fast", "--epochs", "2", "--hidden", "8",
                         "--target-accuracy", "1", "--out", tmp_path / "m.safetensors", "--log-every", "1")
    assert status == 0 and "--- Epoch 2" in out
    assert load_model(str(tmp_path / "m.safetensors")).hidden_size == 8


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "rmsprop", "adam"])
def test_every_optimizer_trains_from_the_cli(tmp_path, capsys, optimizer):
    log = tmp_path / "log.jsonl"
    status, _, err = run(capsys, "train", "--optimizer", optimizer, "--epochs", "30", "--batch-size", "8",
                         "--init", "xavier", "--lr-decay", "0.99", "--out", tmp_path / "m.safetensors",
                         "--json-log", log, "--log-every", "1")
    assert status == 0, err
    import json
    losses = [json.loads(line)["train_loss"] for line in log.read_text().splitlines()]
    assert losses[-1] < losses[0]


def test_momentum_is_for_sgd_only(tmp_path, capsys):
    status, _, err = run(capsys, "train", "--optimizer", "adam", "--momentum", "0.9",
                         "--out", tmp_path / "m.safetensors")
    assert status == 2 and "momentum" in err and err.count("\n") == 1
