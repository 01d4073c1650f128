"""Dataset loaders: formats, the embedded dataset, and one clear file:line error per fault."""
import os

import pytest

from tinyrnn.data import default_dataset, load_dataset
from tinyrnn.errors import DataError
from tinyrnn.vocab import tokenize


def test_embedded_dataset_follows_its_promises():
    train, test = default_dataset()
    assert len(train) >= 60 and len(test) >= 20
    for part in (train, test):
        assert part.labels.count("positive") == part.labels.count("negative")
    assert not set(train.texts) & set(test.texts), "no test sentence in the training set"
    train_words = {w for text in train.texts for w in tokenize(text)}
    assert 18 <= len(train_words) <= 30
    assert {w for text in test.texts for w in tokenize(text)} <= train_words
    assert {"not", "at", "all", "very", "and", "earlier"} <= train_words


def test_csv_tsv_jsonl_and_label_files_agree(write):
    expected = (["i am happy", "not, bad"], ["pos", "neg"])
    paths = [write("a.csv", 'id,text,label\n1,i am happy,pos\n2,"not, bad",neg\n'),
             write("a.tsv", "text\tlabel\ni am happy\tpos\nnot, bad\tneg\n"),
             write("a.jsonl", '{"text": "i am happy", "label": "pos"}\n\n{"label": "neg", "text": "not, bad"}\n')]
    for path in paths:
        data = load_dataset(path)
        assert (data.texts, data.labels) == expected, path
    pos, neg = write("p.txt", "i am happy\n\n"), write("n.txt", "not, bad\r\n")
    data = load_dataset([f"pos={pos}", f"neg={neg}"])
    assert (data.texts, data.labels) == expected
    assert data.sources == [f"{pos}:1", f"{neg}:1"]


def test_other_columns_encoding_and_bom(write):
    path = write("b.csv", "\ufeffsentence,y\ncaf\u00e9 ok,1\n".encode("utf-8"))
    data = load_dataset(path, text_column="sentence", label_column="y")
    assert (data.texts, data.labels) == (["caf\u00e9 ok"], ["1"])
    latin = write("c.csv", "text,label\ncaf\u00e9,x\n".encode("latin-1"))
    assert load_dataset(latin, encoding="latin-1").texts == ["caf\u00e9"]


def test_jsonl_labels_may_be_booleans_or_integers(write):
    data = load_dataset(write("d.jsonl", '{"text": "a", "label": true}\n{"text": "b", "label": 0}\n'))
    assert data.labels == ["true", "0"]


def test_lone_carriage_returns_end_lines(write):
    path = write("e.txt", "one\rtwo\r\nthree")
    assert load_dataset(f"x={path}").texts == ["one", "two", "three"]


FAULTS = [
    ("empty.csv", b"", "file is empty"),
    ("header.csv", b"text,label\n", "no examples"),
    ("few.csv", b"text,label\ngood,pos\nbad\n", ":3: expected 2 fields, found 1"),
    ("many.csv", b"text,label\ngood,pos,extra\n", ":2: expected 2 fields, found 3"),
    ("quote.csv", b'text,label\n"good,pos\nbad,neg\n', "unexpected end of data"),
    ("emptytext.csv", b"text,label\n ,pos\n", ":2: empty text"),
    ("nolabel.csv", b"text,label\ngood,\n", ":2: missing label"),
    ("nocol.csv", b"sentence,label\ngood,pos\n", ":1: no column 'text'"),
    ("latin.csv", "text,label\nok,pos\ncaf\u00e9,neg\n".encode("latin-1"), ":3: cannot decode"),
    ("punct.csv", b"text,label\n   \x00  ,pos\n", ":2: text has no words"),
    ("bad.jsonl", b'{"text": "a", "label": "x"}\n{"text": \n', ":2: invalid JSON"),
    ("array.jsonl", b'["a", "x"]\n', ":1: expected a JSON object, got array"),
    ("key.jsonl", b'{"text": "a"}\n', ":1: missing key 'label'"),
    ("number.jsonl", b'{"text": 3, "label": "x"}\n', ":1: text must be a string, got number"),
    ("null.jsonl", b'{"text": null, "label": "x"}\n', ":1: text must be a string, got null"),
    ("format.txt", b"good\n", "cannot tell the format"),
]


@pytest.mark.parametrize("name,content,message", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_is_one_clear_error(write, name, content, message):
    path = write(name, content)
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert str(error.value).startswith(path), "the message names the file"


def test_huge_line_is_refused(write):
    path = write("huge.csv", b"text,label\n" + b"a " * 600_000 + b",pos\n")
    with pytest.raises(DataError, match=r":2: a field is longer than the limit|:2: text is"):
        load_dataset(path)


@pytest.mark.parametrize("path,message", [("/nonexistent/x.csv", "no such file"),
                                          ("/dev/zero", "not a regular file")])
def test_paths_that_are_not_data_files(path, message):
    with pytest.raises(DataError, match=message):
        load_dataset(path)


def test_a_folder_is_not_a_data_file(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        load_dataset(str(tmp_path))
    with pytest.raises(DataError, match="is a directory"):
        load_dataset(f"pos={tmp_path}")


def test_decode_error_names_the_line_and_suggests_another_encoding(write, capsys):
    from test_cli import run
    path = write("l.txt", "fine\nna\u00efve\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"l\.txt:2: cannot decode byte 0xef as utf-8$") as raised:
        load_dataset(f"pos={path}")
    assert raised.value.remedy == "encoding" and "--" not in str(raised.value)     # the library states facts
    status, _, err = run(capsys, "train", "--train", f"pos={path}", "--out", os.path.join(os.path.dirname(path), "m.safetensors"))
    assert status == 2 and err.endswith("l.txt:2: cannot decode byte 0xef as utf-8; try --encoding latin-1\n")
    assert os.path.exists(path)
