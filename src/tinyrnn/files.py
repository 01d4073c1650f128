"""What tinyrnn writes, and the rules that keep it from destroying what the user owns.

- An output path may replace only a missing file, an empty one, or a tinyrnn file of the
  same kind (a model, a JSON log), unless forced; never an input of the same run and never
  another output of it (forcing or not).
- Files are written atomically: a temporary file in the same folder (named after the
  target and the writing process), fsync, rename. A temporary file is removed on every
  exit Python sees; one left by a killed process is removed by the next save to the same
  target.
- A run holds a lock on its output, so two runs cannot write the same file; the lock is
  the kernel's (flock), so a killed run never leaves it stuck.
"""
import contextlib
import fcntl
import glob
import json
import os
import secrets
import signal

from .errors import TinyRNNError
from .safetensors_header import HeaderError, metadata_format, read_header

KINDS = {"model": "a tinyrnn model", "log": "a tinyrnn JSON log", "checkpoint": "a tinyrnn checkpoint",
         "png": "a PNG picture written by tinyrnn", "html": "a page written by tinyrnn",
         "torch": "a tinyrnn PyTorch export", "onnx": "an ONNX file written by tinyrnn"}
EXTENSIONS = {"png": (".png",), "html": (".html", ".htm"), "onnx": (".onnx",),   # what its files are called
              "torch": (".safetensors",)}
_WRITES = {"png": "a PNG picture", "html": "an HTML page", "onnx": "an ONNX file", "torch": "a safetensors file"}
_SIGNATURES = {                          # does the start of a file (64 KB) show that tinyrnn wrote it?
    "png": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n") and b"Software\x00tinyrnn" in head,   # tEXt
    "html": lambda head: head.startswith(b"<!DOCTYPE html>") and b'<meta name="generator" content="tinyrnn">' in head,
    "onnx": lambda head: head[:1] == b"\x08" and head[2:11] == b"\x12\x07tinyrnn",   # ir_version, producer_name
}
_LOG_KEYS = ("epoch", "step", "fold", "folds")


def check_outputs(outputs, inputs, force=False):
    """Refuse, before any work, outputs that cannot or must not be written.

    outputs: {option: (path or None, kind)}, kind in KINDS or "folder" (a checkpoint folder:
    only checked against the other paths); inputs: [(option, path)]. The one input an
    output may name is --init-from, as --out (the same model, continued). Raises
    TinyRNNError naming the option and the path."""
    given = {option: (path, kind) for option, (path, kind) in outputs.items() if path}
    seen = {}
    for option, (path, kind) in given.items():
        for input_option, input_path in inputs:
            if _same_file(path, input_path) and (option, input_option) != ("--out", "--init-from"):
                raise TinyRNNError(f"{option} {path} is the {input_option} input of this run; "
                                   f"choose another {option}")
        for other, other_path in seen.items():
            if _same_file(path, other_path):
                raise TinyRNNError(f"{option} and {other} both name {path}; give each its own path")
        seen[option] = path
        if kind == "folder":
            continue
        if kind in EXTENSIONS and not path.lower().endswith(EXTENSIONS[kind]):
            raise TinyRNNError(f"{option} {path}: what is written here is {_WRITES[kind]}; give it a name "
                               f"ending {' or '.join(EXTENSIONS[kind])}")
        _check_folder(option, path)
        if os.path.exists(path) and not os.path.isfile(path):
            raise TinyRNNError(f"{option} {path} exists and is not a regular file; tinyrnn writes "
                               f"only regular files")
        if os.path.exists(path) and not force and not _replaceable(path, kind):
            raise TinyRNNError(f"{option} {path} exists and is not {KINDS[kind]}", remedy="force")


def _check_folder(option, path):
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise TinyRNNError(f"{option} {path} is a folder, not a file")
    if not os.path.isdir(folder):
        raise TinyRNNError(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise TinyRNNError(f"{option} {path}: folder {folder} is not writable")


def _same_file(a, b):
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def _replaceable(path, kind):
    """A regular file that is empty or a tinyrnn file of this kind."""
    return os.path.isfile(path) and (os.path.getsize(path) == 0 or is_tinyrnn_file(path, kind))


def is_tinyrnn_file(path, kind):
    """Is path a tinyrnn file of this kind (KINDS)? Reads a safetensors header or a log's
    first line."""
    try:
        with open(path, "rb") as stream:
            if kind in ("model", "checkpoint", "torch"):
                prefix = {"model": "tinyrnn/", "checkpoint": "tinyrnn-checkpoint/", "torch": "tinyrnn-torch/"}[kind]
                return metadata_format(read_header(stream)[0]).startswith(prefix)
            if kind in _SIGNATURES:
                return _SIGNATURES[kind](stream.read(1 << 16))
            first = stream.readline(1 << 20)
    except (OSError, HeaderError):
        return False
    try:
        record = json.loads(first)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    return isinstance(record, dict) and any(key in record for key in _LOG_KEYS)


def atomic_write_bytes(path, data):
    """Write to a temporary file in the same folder, fsync, then rename over path: a crash
    at any point leaves either the old file or the new one, never a torn one."""
    folder, name = os.path.split(os.path.abspath(path))
    temporary = None
    try:
        remove_stale_temporaries(path)
        while True:                                     # named before it exists: always cleaned up
            temporary = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            try:
                handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)   # less the umask
                break
            except FileExistsError:
                continue
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        with _signals_held():                           # recorded and renamed together
            written.append(path)
            try:
                os.replace(temporary, path)
            except OSError:
                written.pop()                           # not saved after all
                raise
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException as error:                      # e.g. the folder is gone, or SIGTERM
        if temporary is not None and os.path.exists(temporary):      # not renamed: not saved
            os.unlink(temporary)
        if isinstance(error, OSError):                  # e.g. a full disk: name the file
            raise OSError(error.errno, error.strerror, path) from None
        raise


@contextlib.contextmanager
def _signals_held():
    """Ctrl-C and SIGTERM wait (in this thread) until the block is done."""
    stopping = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


written = []        # every path this process has saved, in order (for "what was saved" messages)


def remove_stale_temporaries(path):
    """Remove temporary files for path left by processes that no longer run."""
    folder, name = os.path.split(os.path.abspath(path))
    for temporary in glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.*.tmp")):
        pid = os.path.basename(temporary)[len(name) + 2:].split(".", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            try:
                os.unlink(temporary)
            except FileNotFoundError:                   # another process cleaned it first
                pass


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:                             # alive, owned by someone else
        return True
    return True


class OutputLock:
    """An exclusive lock on an output path for the length of a run (a hidden .lock file
    beside it, held with flock). A second run on the same output is refused at once."""

    def __init__(self, path, option, lock_path=None):
        folder, name = os.path.split(os.path.abspath(path))
        self.lock_path = lock_path or os.path.join(folder, f".{name}.lock")
        self.path, self.option, self.handle = path, option, None

    def __enter__(self):
        while True:
            try:
                handle = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as error:
                raise TinyRNNError(f"{self.option} {self.path}: cannot write there ({error.strerror})") from None
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                raise TinyRNNError(f"{self.option} {self.path} is in use by another tinyrnn run "
                                   f"(lock {self.lock_path})") from None
            try:                                        # the holder before us may have removed it
                same = os.path.samestat(os.fstat(handle), os.stat(self.lock_path))
            except FileNotFoundError:
                same = False
            if same:
                self.handle = handle
                return self
            os.close(handle)

    def __exit__(self, *exc):
        try:
            os.unlink(self.lock_path)                   # still holding it: nobody else has it
        except FileNotFoundError:
            pass
        os.close(self.handle)
