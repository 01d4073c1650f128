"""Text that is no ordinary text (issue 20, "nothing lost, nothing hangs"): a run of a million
combining marks, codecs that are not text encodings, lone surrogates and undecodable bytes,
control characters in what is printed, odd data files. Each is answered in bounded time,
either with one line and exit 2 or with output whose lines keep their format."""
import os
import subprocess
import sys

import numpy as np
import pytest

from test_cli import run
from tinyrnn.argtypes import text_encoding
from tinyrnn.data import load_dataset
from tinyrnn.data.pairs import read_pairs
from tinyrnn.errors import DataError
from tinyrnn.gradcheck import random_classifier, random_language_model
from tinyrnn.io import save_model
from tinyrnn.vocab import MAX_MARKS, limit_marks, tokenize

MARKS = "a" + "\u0301\u0323" * 499_999        # 999,999 characters: within the data's limit


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_model(random_classifier(np.random.default_rng(0), 3, 4, 2), str(tmp_path / "clf.safetensors"))
    save_model(random_language_model(np.random.default_rng(0), 3, 4), str(tmp_path / "lm.safetensors"))
    (tmp_path / "ok.csv").write_text("text,label\nw0 w1,c0\nw2,c1\n")
    return tmp_path


def one_line_error(status, err, *expected):
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    for part in expected:
        assert part in err, err


# -- 1. combining marks -------------------------------------------------------------------

def test_a_run_of_combining_marks_is_cut_before_normalising():
    assert limit_marks("caf\u00e9 na\u0308ive") == "caf\u00e9 na\u0308ive"      # ordinary text as it is
    cut = limit_marks("x" + "\u0301" * 100 + "y" + "\u0f73" * 40)
    assert cut == "x" + "\u0301" * MAX_MARKS + "y" + "\u0f73" * MAX_MARKS
    assert tokenize("Cafe\u0301 NAI\u0308VE") == ["café", "naïve"]


SCRIPT = """
import json, sys
from tinyrnn.cli import main
from tinyrnn.data.pairs import normalize
marks = "a" + "\\u0301\\u0323" * 499_999
with open("marks.jsonl", "w") as out:
    out.write(json.dumps({"text": marks, "label": "c0"}) + "\\n" + json.dumps({"text": "w1", "label": "c1"}) + "\\n")
runs = [["predict", "--model", "clf.safetensors", marks],
        ["eval", "--model", "clf.safetensors", "--data", "marks.jsonl"],
        ["explain", "--model", "clf.safetensors", marks],
        ["generate", "--model", "lm.safetensors", "--prime", marks, "--length", "2"],
        ["train", "--train", "marks.jsonl", "--epochs", "1", "--out", "new.safetensors"]]
for argv in runs:
    status = main(argv)
    print(argv[0], status, file=sys.stderr)
    assert status == 0, argv[0]
assert len(normalize(marks, "accents")) <= 2 * 30
"""


def test_a_million_combining_marks_are_answered_in_seconds_by_every_command(folder):
    """Unicode normalisation of a run of marks takes time that grows as its square: this line
    took minutes in predict, eval, explain, generate --prime and train."""
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=folder, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]


# -- 2. codecs that are not text encodings -----------------------------------------------

@pytest.mark.parametrize("encoding", ["rot13", "hex", "base64", "punycode", "zlib"])
def test_a_codec_that_is_not_a_text_encoding_is_one_line(folder, capsys, encoding):
    status, _, err = run(capsys, "eval", "--model", "clf.safetensors", "--data", "ok.csv", "--encoding", encoding)
    one_line_error(status, err)
    assert "not a text encoding" in err or f"cannot be read as {encoding}" in err
    (folder / "text.txt").write_text("w0 w1 w2\n")
    status, _, err = run(capsys, "explain", "--model", "lm.safetensors", "--text", "text.txt", "--encoding", encoding)
    one_line_error(status, err)
    with pytest.raises(DataError, match="not a text encoding|cannot be read as"):
        read_pairs(str(folder / "ok.csv"), encoding, source_column="text", target_column="label")


def test_the_option_type_accepts_only_text_encodings():
    assert text_encoding("latin-1") == "latin-1"
    for name in ("rot13", "hex", "base64", "nope"):
        with pytest.raises(Exception, match="not a text encoding|unknown encoding"):
            text_encoding(name)


# -- 3. lone surrogates and undecodable bytes --------------------------------------------

def test_a_lone_surrogate_in_a_data_file_is_refused_with_its_line(folder, capsys):
    (folder / "s.jsonl").write_text('{"text": "w0", "label": "c0"}\n{"text": "w1 \\ud800", "label": "c1"}\n')
    status, _, err = run(capsys, "eval", "--model", "clf.safetensors", "--data", "s.jsonl", "--errors", "1")
    one_line_error(status, err, "s.jsonl:2:", "surrogate U+D800")
    (folder / "l.jsonl").write_text('{"text": "w0", "label": "c\\udfff"}\n')
    with pytest.raises(DataError, match=r"l.jsonl:1: label holds a lone surrogate U\+DFFF"):
        load_dataset(str(folder / "l.jsonl"))
    (folder / "p.jsonl").write_text('{"source": "hi", "target": "\\ud800"}\n')
    with pytest.raises(DataError, match=r"p.jsonl:1: target holds a lone surrogate"):
        read_pairs(str(folder / "p.jsonl"))


@pytest.mark.parametrize("command", [["predict", "--model", "clf.safetensors", "w0"],
                                     ["explain", "--model", "clf.safetensors"]])
def test_an_argument_that_is_not_utf8_is_one_line_under_a_strict_locale(folder, command):
    environment = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONUTF8": "1", "PYTHONIOENCODING": "utf-8:strict"}
    result = subprocess.run([sys.executable, "-m", "tinyrnn", *command, b"w1\xff"], cwd=folder,
                            capture_output=True, timeout=60, env=environment)
    err = result.stderr.decode("utf-8", "replace")
    one_line_error(result.returncode, err, "cannot decode byte 0xff as utf-8")


# -- 4. control characters in what is printed --------------------------------------------

def test_control_characters_are_escaped_in_every_table_and_tsv_line(folder, capsys):
    odd = random_classifier(np.random.default_rng(1), 3, 4, 2)
    odd.classes = ["c\t0", "\x1b[31mc1\n"]                  # as a model file from elsewhere may name them
    save_model(odd, str(folder / "odd.safetensors"))
    status, out, err = run(capsys, "predict", "--model", "odd.safetensors", "w0")
    one_line_error(status, err, "classes metadata holds a name with a control, line-break or invisible character")
    odd.classes = ["c 0", "cé1"]                           # names are checked where they are read
    save_model(odd, str(folder / "odd.safetensors"))
    status, out, _ = run(capsys, "predict", "--model", "odd.safetensors", "w0\tw1\x1b]0;title\x07", "w2\u2028w0")
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == 2 and all(line.count("\t") == 2 for line in lines), out
    assert "\x1b" not in out and "\x07" not in out and "\u2028" not in out
    assert lines[0].endswith("\tw0\\tw1\\x1b]0;title\\x07") and lines[1].endswith("\tw2\\u2028w0")
    status, out, _ = run(capsys, "explain", "--model", "odd.safetensors", "w0 w1\x1b[2J")
    assert status == 0 and "\x1b" not in out and "cé1" in out
    (folder / "e.csv").write_text('text,label\n"w0\x1b[2J\nw1",c0\nw2,c1\nw1,c0\n')
    status, out, _ = run(capsys, "eval", "--model", "clf.safetensors", "--data", "e.csv", "--errors", "3")
    assert status == 0 and "\x1b" not in out
    errors = out.split("Most confident errors")[1].splitlines()[1:]
    assert errors and all(line.count("\t") == 2 for line in errors), out


@pytest.mark.parametrize("label", ['"c\t0"', '"c\n0"', '"c\x1b[31m"'])
def test_a_label_with_a_control_character_is_refused_at_load(folder, label):
    (folder / "bad.csv").write_text(f"text,label\nw0,c1\nw1,{label}\n")
    with pytest.raises(DataError, match=r"bad.csv:3: label .* control character"):
        load_dataset(str(folder / "bad.csv"))


# -- 5. data-file oddities ---------------------------------------------------------------

def test_data_files_that_cannot_mean_what_they_seem(folder, capsys):
    (folder / "dup.csv").write_text("text,label,text\nw0,c0,w1\n")
    status, _, err = run(capsys, "eval", "--model", "clf.safetensors", "--data", "dup.csv")
    one_line_error(status, err, "dup.csv:1: the header names column 'text' twice")
    status, _, err = run(capsys, "eval", "--model", "clf.safetensors", "--data", "ok.csv", "--text-column", "label")
    one_line_error(status, err, "both read from column 'label'")
    status, _, err = run(capsys, "train", "--train", "ok.csv", "--min-count", "1000000000", "--out", "m.safetensors")
    one_line_error(status, err, "no word is seen 1,000,000,000 times")
    assert not (folder / "m.safetensors").exists()
    (folder / "vectors.txt").write_text("w0\nw1\n")
    status, _, err = run(capsys, "train", "--train", "ok.csv", "--embeddings", "vectors.txt", "--epochs", "0",
                         "--out", "m.safetensors")
    one_line_error(status, err, "vectors.txt:1: expected a word and its vector")
    assert not (folder / "m.safetensors").exists()


def test_a_tsv_field_may_start_with_a_quote(folder):
    (folder / "q.tsv").write_text('text\tlabel\n"w0" w1\tc0\nw2 "\tc1\n')
    dataset = load_dataset(str(folder / "q.tsv"))
    assert dataset.texts == ['"w0" w1', 'w2 "'] and dataset.labels == ["c0", "c1"]


# -- 6. integers of more than 4,300 digits ------------------------------------------------

def test_a_json_number_of_5000_digits_is_one_line_with_its_line(folder, capsys):
    (folder / "big.jsonl").write_text('{"text": "w0", "label": "c0"}\n{"text": "w1", "label": ' + "9" * 5000 + "}\n")
    status, _, err = run(capsys, "eval", "--model", "clf.safetensors", "--data", "big.jsonl")
    one_line_error(status, err, "big.jsonl:2: invalid JSON (a number of more than 4,300 digits)")
    (folder / "big_pairs.jsonl").write_text('{"source": "hi", "target": ' + "1" * 5000 + "}\n")
    with pytest.raises(DataError, match="big_pairs.jsonl:1: invalid JSON"):
        read_pairs(str(folder / "big_pairs.jsonl"))


def test_labels_that_print_alike_are_one_class_or_refused(tmp_path):
    from tinyrnn.data.loaders import load_dataset
    from tinyrnn.errors import DataError
    path = tmp_path / "accents.csv"
    path.write_text("text,label\ngood,caf\u00e9\nbad,cafe\u0301\nfine,other\n", encoding="utf-8")
    assert sorted(set(load_dataset([str(path)]).labels)) == ["caf\u00e9", "other"]      # NFC and NFD: one class
    path.write_text("text,label\ngood,pos\nbad,pos\u200b\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"accents.csv:3: .*invisible character \(U\+200B\)"):
        load_dataset([str(path)])
    lines = tmp_path / "numbers.jsonl"
    lines.write_text('{"text": "good", "label": 1.0}\n{"text": "bad", "label": 1}\n{"text": "ok", "label": 0.5}\n')
    assert load_dataset([str(lines)]).labels == ["1", "1", "0.5"]


def test_a_key_given_twice_in_a_jsonl_object_is_refused(tmp_path):
    from tinyrnn.data.loaders import load_dataset
    from tinyrnn.errors import DataError
    path = tmp_path / "twice.jsonl"
    path.write_text('{"text": "good", "label": "pos"}\n{"text": "bad", "label": "pos", "label": "neg"}\n')
    with pytest.raises(DataError, match=r"twice.jsonl:2: the key 'label' is given twice"):
        load_dataset([str(path)])
