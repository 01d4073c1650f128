"""Issue 20, nothing lost and nothing hangs: only files tinyrnn marked as its own are replaced
(a JSON log by its line ending, a model of the run's task); files are read only when regular
and of the size their header declares; JSON numbers too long for Python are one line; a
checkpoint's run record that could not have been written is refused; numbers past 8 digits."""
import json
import os
import signal
import struct
import subprocess
import sys

import numpy as np
import pytest
from conftest import small_model
from test_cli import run

from tinyrnn import files
from tinyrnn.checkpoint import CheckpointFolder
from tinyrnn.commands.plot import read_log
from tinyrnn.errors import ModelFileError, TinyRNNError
from tinyrnn.io import load_model, read_tinyrnn_file, save_model, serialize
from tinyrnn.models import LanguageModel

HUGE = "9" * 5000                                   # over Python's 4,300 digits for int("...")
TRAIN = ["train", "--epochs", "1", "--hidden", "4"]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_line(status, err, message):
    assert status == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err, err


def test_a_users_json_lines_file_is_not_taken_for_a_log_but_tinyrnns_own_log_is(folder, capsys):
    mine = '{"text":"x","label":"pos","step":3}\n'
    (folder / "mine.jsonl").write_text(mine)
    status, _, err = run(capsys, *TRAIN, "--json-log", "mine.jsonl")
    one_line(status, err, "--json-log mine.jsonl exists and is not a tinyrnn JSON log")
    assert (folder / "mine.jsonl").read_text() == mine and not (folder / "model.safetensors").exists()
    for _ in range(2):                              # the second run replaces the first's log
        assert run(capsys, *TRAIN, "--json-log", "log.jsonl")[0] == 0
    assert files.is_tinyrnn_file("log.jsonl", "log") and read_log("log.jsonl")[0]["epoch"] == 1
    assert [json.loads(line)["epoch"] for line in open("log.jsonl")] == [1]    # plain JSON lines still
    (folder / "big.jsonl").write_text('{"epoch": ' + HUGE + "}\t\n")         # no traceback either
    one_line(*run(capsys, *TRAIN, "--json-log", "big.jsonl")[::2], "is not a tinyrnn JSON log")


def test_a_model_of_another_task_is_not_replaced_without_force(folder, capsys):
    save_model(LanguageModel(["<pad>", "<unk>", "a", "b"], 3), "lm.safetensors")
    save_model(small_model(), "classifier.safetensors")
    before = (folder / "lm.safetensors").read_bytes()
    with pytest.raises(TinyRNNError, match="lm.safetensors is a language model .task lm.; this run writes a "
                                           "classifier .task classify."):
        files.check_outputs({"--out": ("lm.safetensors", "model:classify")}, [])
    files.check_outputs({"--out": ("lm.safetensors", "model:lm")}, [])
    files.check_outputs({"--out": ("lm.safetensors", "model:classify")}, [], force=True)
    files.check_outputs({"--out": ("new.safetensors", "model:classify")}, [])
    assert run(capsys, "export", "--model", "classifier.safetensors", "--format", "torch", "--out", "sd.safetensors")[0] == 0
    status, _, err = run(capsys, "import", "--state-dict", "sd.safetensors", "--out", "lm.safetensors")
    one_line(status, err, "--out lm.safetensors is a language model (task lm)")
    assert (folder / "lm.safetensors").read_bytes() == before
    assert run(capsys, "import", "--state-dict", "sd.safetensors", "--out", "lm.safetensors", "--force")[0] == 0


def test_a_model_of_the_same_task_and_another_architecture_is_not_replaced_without_force(folder, capsys):
    assert run(capsys, *TRAIN)[0] == 0
    before = (folder / "model.safetensors").read_bytes()
    status, _, err = run(capsys, "train", "--epochs", "1", "--hidden", "5", "--cell", "gru")
    one_line(status, err, "model.safetensors is a classifier of another architecture (cell rnn, hidden 4); "
                          "this run trains cell gru, hidden 5")
    assert (folder / "model.safetensors").read_bytes() == before and not os.path.exists("model.safetensors.lock")
    assert run(capsys, *TRAIN, "--seed", "1")[0] == 0          # the same architecture: replaced
    assert (folder / "model.safetensors").read_bytes() != before
    assert run(capsys, "train", "--epochs", "1", "--hidden", "5", "--force")[0] == 0
    assert load_model("model.safetensors").hidden_size == 5
    assert run(capsys, "train", "--task", "lm", "--minutes", "0.01", "--hidden", "4", "--out", "lm.safetensors")[0] == 0
    status, _, err = run(capsys, "train", "--task", "lm", "--minutes", "0.01", "--hidden", "4", "--layers", "2",
                         "--out", "lm.safetensors")
    one_line(status, err, "lm.safetensors is a language model of another architecture (layers 1)")
    assert run(capsys, "export", "--model", "model.safetensors", "--format", "torch", "--out", "sd.safetensors")[0] == 0
    assert run(capsys, *TRAIN, "--out", "four.safetensors")[0] == 0
    four = (folder / "four.safetensors").read_bytes()
    status, _, err = run(capsys, "import", "--state-dict", "sd.safetensors", "--out", "four.safetensors")
    one_line(status, err, "four.safetensors is a classifier of another architecture (hidden 4)")
    assert (folder / "four.safetensors").read_bytes() == four


def test_seeds_beyond_64_bits_are_refused_when_the_options_are_read(capsys):
    for command in (["train"], ["generate"], ["gradcheck"]):
        status, _, err = run(capsys, *command, "--seed", str(2 ** 64))
        one_line(status, err, "--seed: must be <= 18,446,744,073,709,551,615")


def test_a_classifier_import_refuses_the_chars_tokenizer(folder, capsys):
    save_model(small_model(), "classifier.safetensors")
    assert run(capsys, "export", "--model", "classifier.safetensors", "--format", "torch", "--out", "sd.safetensors")[0] == 0
    status, _, err = run(capsys, "import", "--state-dict", "sd.safetensors", "--tokenizer", "chars", "--out", "x.safetensors")
    one_line(status, err, "a classifier reads words")
    assert not (folder / "x.safetensors").exists()


SPECIAL_FILES = """
import os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))     # unbounded reads fail, not swap
from tinyrnn.cli import main
for argv in [a.split() for a in sys.argv[1:]]:
    status = main(argv)
    print("STATUS", status, flush=True)
    sys.stderr.flush()
"""


def test_fifos_devices_and_oversized_files_are_refused_without_reading_them(folder, capsys):
    model = small_model()
    save_model(model, "m.safetensors")
    assert run(capsys, "export", "--model", "m.safetensors", "--format", "torch", "--out", "sd.safetensors")[0] == 0
    (folder / "vocab.json").write_text(json.dumps(model.vocab.tokens))
    (folder / "classes.json").write_text(json.dumps(model.classes))
    os.mkfifo("fifo")
    for name in ("m", "sd"):                        # a real header, then 3 GB of zeros (a sparse file)
        data = (folder / f"{name}.safetensors").read_bytes()
        (folder / f"big_{name}.safetensors").write_bytes(data)
        os.truncate(f"big_{name}.safetensors", 3 << 30)
    cases = {"import --state-dict fifo --out a.safetensors": "fifo: a FIFO, not a regular file",
             "import --state-dict sd.safetensors --vocab fifo --out a.safetensors": "fifo: a FIFO, not a regular",
             "import --state-dict sd.safetensors --vocab vocab.json --classes fifo --out a.safetensors": "a FIFO",
             "import --state-dict /dev/zero --out a.safetensors": "/dev/zero: a device, not a regular file",
             "import --state-dict sd.safetensors --vocab /dev/zero --out a.safetensors": "/dev/zero: a device",
             "import --state-dict big_sd.safetensors --out a.safetensors": "header declares",
             "info big_m.safetensors": "(truncated or trailing bytes)",
             "info fifo": "fifo: a FIFO, not a regular file"}
    result = subprocess.run([sys.executable, "-c", SPECIAL_FILES, *cases], capture_output=True, text=True,
                            timeout=60)
    errors = result.stderr.splitlines()
    assert result.stdout.split() == ["STATUS", "2"] * len(cases), result.stderr[-2000:]
    assert len(errors) == len(cases) and all(message in line for message, line in zip(cases.values(), errors)), errors
    assert not (folder / "a.safetensors").exists()


def test_an_oversized_token_list_is_refused_after_its_size(folder):
    from tinyrnn.import_torch import read_token_list
    with open("vocab.txt", "wb") as stream:
        stream.truncate((100 << 20) + 1)
    with pytest.raises(ModelFileError, match="over the limit of 104,857,600"):
        read_token_list("vocab.txt", "vocabulary")


def _rewrite(path, header_change=None, metadata_change=None, tensors_change=None):
    """Write path again with its header, metadata or tensors changed (checksums made to match)."""
    if header_change is not None:
        raw = open(path, "rb").read()
        length = struct.unpack("<Q", raw[:8])[0]
        text = header_change(raw[8:8 + length].decode()).encode()
        open(path, "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + length:])
        return
    model, extra, metadata = read_tinyrnn_file(path, _format(path),
                                               ("optimizer.", "best.", "carry."))
    tensors = {**model.params, **model.buffers, **extra}
    metadata = {key: value for key, value in metadata.items() if key != "checksum"}
    (metadata_change or (lambda m: None))(metadata)
    (tensors_change or (lambda t: None))(tensors)
    open(path, "wb").write(serialize(tensors, metadata))


def _format(path):
    raw = open(path, "rb").read()
    length = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + length])["__metadata__"]["format"]


def _edit_run(path, edit):
    """Rewrite a checkpoint with edit(run record) applied (its checksum made to match)."""
    def change(text):
        record = json.loads(text)
        edit(record)
        return json.dumps(record)
    _rewrite(path, metadata_change=_run_changed(change))


def _run_changed(change):
    import hashlib

    def edit(metadata):
        text = change(metadata["run"])
        metadata.update(run=text, run_checksum="sha256:" + hashlib.sha256(text.encode()).hexdigest())
    return edit


@pytest.mark.parametrize("where", ["shape", "config", "classes"])
def test_integers_of_thousands_of_digits_in_a_model_are_one_error(folder, where):
    save_model(small_model(), "m.safetensors")
    if where == "shape":
        _rewrite("m.safetensors", header_change=lambda text: text.replace('"shape":[5]', '"shape":[' + HUGE + "]"))
    else:
        def edit(metadata):
            metadata[where] = metadata[where].replace("5" if where == "config" else '"c0"', HUGE, 1)
        _rewrite("m.safetensors", metadata_change=edit)
    with pytest.raises(ModelFileError, match="too long"):
        load_model("m.safetensors")


def test_a_classes_file_with_a_huge_integer_is_one_line(folder):
    from tinyrnn.import_torch import read_token_list
    (folder / "classes.json").write_text("[" + HUGE + "]")
    with pytest.raises(ModelFileError, match="classes.json: a number too long"):
        read_token_list("classes.json", "classes")


def _resume(capsys, *extra):
    return run(capsys, "train", "--epochs", "3", "--hidden", "4", "--checkpoint-dir", "run.d", "--checkpoint-every",
               "1", "--out", "run.safetensors", *extra)


def test_a_huge_integer_in_the_latest_checkpoint_falls_back_to_the_one_before(folder, capsys):
    assert _resume(capsys, "--epochs", "2")[0] == 0
    _rewrite("run.d/checkpoint-00000002.safetensors",
             metadata_change=_run_changed(lambda text: text.replace('"steps": ', '"steps": ' + HUGE + ', "x": ', 1)))
    status, out, err = _resume(capsys, "--epochs", "2", "--resume")
    assert status == 0 and "skipping a damaged checkpoint" in err and "a number too long" in err, err
    assert "resuming from run.d/checkpoint-00000001.safetensors" in out


@pytest.mark.parametrize("edit,message", [
    (lambda run: run["state"].update(epoch=-5), "epoch is -5"),
    (lambda run: run["state"].update(batch=10 ** 9), "update 1000000000 of its pass"),
    (lambda run: run["state"].update(best_record=7), "best_record is 7"),
    (lambda run: run.update(optimizer_steps=-1), "optimizer_steps is -1"),
    (lambda run: run["state"]["history"][0].update(epoch="one"), "a history record's epoch is 'one'"),
    (None, "best.weights holds 7 numbers"),
    (lambda run: run["state"].update(running={"x": 1}), "the running sums are not correct, count, loss"),
    (lambda run: run["state"].update(epoch=0, batch=0), "the history's records are not in the order"),
    (lambda run: run["rngs"].update(extra=run["rngs"]["train"]), "random generators extra, train"),
    (lambda run: run["rngs"]["train"]["state"].update(state=1.5e20), "its numbers are not whole numbers"),
    (lambda run: run["state"]["history"][0].update(valid=None), "some history records have validation figures"),
    (lambda run: run["state"].update(extra_key=1), "'extra_key' is not a run's"),
    (lambda run: run.update(extra=1), "'extra' is not a run's"),
    (lambda run: run["state"]["history"][0]["train"].update(loss=-1.0), "history record's train figures are not"),
    (lambda run: run["state"]["history"][0]["valid"].update(accuracy=5.0), "history record's valid figures are not"),
    (lambda run: run["state"].update(records_without_improvement=10 ** 6), "records_without_improvement is"),
    (lambda run: run.update(optimizer_steps=10 ** 30), "optimizer_steps 1000000000000000000000000000000 of"),
    (lambda run: run["state"].update(best_score=[]), "best_score is empty"),
])
def test_a_run_record_that_could_not_have_been_written_is_one_line(folder, capsys, edit, message):
    assert _resume(capsys, "--epochs", "1", "--keep-best", "--valid-split", "0.3")[0] == 0
    path = "run.d/checkpoint-00000001.safetensors"
    if edit is None:
        _rewrite(path, tensors_change=lambda tensors: tensors.update({"best.weights": np.zeros(7)}))
    else:
        _edit_run(path, edit)
    status, _, err = _resume(capsys, "--resume", "--force")
    one_line(status, err, message)


def test_checkpoint_numbers_past_eight_digits_sort_and_continue(folder):
    model, checkpoints = small_model(), CheckpointFolder("run.d")
    checkpoints.save(model, {}, {"n": 1})
    os.rename("run.d/checkpoint-00000001.safetensors", "run.d/checkpoint-99999999.safetensors")
    assert checkpoints.save(model, {}, {"n": 2}).endswith("checkpoint-100000000.safetensors")
    assert checkpoints.save(model, {}, {"n": 3}).endswith("checkpoint-100000001.safetensors")
    assert sorted(os.listdir("run.d")) == ["checkpoint-100000000.safetensors", "checkpoint-100000001.safetensors"]
    assert checkpoints.latest(print)[3] == {"n": 3}


def test_info_with_its_output_closed_or_full_says_so_and_fails(folder):
    save_model(small_model(), "m.safetensors")
    command = [sys.executable, "-m", "tinyrnn", "info", "m.safetensors"]
    closed = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=30,
                            preexec_fn=lambda: os.close(1))
    assert closed.returncode == 2 and "standard output is closed" in closed.stderr
    with open("/dev/full", "w") as full:
        result = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, timeout=30)
    assert result.returncode == 2 and "standard output: No space left on device" in result.stderr


# --- the second trial's findings -------------------------------------------------------------

@pytest.mark.parametrize("edit,message", [
    (lambda run: run["rngs"]["train"]["state"].update(state=-1), "random generator state is malformed"),
    (lambda run: run["rngs"]["train"]["state"].update(state=2 ** 200), "random generator state is malformed"),
    (lambda run: run["state"].update(first_loss=0.0), "first_loss is 0.0"),
    (lambda run: run["state"].update(best_score=[float("nan"), 0]), "best_score is [nan, 0]"),
    (lambda run: run["state"].update(history=run["state"]["history"] * 3), "not in the order a run makes them"),
    (lambda run: run["state"]["running"].update(loss=float("nan")), "running sums are not finite"),
    (lambda run: run.update(state_format=99), "a checkpoint of a later version of tinyrnn"),
    (lambda run: run.update(state_format="2"), "state_format is '2', not a version number"),
    (lambda run: run.update(state_format=True), "state_format is 'True', not a version number"),
    (lambda run: run.pop("state_format"), "a checkpoint of an earlier version of tinyrnn"),
])
def test_run_records_no_run_writes_are_one_line(folder, capsys, edit, message):
    assert _resume(capsys, "--epochs", "1", "--keep-best", "--valid-split", "0.3")[0] == 0
    _edit_run("run.d/checkpoint-00000001.safetensors", edit)
    status, _, err = _resume(capsys, "--resume", "--force")
    one_line(status, err, message)


def test_an_output_inside_the_checkpoint_folder_is_refused(folder, capsys):
    os.mkdir("run.d")
    status, _, err = run(capsys, *TRAIN, "--checkpoint-dir", "run.d", "--out", "run.d/checkpoint-00000001.safetensors")
    one_line(status, err, "--out run.d/checkpoint-00000001.safetensors is inside --checkpoint-dir run.d")
    assert os.listdir("run.d") == []


def test_a_file_whose_first_line_only_looks_like_a_log_is_not_replaced(folder, capsys):
    notes = '{"a": 1}\t\nmy notes\n'
    (folder / "notes.jsonl").write_text(notes)
    status, _, err = run(capsys, *TRAIN, "--json-log", "notes.jsonl")
    one_line(status, err, "notes.jsonl exists and is not a tinyrnn JSON log")
    assert (folder / "notes.jsonl").read_text() == notes


def test_a_finished_run_resumed_writes_its_json_log_and_the_same_model(folder, capsys):
    assert _resume(capsys)[0] == 0
    first = (folder / "run.safetensors").read_bytes()
    status, out, _ = _resume(capsys, "--resume", "--json-log", "again.jsonl")
    assert status == 0 and "nothing to train" in out
    assert [json.loads(line)["epoch"] for line in open("again.jsonl")] == [3]
    assert (folder / "run.safetensors").read_bytes() == first


def test_init_from_a_model_of_numbers_or_another_task_is_one_line(folder, capsys):
    (folder / "s.csv").write_text("v\n" + "".join(f"{i % 7}\n" for i in range(60)))
    assert run(capsys, "train", "--task", "forecast", "--series", "s.csv", "--window", "12", "--horizon", "4",
               "--epochs", "1", "--hidden", "4", "--out", "fc.safetensors")[0] == 0
    status, _, err = run(capsys, *TRAIN, "--init-from", "fc.safetensors", "--out", "y.safetensors")
    one_line(status, err, "fc.safetensors is a forecaster; --init-from here needs a classifier")


def test_names_with_control_characters_are_refused_where_they_are_read(folder, capsys):
    save_model(small_model(), "m.safetensors")
    _rewrite("m.safetensors", metadata_change=lambda m: m.update(classes=json.dumps(["a", "z\x1b[31mRED\nfake", "c"])))
    status, out, err = run(capsys, "info", "m.safetensors")
    one_line(status, err, "classes metadata holds a name with a control, line-break or invisible character")
    assert out == ""
    (folder / "s.csv").write_text("t,v\x1bx\n" + "".join(f"{i},{i % 7}\n" for i in range(60)))
    status, _, err = run(capsys, "train", "--task", "forecast", "--series", "s.csv", "--window", "12", "--horizon",
                         "4", "--epochs", "1", "--hidden", "4")
    one_line(status, err, "s.csv:1: column name 'v\\x1bx' holds a control")


def test_tokenizer_settings_tinyrnn_does_not_have_are_refused(folder):
    save_model(small_model(), "m.safetensors")

    def edit(metadata):
        config = json.loads(metadata["config"])
        config["tokenizer"].update(casefold=False, normalize="XYZ")
        metadata["config"] = json.dumps(config)
    _rewrite("m.safetensors", metadata_change=edit)
    with pytest.raises(ModelFileError, match="tokenizer settings .* are not ones tinyrnn has"):
        load_model("m.safetensors")


def test_a_header_naming_a_key_twice_is_refused(folder):
    save_model(small_model(), "m.safetensors")
    _rewrite("m.safetensors", header_change=lambda text: text.replace('"__metadata__":{', '"__metadata__":{"format":"x",', 1))
    with pytest.raises(ModelFileError, match="header names 'format' twice"):
        load_model("m.safetensors")


def test_explain_regressors_translators_and_onnx_refuse_what_is_not_finite(folder, capsys):
    import warnings
    assert run(capsys, *TRAIN)[0] == 0
    values = np.random.default_rng(0).normal(size=(30, 8, 2))
    np.savez("reg.npz", X=values, y=values.sum(axis=(1, 2)))
    assert run(capsys, "train", "--task", "regress", "--train", "reg.npz", "--epochs", "1", "--hidden", "4")[0] == 0
    assert run(capsys, "train", "--task", "seq2seq", "--steps", "2", "--hidden", "4")[0] == 0
    for name in ("model", "regressor", "translator"):
        model = load_model(f"{name}.safetensors")
        for array in model.params.values():
            array[...] = np.finfo(model.dtype).max / 4                # finite, but nothing computed from it is
        save_model(model, f"{name}-huge.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for argv in (["explain", "--model", "model-huge.safetensors", "happy"],
                     ["predict", "--model", "regressor-huge.safetensors", "--data", "reg.npz"],
                     ["eval", "--model", "regressor-huge.safetensors", "--data", "reg.npz"],
                     ["translate", "--model", "translator-huge.safetensors", "may 9"]):
            status, out, err = run(capsys, *argv)
            one_line(status, err, "not finite numbers")
            assert out == "", argv
    status, _, err = run(capsys, "export", "--model", "model-huge.safetensors", "--format", "onnx", "--out", "h.onnx")
    one_line(status, err, "beyond float32's range")
    assert not os.path.exists("h.onnx")


def test_the_data_and_option_faults_of_the_second_trial_are_one_line_before_any_work(folder, capsys):
    assert run(capsys, *TRAIN)[0] == 0
    assert run(capsys, "train", "--task", "seq2seq", "--steps", "1", "--hidden", "4")[0] == 0
    (folder / "u.txt").write_bytes(b"ab\\ud800cd " * 50)
    (folder / "s.txt").write_text("@problemName t\n@univariate true\n@classLabel true a b\n@data\n1,2,3:a\n3,2,1:b\n")
    (folder / "pos.txt").write_text("good\nfine\n")
    (folder / "big.csv").write_text("text,label\ngood,1e308\nbad,2\n")
    values = np.zeros((4, 3, 1))
    np.save(folder / "X.npy", values)
    import zipfile
    with zipfile.ZipFile(folder / "cut.npz", "w") as archive:
        archive.writestr("X.npy", (folder / "X.npy").read_bytes()[:-40])
        archive.writestr("y.npy", b"")
    cases = [
        (["train", "--task", "lm", "--text", "u.txt", "--encoding", "unicode_escape", "--steps", "1"],
         "u.txt:1: the text holds a lone surrogate U+D800"),
        (["train", "--train", "cut.npz", "--epochs", "1"], "cut.npz: a damaged .npz archive"),
        (["train", "--train", "pos=pos.txt", "--train", "neg=pos.txt"], "pos.txt is given twice"),
        (["train", "--task", "regress", "--train", "big.csv"], "big.csv:2: label is 1e+308, beyond +-1e+150"),
        (["eval", "--data", "/proc/self/status"], "a file of the kernel's (/proc, /sys)"),
        ([*TRAIN, "--out", ""], "--out is empty"),
        ([*TRAIN, "--json-log", "logs/"], "--json-log logs/ names a folder"),
        ([*TRAIN, "--checkpoint-every", "10s", "--checkpoint-dir", "d"], "or Nm (minutes), got '10s'"),
        (["eval", "--season", "3"], "--season applies to forecasters"),
        (["info", "translator.safetensors", "--model", "model.safetensors"], "two models named"),
        (["gradcheck", "--vocab", "100000000000"], "--vocab: must be <= 100,000"),
    ]
    for argv, message in cases:
        status, out, err = run(capsys, *argv)
        one_line(status, err, message)
    before = sorted(os.listdir(folder))
    status, out, err = run(capsys, "translate", "--model", "translator.safetensors", "may 9 2015 " * 200)
    one_line(status, err, "text 1: 2,200 characters; translate reads at most 1,000 per text")
    assert sorted(os.listdir(folder)) == before                 # nothing written by any of them
    status, _, err = run(capsys, "train", "--train", "s.txt", "--format", "ts", "--epochs", "1", "--hidden", "4",
                         "--out", "ts.safetensors")
    assert status == 0, err                                     # --format ts whatever the file's name


def test_a_vocabulary_with_terminal_commands_is_printed_escaped_by_generate_and_translate(folder, capsys):
    (folder / "t.txt").write_text("a b c a b c a b c\n" * 30)
    assert run(capsys, "train", "--task", "lm", "--tokenizer", "words", "--text", "t.txt", "--steps", "3",
               "--hidden", "4", "--out", "lm.safetensors")[0] == 0

    def odd(metadata):
        tokens = json.loads(metadata["vocab"])
        tokens[2:] = [f"\x1b]0;t{i}\x07" for i in range(len(tokens) - 2)]     # each sets a window title
        metadata["vocab"] = json.dumps(tokens)
    _rewrite("lm.safetensors", metadata_change=odd)
    status, out, _ = run(capsys, "generate", "--model", "lm.safetensors", "--length", "20", "--temperature", "0.01")
    assert status == 0 and "\x1b" not in out and "\x07" not in out and "\\x1b]0;t" in out, out
    assert run(capsys, "train", "--task", "seq2seq", "--steps", "1", "--hidden", "4")[0] == 0

    def odd_target(metadata):
        tokens = json.loads(metadata["target_vocab"])
        tokens[4:] = [f"\x1b[{i}m" for i in range(len(tokens) - 4)]
        metadata["target_vocab"] = json.dumps(tokens)
    _rewrite("translator.safetensors", metadata_change=odd_target)
    status, out, _ = run(capsys, "translate", "--model", "translator.safetensors", "may 9")
    assert status == 0 and "\x1b" not in out and out.count("\n") == 1, out


# --- the third trial's findings --------------------------------------------------------------


def _npz(path, members):
    """An .npz archive of {name: raw .npy bytes}, deflated."""
    import zipfile
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, raw in members.items():
            archive.writestr(f"{name}.npy", raw)


def _npy_header(shape):
    import io
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return stream.getvalue()


def _labels():
    import io
    stream = io.BytesIO()
    np.save(stream, np.array(["a", "b"] * 5))
    return stream.getvalue()


def test_an_npz_is_checked_by_its_headers_before_its_data_is_read(folder, capsys):
    cut = b"\x93NUMPY\x01\x00" + (60).to_bytes(2, "little") + b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,3,1)"
    _npz("cut.npz", {"X": cut + b" " * 3 + b"\n", "y": _labels()})
    one_line(*run(capsys, "train", "--train", "cut.npz")[::2], "cut.npz: a damaged .npz archive")
    _npz("bomb.npz", {"X": _npy_header((10, 12_500_000, 1)) + bytes(8000), "y": _labels()})   # a gigabyte declared
    one_line(*run(capsys, "train", "--train", "bomb.npz")[::2],
             "bomb.npz: X declares sequences of 12,500,000 steps; tinyrnn reads at most 100,000")
    _npz("wide.npz", {"X": _npy_header((100_000_000, 2, 1)) + bytes(8000), "y": _labels()})
    one_line(*run(capsys, "train", "--train", "wide.npz")[::2], "array X declares 200,000,000 numbers")
    assert sorted(os.listdir(folder)) == ["bomb.npz", "cut.npz", "wide.npz"]


def test_a_header_of_a_hundred_thousand_names_is_checked_in_one_pass(folder, capsys):
    names = [f"c{i}" for i in range(100_000)]
    (folder / "wide.csv").write_text(",".join([*names, "text", "label", "c7"]) + "\n")
    one_line(*run(capsys, "train", "--train", "wide.csv")[::2], "wide.csv:1: the header names column 'c7' twice")
    (folder / "long.csv").write_text(",".join(["series", "time", *names, "c7"]) + "\n")
    one_line(*run(capsys, "train", "--task", "forecast", "--series", "long.csv")[::2],
             "long.csv:1: column 'c7' appears twice")
    from tinyrnn.safetensors_header import HeaderError, parse_header
    header = "{" + ",".join(f'"t{i}":{{}}' for i in range(50_000)) + ',"t9":{}}'
    with pytest.raises(HeaderError, match="header names 't9' twice"):
        parse_header(struct.pack("<Q", len(header)) + header.encode())


def test_a_two_direction_classifier_pretrains_on_one_hot_words(folder, capsys):
    """The language models of one one-hot tanh layer keep the walkthrough's names (Wxh, ...)."""
    (folder / "train.csv").write_text("text,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n"
                                                               for i in range(12)))
    status, _, err = run(capsys, "train", "--train", "train.csv", "--pretrain-text", "train", "--pretrain-epochs",
                         "1", "--bidirectional", "--epochs", "1", "--hidden", "4", "--out", "b.safetensors")
    assert status == 0, err
    model = load_model("b.safetensors")
    assert model.config.bidirectional and model.origin["task"] == "lm" and "Wxh" not in model.params


def test_translation_with_no_pairs_held_out(folder, capsys):
    (folder / "p.csv").write_text("source,target\n" + "".join(f"a b {i},x y {i}\n" for i in range(30)))
    status, out, err = run(capsys, "train", "--task", "seq2seq", "--train", "p.csv", "--epochs", "1", "--hidden", "4",
                           "--valid-split", "0", "--test-split", "0", "--out", "s.safetensors")
    assert status == 0 and "30 training, 0 validation, 0 test pairs" in out, err
    status, _, err = run(capsys, "train", "--task", "seq2seq", "--train", "p.csv", "--epochs", "1", "--hidden", "4",
                         "--valid-split", "0", "--keep-best", "--out", "k.safetensors")
    one_line(status, err, "--keep-best (of the preset or given) needs validation pairs; --valid-split 0 holds none")
    assert not os.path.exists("k.safetensors")


def test_a_tsv_of_pairs_reads_the_columns_its_header_names(folder):
    from tinyrnn.data.pairs import read_pairs
    (folder / "p.tsv").write_text("fr\tid\ten\nun\t1\tone\ndeux\t2\ttwo\n")
    pairs = read_pairs("p.tsv", source_column="fr", target_column="en")
    assert list(zip(pairs.sources, pairs.targets)) == [("un", "one"), ("deux", "two")]
    with pytest.raises(TinyRNNError, match="p.tsv:1: no header naming columns 'de' and 'en'"):
        read_pairs("p.tsv", source_column="de", target_column="en")


def test_options_a_task_does_not_read_are_refused(folder, capsys):
    (folder / "t.txt").write_text("hello world\n" * 20)
    for option in (["--format", "csv"], ["--text-column", "x"], ["--label-column", "y"]):
        status, _, err = run(capsys, "train", "--task", "lm", "--text", "t.txt", "--steps", "1", *option)
        one_line(status, err, f"{option[0]} applies to --task classify and regress, not lm")
    (folder / "train.csv").write_text("text,label\n" + "good,pos\nbad,neg\n" * 6)
    status, _, err = run(capsys, "train", "--train", "train.csv", "--folds", "3", "--fold", "2", "--plot", "f.png")
    one_line(status, err, "--plot draws every fold's accuracy, and --fold N runs one")
    assert sorted(os.listdir(folder)) == ["t.txt", "train.csv"]


def test_the_tokenizer_of_an_imported_language_model_is_its_own(folder, capsys):
    (folder / "t.txt").write_text("abc abd\n" * 30)
    assert run(capsys, "train", "--task", "lm", "--text", "t.txt", "--steps", "2", "--hidden", "4",
               "--out", "lm.safetensors")[0] == 0
    assert run(capsys, "export", "--model", "lm.safetensors", "--format", "torch", "--out", "lm.torch.safetensors")[0] == 0
    status, _, err = run(capsys, "import", "--state-dict", "lm.torch.safetensors", "--tokenizer", "words",
                         "--out", "back.safetensors")
    one_line(status, err, "tokenizer words disagrees with the file's config (chars)")
    assert run(capsys, "train", "--task", "seq2seq", "--steps", "1", "--hidden", "4")[0] == 0
    status, _, err = run(capsys, "train", "--task", "lm", "--text", "t.txt", "--steps", "1",
                         "--init-from", "translator.safetensors", "--out", "lm2.safetensors")
    one_line(status, err, "translator.safetensors is a seq2seq model; --task lm --init-from needs a language model")


def test_word_vectors_must_fit_the_model(folder, capsys):
    (folder / "train.csv").write_text("text,label\n" + "good film,pos\nbad film,neg\n" * 6)
    cases = [("good 0.1 1e300\nbad 0.3 0.1\n", [], "e.txt:1: the vector of 'good' holds 1e+300, beyond the 1e+150"),
             ("good 0.1 1e39\nbad 0.3 0.1\n", ["--dtype", "float32"], "e.txt:1: the vector of 'good' holds 1e+39, "
                                                                      "beyond the 3.4e+38 a float32 model takes"),
             ("good 0.1 1\nbad 0.3 0.1\ngood 1 2\n", [], "e.txt:3: 'good' has a vector already (line 1)"),
             ("good" + " 0.5" * 8193 + "\n", [], "e.txt:1: vectors of 8,193 numbers; an embedding holds at most 8,192")]
    for text, extra, message in cases:
        (folder / "e.txt").write_text(text)
        status, _, err = run(capsys, "train", "--train", "train.csv", "--embeddings", "e.txt", "--preset", "fast",
                             "--epochs", "1", *extra)
        one_line(status, err, message)
    assert sorted(os.listdir(folder)) == ["e.txt", "train.csv"]


@pytest.mark.parametrize("records,message", [
    ([{"epoch": 1, "train_loss": 0.5, "train_accuracy": 2.0}], "train_accuracy is 2.0, which no run writes"),
    ([{"epoch": 1, "train_loss": -0.5}], "train_loss is -0.5, which no run writes"),
    ([{"epoch": 10 ** 18, "train_loss": 0.5}], "epoch is 1000000000000000000, not a count"),
    ([{"epoch": 2, "train_loss": 0.5}, {"epoch": 1, "train_loss": 0.4}], "its epoch does not follow the record before"),
    ([{"epoch": 2, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.4}], "its epoch does not follow the record before"),
    ([{"epoch": 1, "train_loss": 0.5, "val_bleu": 200}], "val_bleu is 200, which no run writes"),
    ([{"epoch": 1, "train_loss": 0.5, "best": "yes"}], "best or weights_saved holds what no run writes"),
])
def test_a_log_holding_what_no_run_writes_is_not_plotted(folder, records, message):
    from tinyrnn.commands.common import JsonLog
    with JsonLog("log.jsonl") as log:
        for record in records:
            log.write_record(record)
    with pytest.raises(TinyRNNError, match=message.replace("(", r"\(")):
        read_log("log.jsonl")


def test_a_model_file_with_a_blank_class_is_refused(folder):
    save_model(small_model(), "m.safetensors")
    _rewrite("m.safetensors", metadata_change=lambda metadata: metadata.update(
        classes=json.dumps(["c0", " ", "c2"])))
    with pytest.raises(ModelFileError, match="classes metadata holds a blank name"):
        load_model("m.safetensors")


def test_a_figure_beyond_a_million_is_printed_in_four_digits_not_seventy():
    from tinyrnn.commands.numeric_data import shown
    assert shown(-1.234e67, ".3f") == "-1.234e+67" and shown(0.51234, ".3f") == "0.512" and shown(None, ".3f") == "n/a"



# --- the fourth trial's findings -------------------------------------------------------------


def _zip_method(path, method):
    """Rewrite a stored one-member zip to claim another compression method (9: deflate64)."""
    raw = bytearray(open(path, "rb").read())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = raw.find(signature)
        raw[at + offset:at + offset + 2] = method.to_bytes(2, "little")
    open(path, "wb").write(bytes(raw))


def test_npz_archives_zipfile_cannot_read_or_members_without_npy_are_one_line(folder, capsys):
    import zipfile
    _npz("raw.npz", {"y": _labels()})
    with zipfile.ZipFile("raw.npz", "a") as archive:
        archive.writestr("X", _npy_header((1400, 100_000, 1)))     # no .npy: numpy would read it whole
    one_line(*run(capsys, "train", "--train", "raw.npz")[::2], "member 'X' is not a NumPy array")
    with zipfile.ZipFile("stored.npz", "w") as archive:
        archive.writestr("X.npy", _npy_header((2, 3, 1)) + bytes(48))
    _zip_method("stored.npz", 9)
    one_line(*run(capsys, "train", "--train", "stored.npz")[::2], "an .npz archive numpy.savez does not write")


def test_closed_or_full_standard_error_loses_messages_not_work(folder):
    for redirect in ("2>&-", "2>/dev/full"):
        done = subprocess.run(f"{sys.executable} -m tinyrnn train --epochs 2 --hidden 4 --out q.safetensors --force "
                              f">/dev/null {redirect}", shell=True, timeout=120)
        assert done.returncode == 0 and os.path.exists("q.safetensors")
        os.remove("q.safetensors")
    done = subprocess.run(f"{sys.executable} -m tinyrnn predict --model missing.safetensors good 2>/dev/full",
                          shell=True, timeout=60)
    assert done.returncode == 2


def test_a_png_that_only_looks_like_tinyrnns_is_not_replaced(folder, capsys):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure = plt.figure()
    figure.savefig("user.png", format="png", metadata={"Software": "tinyrnn-not"})
    plt.close(figure)
    before = open("user.png", "rb").read()
    assert run(capsys, *TRAIN, "--json-log", "log.jsonl")[0] == 0
    status, _, err = run(capsys, "plot", "log.jsonl", "--out", "user.png")
    assert status == 2 and "--force" in err and open("user.png", "rb").read() == before


def test_more_options_that_do_not_apply_are_refused(folder, capsys):
    (folder / "p.csv").write_text("source,target\n" + "".join(f"a b {i},x y {i}\n" for i in range(30)))
    one_line(*run(capsys, "train", "--task", "seq2seq", "--train", "p.csv", "--valid-split", "0.6",
                  "--test-split", "0.5")[::2], "leave training 20% of the pairs")
    (folder / "s.txt").write_text("a\nb\n")
    (folder / "t.txt").write_text("x\ny\n")
    one_line(*run(capsys, "train", "--task", "seq2seq", "--train", "source=s.txt", "--train", "target=t.txt",
                  "--source-column", "src")[::2], "--source-column and --target-column name columns of one file")
    one_line(*run(capsys, "train", "--task", "seq2seq", "--attention", "additive", "--attention-size",
                  "30000000")[::2], "--attention-size")
    values = np.random.default_rng(0).normal(size=(10, 5, 2))
    np.savez("num.npz", X=values, y=np.array(["a", "b"] * 5))
    one_line(*run(capsys, "train", "--train", "num.npz", "--folds", "3", "--fold", "2")[::2],
             "--fold applies to texts")
    one_line(*run(capsys, "train", "--task", "regress", "--train", "num.npz", "--label-column", "y")[::2],
             "--label-column names a column of a long CSV; num.npz is not one")
    assert sorted(os.listdir(folder)) == ["num.npz", "p.csv", "s.txt", "t.txt"]


def test_a_character_model_cannot_be_imported_over_a_vocabulary_of_words(folder, capsys):
    (folder / "t.txt").write_text("the cat sat on the mat\n" * 20)
    assert run(capsys, "train", "--task", "lm", "--tokenizer", "words", "--text", "t.txt", "--steps", "2",
               "--hidden", "4", "--out", "w.safetensors")[0] == 0
    assert run(capsys, "export", "--model", "w.safetensors", "--format", "torch", "--out", "w.torch.safetensors")[0] == 0
    status, _, err = run(capsys, "import", "--state-dict", "w.torch.safetensors", "--tokenizer", "chars",
                         "--out", "c.safetensors")
    assert status == 2 and ("single characters" in err or "disagrees" in err), err


def test_a_forecaster_started_from_a_file_takes_its_window_and_horizon(folder, capsys):
    (folder / "s.csv").write_text("month,value\n" + "".join(f"{i},{i % 12 + 10}\n" for i in range(80)))
    assert run(capsys, "train", "--task", "forecast", "--series", "s.csv", "--window", "12", "--horizon", "6",
               "--epochs", "1", "--out", "fc.safetensors")[0] == 0
    status, out, err = run(capsys, "train", "--task", "forecast", "--series", "s.csv", "--init-from",
                           "fc.safetensors", "--epochs", "1", "--out", "fc2.safetensors")
    assert status == 0 and "windows of 12 steps -> 6" in out, err


def test_the_engine_is_in_the_signature_of_a_model_it_can_run_at_any_batch_size(monkeypatch):
    pytest.importorskip("numba")
    from tinyrnn.training import TrainConfig, run_signature
    from tinyrnn.tasks import ClassifyTask
    monkeypatch.setenv("TINYRNN_ENGINE", "compiled")
    model = small_model()
    task = ClassifyTask.__new__(ClassifyTask)
    task.settings = lambda: {}
    assert run_signature(model, TrainConfig(batch_size=7), task, 0, "d")["engine"] == "compiled"
    monkeypatch.setenv("TINYRNN_ENGINE", "numpy")
    assert "engine" not in run_signature(small_model(), TrainConfig(batch_size=7), task, 0, "d")


def test_resume_without_a_checkpoint_is_refused_before_pretraining(folder, capsys):
    (folder / "train.csv").write_text("text,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n"
                                                               for i in range(12)))
    status, out, err = run(capsys, "train", "--train", "train.csv", "--pretrain-text", "train", "--embed", "4",
                           "--hidden", "4", "--checkpoint-dir", "ck", "--resume")
    one_line(status, err, "--resume: ck has no checkpoint")
    assert out == ""                                            # no pretraining, no data read



# --- the fifth trial's findings --------------------------------------------------------------


def test_an_npz_size_beyond_what_numpy_counts_is_one_line(folder, capsys):
    header = _npy_header((1, 0, 2)).replace(b"(1, 0, 2), ", b"(99999999999999999999,0,2),")
    _npz("ovf.npz", {"X": header, "y": _labels()})
    one_line(*run(capsys, "train", "--train", "ovf.npz")[::2], "ovf.npz: a damaged .npz archive")


def test_a_page_is_tinyrnns_only_by_its_own_generator_line():
    from importlib.resources import files as package_files
    own = (package_files("tinyrnn.web") / "reading.html").read_bytes()
    assert files._SIGNATURES["html"](own)
    copied = b'<!DOCTYPE html>\n<html><!-- copied: <meta name="generator" content="tinyrnn"> --><body>notes</body>'
    assert not files._SIGNATURES["html"](copied)


def test_a_key_given_twice_in_a_file_s_json_is_refused():
    with pytest.raises(TinyRNNError, match="run metadata: names 'seed' twice"):
        files.load_json('{"seed": 0, "seed": 1}', "x.safetensors: run metadata")


# --- smaller points the fifth trial left ------------------------------------------------------


@pytest.mark.parametrize("labels", [np.array([1 + 2j, 3j] * 5), np.array(["2020-01-01", "2020-01-02"] * 5, "M8[D]"),
                                    np.array([(1, 2), (3, 4)] * 5, dtype=[("a", "i4"), ("b", "i4")])])
def test_npz_labels_that_are_no_classes_are_one_line(folder, capsys, labels):
    np.savez("odd.npz", X=np.random.default_rng(0).normal(size=(10, 4, 2)), y=labels)
    one_line(*run(capsys, "train", "--train", "odd.npz")[::2], "class labels are integers, strings or booleans")
    assert not os.path.exists("model.safetensors")


def test_a_huge_label_is_cut_in_the_only_one_class_message(folder, capsys):
    with open("one.csv", "w") as out:
        out.write("text,label\n" + "".join(f"good {i},{'x' * 100_000}\n" for i in range(4)))
    status, _, err = run(capsys, "train", "--train", "one.csv")
    one_line(status, err, "has only one class ('xxxx")
    assert len(err) < 300


def test_a_torch_export_to_a_full_standard_output_writes_no_file(folder):
    save_model(small_model(), "m.safetensors")
    command = [sys.executable, "-m", "tinyrnn", "export", "--model", "m.safetensors", "--format", "torch",
               "--out", "x.safetensors"]
    with open("/dev/full", "w") as full:
        result = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "standard output: No space left on device" in result.stderr and not os.path.exists("x.safetensors")


@pytest.mark.parametrize("header,message", [("5 2\n", ":1: the header declares 5 vectors; the file holds 2"),
                                            ("2 3\n", ":2: expected a word and 3 numbers, got 2"),
                                            ("2 99999\n", ":1: the header declares vectors of 99,999 numbers")])
def test_a_word2vec_header_must_agree_with_its_vectors(folder, capsys, header, message):
    with open("vectors.txt", "w") as out:
        out.write(header + "happy 1 2\nsad 3 4\n")
    one_line(*run(capsys, *TRAIN, "--embeddings", "vectors.txt")[::2], message)


# --- the sixth trial's findings --------------------------------------------------------------

TEXTS = "text,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n" for i in range(6))


def test_ctrl_c_while_the_command_line_is_still_importing_is_one_line(monkeypatch, capsys):
    import types
    from tinyrnn.launch import main

    class Importing(types.ModuleType):
        def __getattr__(self, name):
            raise KeyboardInterrupt
    monkeypatch.setitem(sys.modules, "tinyrnn.cli", Importing("tinyrnn.cli"))
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert main(["predict", "x"]) == 130
        assert all(signal.getsignal(number) == signal.SIG_IGN for number in handlers)   # while Python shuts down
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    assert capsys.readouterr().err == "tinyrnn: interrupted by Ctrl-C; nothing was saved\n"


@pytest.mark.parametrize("changed,message", [(["--init", "uniform"], "init 'orthogonal' -> 'uniform'"),
                                             (["--forget-bias", "1"], "forget_bias 0.0 -> 1.0")])
def test_resume_with_another_initialisation_is_refused(folder, capsys, changed, message):
    (folder / "data.csv").write_text(TEXTS)
    common = ["train", "--train", "data.csv", "--preset", "fast", "--epochs", "2", "--cell", "lstm", "--embed", "4",
              "--checkpoint-dir", "ck", "--checkpoint-every", "1", "--out", "m.safetensors"]
    assert run(capsys, *common)[0] == 0
    one_line(*run(capsys, *common, *changed, "--resume")[::2], message)
    status, out, _ = run(capsys, *common, "--resume")
    assert status == 0 and "nothing to train" in out


def _long_csv(times, values=None):
    rows = [f"s{s},{t},{v},{s % 2}" for s in range(4) for t, v in zip(times, values or times)]
    with open("l.csv", "w") as out:
        out.write("series,t,x1,label\n" + "\n".join(rows) + "\n")


def test_a_long_csv_whose_times_are_partly_numbers_is_refused(folder, capsys):
    _long_csv([*map(str, range(11)), "11a"], [str(v) for v in range(12)])
    one_line(*run(capsys, *TRAIN, "--format", "long", "--time-column", "t", "--train", "l.csv")[::2],
             "l.csv:13: t '11a' is not a number, while l.csv:2 holds '0'")
    _long_csv([f"2020-01-{d:02}" for d in range(1, 13)], [str(d) for d in range(12)])     # all text: dates
    assert run(capsys, *TRAIN, "--format", "long", "--time-column", "t", "--train", "l.csv")[0] == 0


@pytest.mark.parametrize("value", ["1_0", "\uff11"])
def test_numbers_are_plain_ascii_in_files_and_options(folder, capsys, value):
    (folder / "u.ts").write_text("@problemName t\n@univariate true\n@classLabel true a b\n@data\n"
                                 f"{value},2,3:a\n3,2,1:b\n1,1,1:a\n2,2,2:b\n", encoding="utf-8")
    one_line(*run(capsys, *TRAIN, "--train", "u.ts")[::2], "u.ts:5: dimension 1, step 1 is not a number")
    _long_csv([str(t) for t in range(12)], [value if t == 3 else str(t) for t in range(12)])
    one_line(*run(capsys, *TRAIN, "--format", "long", "--time-column", "t", "--train", "l.csv")[::2],
             "column 'x1' is not a number")
    (folder / "r.csv").write_text(f"text,label\ngood,{value}\nbad,2\n", encoding="utf-8")
    one_line(*run(capsys, *TRAIN, "--task", "regress", "--train", "r.csv")[::2], "is not a number")
    for option in ("--epochs", "--lr"):
        status, _, err = run(capsys, "train", option, value)
        assert status == 2 and "expected a" in err


def test_one_file_under_two_names_is_given_twice(folder, capsys):
    (folder / "data.csv").write_text(TEXTS)
    os.link("data.csv", "hard.csv")
    one_line(*run(capsys, *TRAIN, "--train", "pos=data.csv", "--train", "neg=hard.csv")[::2], "is given twice")
    os.symlink("loop.csv", "loop.csv")
    one_line(*run(capsys, *TRAIN, "--train", "loop.csv")[::2], "loop.csv: a symbolic link to nothing")


def test_a_test_file_that_is_training_data_is_said_and_a_refused_run_says_only_why(folder, capsys):
    (folder / "data.csv").write_text(TEXTS)
    status, _, err = run(capsys, *TRAIN, "--train", "data.csv", "--test", "data.csv")
    assert status == 0 and "warning: --test data.csv is also training data" in err
    save_model(LanguageModel(["<pad>", "<unk>", "a", "b"], 3), "lm.safetensors")
    status, _, err = run(capsys, *TRAIN, "--train", "data.csv", "--test", "data.csv", "--out", "lm.safetensors")
    one_line(status, err, "--out lm.safetensors is a language model")   # the warning held back, then dropped
    (folder / "p.tsv").write_text("!!\t??\n..\t,,\n" * 6 + "a b\tc d\n")
    one_line(*run(capsys, "train", "--task", "seq2seq", "--train", "p.tsv", "--normalize", "letters",
                  "--epochs", "1")[::2], "p.tsv")


def _with_config(path, **changes):
    def change(metadata):
        config = json.loads(metadata["config"])
        config.update(changes)
        metadata["config"] = json.dumps(config)
    _rewrite(path, metadata_change=change)


def _with_names(path, key):
    def change(metadata):
        names = json.loads(metadata[key])
        metadata[key] = json.dumps([names[0]] * len(names))
    _rewrite(path, metadata_change=change)


@pytest.mark.parametrize("kind,edit,message", [
    ("seq2seq", dict(attention=0), "attention must be a name or None"),
    ("seq2seq", dict(attention=[]), "attention must be a name or None"),
    ("forecast", dict(scaling={}), "scaling must be a name or None"),
    ("regress", dict(num_targets=True), "config sizes disagree with the targets metadata"),
    ("regress", "features", "features metadata names 'x0' twice"),
    ("regress", "targets", "targets metadata names 'y0' twice"),
    ("forecast", "series", "series metadata names 'x0' twice"),
])
def test_model_files_with_wrong_types_or_names_given_twice_are_refused(folder, capsys, kind, edit, message):
    from tinyrnn.gradcheck import random_problem, random_seq2seq
    model = random_seq2seq(np.random.default_rng(0)) if kind == "seq2seq" else \
        random_problem(np.random.default_rng(0), 4, 3, 2, task=kind, features=2)[0]
    save_model(model, "m.safetensors")
    if isinstance(edit, dict):
        _with_config("m.safetensors", **edit)
    else:
        _with_names("m.safetensors", edit)
    one_line(*run(capsys, "info", "--model", "m.safetensors")[::2], message)


def test_a_tensor_entry_is_named_for_what_is_wrong_with_it(folder, capsys):
    save_model(small_model(), "m.safetensors")
    _rewrite("m.safetensors", header_change=lambda text: text.replace('"data_offsets":[0,', '"data_offsets":[false,'))
    one_line(*run(capsys, "info", "--model", "m.safetensors")[::2], "data_offsets")


@pytest.mark.parametrize("columns,message", [("x1,x1", "feature columns name 'x1' twice"), ("", "names no column"),
                                             ("--id-column=", "--id-column names no column"),
                                             ("t", "is the series' id, time or target column")])
def test_feature_columns_must_name_distinct_feature_columns(folder, capsys, columns, message):
    _long_csv([str(t) for t in range(12)])
    option = [columns] if columns.startswith("--") else ["--feature-columns", columns]
    one_line(*run(capsys, *TRAIN, "--format", "long", "--time-column", "t", "--train", "l.csv", *option)[::2],
             message)


@pytest.mark.parametrize("header,rows,message", [
    ("@classLabel true a a b", "1,2,3:a\n3,2,1:b\n", "@classLabel lists 'a' twice"),
    ("@equalLength true\n@classLabel true a b", "1,2,3:a\n3,2:b\n", "2 steps; @equalLength is true"),
])
def test_ts_headers_that_disagree_with_themselves_or_the_data_are_refused(folder, capsys, header, rows, message):
    (folder / "h.ts").write_text(f"@problemName t\n@univariate true\n{header}\n@data\n{rows}")
    one_line(*run(capsys, *TRAIN, "--train", "h.ts")[::2], message)


def test_compiled_engine_asked_for_a_model_it_does_not_run_says_so(folder, capsys, monkeypatch):
    monkeypatch.setenv("TINYRNN_ENGINE", "compiled")
    (folder / "t.txt").write_text("abc abd abe\n" * 20)
    status, _, err = run(capsys, "train", "--task", "lm", "--text", "t.txt", "--steps", "2", "--hidden", "4",
                         "--out", "lm.safetensors")
    assert status == 0 and "this one trains on NumPy" in err


def test_a_log_whose_last_line_was_cut_is_still_tinyrnns(folder, capsys):
    assert run(capsys, *TRAIN, "--epochs", "3", "--log-every", "1", "--json-log", "log.jsonl")[0] == 0
    whole = open("log.jsonl", "rb").read()
    assert whole.count(b"\n") == 3
    open("log.jsonl", "wb").write(whole[:-20])
    assert files.is_tinyrnn_file("log.jsonl", "log")
    assert run(capsys, *TRAIN, "--json-log", "log.jsonl")[0] == 0


def test_invisible_characters_are_escaped_where_they_are_printed(folder, capsys):
    from tinyrnn.text_output import printable
    assert printable("\ufefftext") == "\\ufefftext" and printable("a\u200bb") == "a\\u200bb"
    (folder / "d.csv").write_bytes(b"\xef\xbb\xbf\xef\xbb\xbftext,label\ngood,pos\nbad,neg\n")
    one_line(*run(capsys, *TRAIN, "--train", "d.csv")[::2], "(columns: \\ufefftext, label)")


def test_a_format_of_numbers_under_a_text_preset_names_both(folder, capsys):
    (folder / "data.csv").write_text(TEXTS)
    one_line(*run(capsys, *TRAIN, "--train", "data.csv", "--format", "ts", "--preset", "fast")[::2],
             "--preset fast is for texts, but --format ts reads numeric sequences")


# --- the seventh trial's findings ------------------------------------------------------------


def test_matplotlib_is_on_agg_and_quiet_whatever_the_environment_says(folder, monkeypatch):
    (folder / "data.csv").write_text(TEXTS)
    command = [sys.executable, "-m", "tinyrnn", *TRAIN, "--train", "data.csv", "--plot", "p.png"]
    environment = {**os.environ, "MPLBACKEND": "bogus", "MPLCONFIGDIR": "/dev/null/x"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 0 and os.path.exists("p.png"), result.stderr
    assert result.stderr.strip().splitlines() == ["saved model.safetensors", "saved p.png"], result.stderr


@pytest.mark.parametrize("number", ["\u0663", "1_0"])
def test_word_vectors_are_plain_numbers_too(folder, capsys, number):
    (folder / "data.csv").write_text(TEXTS)
    (folder / "e.txt").write_text(f"good {number} 0.2\nbad 0.3 0.4\n", encoding="utf-8")
    one_line(*run(capsys, *TRAIN, "--train", "data.csv", "--embeddings", "e.txt")[::2],
             "e.txt:1: the vector of 'good' is not all numbers")


def test_a_ts_series_length_holds_with_or_without_equal_length(folder, capsys):
    (folder / "s.ts").write_text("@problemName x\n@univariate true\n@classLabel true a b\n@seriesLength 10\n@data\n"
                                 "1,2,3,4:a\n1,2,3,4:b\n")
    one_line(*run(capsys, *TRAIN, "--train", "s.ts")[::2], "s.ts:6: 4 steps; @seriesLength is 10")


@pytest.mark.parametrize("twin", ["po\u034fs", "po\ufe0fs", "po\u3164s", "po\u2800s"])
def test_labels_that_would_print_like_another_are_refused(folder, capsys, twin):
    (folder / "twin.csv").write_text(f"text,label\ngood,pos\nbad,{twin}\n", encoding="utf-8")
    one_line(*run(capsys, *TRAIN, "--train", "twin.csv")[::2], "holds an invisible character")


@pytest.mark.parametrize("token,message", [("GOOD", "'GOOD', which is not a word"), ("a b", "'a b', which"),
                                           ("", "'', which"), ("\ud800", "which is not a word")])
def test_an_imported_vocabulary_holds_only_words_some_input_can_reach(folder, capsys, token, message):
    save_model(small_model(), "m.safetensors")
    assert run(capsys, "export", "--model", "m.safetensors", "--format", "torch", "--out", "t.safetensors")[0] == 0
    vocab = load_model("m.safetensors").vocab.tokens
    (folder / "v.json").write_text(json.dumps([*vocab[:-1], token]))
    (folder / "c.json").write_text(json.dumps(load_model("m.safetensors").classes))
    one_line(*run(capsys, "import", "--state-dict", "t.safetensors", "--vocab", "v.json", "--classes", "c.json",
                  "--out", "x.safetensors")[::2], message)
    assert not os.path.exists("x.safetensors")


@pytest.mark.parametrize("columns,message", [("x0,x0", "the value columns name 'x0' twice"),
                                             ("", "--columns names no column")])
def test_forecast_columns_are_named_once_each(folder, capsys, columns, message):
    from tinyrnn.gradcheck import random_problem
    model = random_problem(np.random.default_rng(0), 4, 3, 2, task="forecast", features=2, max_length=4)[0]
    save_model(model, "f.safetensors")
    (folder / "s.csv").write_text("x0,x1\n" + "".join(f"{i},{i + 1}\n" for i in range(10)))
    one_line(*run(capsys, "forecast", "--model", "f.safetensors", "--series", "s.csv", "--columns", columns)[::2],
             message)


def test_gradcheck_takes_only_steps_whose_differences_can_match():
    from tinyrnn.options import MIN_EPS
    from tinyrnn.gradcheck import check_gradients, random_problem
    model, ids, mask, targets, h0 = random_problem(np.random.default_rng(1), batch=5, max_length=7)
    assert all(result.passed for result in check_gradients(model, ids, mask, targets, h0, eps=MIN_EPS))


# --- the eighth trial's findings -------------------------------------------------------------


def test_a_matplotlibrc_cannot_break_tinyrnns_pictures(folder):
    (folder / "data.csv").write_text(TEXTS)
    (folder / "matplotlibrc").write_text("text.usetex: True\n")            # and no LaTeX on the machine
    result = subprocess.run([sys.executable, "-m", "tinyrnn", *TRAIN, "--train", "data.csv", "--plot", "p.png"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and os.path.exists("p.png"), result.stderr


def test_names_in_two_unicode_forms_are_refused(folder, capsys):
    (folder / "x.csv").write_text("text,label\ngood,\ufb01\nbad,fi\n", encoding="utf-8")
    one_line(*run(capsys, *TRAIN, "--train", "x.csv")[::2], "are one text in two Unicode forms")
    (folder / "lf.csv").write_text("series,t,x\u00e9,xe\u0301,label\n" + "".join(
        f"s{s},{t},{t},{s},{'AB'[s % 2]}\n" for s in range(10) for t in range(4)), encoding="utf-8")
    one_line(*run(capsys, *TRAIN, "--train", "lf.csv", "--format", "long", "--time-column", "t")[::2],
             "are one name in two Unicode forms")


def test_an_output_with_other_names_is_not_parted_from_them_without_force(folder, capsys):
    save_model(small_model(), "m.safetensors")
    os.link("m.safetensors", "other.safetensors")
    before = open("other.safetensors", "rb").read()
    one_line(*run(capsys, *TRAIN, "--out", "m.safetensors")[::2], "has other names (hard links)")
    assert open("m.safetensors", "rb").read() == before
    assert run(capsys, *TRAIN, "--out", "m.safetensors", "--force")[0] == 0
    assert open("other.safetensors", "rb").read() == before                 # the other name keeps the old file


# --- the ninth trial's findings --------------------------------------------------------------


def wave_series(path, scale=1.0, columns=("t", "a", "b"), steps=120):
    """A CSV of a counter t and two waves, all times scale."""
    rows = [(i, np.sin(i / 3) + 0.01 * i, np.cos(i / 5)) for i in range(steps)]
    path.write_text(",".join(columns) + "\n" + "".join(",".join(repr(float(v * scale)) for v in row) + "\n" for row in rows))


def test_a_models_own_columns_in_another_order_are_read_by_name(folder, capsys):
    wave_series(folder / "s.csv")
    assert run(capsys, "train", "--task", "forecast", "--series", "s.csv", "--window", "6", "--horizon", "2",
               "--hidden", "4", "--epochs", "1", "--out", "f.safetensors")[0] == 0
    forecast = ["forecast", "--model", "f.safetensors", "--series", "s.csv"]
    plain = run(capsys, *forecast)
    assert plain[0] == 0 and plain[1].startswith("step\tt\ta\tb\n")
    assert run(capsys, *forecast, "--columns", "b,a,t") == plain          # by name, printed in the model's order
    scores = run(capsys, "eval", "--model", "f.safetensors", "--series", "s.csv", "--holdout", "4")
    assert scores[0] == 0 and run(capsys, "eval", "--model", "f.safetensors", "--series", "s.csv", "--holdout",
                                  "4", "--columns", "a,t,b") == scores
    one_line(*run(capsys, *forecast, "--columns", "a,b,x")[::2],
             "--columns gives 'a' as column 1, where f.safetensors reads 't'")
    wave_series(folder / "r.csv", columns=("u", "v", "w"))                   # other names: read by position
    assert run(capsys, "forecast", "--model", "f.safetensors", "--series", "r.csv", "--columns", "u,v,w") == plain
    (folder / "long.csv").write_text("series,time,x,y,label\n" + "".join(
        f"s{s},{t},{(s % 2) * 3 + np.sin(s + t):.4f},{np.cos(7 * s + t) / 10:.4f},{'lh'[s % 2]}\n"
        for s in range(20) for t in range(5)))
    long = ["--data", "long.csv", "--format", "long", "--time-column", "time"]
    assert run(capsys, "train", "--train", "long.csv", "--format", "long", "--time-column", "time", "--hidden", "4",
               "--epochs", "2", "--out", "n.safetensors")[0] == 0
    scores = run(capsys, "eval", "--model", "n.safetensors", *long)
    assert scores[0] == 0 and run(capsys, "eval", "--model", "n.safetensors", *long, "--feature-columns", "y,x") == scores
    one_line(*run(capsys, "predict", "--model", "n.safetensors", *long, "--feature-columns", "y,label")[::2],
             "--feature-columns gives 'y' as column 1, where n.safetensors reads 'x' (x, y)")


def test_a_gap_in_the_first_row_of_a_series_is_a_missing_number_not_a_time_column(folder, capsys):
    for first, shown in (("NA", "'NA'"), ("", "''")):
        (folder / "na.csv").write_text(f"sales,visits\n{first},5\n" + "".join(f"{100 + i},{50 + i % 7}\n"
                                                                             for i in range(1, 40)))
        one_line(*run(capsys, "train", "--task", "forecast", "--series", "na.csv", "--window", "4", "--epochs", "1",
                      "--out", "na.safetensors")[::2], f"na.csv:2: column 'sales' is not a number ({shown})")
    (folder / "dated.csv").write_text("month,sales\n" + "".join(f"2020-{m:02d},{m * 3}\n" for m in range(1, 13)))
    status, out, _ = run(capsys, "train", "--task", "forecast", "--series", "dated.csv", "--window", "3",
                         "--horizon", "2", "--epochs", "1", "--hidden", "4", "--out", "d.safetensors")
    assert status == 0 and "1 series (sales)" in out                  # a column of no numbers: the times


def test_numbers_are_standardised_alike_at_any_scale():
    from tinyrnn.numeric import fit_standardization, root_mean_square, window_scale
    from tinyrnn.tasks.regress import regression_figures
    x = np.random.default_rng(0).normal(2.0, 0.5, (50, 3))
    mean, std = fit_standardization([x])
    for scale in (1e-9, 1e-200, 1e12):
        scaled_mean, scaled_std = fit_standardization([x * scale])
        np.testing.assert_allclose(scaled_std, std * scale, rtol=1e-12)
        np.testing.assert_allclose(scaled_mean, mean * scale, rtol=1e-12)
        _, spread = window_scale((x * scale)[None], 0.03 * scale)
        np.testing.assert_allclose(spread[0, 0], np.sqrt(x.var(axis=0) + 0.03 ** 2) * scale, rtol=1e-12)
        figures = regression_figures(x[:, :1] * scale, x[:, 1:2] * scale)
        assert figures["rmse"] >= figures["mae"] > 0
        np.testing.assert_allclose(figures["rmse"], root_mean_square(x[:, 0] - x[:, 1]) * scale, rtol=1e-12)
        np.testing.assert_allclose(figures["r2"], regression_figures(x[:, :1], x[:, 1:2])["r2"], rtol=1e-9)
    assert (fit_standardization([np.full((9, 2), 1e-9)])[1] == 1.0).all()   # a constant column, however small
    assert (fit_standardization([np.full((9, 2), 7e5)])[1] == 1.0).all()


def test_a_forecaster_of_nanometres_learns_as_one_of_metres(folder, capsys):
    sMAPE = []
    for scale in (1.0, 1e-9):
        wave_series(folder / "w.csv", scale, columns=("t", "a", "b"))
        assert run(capsys, "train", "--task", "forecast", "--series", "w.csv", "--columns", "a", "--window", "8",
                   "--horizon", "3", "--hidden", "8", "--epochs", "3", "--out", f"{scale}.safetensors", "--holdout", "6")[0] == 0
        status, out, _ = run(capsys, "eval", "--model", f"{scale}.safetensors", "--series", "w.csv", "--holdout", "6")
        sMAPE.append(out.split("%")[0])
    assert sMAPE[0] == sMAPE[1]
    wave_series(folder / "w.csv", 1e-300)
    one_line(*run(capsys, "train", "--task", "forecast", "--series", "w.csv", "--dtype", "float32", "--epochs",
                  "1", "--out", "x.safetensors")[::2], "beyond what float32 holds")


def test_training_that_cannot_fit_in_memory_is_refused_before_it_starts(folder, capsys, monkeypatch):
    from tinyrnn import memory
    assert memory.training_copies("sgd") == memory.LEAST_COPIES == 3
    assert memory.training_copies("adam", average=True, keep_best=True) == 7
    assert memory.training_copies("sgd", momentum=0.9) == 4
    monkeypatch.setattr(memory, "available_bytes", lambda: 20_000)
    one_line(*run(capsys, *TRAIN[:3], "--hidden", "64")[::2], "training this model needs about")
    assert not os.path.exists("model.safetensors")
    assert run(capsys, *TRAIN)[0] == 0                                     # a small one fits
    monkeypatch.setattr(memory, "available_bytes", lambda: None)          # not known: not refused
    assert run(capsys, *TRAIN[:3], "--hidden", "64", "--out", "b.safetensors")[0] == 0


def test_a_translator_whose_outputs_stop_being_numbers_has_diverged(folder, capsys):
    (folder / "pairs.tsv").write_text("".join(f"w{i} w{i + 1}\tv{i}\n" for i in range(12)))
    status, _, err = run(capsys, "train", "--task", "seq2seq", "--train", "pairs.tsv", "--hidden", "4",
                         "--epochs", "2", "--lr", "1e30", "--dtype", "float64")
    assert status == 3 and "training diverged at epoch" in err and "Traceback" not in err, err
    assert not os.path.exists("seq2seq.safetensors")


@pytest.mark.parametrize("option", [["--label-column", "y"], ["--text-column", "t"], ["--format", "csv"],
                                    ["--encoding", "latin-1"], ["--skip-bad-rows"]])
def test_options_that_read_data_files_need_one(folder, capsys, option):
    one_line(*run(capsys, *TRAIN, *option)[::2], "says how to read a data file, and this run gives none")


def test_an_encoding_for_a_binary_file_is_refused(folder, capsys):
    rng = np.random.default_rng(0)
    np.savez("n.npz", X=rng.normal(size=(10, 4, 2)), y=np.array(["a", "b"] * 5))
    one_line(*run(capsys, *TRAIN, "--train", "n.npz", "--encoding", "latin-1")[::2],
             "--encoding reads text files; n.npz is a NumPy .npz file")
    assert run(capsys, *TRAIN, "--train", "n.npz")[0] == 0


def test_the_playground_refuses_a_key_it_would_not_read():
    from test_server import HOSTS, language_model
    from starlette.testclient import TestClient
    from tinyrnn.server import create_app
    client = TestClient(create_app(language_model(), "lm.safetensors", HOSTS))
    answer = client.post("/api/generate", json={"prompt": "a", "temprature": 0.1})
    assert answer.status_code == 422 and "names 'temprature', which this endpoint does not read" in answer.json()["error"]
    assert client.post("/api/generate", json={"prompt": "a", "temperature": 0.1, "length": 3, "seed": 1,
                                              "top_k": 2}).status_code == 200


def test_an_unknown_option_points_to_its_commands_help(capsys):
    status, _, err = run(capsys, "gradcheck", "--dtype", "float32")
    assert status == 2 and err == ("tinyrnn gradcheck: error: unrecognized arguments: --dtype float32 "
                                   "(see tinyrnn gradcheck --help)\n")


def test_window_scaling_needs_two_steps(folder, capsys):
    wave_series(folder / "s.csv")
    one_line(*run(capsys, "train", "--task", "forecast", "--series", "s.csv", "--window", "1", "--epochs", "1")[::2],
             "window scaling needs a window of at least 2 steps")
    assert run(capsys, "train", "--task", "forecast", "--series", "s.csv", "--window", "1", "--scaling", "global",
               "--epochs", "1", "--hidden", "4")[0] == 0


# --- the tenth trial's findings --------------------------------------------------------------


def test_a_small_spread_on_a_large_offset_is_kept_in_float64_and_refused_in_float32(folder, capsys):
    from tinyrnn.numeric import fit_standardization
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 8, 2))
    np.savez("offset.npz", X=1.7e9 + 10 * x, y=x.sum(axis=(1, 2)))
    one_line(*run(capsys, *TRAIN, "--task", "regress", "--train", "offset.npz", "--dtype", "float32")[::2],
             "where float32's numbers are 128 apart: too coarse to tell them apart; use --dtype float64")
    assert run(capsys, *TRAIN, "--task", "regress", "--train", "offset.npz", "--dtype", "float64")[0] == 0
    mean, std = fit_standardization([1e12 + x[:, :, 0]])                     # float64: a spread of 1 on 1e12 varies
    np.testing.assert_allclose(std, x[:, :, 0].std(axis=0), rtol=1e-3)
    assert (fit_standardization([np.full((5, 1), 1e12 + 0.5)])[1] == 1.0).all()   # and a constant does not


def test_a_series_rows_must_be_in_time_order_and_text_times_must_sort_as_times(folder, capsys):
    rows = [(f"2020-{1 + i // 28:02d}-{i % 28 + 1:02d}", i + 1) for i in range(40)]
    (folder / "rev.csv").write_text("date,v\n" + "".join(f"{d},{v}\n" for d, v in reversed(rows)))
    one_line(*run(capsys, "train", "--task", "forecast", "--series", "rev.csv", "--window", "4", "--horizon", "2",
                  "--epochs", "1")[::2], "rev.csv:3: date '2020-02-11' comes before '2020-02-12' of line 2")
    (folder / "twice.csv").write_text("t,v\n" + "".join(f"{i // 2},{i}\n" for i in range(30)))
    one_line(*run(capsys, "train", "--task", "forecast", "--series", "twice.csv", "--time-column", "t", "--window",
                  "4", "--horizon", "2", "--epochs", "1")[::2], "twice.csv:3: t '0' repeats '0' of line 2")
    (folder / "us.csv").write_text("series,time,x,label\n" + "".join(
        f"s{s},{d},{s + t},{'ab'[s % 2]}\n" for s in range(6) for t, d in enumerate(["12/30/2020", "12/31/2020",
                                                                                     "01/01/2021"])))
    one_line(*run(capsys, *TRAIN, "--train", "us.csv", "--format", "long", "--time-column", "time")[::2],
             "us.csv:2: time '12/30/2020' is neither a number nor an ISO 8601 date or time")
    (folder / "iso.csv").write_text("series,time,x,label\n" + "".join(
        f"s{s},{d},{s + t},{'ab'[s % 2]}\n" for s in range(6) for t, d in enumerate(["2021-01-01", "2020-12-30",
                                                                                     "2020-12-31 10:00"])))
    assert run(capsys, *TRAIN, "--train", "iso.csv", "--format", "long", "--time-column", "time")[0] == 0
    from tinyrnn.data.series import read_long_csv
    first = read_long_csv("iso.csv", time_column="time").series[0][:, 0]
    assert first.tolist() == [1.0, 2.0, 0.0]                              # sorted in time: 12-30, 12-31, 01-01


def test_a_loss_the_data_gives_is_not_divergence(folder, capsys):
    rng = np.random.default_rng(0)
    y = rng.normal(size=2000)
    y[20] = 1e6                                                          # one outlier target
    np.savez("outlier.npz", X=rng.normal(size=(2000, 4, 1)), y=y)
    regress = ["--task", "regress", "--train", "outlier.npz", "--no-shuffle", "--hidden", "4"]
    assert run(capsys, *TRAIN[:3], *regress, "--lr", "1e-6", "--out", "a.safetensors")[0] == 0
    status, _, err = run(capsys, *TRAIN[:3], *regress, "--lr", "1e4", "--out", "b.safetensors")
    assert status == 3 and "training diverged" in err                   # a real divergence still is one
    (folder / "step.csv").write_text("a\n" + "".join(f"{0.0 if i < 60 else float(np.sin(i))!r}\n" for i in range(80)))
    assert run(capsys, "train", "--task", "forecast", "--series", "step.csv", "--window", "6", "--horizon", "2",
               "--epochs", "2", "--hidden", "4", "--lr", "1e-6")[0] == 0


def test_a_regressor_reads_its_own_target_column_by_name(folder, capsys):
    (folder / "two.csv").write_text("series,time,f1,label,y\n" + "".join(
        f"s{s},{t},{t * (1 if s % 2 else -1) + s / 10},{'ud'[s % 2]},{s * 1.5}\n" for s in range(12) for t in range(4)))
    long = ["--format", "long", "--time-column", "time"]
    assert run(capsys, *TRAIN, "--task", "regress", "--train", "two.csv", *long, "--feature-columns", "f1",
               "--label-column", "y", "--out", "r.safetensors")[0] == 0
    status, out, err = run(capsys, "predict", "--model", "r.safetensors", "--data", "two.csv", *long,
                           "--feature-columns", "f1")
    assert status == 0 and out.count("\n") == 12, err
    assert run(capsys, "eval", "--model", "r.safetensors", "--data", "two.csv", *long)[0] == 0


def test_resume_with_another_season_is_refused(folder, capsys):
    wave_series(folder / "s.csv", steps=80)
    base = ["train", "--task", "forecast", "--series", "s.csv", "--window", "6", "--horizon", "2", "--holdout", "4",
            "--hidden", "4", "--epochs", "2", "--checkpoint-dir", "ck"]
    assert run(capsys, *base)[0] == 0
    one_line(*run(capsys, *base, "--resume", "--season", "12")[::2], "season 1 -> 12")


def test_smaller_points_of_the_tenth_trial(folder, capsys):
    from tinyrnn.commands.forecast import significant_digits
    assert significant_digits(np.array([[1e12], [1e12 + 2]])) >= 13 and significant_digits(np.array([[1.0], [3.0]])) == 6
    assert significant_digits(np.array([[1e9], [1e9 + 0.07], [1e9 - 0.04]])) >= 12
    np.savez("extra.npz", X=np.zeros((4, 3, 1)), y=np.array(["a", "b"] * 2), lenghts=np.array([1, 2, 3, 3]))
    one_line(*run(capsys, *TRAIN, "--train", "extra.npz")[::2], "an array 'lenghts' tinyrnn does not read")
    save_model(LanguageModel(["<pad>", "<unk>", "a", "b"], 3, tokenizer="chars"), "chars.safetensors")
    one_line(*run(capsys, *TRAIN, "--pretrained", "chars.safetensors")[::2],
             "--pretrained chars.safetensors reads chars; a classifier reads words")


# --- the eleventh trial's findings -----------------------------------------------------------


def test_a_forecaster_refuses_a_series_far_below_its_scale(folder, capsys):
    wave_series(folder / "s.csv", 10.0, steps=80)
    assert run(capsys, "train", "--task", "forecast", "--series", "s.csv", "--window", "6", "--horizon", "2",
               "--hidden", "4", "--epochs", "1", "--out", "f.safetensors")[0] == 0
    wave_series(folder / "small.csv", 1e-3, steps=80)
    one_line(*run(capsys, "forecast", "--model", "f.safetensors", "--series", "small.csv")[::2],
             "small.csv: series 't' varies by")
    one_line(*run(capsys, "eval", "--model", "f.safetensors", "--series", "small.csv", "--holdout", "2")[::2],
             "at which f.safetensors floors a window's spread")
    assert run(capsys, "forecast", "--model", "f.safetensors", "--series", "s.csv")[0] == 0
    from tinyrnn.tasks.regress import forecast_figures
    assert forecast_figures(np.ones((2, 1)), np.zeros((2, 1)), [1e-320])["mase"] is None    # n/a, not inf


def test_a_regressor_of_texts_reads_its_own_target_column(folder, capsys):
    (folder / "t.csv").write_text("review,score\n" + "".join(f"w{i % 5} w{i % 3},{i % 5}\n" for i in range(30)))
    assert run(capsys, *TRAIN, "--task", "regress", "--train", "t.csv", "--text-column", "review", "--label-column",
               "score", "--out", "r.safetensors")[0] == 0
    (folder / "swapped.csv").write_text("score,review,label\n" + "".join(f"{i % 5},w{i % 5} w{i % 3},9\n"
                                                                         for i in range(30)))
    plain = run(capsys, "eval", "--model", "r.safetensors", "--data", "swapped.csv", "--text-column", "review",
                "--label-column", "score")
    assert plain[0] == 0 and run(capsys, "eval", "--model", "r.safetensors", "--data", "swapped.csv",
                                 "--text-column", "review") == plain


@pytest.mark.parametrize("times, message", [
    (["2021-01-04T{:02d}:00+05:00".format(h) for h in (0, 2, 1)], "comes before"),           # offsets: instants
    (["2021-W01-1", "2021-W01-3", "2021-W01-2"], "comes before"),                             # week dates
    (["2021-004", "2021-006", "2021-005"], "comes before"),                                   # ordinal dates
    (["2021-01-01T09:00", "2021-01-01T09:00:00", "2021-01-02"], "repeats"),                   # one instant twice
    (["2021-02-27", "2021-02-30", "2021-03-01"], "is not a time like the others"),            # no such day
    (["2021-01-01", "Jan 2 2021", "2021-01-03"], "is not a time like the others"),            # one odd time
])
def test_times_are_read_as_instants(folder, capsys, times, message):
    (folder / "t.csv").write_text("time,v\n" + "".join(f"{t},{i * 1.5 + (i % 3)}\n" for i, t in enumerate(times)))
    one_line(*run(capsys, "train", "--task", "forecast", "--series", "t.csv", "--window", "1", "--scaling",
                  "global", "--horizon", "1", "--epochs", "1")[::2], message)


def test_smaller_points_of_the_eleventh_trial(folder, capsys):
    (folder / "real.csv").write_text("text,label\n" + "".join(f"w{i} x,{i * 0.37:.3f}\n" for i in range(40)))
    one_line(*run(capsys, *TRAIN, "--train", "real.csv")[::2], "40 different labels for 40 texts, all of them numbers")
    header = "@problemName x\n@missing false\n@univariate true\n@targetLabel true\n@data\n"
    (folder / "q.ts").write_text(header + "".join(f"1,2,{'?' if i == 2 else 3}:{i}\n" for i in range(8)))
    one_line(*run(capsys, *TRAIN, "--task", "regress", "--train", "q.ts")[::2],
             "q.ts:8: a missing value ('?' or NaN), though @missing is false")
    wave_series(folder / "s.csv", steps=60)
    assert run(capsys, *TRAIN, "--task", "forecast", "--series", "s.csv", "--window", "4", "--horizon", "2",
               "--out", "f.safetensors")[0] == 0
    for option in (["--feature-columns", "a,b"], ["--label-column", "x"], ["--beam", "3"], ["--errors", "2"]):
        one_line(*run(capsys, "eval", "--model", "f.safetensors", "--series", "s.csv", "--holdout", "2",
                      *option)[::2], f"{option[0]} applies to")
    one_line(*run(capsys, "gradcheck", "--task", "forecast", "--bidirectional")[::2],
             "--bidirectional applies to --task classify, regress and seq2seq, not forecast")


# --- the twelfth trial's findings ------------------------------------------------------------


def test_import_refuses_classes_or_vocab_that_contradict_the_file(folder, capsys):
    save_model(small_model(), "m.safetensors")
    assert run(capsys, "export", "--model", "m.safetensors", "--format", "torch", "--out", "t.safetensors")[0] == 0
    classes = load_model("m.safetensors").classes
    (folder / "reversed.json").write_text(json.dumps(classes[::-1]))
    one_line(*run(capsys, "import", "--state-dict", "t.safetensors", "--classes", "reversed.json", "--out",
                  "i.safetensors")[::2], "--classes disagrees with the classes that t.safetensors names")
    (folder / "same.json").write_text(json.dumps(classes))
    assert run(capsys, "import", "--state-dict", "t.safetensors", "--classes", "same.json", "--out", "i.safetensors")[0] == 0


def test_predict_answers_every_line_of_its_input(folder, capsys, monkeypatch):
    import io
    save_model(small_model(), "m.safetensors")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"w1 w2\n   \n\nw3\n")))
    status, out, _ = run(capsys, "predict", "--model", "m.safetensors", "--json")
    answers = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and len(answers) == 4 and [a["label"] is None for a in answers] == [False, True, True, False]


def test_options_a_text_model_does_not_use_are_refused(folder, capsys):
    save_model(small_model(), "m.safetensors")
    for command, option in (("explain", ["--max-chars", "3"]), ("explain", ["--encoding", "latin-1"]),
                            ("explain", ["--id-column", "x"]), ("predict", ["--encoding", "latin-1"]),
                            ("predict", ["--format", "ts"])):
        one_line(*run(capsys, command, "--model", "m.safetensors", *option, "w1 w2")[::2],
                 f"{option[0]} applies to")
    (folder / "tr.csv").write_text(TEXTS)
    (folder / "e.txt").write_text("zzz 0.1 0.2 0.3\nyyy 0.3 0.2 0.1\n")
    one_line(*run(capsys, *TRAIN, "--train", "tr.csv", "--embeddings", "e.txt")[::2],
             "e.txt: none of the training data's")


# --- the thirteenth trial's findings ---------------------------------------------------------


def pretraining_run(name, *extra):
    """A two-direction classifier pretrained on 600 unlabelled texts, as a process."""
    options = ["train", "--train", "train.csv", "--pretrain-text", "more.txt", "--pretrain-epochs", "8", "--embed",
               "6", "--hidden", "8", "--bidirectional", "--epochs", "3", "--checkpoint-every", "1",
               "--checkpoint-dir", f"{name}.d", "--out", f"{name}.safetensors", "--json-log", f"{name}.jsonl"]
    return subprocess.Popen([sys.executable, "-m", "tinyrnn", *options, *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_run_stopped_while_pretraining_resumes_there_and_ends_as_an_unstopped_one(folder):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    (folder / "more.txt").write_text("".join(" ".join(rng.choice(words, 8)) + "\n" for _ in range(600)))
    (folder / "train.csv").write_text(TEXTS)
    whole = pretraining_run("whole")
    assert whole.wait(timeout=120) == 0, whole.stderr.read()
    for phase, stop_after in (("pretraining", ["pretraining pass 2"]),              # in each of the two phases
                              ("pretraining-backward", ["pretraining it backwards", "pretraining pass 2"])):
        name = f"stopped-{phase}"
        process = pretraining_run(name)
        for line in stop_after:
            while not (read := process.stdout.readline()).lstrip().startswith(line):
                assert read, process.communicate(timeout=60)             # ended before the line came
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 130 and f"checkpoint {name}.d/{phase}/checkpoint-" in err, err
        assert not os.path.exists(f"{name}.safetensors")
        resumed = pretraining_run(name, "--resume")
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err
        assert f"resuming the {phase.replace('-', ' ')} from {name}.d/{phase}/checkpoint-" in out
        np.testing.assert_array_equal(load_model(f"{name}.safetensors").flat, load_model("whole.safetensors").flat)
    again = pretraining_run("whole", "--resume")                 # all done: the pretrained weights are read back
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0 and "the pretraining checkpointed in whole.d/pretraining/" in out
    assert "pretraining pass" not in out and "nothing to train: the run checkpointed" in out


def test_a_pretrainings_checkpoints_are_the_pretraining_runs_own(folder, capsys):
    (folder / "train.csv").write_text(TEXTS)
    pretrain = ["--pretrain-text", "train", "--pretrain-epochs", "2", "--embed", "4"]
    common = [*TRAIN, "--train", "train.csv", "--checkpoint-dir", "ck"]
    assert run(capsys, *common, *pretrain)[0] == 0
    kept = CheckpointFolder("ck/pretraining").paths()
    for path in CheckpointFolder("ck").paths():             # as a run stopped during its pretraining leaves it
        os.unlink(path)
    one_line(*run(capsys, *common, "--resume")[::2], "--resume: ck has no checkpoint")   # not this run's
    assert run(capsys, *common, "--out", "plain.safetensors")[0] == 0          # another run leaves them alone
    assert CheckpointFolder("ck/pretraining").paths() == kept
    for path in CheckpointFolder("ck").paths():
        os.unlink(path)
    one_line(*run(capsys, *common, "--hidden", "5", *pretrain, "--resume", "--out", "other.safetensors")[::2],
             "ck/pretraining/checkpoint-00000001.safetensors holds another model")
    one_line(*run(capsys, *common, *pretrain)[::2], "holds the checkpoints of an earlier run")
    assert run(capsys, *common, *pretrain, "--force", "--seed", "3")[0] == 0     # starting over replaces them
    assert len(CheckpointFolder("ck/pretraining").paths()) == 1 and CheckpointFolder("ck/pretraining").paths() != kept
    status, out, err = run(capsys, *common, *pretrain[:2], "--pretrain-epochs", "1", "--embed", "4", "--seed", "3",
                           "--resume", "--force")
    one_line(status, err, "has made 2 passes, more than 1; it cannot go back")


def test_labels_that_are_one_number_written_two_ways_are_two_classes_with_a_warning(folder, capsys):
    (folder / "n.csv").write_text("text,label\ngood,1\nbad,0\nnice,01\nawful,0\n")
    status, _, err = run(capsys, *TRAIN, "--train", "n.csv")
    assert status == 0 and "warning: n.csv:4: labels '1' and '01' are one number written two ways" in err
    assert load_model("model.safetensors").classes == ["0", "01", "1"]           # (codes such as 007 and 7)
    (folder / "n.jsonl").write_text('{"text":"good","label":1}\n{"text":"bad","label":0}\n{"text":"nice","label":1.0}\n')
    status, _, err = run(capsys, *TRAIN, "--train", "n.jsonl")
    assert status == 0 and "warning" not in err                          # JSON numbers: 1.0 is 1
    assert load_model("model.safetensors").classes == ["0", "1"]
    (folder / "big.csv").write_text("text,label\ngood,9007199254740993\nbad,9007199254740992\n")
    assert "one number" not in run(capsys, *TRAIN, "--train", "big.csv")[2]      # exact: two numbers
    (folder / "s.csv").write_text("series,t,x,label\n" + "".join(
        f"s{s},{t},{t * s},{['1', '0', '1.00', '0'][s % 4]}\n" for s in range(8) for t in range(3)))
    status, _, err = run(capsys, *TRAIN, "--train", "s.csv", "--format", "long", "--time-column", "t", "--out",
                         "n.safetensors")
    assert status == 0 and "labels '1' and '1.00' are one number written two ways" in err


def test_a_text_model_given_numbers_says_which_model_would_read_them(folder, capsys):
    save_model(small_model(), "model.safetensors")
    (folder / "x.ts").write_text("@problemName x\n@timeStamps false\n@univariate true\n@classLabel true a b\n"
                                 "@data\n1,2,3:a\n3,2,1:b\n")
    one_line(*run(capsys, "eval", "--data", "x.ts")[::2],
             "x.ts holds numeric sequences, and model.safetensors is a classifier, which reads texts")
    one_line(*run(capsys, "predict", "--data", "x.ts")[::2], "give it texts as arguments or one per line")


def test_a_misspelt_option_is_answered_with_the_nearest_one(capsys):
    status, _, err = run(capsys, "train", "--epoch", "5")              # no abbreviation: named, not taken
    assert status == 2 and err == ("tinyrnn train: error: unrecognized arguments: --epoch 5; did you mean --epochs? "
                                   "(see tinyrnn train --help)\n")
    assert "did you mean --model?" in run(capsys, "predict", "--modle", "m", "hi")[2]
    assert "did you mean" not in run(capsys, "predict", "--zzz", "hi")[2]
    assert "did you mean --json?" in run(capsys, "predict", "--zzz", "--jsn", "hi")[2]     # any of them


def test_a_pretraining_run_checks_its_out_and_its_folder_before_pretraining(folder, capsys):
    (folder / "train.csv").write_text(TEXTS)
    assert run(capsys, *TRAIN, "--train", "train.csv", "--out", "small.safetensors")[0] == 0
    pretrain = ["--pretrain-text", "train", "--pretrain-epochs", "2", "--embed", "4", "--bidirectional"]
    status, out, err = run(capsys, *TRAIN, "--train", "train.csv", *pretrain, "--out", "small.safetensors")
    one_line(status, err, "--out small.safetensors is a classifier of another architecture")
    assert "pretraining" not in out                              # refused before any of it
    os.mkdir("ck")
    (folder / "ck" / "pretraining-backward").write_text("mine\n")
    status, out, err = run(capsys, *TRAIN, "--train", "train.csv", *pretrain, "--checkpoint-dir", "ck")
    one_line(status, err, "ck/pretraining-backward is a file, where a pretraining's checkpoints go")
    assert out == "" and (folder / "ck" / "pretraining-backward").read_text() == "mine\n"


def test_a_forced_resume_with_a_longer_pretraining_starts_what_follows_it_over(folder, capsys):
    (folder / "train.csv").write_text(TEXTS)
    common = [*TRAIN[:2], "3", "--hidden", "4", "--train", "train.csv", "--pretrain-text", "train", "--embed", "4",
              "--bidirectional", "--checkpoint-every", "1"]
    assert run(capsys, *common, "--pretrain-epochs", "2", "--checkpoint-dir", "ck", "--out", "a.safetensors")[0] == 0
    status, out, err = run(capsys, *common, "--pretrain-epochs", "3", "--checkpoint-dir", "ck", "--out",
                           "a.safetensors", "--resume", "--force")
    assert status == 0 and "the pretraining goes on (--force), so what followed it starts over: the checkpoints " \
                           "in ck/pretraining-backward, ck are removed" in err
    assert run(capsys, *common, "--pretrain-epochs", "3", "--checkpoint-dir", "fresh", "--out", "b.safetensors")[0] == 0
    resumed, fresh = load_model("a.safetensors"), load_model("b.safetensors")
    np.testing.assert_array_equal(resumed.flat, fresh.flat)            # as if it had pretrained 3 passes at once
    assert resumed.origin["passes"] == 3


def test_a_forced_resume_ends_where_a_limit_ended_it(folder, capsys):
    (folder / "t.txt").write_text("".join(f"line {i}: the cat sat on the mat.\n" for i in range(300)))
    lm = ["train", "--task", "lm", "--text", "t.txt", "--hidden", "8", "--batch-size", "4", "--seq-length", "16",
          "--checkpoint-every", "50", "--checkpoint-dir", "lm", "--out", "lm.safetensors"]
    assert run(capsys, *lm, "--epochs", "5", "--steps", "250")[0] == 0           # stopped within epoch 2
    state = CheckpointFolder("lm").latest(pytest.fail)[3]["state"]
    assert state["epoch"] == 2 and state["batch"] > 0 and state["steps"] == 250
    assert run(capsys, *lm, "--epochs", "1", "--resume", "--force")[0] == 0     # past its epochs: no more steps
    assert CheckpointFolder("lm").latest(pytest.fail)[3]["state"]["steps"] == 250
    (folder / "train.csv").write_text(TEXTS)
    target = [*TRAIN, "--train", "train.csv", "--test", "train.csv", "--target-accuracy", "0.5", "--epochs", "50",
              "--checkpoint-dir", "c", "--optimizer", "adam", "--lr", "0.01"]
    assert run(capsys, *target)[0] == 0
    epoch = CheckpointFolder("c").latest(pytest.fail)[3]["state"]["epoch"]
    status, out, _ = run(capsys, *target[:-1], "0.02", "--resume", "--force")     # no limit changed: it stays done
    assert status == 0 and "nothing to train" in out
    assert CheckpointFolder("c").latest(pytest.fail)[3]["state"]["epoch"] == epoch


def test_data_of_the_other_kind_than_the_model_reads_is_named(folder, capsys):
    from test_numeric_cli import memory_sequences, write_ts
    write_ts(folder / "x.ts", *memory_sequences(np.random.default_rng(0), 20), ["down", "up"])
    assert run(capsys, *TRAIN, "--train", "x.ts", "--out", "numbers.safetensors")[0] == 0
    (folder / "t.jsonl").write_text('{"text": "good", "label": "up"}\n')
    one_line(*run(capsys, "eval", "--model", "numbers.safetensors", "--data", "t.jsonl")[::2],
             "t.jsonl holds texts, and numbers.safetensors is a classifier, which reads numeric sequences")
    (folder / "r.csv").write_text("text,label\n" + "".join(f"good {i},{i}\nbad {i},{-i}\n" for i in range(10)))
    assert run(capsys, *TRAIN, "--task", "regress", "--train", "r.csv", "--out", "texts.safetensors")[0] == 0
    one_line(*run(capsys, "eval", "--model", "texts.safetensors", "--data", "x.ts")[::2],
             "x.ts holds numeric sequences, and texts.safetensors is a regressor")


# --- the fifteenth trial's findings ----------------------------------------------------------


def test_keep_best_cannot_start_in_a_resume(folder, capsys):
    (folder / "train.csv").write_text(TEXTS)
    common = [*TRAIN[:2], "3", "--train", "train.csv", "--valid-split", "0.3", "--log-every", "1",
              "--checkpoint-dir", "ck", "--hidden", "4"]
    assert run(capsys, *common)[0] == 0
    before = open("model.safetensors", "rb").read()
    status, out, err = run(capsys, *common, "--resume", "--force", "--keep-best")
    one_line(status, err, "kept no best weights (it ran without --keep-best), so --keep-best cannot start")
    assert "Kept epoch" not in out and open("model.safetensors", "rb").read() == before


def test_two_quick_stop_signals_stop_the_playground_without_a_traceback(folder):
    save_model(small_model(), "m.safetensors")
    server = subprocess.Popen([sys.executable, "-m", "tinyrnn", "serve", "--model", "m.safetensors", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert server.stdout.readline().startswith("serving m.safetensors at http://127.0.0.1:")
    import time
    time.sleep(0.5)                                             # (uvicorn's handlers in place)
    server.send_signal(signal.SIGINT)
    time.sleep(0.03)
    server.send_signal(signal.SIGINT)
    _, err = server.communicate(timeout=30)
    assert server.returncode == 0 and "Traceback" not in err and err.endswith("tinyrnn serve: stopped\n"), err


# --- the sixteenth trial's findings ----------------------------------------------------------


def test_a_stream_cancelled_by_the_stop_is_not_logged_as_an_error():
    import asyncio
    import logging
    from tinyrnn.commands.serve import _not_cancelled
    logger = logging.getLogger("uvicorn.error")
    cancelled = logger.makeRecord("uvicorn.error", logging.ERROR, "h11", 1, "Exception in ASGI application\n", (),
                                  (asyncio.CancelledError, asyncio.CancelledError(), None))
    other = logger.makeRecord("uvicorn.error", logging.ERROR, "h11", 1, "Exception in ASGI application\n", (),
                              (ValueError, ValueError("x"), None))
    assert not _not_cancelled(cancelled) and _not_cancelled(other)


def test_a_file_name_that_is_not_utf8_is_escaped_in_a_plots_title(folder, capsys):
    pytest.importorskip("matplotlib")
    name = os.fsdecode(b"x\xff.jsonl")                         # (a surrogate, as Python reads the name)
    assert run(capsys, *TRAIN, "--json-log", name)[0] == 0
    status, _, err = run(capsys, "plot", name, "--out", "p.png")
    assert status == 0 and "Traceback" not in err and os.path.getsize("p.png") > 0


def test_a_missing_column_names_a_bounded_list_of_the_header(folder, capsys):
    (folder / "wide.csv").write_text(",".join(f"c{i}" for i in range(5000)) + ",label\n" + "1," * 5000 + "a\n")
    status, _, err = run(capsys, *TRAIN, "--train", "wide.csv")
    one_line(status, err, "no column 'text' in the header (columns: c0, c1,")
    assert "... and 4,989 more)" in err and len(err) < 400


def test_a_file_put_at_out_during_the_run_is_kept_and_the_model_saved_beside_it(folder, capsys, monkeypatch):
    from tinyrnn.commands import train_classifier
    original = train_classifier.run_trainer

    def users_file_meanwhile(*args, **kwargs):            # the user writes --out while the run goes on
        history = original(*args, **kwargs)
        (folder / "o.safetensors").write_text("precious\n")
        return history
    monkeypatch.setattr(train_classifier, "run_trainer", users_file_meanwhile)
    status, _, err = run(capsys, *TRAIN, "--out", "o.safetensors")
    one_line(status, err, "--out o.safetensors: a file that is not a tinyrnn model appeared there during the run; "
                          "it is kept, and the model is saved as o.1.safetensors")
    assert (folder / "o.safetensors").read_text() == "precious\n" and load_model("o.1.safetensors").classes
