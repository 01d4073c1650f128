"""User text as a safe piece of a line of output: whatever a text, label or class name holds,
printing it can neither break the line's format (a TAB in predict's TSV, a newline in a
table) nor reach the terminal as a command (an escape sequence), nor fail to encode (a lone
surrogate: JSON's "\\ud800", or a byte that was not UTF-8 in an argument or on stdin)."""
import sys
import unicodedata

from .errors import TinyRNNError

# Format characters that reorder what a terminal shows (bidirectional embeddings, overrides,
# isolates and marks): printed, they can make a line read as something else. And those that
# show nothing and join nothing (a byte-order mark, a zero-width space or word joiner):
# printed, two different texts would look the same.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                           "\ufeff\u200b\u2060")
_ESCAPED_CATEGORIES = ("Cc", "Cs", "Zl", "Zp")   # controls, surrogates, line and paragraph separators


# Characters that show nothing of their own (Unicode's default-ignorable code points that are
# not format characters, Cf: fillers, variation selectors, a grapheme joiner; and the blank
# Braille pattern): in a name, two names could print alike.
_BLANK_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2800, 0x2800),
                 (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF))


def first_invisible(text):
    """The first character of text that shows nothing (a format character, Cf, a filler or a
    variation selector), or None."""
    if text.isascii():
        return None
    return next((c for c in text if unicodedata.category(c) == "Cf"
                 or any(low <= ord(c) <= high for low, high in _BLANK_RANGES)), None)


def odd_name(name):
    """Does a name (a class, a column) hold a character that printable() must escape, or one
    that shows nothing (a format character, Cf, a filler or a variation selector), so that two
    names could print alike?"""
    return printable(name) != name or first_invisible(name) is not None


def first_repeated(names):
    """The first name given a second time in names (None: all different), in one pass: a
    file's header may hold hundreds of thousands of names."""
    seen = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def first_alike(names):
    """(earlier, later): the first two different names that are one text under Unicode's
    compatibility normalisation (NFKC: "\u00e9" and "e\u0301", "\ufb01" and "fi"), which
    print alike; None if there are none."""
    seen = {}
    for name in names:
        key = name if name.isascii() else unicodedata.normalize("NFKC", name)
        if seen.setdefault(key, name) != name:
            return seen[key], name
    return None


def printable(text):
    """text with each control character, lone surrogate, line or paragraph separator and
    bidirectional control written as Python writes it in a repr: "\\t", "\\n", "\\x1b",
    "\\u2028", "\\ud800"; a byte that was not valid UTF-8 (decoded by Python as a surrogate
    U+DC80..U+DCFF) as "\\xff". Anything else (letters of every script, emoji, a backslash)
    is kept as it is; --json output gives a text exactly."""
    if text.isprintable():
        return text
    return "".join(_escaped(c) if _needs_escape(c) else c for c in text)


def _needs_escape(character):
    return character in _BIDI_CONTROLS or unicodedata.category(character) in _ESCAPED_CATEGORIES


def _escaped(character):
    code = ord(character)
    if 0xDC80 <= code <= 0xDCFF:                    # surrogateescape's stand-in for one byte
        return f"\\x{code - 0xDC00:02x}"
    return repr(character)[1:-1]                   # none of them is printable: repr escapes each


def quoted(text, limit=40):
    """text for a message: its repr, cut after limit characters (a label may be a megabyte)."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def listed(names, shown=12, limit=40):
    """names as one printable, bounded list: the first `shown`, each cut to `limit`
    characters, then how many more ("a, b, ... and 199,990 more")."""
    names = list(names)
    head = ", ".join(printable(name)[:limit] for name in names[:shown])
    return head + (f", ... and {len(names) - shown:,} more" if len(names) > shown else "")


def printable_text(text):
    """Generated or translated text as it reaches a terminal: printable(), but line breaks and
    tabs kept (a model that writes them means them). A vocabulary from a model file of
    unknown origin cannot send the terminal a command (ESC, BEL, bidirectional controls)."""
    if text.isprintable():
        return text
    return "".join(c if c in "\n\t" or not _needs_escape(c) else _escaped(c) for c in text)


def surrogate_in(text):
    """The first lone surrogate of text (not a Unicode character: it cannot be written as
    UTF-8), or None."""
    if text.isprintable() or text.isascii():
        return None
    return next((c for c in text if 0xD800 <= ord(c) <= 0xDFFF), None)


def check_argument(text, name):
    """A TinyRNNError naming name ("text 1") if text, given as a command-line argument, holds a
    byte the locale's encoding could not decode (Python keeps it as a surrogate U+DC80..U+DCFF):
    the same refusal as a line of standard input that is not UTF-8."""
    surrogate = surrogate_in(text)
    if surrogate is not None:
        code = ord(surrogate)
        what = f"byte {code - 0xDC00:#04x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
        raise TinyRNNError(f"{name}: cannot decode {what} as {sys.getfilesystemencoding()} (the locale's encoding)")
