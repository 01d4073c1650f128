"""Bad input of any kind: one line on stderr, exit status 2, nothing written or damaged."""
import os

import numpy as np
import pytest

from test_cli import run
from tinyrnn.gradcheck import random_classifier
from tinyrnn.io import save_model

CSV_OK = "text,label\ngood,pos\nbad,neg\n"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.csv").write_text(CSV_OK)
    (tmp_path / "one.csv").write_text("text,label\ngood,pos\nnice,pos\n")
    (tmp_path / "unseen.csv").write_text("text,label\ngood,pos\nbad,meh\n")
    (tmp_path / "broken.csv").write_text("text,label\ngood,pos,x\n")
    (tmp_path / "garbage.safetensors").write_bytes(os.urandom(300))
    save_model(random_classifier(np.random.default_rng(0), 3, 2, 2), str(tmp_path / "existing.safetensors"))
    return tmp_path


BAD_RUNS = {
    "missing data file": (["train", "--train", "nope.csv"], "nope.csv: no such file"),
    "malformed row": (["train", "--train", "broken.csv"], "broken.csv:2: expected 2 fields"),
    "one class only": (["train", "--train", "one.csv"], "only one class"),
    "label only in test": (["train", "--train", "ok.csv", "--test", "unseen.csv"],
                           "unseen.csv:3: label 'meh' is not one of the classes"),
    "learning rate 0": (["train", "--lr", "0"], "argument --lr: must be a positive"),
    "weight average decay 1": (["train", "--ema", "1"], "argument --ema: must be above 0 and below 1"),
    "weight average decay word": (["train", "--task", "lm", "--ema", "most"], "argument --ema: expected a number"),
    "negative learning rate": (["train", "--lr", "-1"], "argument --lr"),
    "NaN learning rate": (["train", "--lr", "nan"], "argument --lr"),
    "negative epochs": (["train", "--epochs", "-1"], "argument --epochs: must be >= 0"),
    "zero hidden": (["train", "--hidden", "0"], "argument --hidden: must be >= 1"),
    "zero batch": (["train", "--batch-size", "0"], "argument --batch-size"),
    "not a number": (["train", "--clip-value", "abc"], "argument --clip-value: expected a number"),
    "unknown optimizer": (["train", "--optimizer", "magic"], "argument --optimizer: invalid choice"),
    "target above 1": (["train", "--target-accuracy", "1.5"], "argument --target-accuracy"),
    "target without test": (["train", "--train", "ok.csv", "--target-accuracy", "1"], "needs a test set"),
    "missing output folder": (["train", "--out", "no/such/m.safetensors"], "does not exist"),
    "output is a folder": (["train", "--out", "."], "is a folder"),
    "missing model": (["predict", "--model", "none.safetensors", "good"], "no such model file"),
    "garbage model": (["predict", "--model", "garbage.safetensors", "good"], "garbage.safetensors"),
    "garbage init-from": (["train", "--init-from", "garbage.safetensors"], "garbage.safetensors"),
    "unknown encoding": (["train", "--train", "ok.csv", "--encoding", "klingon"], "unknown encoding"),
    "no command": ([], "required"),
}


@pytest.mark.parametrize("case", BAD_RUNS)
def test_bad_input_is_one_line_and_exit_2(folder, capsys, case):
    argv, message = BAD_RUNS[case]
    before = sorted(os.listdir(folder))
    precious = (folder / "existing.safetensors").read_bytes()     # a model: --out may replace it
    status, out, err = run(capsys, *argv, *(["--out", "existing.safetensors"]
                                             if argv[:1] == ["train"] and "--out" not in argv else []))
    assert status == 2
    assert err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err
    assert sorted(os.listdir(folder)) == before, "nothing new is written"
    assert (folder / "existing.safetensors").read_bytes() == precious, "nothing is damaged"


def test_eval_with_a_label_the_model_does_not_know(folder, capsys):
    assert run(capsys, "train", "--train", "ok.csv", "--epochs", "1", "--out", "m.safetensors")[0] == 0
    status, _, err = run(capsys, "eval", "--model", "m.safetensors", "--data", "unseen.csv")
    assert status == 2 and "unseen.csv:3: label 'meh'" in err and err.count("\n") == 1
