"""The one reader of a safetensors header, for model files, checkpoints, exports and imported
state_dicts alike. A safetensors file is 8 bytes little-endian header length N, N bytes of
JSON header ({name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}), then the
tensors' bytes (data_offsets count from the end of the header)."""
import json
import os
import struct

MAX_HEADER_BYTES = 64 << 20             # a 64 MB header: a vocabulary of millions of words


class HeaderError(ValueError):
    """Why bytes are not a safetensors header; the message names no file (callers add it)."""


def parse_header(data, file_size=None):
    """(header {name: entry, "__metadata__": ...}, N) of a safetensors file's bytes: data is the
    whole file, or at least its first 8 + N bytes when file_size gives the whole file's size.
    The header is checked to be a JSON object; its entries are the caller's to check."""
    file_size = len(data) if file_size is None else file_size
    if file_size < 8:
        raise HeaderError(f"{file_size} bytes: too short")
    (length,) = struct.unpack("<Q", data[:8])
    if length > file_size - 8 or length > MAX_HEADER_BYTES:
        text = " (it looks like a text file)" if data[:8].isascii() and data[:8].decode().isprintable() else ""
        raise HeaderError(f"header length {length} does not fit a {file_size}-byte file{text}")
    try:
        header = json.loads(bytes(data[8:8 + length]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise HeaderError("header is not JSON") from None
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


def metadata_format(header):
    """The "format" metadata of a parsed header ("" when there is none)."""
    metadata = header.get("__metadata__")
    return str(metadata.get("format", "")) if isinstance(metadata, dict) else ""
