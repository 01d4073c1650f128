"""The library states facts; the command line words what would help with its flags."""
import ast
import pathlib
import re

import numpy as np
import pytest

import tinyrnn
from tinyrnn.commands import remedies
from tinyrnn.errors import DivergenceError, TinyRNNError
from tinyrnn.tasks import LabelledSequences, train
from tinyrnn.training import TrainConfig
from conftest import small_model

PACKAGE = pathlib.Path(tinyrnn.__file__).parent
COMMAND_LINE = {"cli.py", "options.py", "train_options.py", "argtypes.py", "server.py"}   # and commands/
FLAG = re.compile(r"(^|[\s(])--[a-z]")


def library_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name not in COMMAND_LINE and "commands" not in path.relative_to(PACKAGE).parts:
            yield path


def raised_messages(path):
    """(line, text) of the string parts of every exception raised in the module."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            for part in ast.walk(node.exc.args[0]):
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    yield node.lineno, part.value


def test_no_library_error_names_a_command_line_flag():
    flagged = [f"{path.relative_to(PACKAGE)}:{line}: {text!r}" for path in library_modules()
               for line, text in raised_messages(path) if FLAG.search(text)]
    assert not flagged, flagged


def test_every_remedy_the_library_names_has_command_line_words():
    named = {keyword.value.value for path in library_modules()
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Call)
             for keyword in node.keywords if keyword.arg == "remedy" and isinstance(keyword.value, ast.Constant)}
    assert named >= {"divergence", "encoding", "format"}                       # the scan finds them
    assert named <= set(remedies._SUFFIXES) | set(remedies._PREFIXES)


@pytest.mark.parametrize("remedy,expected", [
    (None, "x.csv: bad"), ("encoding", "x.csv: bad; try --encoding latin-1"),
    ("checkpoint folder", "--checkpoint-dir x.csv: bad"), ("no such remedy", "x.csv: bad")])
def test_worded_adds_the_flags_of_a_remedy(remedy, expected):
    assert remedies.worded(TinyRNNError("x.csv: bad", remedy=remedy)) == expected


def test_divergence_in_the_library_is_facts_and_a_remedy():
    data = LabelledSequences([np.array([2, 3]), np.array([4, 5, 6])], np.array([0, 1]))
    with pytest.raises(DivergenceError) as raised:
        train(small_model(), data, TrainConfig(epochs=5, lr=1e9, clip_value=None), np.random.default_rng(0))
    assert raised.value.remedy == "divergence" and "--" not in str(raised.value)
    assert remedies.worded(raised.value).endswith("; try a smaller learning rate, --clip-norm or --clip-value")
