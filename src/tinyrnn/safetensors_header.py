"""The one reader of a safetensors header, for model files, checkpoints, exports and imported
state_dicts alike. A safetensors file is 8 bytes little-endian header length N, N bytes of
JSON header ({name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}), then the
tensors' bytes (data_offsets count from the end of the header)."""
import json
import os
import struct

from .text_output import first_repeated

MAX_HEADER_BYTES = 64 << 20             # a 64 MB header: a vocabulary of millions of words


class HeaderError(ValueError):
    """Why bytes are not a safetensors header; the message names no file (callers add it)."""


def _no_key_twice(pairs):
    """A JSON object whose keys are all different (a key given twice: which one counts?)."""
    found = dict(pairs)
    if len(found) != len(pairs):
        twice = first_repeated(key for key, _ in pairs)
        raise HeaderError(f"header names {twice[:60]!r} twice")
    return found


def parse_header(data, file_size=None):
    """(header {name: entry, "__metadata__": ...}, N) of a safetensors file's bytes: data is the
    whole file, or at least its first 8 + N bytes when file_size gives the whole file's size.
    The header is checked to be a JSON object; its entries are the caller's to check."""
    file_size = len(data) if file_size is None else file_size
    if file_size < 8:
        raise HeaderError(f"{file_size} bytes: too short")
    (length,) = struct.unpack("<Q", data[:8])
    if length > file_size - 8 or length > MAX_HEADER_BYTES:
        if data[:8].isascii() and data[:8].decode().isprintable():     # its first 8 bytes are no length
            raise HeaderError("it looks like a text file")
        onnx = " (it looks like an ONNX file)" if data[:1] == b"\x08" and data[2:3] == b"\x12" else ""
        raise HeaderError(f"header length {length} does not fit a {file_size}-byte file{onnx}")
    try:
        header = json.loads(bytes(data[8:8 + length]).decode("utf-8"), object_pairs_hook=_no_key_twice)
    except RecursionError:
        raise HeaderError("header is not JSON (nested too deep)") from None
    except ValueError as error:                     # not UTF-8, not JSON, an integer of over 4,300 digits
        if isinstance(error, HeaderError):
            raise
        plain = isinstance(error, (UnicodeDecodeError, json.JSONDecodeError))
        raise HeaderError("header is not JSON" + ("" if plain else " (a number too long to read)")) from None
    if not isinstance(header, dict):
        raise HeaderError("header is not a JSON object")
    return header, length


def read_header(stream):
    """parse_header of an open binary file, reading only its first 8 + N bytes."""
    file_size = os.fstat(stream.fileno()).st_size
    start = stream.read(8)
    if len(start) == 8 and struct.unpack("<Q", start)[0] <= min(file_size - 8, MAX_HEADER_BYTES):
        start += stream.read(struct.unpack("<Q", start)[0])
    return parse_header(start, file_size)


def declared_data_bytes(header):
    """The bytes of tensor data a header declares: the largest end of its entries' data_offsets
    (None if an entry has no well-formed offsets; the caller's checks name it)."""
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(v) is int and v >= 0 for v in offsets)):
            return None
        end = max(end, offsets[1])
    return end


def read_checked(stream, size_error):
    """(header, N, the whole file's bytes) of an open regular safetensors file, reading its
    header first and the rest only when the file's size is what the header declares (so a
    real header followed by gigabytes of anything is refused after reading the header):
    raises HeaderError, or size_error(file bytes, declared bytes) for a size that differs."""
    header, length = read_header(stream)
    file_size = os.fstat(stream.fileno()).st_size
    declared = declared_data_bytes(header)
    if declared is None:
        raise HeaderError("a tensor entry has no valid data_offsets")
    if 8 + length + declared != file_size:
        raise size_error(file_size, 8 + length + declared)
    stream.seek(0)
    raw = stream.read(file_size + 1)
    if len(raw) != file_size:
        raise HeaderError(f"the file changed size while it was read ({file_size} then {len(raw)} bytes)")
    return header, length, raw


def metadata_task(header):
    """The task named by a parsed header's config metadata (None when there is none)."""
    metadata = header.get("__metadata__")
    text = metadata.get("config") if isinstance(metadata, dict) else None
    try:
        config = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        return None
    task = config.get("task") if isinstance(config, dict) else None
    return task if isinstance(task, str) else None


def metadata_format(header):
    """The "format" metadata of a parsed header ("" when there is none)."""
    metadata = header.get("__metadata__")
    return str(metadata.get("format", "")) if isinstance(metadata, dict) else ""
