"""The fault lists of docs/reliability.md through the command line: each one gives one line
on stderr naming the problem (file:line where there is one), exit status 2, no traceback,
and nothing new written or damaged."""
import json
import os
import pickle
import struct

import numpy as np
import pytest

from test_cli import run
from tinyrnn.gradcheck import random_classifier
from tinyrnn.io import save_model

GOOD = "text,label\ngood film,pos\nbad film,neg\n"

DATASETS = {                                     # file content -> message
    "empty file": (b"", "data.csv: file is empty"),
    "header only": (b"text,label\n", "data.csv: no examples after the header"),
    "too few columns": (b"text,label\ngood\nbad,neg\n", "data.csv:2: expected 2 fields, found 1"),
    "too many columns": (b"text,label\ngood,pos,x\n", "data.csv:2: expected 2 fields, found 3"),
    "unterminated quote": (b'text,label\n"good,pos\nbad,neg\n', "data.csv:2: unexpected end of data"),
    "over-long line": (b"text,label\n" + b"a " * 500_001 + b",pos\n", "data.csv:2: a field is longer than the limit of 1,000,000"),
    "empty text": (b"text,label\n,pos\nbad,neg\n", "data.csv:2: empty text"),
    "missing label": (b"text,label\ngood,\nbad,neg\n", "data.csv:2: missing label"),
    "one class only": (b"text,label\ngood,pos\nfine,pos\n", "only one class"),
    "latin-1 read as utf-8": ("text,label\ncaf\u00e9,pos\nbad,neg\n".encode("latin-1"),
                              "data.csv:2: cannot decode byte 0xe9 as utf-8; try --encoding latin-1"),
    "no words (NUL only)": (b"text,label\n\x00,pos\nbad,neg\n", "data.csv:2: text has no words"),
    "lone carriage return": (b"text,label\ngood\rfilm,pos\n", "data.csv:2: expected 2 fields, found 1"),
    "missing column": (b"words,label\ngood,pos\n", "data.csv:1: no column 'text'"),
}
JSONL = {
    "invalid JSON": (b'{"text": \n', "data.jsonl:1: invalid JSON"),
    "an array": (b"[1, 2]\n", "data.jsonl:1: expected a JSON object, got array"),
    "a missing key": (b'{"text": "good"}\n', "data.jsonl:1: missing key 'label'"),
    "text a number": (b'{"text": 5, "label": "pos"}\n', "data.jsonl:1: text must be a string, got number"),
    "text null": (b'{"text": null, "label": "pos"}\n', "data.jsonl:1: text must be a string, got null"),
}


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_model(random_classifier(np.random.default_rng(0), 3, 2, 2), "model.safetensors")
    return tmp_path


def fails_cleanly(folder, capsys, argv, message):
    before = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
    status, out, err = run(capsys, *argv)
    assert status == 2 and err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err
    assert {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()} == before


@pytest.mark.parametrize("case", [*DATASETS, *JSONL])
def test_dataset_faults(folder, capsys, case):
    name, (content, message) = ("data.jsonl", JSONL[case]) if case in JSONL else ("data.csv", DATASETS[case])
    (folder / name).write_bytes(content)
    fails_cleanly(folder, capsys, ["train", "--train", name, "--epochs", "1", "--out", "model.safetensors"], message)


@pytest.mark.parametrize("path,message", [("sub", "sub: is a directory"), ("/dev/zero", "not a regular file"),
                                          ("none.csv", "none.csv: no such file")])
def test_data_paths_that_are_no_data_files(folder, capsys, path, message):
    (folder / "sub").mkdir()
    fails_cleanly(folder, capsys, ["train", "--train", path, "--epochs", "1"], message)


def test_a_byte_order_mark_emoji_and_combining_marks_are_read_as_text(folder, capsys):
    (folder / "data.csv").write_text("\ufefftext,label\ngood \U0001F600 film,pos\nbad cafe\u0301,neg\n")
    status, out, err = run(capsys, "train", "--train", "data.csv", "--epochs", "1", "--out", "m.safetensors")
    assert status == 0 and "5 unique words found" in out, err


def header_and_data(path):
    raw = open(path, "rb").read()
    length = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + length]), raw[8 + length:]


def rebuilt(header, data):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def model_fault(case):
    """The bytes of model.safetensors damaged as the case says."""
    header, data = header_and_data("model.safetensors")
    metadata, names = header["__metadata__"], sorted(name for name in header if name != "__metadata__")
    del metadata["checksum"]                           # so that the check under test is reached
    good = rebuilt(header, data)
    if case == "0 bytes":
        return b""
    if case == "random bytes":
        return np.random.default_rng(0).bytes(500)
    if case == "header length 2^64-1":
        return struct.pack("<Q", 2 ** 64 - 1) + good[8:]
    if case == "header longer than the file":
        return struct.pack("<Q", len(good)) + good[8:]
    if case == "header not JSON":
        return struct.pack("<Q", 6) + b"{nope}" + data
    if case == "trailing bytes":
        return good + b"\0" * 8
    if case == "future format version":
        metadata["format"] = "tinyrnn/99"
    elif case == "overlapping offsets":
        header[names[1]]["data_offsets"] = [offset - 8 for offset in header[names[1]]["data_offsets"]]
    elif case == "shape whose size overflows":
        header[names[0]]["shape"] = [2 ** 40, 2 ** 40]
    elif case == "wrong dtype":
        header[names[0]]["dtype"] = "I64"
    elif case in ("non-square Whh", "shapes that disagree with the vocabulary", "missing tensor",
                  "extra tensor", "NaN in weights"):
        tensors = {name: np.frombuffer(data[info["data_offsets"][0]:info["data_offsets"][1]], "<f8")
                   .reshape(info["shape"]).copy() for name, info in header.items() if name != "__metadata__"}
        if case == "non-square Whh":
            tensors["Whh"] = tensors["Whh"][:, :1].copy()
        elif case == "shapes that disagree with the vocabulary":
            tensors["Wxh"] = np.zeros((tensors["Wxh"].shape[0], tensors["Wxh"].shape[1] + 1))
        elif case == "missing tensor":
            del tensors["by"]
        elif case == "extra tensor":
            tensors["extra"] = np.zeros(2)
        else:
            tensors["bh"][0] = np.nan
        import safetensors.numpy
        return safetensors.numpy.save(tensors, metadata=metadata)
    return rebuilt(header, data)


class Canary:
    def __reduce__(self):
        return (os.system, ("touch canary-was-run",))


MODEL_FAULTS = {
    "0 bytes": "too short", "random bytes": "not a safetensors file", "header length 2^64-1": "header length",
    "header longer than the file": "header length", "header not JSON": "header is not JSON",
    "trailing bytes": "truncated or trailing bytes", "future format version": "'tinyrnn/99' is not supported",
    "overlapping offsets": "overlaps", "shape whose size overflows": "does not match its",
    "wrong dtype": "float32 or float64", "non-square Whh": "Whh has shape [2, 1], expected [2, 2]",
    "shapes that disagree with the vocabulary": "Wxh has shape", "missing tensor": "missing: by",
    "extra tensor": "unexpected: extra", "NaN in weights": "bh has NaN or infinite values",
}


@pytest.mark.parametrize("case", MODEL_FAULTS)
def test_model_file_faults(folder, capsys, case):
    (folder / "bad.safetensors").write_bytes(model_fault(case))
    fails_cleanly(folder, capsys, ["predict", "--model", "bad.safetensors", "good"], MODEL_FAULTS[case])


@pytest.mark.parametrize("command", [["predict", "--model", "evil.safetensors", "good"],
                                     ["eval", "--model", "evil.safetensors"],
                                     ["generate", "--model", "evil.safetensors"],
                                     ["train", "--init-from", "evil.safetensors", "--epochs", "1"]])
def test_a_pickle_renamed_to_safetensors_never_runs(folder, capsys, command):
    (folder / "evil.safetensors").write_bytes(pickle.dumps(Canary()))
    fails_cleanly(folder, capsys, command, "evil.safetensors")
    assert not (folder / "canary-was-run").exists()


@pytest.mark.parametrize("argv,message", [
    (["--epochs", "-1"], "argument --epochs: must be >= 0"), (["--hidden", "0"], "argument --hidden: must be >= 1"),
    (["--hidden", "-3"], "argument --hidden: must be >= 1"), (["--batch-size", "0"], "argument --batch-size"),
    (["--batch-size", "-2"], "argument --batch-size"), (["--lr", "0"], "argument --lr"),
    (["--lr", "-1"], "argument --lr"), (["--lr", "nan"], "argument --lr"),
    (["--task", "lm", "--steps", "0"], "argument --steps"), (["--task", "lm", "--steps", "-1"], "argument --steps"),
    (["--out", "missing/m.safetensors"], "does not exist"),
])
def test_run_settings_that_cannot_work(folder, capsys, argv, message):
    fails_cleanly(folder, capsys, ["train", *argv], message)


def test_the_source_has_no_way_to_run_code_from_a_file():
    """Promise 1: no pickle, no allow_pickle, no eval/exec anywhere in the package."""
    package = os.path.join(os.path.dirname(__file__), "..", "src", "tinyrnn")
    for root, _, names in os.walk(package):
        for name in names:
            if name.endswith(".py"):
                source = open(os.path.join(root, name)).read()
                for word in ("import pickle", "allow_pickle=True", "eval(", "exec(", "torch.load"):
                    assert word not in source.replace("model.eval(", ""), f"{name}: {word}"


def test_skipping_bad_rows_is_opt_in_and_counted(folder, capsys):
    (folder / "data.csv").write_bytes(b"text,label\ngood film,pos\n,pos\nbad film,neg\nfine,pos,extra\nawful,neg\n")
    (folder / "data.jsonl").write_bytes(b'{"text": "nice", "label": "pos"}\n[1]\n{"text": "poor", "label": "neg"}\n')
    fails_cleanly(folder, capsys, ["train", "--train", "data.csv", "--epochs", "1"], "data.csv:3: empty text")
    for name, skipped, first in (("data.csv", 2, "data.csv:3: empty text"),
                                 ("data.jsonl", 1, "data.jsonl:2: expected a JSON object")):
        status, out, err = run(capsys, "train", "--train", name, "--epochs", "1", "--skip-bad-rows",
                               "--out", "m.safetensors")
        assert status == 0 and f"warning: skipped {skipped} bad row(s) (--skip-bad-rows); the first: {first}" in err


def test_data_with_only_bad_rows_says_so_and_a_checkpoint_is_no_model(folder, capsys):
    (folder / "data.csv").write_bytes(b"text,label\n,pos\nbad\n")
    fails_cleanly(folder, capsys, ["train", "--train", "data.csv", "--skip-bad-rows", "--epochs", "1"],
                  "data.csv: no examples after the header (2 bad row(s) skipped; the first: data.csv:2: empty text)")
    assert run(capsys, "train", "--epochs", "1", "--checkpoint-dir", "ck", "--out", "m2.safetensors")[0] == 0
    fails_cleanly(folder, capsys, ["predict", "--model", "ck/checkpoint-00000001.safetensors", "good"],
                  "a training checkpoint, not a model; continue its run with train --checkpoint-dir and --resume")
