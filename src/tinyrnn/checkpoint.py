"""Checkpoints: all a run needs to continue exactly where it stopped, in one safetensors
file (tensors and JSON metadata; no pickle), kept in a folder that holds the last two.

A checkpoint is a model file (same tensors, config, vocabulary, classes, checksum) of
format "tinyrnn-checkpoint/1" with more tensors:

    optimizer.<buffer>   the optimizer's state buffers (Adam's first and second moments,
                         the weight average of --ema, ...)
    best.weights         the flat weights of the best validation epoch so far (--keep-best)
    carry.state          a language model's state carried into the next chunk

and the metadata "run": JSON with what was trained how (recipe, seed, data fingerprint), where
training stands (epoch, position, counters, history) and the random generators' states,
with its own SHA-256 ("run_checksum") beside the tensors' one.
"""
import hashlib
import json
import os
import re

import numpy as np

from .errors import ModelFileError, TinyRNNError
from .files import is_tinyrnn_file, load_json, remove_stale_temporaries
from .io import read_tinyrnn_file, save_tinyrnn_file

FORMAT = "tinyrnn-checkpoint/1"
KEEP = 2
CHECKPOINT_NAME = _NAME = re.compile(r"^checkpoint-(\d{8,})\.safetensors$")   # 8 digits, more past 99999999
_PREFIXES = ("optimizer.", "best.", "carry.")


def fingerprint(*arrays):
    """SHA-256 over arrays (their dtype, shape and bytes): the identity of the data a run reads."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def _digest(text):
    return "sha256:" + hashlib.sha256(str(text).encode("utf-8")).hexdigest()


def rng_state(rng):
    """A numpy Generator's state as JSON-ready data."""
    return rng.bit_generator.state


def restore_rng(state, where):
    """A numpy Generator continuing from rng_state(); ModelFileError if state is not one."""
    rng = np.random.Generator(np.random.PCG64())
    numbers = state.get("state") if isinstance(state, dict) else None
    if not (isinstance(numbers, dict) and all(type(numbers.get(key)) is int for key in ("state", "inc"))
            and all(type(state.get(key)) is int for key in ("has_uint32", "uinteger")) and state["has_uint32"] in (0, 1)):
        raise ModelFileError(f"{where}: a random generator state is malformed (its numbers are not whole numbers)")
    try:
        rng.bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as error:   # a number beyond 64 or 128 bits
        raise ModelFileError(f"{where}: a random generator state is malformed ({error})") from None
    return rng


class CheckpointFolder:
    """checkpoint-00000001.safetensors, ... in one folder (numbers of at least 8 digits, ordered
    as numbers: checkpoint-100000000 follows checkpoint-99999999); saving keeps the newest KEEP."""

    def __init__(self, folder):
        self.folder = folder

    def check(self):
        """The folder can be made (at the first save) or written."""
        if os.path.exists(self.folder) and not os.path.isdir(self.folder):
            raise TinyRNNError(f"{self.folder} is a file, not a folder", remedy="checkpoint folder")
        parent = os.path.dirname(os.path.abspath(self.folder))
        if not os.path.isdir(parent):
            raise TinyRNNError(f"{self.folder}: folder {parent} does not exist", remedy="checkpoint folder")
        if not os.access(self.folder if os.path.isdir(self.folder) else parent, os.W_OK):
            raise TinyRNNError(f"{self.folder} is not writable", remedy="checkpoint folder")

    def paths(self):
        """Checkpoint files, oldest first."""
        if not os.path.isdir(self.folder):
            return []
        names = sorted((name for name in os.listdir(self.folder) if _NAME.match(name)),
                       key=lambda name: (int(_NAME.match(name).group(1)), name))
        return [os.path.join(self.folder, name) for name in names]

    def save(self, model, tensors, run):
        """Write the next checkpoint, then remove all but the newest KEEP. Returns its path."""
        os.makedirs(self.folder, exist_ok=True)
        paths = self.paths()
        number = int(_NAME.match(os.path.basename(paths[-1])).group(1)) + 1 if paths else 1
        path = os.path.join(self.folder, f"checkpoint-{number:08d}.safetensors")
        text = json.dumps(run)
        save_tinyrnn_file(path, model, FORMAT, tensors, {"run": text, "run_checksum": _digest(text)})
        self.remove_all(keep_newest=KEEP)
        return path

    def remove_all(self, keep_newest=0):
        """Remove the checkpoints but the newest keep_newest (files of tinyrnn's only)."""
        paths = self.paths()
        for old in paths[:max(0, len(paths) - keep_newest)]:
            remove_stale_temporaries(old)
            if is_tinyrnn_file(old, "checkpoint"):       # never a file of someone else's
                os.unlink(old)

    def latest(self, warn):
        """(path, model, tensors, run) of the newest readable checkpoint, or None if there is
        none; a damaged one is skipped with warn(message) for the one before it."""
        paths = self.paths()
        for path in reversed(paths):
            try:
                model, tensors, _, run = read_checkpoint(path)
                return path, model, tensors, run
            except ModelFileError as error:
                warn(f"warning: skipping a damaged checkpoint: {error}")
        if paths:
            raise TinyRNNError(f"{self.folder}: no readable checkpoint ({len(paths)} damaged)",
                               remedy="checkpoint folder")
        return None


def read_checkpoint(path):
    """(model, {name: extra tensor}, metadata, run record) of a checkpoint file, every part
    checked (a ModelFileError says what is wrong)."""
    model, tensors, metadata = read_tinyrnn_file(path, FORMAT, _PREFIXES)
    if metadata.get("run_checksum") != _digest(metadata.get("run", "")):
        raise ModelFileError(f"{path}: the run metadata does not match its checksum")
    run = load_json(metadata.get("run"), f"{path}: run metadata", ModelFileError)
    if not isinstance(run, dict):
        raise ModelFileError(f"{path}: run metadata is not a JSON object")
    return model, tensors, metadata, run
