import numpy as np
import pytest

from tinyrnn.gradcheck import random_classifier


def small_model(seed=0, words=6, hidden=5, classes=3, scale=0.5, dtype="float64"):
    """A classifier with random weights and biases large enough to give real gradients."""
    return random_classifier(np.random.default_rng(seed), words, hidden, classes, scale, dtype)


@pytest.fixture(autouse=True)
def numpy_engine(monkeypatch):
    """Tests run the NumPy engine, the reference, for subprocesses too; tests/test_compiled.py
    holds the compiled engine equal to it."""
    monkeypatch.setenv("TINYRNN_ENGINE", "numpy")


@pytest.fixture
def write(tmp_path):
    """write(name, content) -> path of a file in a temporary folder (str: utf-8, bytes: raw)."""
    def make(name, content):
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return str(path)
    return make


def environment_without(tmp_path, package):
    """os.environ for a subprocess in which `import package` fails, as on a machine without it:
    a package of that name that raises ImportError comes first on PYTHONPATH."""
    import os
    fake = tmp_path / "without" / package
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"raise ImportError('No module named {package}')\n")
    return {**os.environ, "PYTHONPATH": str(tmp_path / "without")}
