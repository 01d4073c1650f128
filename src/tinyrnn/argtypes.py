"""Argument types for the command line: each parses one option value or raises
argparse.ArgumentTypeError with a message that says what was expected."""
import argparse
import codecs
import math

from .commands.presets import OFF
from .data.numeric_set import plain, plain_float


def integer(low, high=None):
    def parse(text):
        try:
            if not plain(text):
                raise ValueError
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high:,}, got {value}")
        return value
    return parse


def number(text):
    """Any float, or a message that a number was expected."""
    try:
        return plain_float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def positive_float(text):
    value = number(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def finite_float(text):
    value = number(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def positive_float_or_none(text):
    return OFF if text.lower() == OFF else positive_float(text)


def fraction_or_zero(text):
    return 0.0 if text.strip() in ("0", "0.0") else fraction(text)


def non_negative_float(text):
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def fraction_below_one(text):
    value = finite_float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {text}")
    return value


def average_decay_or_none(text):
    """--ema: a decay in (0, 1), or none."""
    if text.lower() == OFF:
        return OFF
    value = finite_float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be above 0 and below 1 (such as 0.999), or none, got {text}")
    return value


def fraction(text):
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def checkpoint_interval(text):
    """--checkpoint-every: N (epochs or steps) -> (N, None); Nm (minutes) -> (None, N)."""
    if text.endswith("m"):
        return None, positive_float(text[:-1])
    try:
        int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N (epochs, or steps for a language model) or Nm (minutes), "
                                         f"got {text!r}") from None
    return integer(1)(text), None


def text_encoding(text):
    """--encoding: the name of a codec that turns bytes into text (utf-8, latin-1, cp1252, ...);
    rot13, hex, base64 and the other codecs of bytes to bytes or str to str are refused."""
    try:
        codec = codecs.lookup(text)
    except LookupError:
        raise argparse.ArgumentTypeError(f"unknown encoding {text!r}") from None
    if not getattr(codec, "_is_text_encoding", True):
        raise argparse.ArgumentTypeError(f"{text!r} is not a text encoding (it does not turn bytes into text); "
                                         f"use one such as utf-8 or latin-1")
    return text


# Sizes beyond these cannot be meant on one machine: refused when the options are read,
# before anything is allocated (a hidden size of 20,000 is 15 GB of GRU weights and moments).
MAX_WIDTH = 8192                 # --hidden, --embed
MAX_LAYERS = 64                  # --layers
MAX_BEAM = 100                   # --beam
MAX_OUTPUT_TOKENS = 10_000       # translate --max-length
MAX_STEPS_AHEAD = 10_000         # --horizon
MAX_SEED = 2**64 - 1             # --seed: the seeds NumPy's generators are documented for (uint64)
