"""Validation for classifiers: the split, keep-best, early stopping, vocabulary limits."""
import importlib
import json

import numpy as np
import pytest

from conftest import small_model
from test_cli import run
from tinyrnn.data.split import stratified_split
from tinyrnn.train import LabelledSequences, TrainConfig, train
from tinyrnn.vocab import Vocab

SEQUENCES = [np.array([2, 3, 4]), np.array([5, 2]), np.array([4]), np.array([6, 6, 3])]
TARGETS = np.array([0, 2, 1, 2])


def test_split_is_stratified_seeded_disjoint_and_complete():
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    train_rows, valid_rows = stratified_split(labels, 0.2, np.random.default_rng(4))
    assert sorted([*train_rows, *valid_rows]) == list(range(100)) and not set(train_rows) & set(valid_rows)
    assert [sum(labels[i] == c for i in valid_rows) for c in "abc"] == [10, 6, 4]
    again, _ = stratified_split(labels, 0.2, np.random.default_rng(4))
    other, _ = stratified_split(labels, 0.2, np.random.default_rng(5))
    assert list(again) == list(train_rows) and list(other) != list(train_rows)
    _, small = stratified_split(["x", "x", "y", "y", "y"], 0.1, np.random.default_rng(0))
    assert len(small) == 2, "every class with two or more examples gives at least one"


def scripted_validation(monkeypatch, accuracies, losses):
    """Make evaluate() report the given validation figures epoch after epoch; returns the
    weights seen at each validation."""
    module = importlib.import_module("tinyrnn.train")
    seen, real = [], module.evaluate

    def fake(model, data):
        if data is not VALID:
            return real(model, data)
        seen.append(model.flat.copy())
        epoch = len(seen) - 1
        return losses[epoch], accuracies[epoch], None
    monkeypatch.setattr(module, "evaluate", fake)
    return seen


VALID = LabelledSequences(list(SEQUENCES), TARGETS)


def test_keep_best_restores_exactly_the_best_epochs_weights(monkeypatch):
    seen = scripted_validation(monkeypatch, [0.5, 0.75, 0.75, 0.5, 0.25], [0.9, 0.8, 0.7, 0.6, 0.5])
    model = small_model()
    config = TrainConfig(epochs=5, lr=0.1, batch_size=2, keep_best=True)
    history = train(model, LabelledSequences(list(SEQUENCES), TARGETS), config, np.random.default_rng(0),
                    valid_data=VALID)
    assert [stats.best for stats in history] == [True, True, True, False, False]   # ties by loss
    np.testing.assert_array_equal(model.flat, seen[2])
    assert not np.array_equal(seen[2], seen[4])


def test_early_stop_stops_after_n_epochs_without_improvement(monkeypatch):
    scripted_validation(monkeypatch, [0.5, 0.6, 0.6, 0.55, 0.6, 0.7, 0.7, 0.7, 0.65, 0.9],
                        [1.0, 0.9, 0.95, 0.9, 0.85, 0.8, 0.8, 0.85, 0.9, 0.1])
    config = TrainConfig(epochs=10, lr=0.1, early_stop=3)
    history = train(small_model(), LabelledSequences(list(SEQUENCES), TARGETS), config,
                    np.random.default_rng(0), valid_data=VALID)
    assert [stats.epoch for stats in history if stats.best] == [1, 2, 5, 6]   # 5: same accuracy, lower loss
    assert history[-1].epoch == 9 and history[-1].stopped_early and history[-1].logged


def test_keep_best_and_early_stop_need_validation_data():
    with pytest.raises(ValueError, match="validation"):
        train(small_model(), VALID, TrainConfig(epochs=1, keep_best=True), np.random.default_rng(0))


def test_min_count_and_max_vocab():
    texts = [["a", "b", "c"], ["a", "b"], ["a", "d"], ["e", "e"]]
    assert Vocab.build(texts).words == ["a", "b", "c", "d", "e"]
    assert Vocab.build(texts, min_count=2).words == ["a", "b", "e"]
    assert Vocab.build(texts, max_size=2).words == ["a", "b"]        # a: 3, then b and e (2): b first
    assert Vocab.build(texts, min_count=2, max_size=5).words == ["a", "b", "e"]


def test_cli_validation_keep_best_and_vocabulary_summary(tmp_path, capsys):
    log, out = tmp_path / "log.jsonl", tmp_path / "m.safetensors"
    status, stdout, _ = run(capsys, "train", "--preset", "fast", "--valid-split", "0.25", "--keep-best",
                            "--early-stop", "4", "--max-vocab", "15", "--log-every", "1", "--json-log", log,
                            "--out", out)
    assert status == 0
    lines = stdout.splitlines()
    assert lines[0].endswith("unique words found") and lines[1].startswith("kept 15 words") and "<unk>" in lines[1]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert all("valid_accuracy" in r for r in records) and records[-1].get("stopped_early")
    assert not any(r.get("target_reached") for r in records), "with validation the test set only reports"
    best = max(r["epoch"] for r in records if r["best"])
    assert f"Kept epoch {best}: best validation accuracy" in stdout and "Valid:" in stdout


@pytest.mark.parametrize("argv,message", [
    (["--keep-best"], "needs validation data"), (["--early-stop", "2"], "needs validation data"),
    (["--valid-split", "0.2", "--valid", "x.csv"], "either --valid or --valid-split"),
    (["--valid-split", "1"], "below 1"), (["--task", "lm", "--valid-split", "0.1"], "applies to --task classify")])
def test_bad_validation_options(tmp_path, capsys, argv, message):
    status, _, err = run(capsys, "train", *argv, "--out", tmp_path / "m.safetensors")
    assert status == 2 and message in err and err.count("\n") == 1
