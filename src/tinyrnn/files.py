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
import stat

from .errors import TinyRNNError
from .safetensors_header import HeaderError, metadata_format, metadata_task, read_header

KINDS = {"model": "a tinyrnn model", "log": "a tinyrnn JSON log", "checkpoint": "a tinyrnn checkpoint",
         "png": "a PNG picture written by tinyrnn", "html": "a page written by tinyrnn",
         "torch": "a tinyrnn PyTorch export", "onnx": "an ONNX file written by tinyrnn"}
EXTENSIONS = {"png": (".png",), "html": (".html", ".htm"), "onnx": (".onnx",),   # what its files are called
              "torch": (".safetensors",)}
_WRITES = {"png": "a PNG picture", "html": "an HTML page", "onnx": "an ONNX file", "torch": "a safetensors file"}
_SIGNATURES = {                          # does the start of a file (64 KB) show that tinyrnn wrote it?
    "png": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n") and _png_software(head) == b"tinyrnn",
    "html": lambda head: head.startswith(b"<!DOCTYPE html>") and b'<meta name="generator" content="tinyrnn">' in
    [line.strip() for line in head.split(b"\n")[:10]],            # a line of its own, at the top, as written
    "onnx": lambda head: head[:1] == b"\x08" and head[2:11] == b"\x12\x07tinyrnn",   # ir_version, producer_name
}


def _png_software(head):
    """The value of a PNG's tEXt chunk "Software" among its first chunks (head: the file's
    start), or None: each chunk is length (4 bytes, big-endian), type, data, CRC."""
    at = 8
    while at + 8 <= len(head):
        length, kind = int.from_bytes(head[at:at + 4], "big"), head[at + 4:at + 8]
        data = head[at + 8:at + 8 + length]
        if kind == b"tEXt" and data.split(b"\x00", 1)[0] == b"Software":
            return data.split(b"\x00", 1)[1] if b"\x00" in data else None
        if kind in (b"IDAT", b"IEND"):
            return None
        at += 12 + length
    return None


LOG_MARK = "\t"            # ends every line of a tinyrnn JSON log: invisible to JSON readers, written by no one else
_TASK_NAMES = {"classify": "classifier", "lm": "language model", "seq2seq": "translator", "regress": "regressor",
               "forecast": "forecaster"}


class DuplicateKey(Exception):
    """A JSON object names a key twice (which value was meant?); args[0] is the key."""


def object_once(pairs):
    """json's object_pairs_hook: a JSON object's dict, refusing a key given twice."""
    found = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKey(key)
        found[key] = value
    return found


def load_json(text, what, error=TinyRNNError):
    """json.loads(text), any failure one error(f"{what}: ...") of ours: not JSON, not UTF-8, nested
    too deep, an integer of more digits than Python turns into an int (4,300), a key given twice."""
    try:
        return json.loads(text, object_pairs_hook=object_once)
    except DuplicateKey as twice:
        raise error(f"{what}: names {str(twice.args[0])[:40]!r} twice") from None
    except RecursionError:
        raise error(f"{what}: nested too deep to read as JSON") from None
    except (ValueError, TypeError) as failure:      # JSONDecodeError and UnicodeDecodeError are ValueErrors
        if not isinstance(failure, (json.JSONDecodeError, UnicodeDecodeError, TypeError)):
            raise error(f"{what}: a number too long to read (over 4,300 digits)") from None
        raise error(f"{what}: not JSON ({str(failure)[:80]})") from None


KERNEL_FILE = "a file of the kernel's (/proc, /sys), whose reads may never end; copy what you need into a file"


def kernel_file(path):
    """Is path under /proc or /sys? Such files say they are regular, but a read may block forever."""
    return os.path.realpath(path).startswith(("/proc/", "/sys/"))


def open_regular(path, what, error=TinyRNNError):
    """path opened for reading in binary, refused (one error of ours) unless it is a regular
    file: a FIFO, a device such as /dev/zero or a folder is refused without blocking on it."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)   # a FIFO with no writer: no wait
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except OSError as failure:
        raise error(f"{path}: cannot read the {what} ({failure.strerror})") from None
    mode = os.fstat(handle).st_mode
    if not stat.S_ISREG(mode):
        os.close(handle)
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else \
            "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket or other special file"
        raise error(f"{path}: {kind}, not a regular file; tinyrnn reads a {what} only from a regular file")
    if kernel_file(path):
        os.close(handle)
        raise error(f"{path}: {KERNEL_FILE}")
    os.set_blocking(handle, True)
    return os.fdopen(handle, "rb")


def read_regular(path, what, limit, error=TinyRNNError):
    """The bytes of a regular file (open_regular) of at most limit bytes; a larger one is refused
    after reading no more than limit + 1 bytes."""
    with open_regular(path, what, error) as stream:
        size = os.fstat(stream.fileno()).st_size
        data = stream.read(limit + 1) if size <= limit else b""
    if size > limit or len(data) > limit:
        raise error(f"{path}: {max(size, len(data)):,} bytes, over the limit of {limit:,} for a {what}")
    return data


def check_outputs(outputs, inputs, force=False):
    """Refuse, before any work, outputs that cannot or must not be written.

    outputs: {option: (path or None, kind)}, kind in KINDS, "model:TASK" (a model of that task:
    a tinyrnn model of another task is not replaced unless forced either) or "folder" (a
    checkpoint folder: only checked against the other paths); inputs: [(option, path)]. The one input an
    output may name is --init-from, as --out (the same model, continued). Raises
    TinyRNNError naming the option and the path."""
    for option, (path, kind) in outputs.items():
        if path is not None and not path.strip():
            raise TinyRNNError(f"{option} is empty; give it a {'folder' if kind == 'folder' else 'file'} name")
        if path and kind != "folder" and path.endswith((os.sep, "/")):
            raise TinyRNNError(f"{option} {path} names a folder; give the name of the file to write")
    given = {option: (path, kind) for option, (path, kind) in outputs.items() if path}
    folders = {option: os.path.realpath(path) for option, (path, kind) in given.items() if kind == "folder"}
    for option, (path, kind) in given.items():
        for folder_option, folder in folders.items():
            if kind != "folder" and os.path.dirname(os.path.realpath(path)) == folder:
                raise TinyRNNError(f"{option} {path} is inside {folder_option} {outputs[folder_option][0]}, which "
                                   f"holds the run's checkpoints only (older ones are deleted); choose "
                                   f"another folder for it")
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
        kind, _, task = kind.partition(":")
        if kind in EXTENSIONS and not path.lower().endswith(EXTENSIONS[kind]):
            raise TinyRNNError(f"{option} {path}: what is written here is {_WRITES[kind]}; give it a name "
                               f"ending {' or '.join(EXTENSIONS[kind])}")
        _check_folder(option, path)
        if os.path.islink(path):                    # writing replaces the link, not what it names
            raise TinyRNNError(f"{option} {path} is a symbolic link; give the path of the file itself")
        if os.path.exists(path) and not os.path.isfile(path):
            raise TinyRNNError(f"{option} {path} exists and is not a regular file; tinyrnn writes "
                               f"only regular files")
        if os.path.isfile(path) and os.stat(path).st_nlink > 1 and not force:   # a new file is renamed over
            raise TinyRNNError(f"{option} {path} has other names (hard links), which would keep the old file",
                               remedy="force")
        if os.path.exists(path) and not force and not _replaceable(path, kind):
            raise TinyRNNError(f"{option} {path} exists and is not {KINDS[kind]}", remedy="force")
        if task and os.path.exists(path) and not force and os.path.getsize(path) > 0:
            _check_same_task(option, path, task)


def _check_same_task(option, path, task):
    """A tinyrnn model at path is replaced only by a model of the same task."""
    try:
        with open_regular(path, "model file") as stream:
            saved = metadata_task(read_header(stream)[0])
    except (TinyRNNError, HeaderError):
        saved = None
    if saved != task:
        found = f"a {_TASK_NAMES.get(saved, 'model')} (task {saved})" if saved else "a model of no known task"
        raise TinyRNNError(f"{option} {path} is {found}; this run writes a {_TASK_NAMES.get(task, task)} "
                           f"(task {task})", remedy="force")


SHAPE = ("cell", "hidden_size", "num_layers", "bidirectional", "nonlinearity", "input", "embed_size", "pool",
         "tokenizer", "features", "attention", "attention_size", "horizon", "window")   # what makes two models alike
_SHAPE_NAMES = {"hidden_size": "hidden", "num_layers": "layers", "embed_size": "embed", "attention_size": "attention size"}


def check_same_architecture(option, path, config, force=False):
    """A tinyrnn model at path (checked by check_outputs to be of config's task) is replaced
    only by a model of the same architecture (SHAPE: cell, sizes, layers, input, pooling,
    tokenizer), unless forced: a run with other settings would silently lose it. config: the
    ModelConfig of the model the run is about to train."""
    if force or not path or not os.path.isfile(path) or os.path.getsize(path) == 0:
        return
    try:
        with open_regular(path, "model file") as stream:
            metadata = read_header(stream)[0].get("__metadata__") or {}
        saved = load_json(metadata.get("config", "null"), path)
    except (TinyRNNError, HeaderError, AttributeError):
        return                                   # check_outputs has judged what the file is
    if not isinstance(saved, dict):
        return
    made = config.to_json()
    differ = [key for key in SHAPE if saved.get(key) != made.get(key) and (key in saved or key in made)]
    if differ:
        def settings(values):
            return ", ".join(f"{_SHAPE_NAMES.get(key, key)} {_setting(values.get(key))}" for key in differ)
        raise TinyRNNError(f"{option} {path} is a {_TASK_NAMES.get(config.task, 'model')} of another "
                           f"architecture ({settings(saved)}); this run trains {settings(made)}", remedy="force")


def _setting(value):
    if isinstance(value, dict):                  # a tokenizer's config
        value = value.get("kind")
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)[:40]


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
    """Is path a tinyrnn file of this kind (KINDS)? Reads a safetensors header (its format
    metadata), the start of a PNG, page or ONNX file (the producer tinyrnn writes into it), or
    a log's lines (the first a JSON object written as tinyrnn writes it, every whole one ending
    with LOG_MARK; a last line without its newline, cut by a crash, does not count).
    Only a regular file can be one."""
    try:
        with open_regular(path, KINDS.get(kind, "file")) as stream:
            if kind in ("model", "checkpoint", "torch"):
                prefix = {"model": "tinyrnn/", "checkpoint": "tinyrnn-checkpoint/", "torch": "tinyrnn-torch/"}[kind]
                return metadata_format(read_header(stream)[0]).startswith(prefix)
            if kind in _SIGNATURES:
                return _SIGNATURES[kind](stream.read(1 << 16))
            if not is_log_line(stream.readline(1 << 20)):
                return False
            mark = (LOG_MARK + "\n").encode()                # every whole line; a last one cut by a crash
            return all(line.endswith(mark) or not line.endswith(b"\n")  # (no newline) is still the log's
                       for line in iter(lambda: stream.readline(1 << 20), b""))
    except (OSError, HeaderError, TinyRNNError):
        return False


def is_log_line(raw):
    """Is raw (bytes) a line of a tinyrnn JSON log: exactly log_line() of a JSON object?"""
    try:
        record = load_json(raw, "log")
    except TinyRNNError:
        return False
    return isinstance(record, dict) and raw == log_line(record)


def log_line(record):
    """A JSON log's line for record (a dict): its JSON, LOG_MARK, a newline, as UTF-8 bytes."""
    return (json.dumps(record) + LOG_MARK + "\n").encode("utf-8")


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
        if pid.isascii() and pid.isdigit() and not _running(int(pid)):
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
