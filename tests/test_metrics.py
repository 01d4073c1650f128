"""Per-class precision, recall and F1, and the most confident errors, against hand counts."""
import json

import numpy as np

from test_cli import run
from tinyrnn.metrics import class_scores, confusion_matrix, most_confident_errors


def test_scores_against_a_hand_computed_confusion_matrix():
    targets = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    predicted = np.array([0, 0, 1, 2, 1, 1, 0, 2, 2, 2])
    confusion = confusion_matrix(targets, predicted, 4)
    assert confusion.tolist() == [[2, 1, 1, 0], [1, 2, 0, 0], [0, 0, 3, 0], [0, 0, 0, 0]]
    scores = class_scores(confusion)
    # class 0: 2 right of 3 predicted, of 4 true; class 1: 2/3, 2/3; class 2: 3/4, 3/3; class 3: none
    np.testing.assert_allclose(scores.precision, [2 / 3, 2 / 3, 3 / 4, 0])
    np.testing.assert_allclose(scores.recall, [2 / 4, 2 / 3, 1, 0])
    np.testing.assert_allclose(scores.f1, [4 / 7, 2 / 3, 6 / 7, 0])
    assert scores.support.tolist() == [4, 3, 3, 0]


def test_most_confident_errors_come_first():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.05, 0.95], [0.7, 0.3]])
    targets = np.array([0, 0, 0, 0, 1])                    # rows 1, 2, 3, 4 are wrong
    assert most_confident_errors(probs, targets, 3).tolist() == [3, 1, 4]
    assert most_confident_errors(probs, targets, 10).tolist() == [3, 1, 4, 2]


def test_eval_reports_scores_and_errors(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    assert run(capsys, "train", "--epochs", "30", "--out", model)[0] == 0
    status, out, _ = run(capsys, "eval", "--model", model, "--json", "--errors", "2")
    report = json.loads(out)
    confusion = np.array(report["confusion"])
    assert status == 0 and report["support"] == confusion.sum(axis=1).tolist()
    np.testing.assert_allclose(report["recall"], np.diag(confusion) / confusion.sum(axis=1))
    wrong = int(confusion.sum() - np.trace(confusion))
    assert len(report["errors"]) == min(2, wrong)
    for error in report["errors"]:
        assert error["label"] != error["predicted"] and ":" in error["source"] and error["probability"] >= 0.5
    status, out, _ = run(capsys, "eval", "--model", model, "--errors", "2")
    assert "precision" in out and "recall" in out and "Most confident errors" in out
