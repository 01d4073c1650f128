"""The tutorial's code runs as written and prints what the page says."""
import contextlib
import io
import pathlib
import re

import pytest

TUTORIAL = pathlib.Path(__file__).parent.parent / "docs" / "tutorial.md"
NOTEBOOK = TUTORIAL.with_suffix(".ipynb")


def test_the_notebook_is_the_tutorial_page():
    """docs/tutorial.ipynb holds the page's code blocks, in order, as its code cells."""
    import json
    import sys
    sys.path.insert(0, str(TUTORIAL.parent))
    from make_notebook import cells
    notebook = json.loads(NOTEBOOK.read_text())
    code = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code == [source for kind, source in cells(TUTORIAL.read_text()) if kind == "code"]
    assert len(code) >= 10
    assert all(cell.get("outputs", []) == [] for cell in notebook["cells"])          # committed clean


def test_the_tutorial_notebook_runs_and_prints_what_the_page_says(tmp_path):
    """Every code cell, executed in order by a Jupyter kernel (nbclient)."""
    import nbclient
    import nbformat
    notebook = nbformat.read(str(NOTEBOOK), as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for output in cell.outputs if output.output_type == "stream")
    for expected in ("23 unique words found", "(1, 2) (1, 1, 64)", "True True", "h0 3.9e-09 ok",
                     "['Wxh', 'Whh', 'bh', 'h0']", "1000 0.001 1.0", "{'negative': 0.001, 'positive': 0.999}",
                     "lstm test accuracy 1.0", "from tinyrnn.torch_model import TorchRNN"):
        assert expected in printed, expected
    vanilla = float(printed.split("rnn test accuracy ")[1].split()[0])
    assert vanilla <= 0.7                                   # the vanilla RNN cannot carry the first word
    assert printed.rstrip().endswith("True")                # ONNX runtime agrees with tinyrnn
    for name in ("why.png", "sentiment.safetensors", "sentiment.torch.safetensors", "sentiment.onnx"):
        assert (tmp_path / name).stat().st_size > 0


def test_model_format_reader_needs_only_safetensors_and_numpy(tmp_path, monkeypatch):
    """The page's reader, run on a saved model, agrees with tinyrnn's own prediction."""
    import numpy as np

    from conftest import small_model
    from tinyrnn.io import save_model
    from tinyrnn.vocab import Vocab

    monkeypatch.chdir(tmp_path)
    model = small_model(words=4, classes=2)
    model.vocab = Vocab(["<pad>", "<unk>", "i", "am", "not", "happy"])   # words of the page's sentence
    save_model(model, "model.safetensors")
    page = (TUTORIAL.parent / "model-format.md").read_text()
    code = re.findall(r"```python\n(.*?)```", page, re.S)[0]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, "model-format.md", "exec"), {})
    ids, _ = model.vocab.encode("i am not at all happy".split())
    expected = model.classes[int(np.argmax(model.predict_proba([ids])[0]))]
    assert output.getvalue().strip() == expected


def test_model_format_pytorch_loader_runs_a_gated_model(tmp_path, monkeypatch):
    """The page's PyTorch snippet loads a stacked bidirectional LSTM file; same logits."""
    torch = pytest.importorskip("torch")
    import numpy as np

    from tinyrnn.gradcheck import random_classifier
    from tinyrnn.io import save_model

    monkeypatch.chdir(tmp_path)
    model = random_classifier(np.random.default_rng(0), 5, 3, 2, cell="lstm", num_layers=2,
                              bidirectional=True, embed_size=4)
    save_model(model, "lstm.safetensors")
    page = (TUTORIAL.parent / "model-format.md").read_text()
    code = re.findall(r"```python\n(.*?)```", page, re.S)[1]
    namespace = {}
    exec(compile(code, "model-format.md", "exec"), namespace)
    net, ids = namespace["net"], np.array([[2, 3, 4, 6]])
    with torch.no_grad():
        _, (h_n, _) = net["rnn"](net["embedding"](torch.from_numpy(ids)))
        logits = net["fc"](torch.cat([h_n[-2], h_n[-1]], dim=1)).numpy()
    np.testing.assert_allclose(logits, model.forward(ids, None)[0], rtol=0, atol=1e-12)


def test_readme_library_snippet_runs(capsys, tmp_path, monkeypatch):
    """The README's library example runs: a two-layer bidirectional LSTM's loss, predictions
    and initial-state gradient of shape (layers * directions, batch, 2H); a classifier's
    training; a translator trained on pairs.tsv that translates a sentence it saw."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pairs.tsv").write_text("je suis fatigue .\ti m tired .\nil est grand .\the is tall .\n"
                                        "je suis grand .\ti m tall .\nil est fatigue .\the is tired .\n")
    readme = (TUTORIAL.parent.parent / "README.md").read_text()
    code = re.findall(r"## Using the library\n\n```python\n(.*?)```", readme, re.S)[0]
    exec(compile(code, "README.md", "exec"), {})
    step_line, train_line, translation_line = capsys.readouterr().out.splitlines()
    loss, rest = step_line.split(" ", 1)
    assert 0 < float(loss) < 5 and rest.strip().endswith("(4, 2, 64)")
    epoch, train_loss, test_accuracy = train_line.split()
    assert epoch == "20" and 0 < float(train_loss) < 1 and 0 <= float(test_accuracy) <= 1
    assert translation_line.startswith("i m tired . -") and translation_line.endswith("(5, 4)")


def test_every_test_named_in_the_reliability_document_exists():
    tests = pathlib.Path(__file__).parent
    text = (tests.parent / "docs" / "reliability.md").read_text()
    named = re.findall(r"`(test_\w+\.py)(?:::(test_\w+))?`", text)
    assert len(named) > 30
    for module, test in named:
        source = (tests / module).read_text()
        assert not test or f"def {test}(" in source, f"{module}::{test} is named but does not exist"


def test_the_scaling_pages_onnx_snippet_runs(tmp_path, monkeypatch, capsys):
    """docs/scaling.md's onnxruntime snippet, on a model exported as the page says."""
    pytest.importorskip("onnxruntime")
    from tinyrnn.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--preset", "fast", "--epochs", "20", "--out", "model.safetensors"]) == 0
    assert main(["export", "--model", "model.safetensors", "--format", "onnx", "--out", "model.onnx"]) == 0
    capsys.readouterr()
    page = (TUTORIAL.parent / "scaling.md").read_text()
    snippet = [block for block in re.findall(r"```python\n(.*?)```", page, re.S) if "onnxruntime" in block]
    assert len(snippet) == 1
    exec(compile(snippet[0], "scaling.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and printed[1].endswith("this movie was not bad!")   # "movie" is unknown: <unk>
    assert "'negative'" in printed[0] and "'positive'" in printed[0]
