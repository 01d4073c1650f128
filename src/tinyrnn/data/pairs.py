"""Sentence pairs for sequence to sequence: read, normalise, filter and split them.

Files (read_pairs; every problem is a DataError that starts with file:line, or file: for
the whole file):
  - tab-separated pairs (any extension but .csv and .jsonl; the Tatoeba files of
    manythings.org): `source<TAB>target[<TAB>anything]`, e.g. an attribution column; a first
    line that names the two columns (source<TAB>target by default) is taken as a header;
  - .csv with a header naming the source and target columns (others are ignored);
  - .jsonl (or .ndjson), one object a line with string values under those two keys;
  - two aligned plain text files: line i of the one is the source of line i of the other.
Blank lines are ignored (in two aligned files only those at the end: a blank line inside
would shift every pair after it); a side that is empty (or only spaces) is an error.

Normalisation (normalize; "letters" is the PyTorch translation tutorial's normalizeString,
kept for letters of every script):
  none      the text as it is (the word tokenizer still applies NFKC and case folding);
  accents   case-folded, Unicode NFKD, then nonspacing marks (category Mn) removed:
            "Fatigué" -> "fatigue", "ça" -> "ca";
  letters   accents, then a space before each of . ! ? and every other character that is
            not a letter (digits, apostrophes, commas, ...) a space; runs of spaces become
            one: "I'm tired." -> "i m tired .", "J'ai 3 chats." -> "j ai chats ."
"""
import os
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError, DataError
from ..vocab import limit_marks
from .loaders import (MAX_TEXT_CHARS, _json_type, _keep_or_skip, _lines, _skipped_note, check_unicode,
                      parse_json_line, read_columns, read_text)

NORMALIZATIONS = ("none", "accents", "letters")
_SENTENCE_ENDS = ".!?"


@dataclass
class Pairs:
    """Parallel lists: sources[i] translates to targets[i], read at origins[i] ("file:line")."""

    sources: list = field(default_factory=list)
    targets: list = field(default_factory=list)
    origins: list = field(default_factory=list)
    skipped: list = field(default_factory=list)       # "file:line: why" of rows skipped (skip_bad)

    def __len__(self):
        return len(self.sources)

    def add(self, source, target, origin):
        self.sources.append(source)
        self.targets.append(target)
        self.origins.append(origin)

    def subset(self, indices):
        """The pairs at indices, in that order (skipped rows stay with the whole set)."""
        return Pairs([self.sources[i] for i in indices], [self.targets[i] for i in indices],
                     [self.origins[i] for i in indices])

    def swapped(self):
        """The same pairs translated the other way: targets become sources."""
        return Pairs(list(self.targets), list(self.sources), list(self.origins), list(self.skipped))


def read_pairs(path, encoding="utf-8", *, target_path=None, source_column="source",
               target_column="target", skip_bad=False):
    """The pairs of a file (format by extension, see the module docstring), or of two aligned
    text files when target_path is given. skip_bad: leave out bad rows and list them in
    pairs.skipped instead of stopping at the first; a file that cannot be decoded or parsed
    as a whole is still an error, and so is a file with no pair at all."""
    path = str(path)
    if target_path is None and source_column == target_column:
        raise DataError(f"the source and the target are both read from column {source_column!r}; they "
                        f"must be two different columns")
    if target_path is not None:
        pairs = _read_aligned(path, str(target_path), encoding, skip_bad)
    else:
        extension = os.path.splitext(path)[1].lower()
        text = read_text(path, encoding)
        if extension == ".csv":
            pairs = _read_csv(path, text, source_column, target_column, skip_bad)
        elif extension in (".jsonl", ".ndjson"):
            pairs = _read_jsonl(path, text, source_column, target_column, skip_bad)
        else:
            pairs = _read_tabbed(path, text, source_column, target_column, skip_bad)
    if not pairs:
        raise DataError(f"{path}: no sentence pairs" + (_skipped_note(pairs) or " (every line is empty)"))
    return pairs


def _add_checked(pairs, source, target, origin):
    """One pair, each side a non-empty string within MAX_TEXT_CHARS (outer spaces removed)."""
    for side, text in (("source", source), ("target", target)):
        if not isinstance(text, str):
            raise DataError(f"{origin}: {side} must be a string, got {_json_type(text)}")
        if not text.strip():
            raise DataError(f"{origin}: empty {side}")
        if len(text) > MAX_TEXT_CHARS:
            raise DataError(f"{origin}: {side} is {len(text)} characters long; the limit is {MAX_TEXT_CHARS}")
        check_unicode(text, side, origin)
    pairs.add(source.strip(), target.strip(), origin)


def _add_tabbed(pairs, line, origin, columns=(0, 1)):
    fields = line.split("\t")
    if len(fields) < 2:
        raise DataError(f"{origin}: expected source<TAB>target, found no tab")
    if len(fields) <= max(columns):
        raise DataError(f"{origin}: expected {max(columns) + 1} tab-separated fields, found {len(fields)}")
    _add_checked(pairs, fields[columns[0]], fields[columns[1]], origin)


def _read_tabbed(path, text, source_column, target_column, skip_bad):
    """source<TAB>target lines; a first line naming the columns is a header. Columns named
    otherwise than source and target (--source-column, --target-column) are looked up in it."""
    pairs, header = Pairs(), f"{source_column}\t{target_column}"
    named = (source_column, target_column) != ("source", "target")
    columns = None if named else (0, 1)
    for line_number, line in _lines(text):
        if columns is None and line.strip():            # the header that names the columns
            names = line.rstrip("\r").split("\t")
            if source_column not in names or target_column not in names:
                raise DataError(f"{path}:{line_number}: no header naming columns {source_column!r} and "
                                f"{target_column!r} (a .tsv of pairs without one is read as source<TAB>target)")
            columns = (names.index(source_column), names.index(target_column))
            continue
        if not pairs and not pairs.skipped and (line == header or line.startswith(header + "\t")):
            continue                                # a header row names the columns: not a pair
        if not pairs and not pairs.skipped and line.strip().lower().split("\t")[:2] == ["text", "label"]:
            raise DataError(f"{path}:{line_number}: a header text<TAB>label: a classifier's data, not sentence "
                            f"pairs (source<TAB>target lines)")
        if line.strip():
            _keep_or_skip(pairs, skip_bad, _add_tabbed, pairs, line, f"{path}:{line_number}", columns)
    return pairs


def _add_record(pairs, line, source_column, target_column, origin):
    record = parse_json_line(line, origin)
    if not isinstance(record, dict):
        raise DataError(f"{origin}: expected a JSON object, got {_json_type(record)}")
    for key in (source_column, target_column):
        if key not in record:
            raise DataError(f"{origin}: missing key {key!r}")
    _add_checked(pairs, record[source_column], record[target_column], origin)


def _read_jsonl(path, text, source_column, target_column, skip_bad):
    pairs = Pairs()
    for line_number, line in _lines(text):
        if line.strip():
            _keep_or_skip(pairs, skip_bad, _add_record, pairs, line, source_column, target_column,
                          f"{path}:{line_number}")
    return pairs


def _read_csv(path, text, source_column, target_column, skip_bad):
    pairs = Pairs()
    read_columns(path, text, ",", (source_column, target_column), pairs, _add_checked, skip_bad)
    return pairs


def _text_lines(path, encoding):
    """(line number, line) of a file, without the blank lines at its end."""
    lines = list(_lines(read_text(path, encoding)))
    while lines and not lines[-1][1].strip():
        lines.pop()
    return lines


def _read_aligned(source_path, target_path, encoding, skip_bad):
    """Line i of source_path and line i of target_path make pair i; every line counts (an empty
    one is an error: it would shift the pairs after it if left out), blank lines at the end
    of a file do not."""
    sources, targets = _text_lines(source_path, encoding), _text_lines(target_path, encoding)
    if len(sources) != len(targets):
        raise DataError(f"{source_path} has {len(sources)} lines but {target_path} has "
                        f"{len(targets)}; their lines must pair up one to one")
    pairs = Pairs()
    for (number, source), (_, target) in zip(sources, targets):
        _keep_or_skip(pairs, skip_bad, _add_aligned, pairs, source, target,
                      f"{source_path}:{number}", f"{target_path}:{number}")
    return pairs


def _add_aligned(pairs, source, target, source_origin, target_origin):
    for origin, text in ((source_origin, source), (target_origin, target)):
        if not text.strip():
            raise DataError(f"{origin}: empty line (every line pairs with the same line of the other file)")
    _add_checked(pairs, source, target, source_origin)


def _strip_accents(text):
    """Case-folded, NFKD, nonspacing marks (Mn) removed: "Ça été" -> "ca ete" (a run of
    marks first cut to vocab.MAX_MARKS: NFKD takes time that grows as its square)."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", limit_marks(text)).casefold())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def normalize(text, mode):
    """text normalised by mode, one of NORMALIZATIONS (see the module docstring)."""
    if mode == "none":
        return text
    if mode not in NORMALIZATIONS:
        raise ConfigError(f"unknown normalisation {mode!r}; the choices are {', '.join(NORMALIZATIONS)}")
    text = _strip_accents(text)
    if mode == "accents":
        return text
    kept = (f" {c}" if c in _SENTENCE_ENDS else c if c.isalpha() else " " for c in text)
    return " ".join("".join(kept).split())


def normalize_pairs(pairs, mode):
    """Both sides of every pair normalised; a pair with a side left empty (a source of only
    digits, say, under "letters") is left out and noted in skipped."""
    result = Pairs(skipped=list(pairs.skipped))
    for source, target, origin in zip(pairs.sources, pairs.targets, pairs.origins):
        source, target = normalize(source, mode), normalize(target, mode)
        if source and target:
            result.add(source, target, origin)
        else:
            result.skipped.append(f"{origin}: empty {'source' if not source else 'target'} "
                                  f"after {mode} normalisation")
    return result


def filter_pairs(pairs, *, max_length=None, target_prefixes=None, tokenize=str.split):
    """The pairs (a new Pairs, in order) whose source and target each have at most max_length
    tokens (counted as len(tokenize(side))) and, when target_prefixes is given (a string or
    a list of them), whose target starts with one of them (str.startswith on the text as it
    is: end a prefix with a space to ask for a whole word). The result may be empty.

    The PyTorch tutorial's filterPair (both sides under MAX_LENGTH = 10 words, English
    starting with one of eng_prefixes) is, on its normalised French -> English pairs:
    filter_pairs(pairs, max_length=9, target_prefixes=eng_prefixes)."""
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)
                                   or max_length < 1):
        raise ConfigError(f"the longest sentence must be a whole number of 1 or more tokens, got {max_length!r}")
    if isinstance(target_prefixes, str):
        target_prefixes = [target_prefixes]
    if target_prefixes is not None:
        target_prefixes = tuple(target_prefixes)
        if not target_prefixes or not all(isinstance(p, str) for p in target_prefixes):
            raise ConfigError(f"target prefixes must be one or more strings, got {target_prefixes!r}")
    def short(text):
        return max_length is None or len(tokenize(text)) <= max_length

    keep = [i for i, (source, target) in enumerate(zip(pairs.sources, pairs.targets))
            if short(source) and short(target) and (target_prefixes is None or target.startswith(target_prefixes))]
    result = pairs.subset(keep)
    result.skipped = list(pairs.skipped)
    return result


def split_pairs(pairs, fraction, rng, key=None):
    """(kept, held out): about fraction of the distinct sources, drawn with rng (a numpy
    Generator), go to held out with every pair that has them, so no held-out source is seen
    in the kept part with another translation. Sources are compared as key(source) (the text
    itself when key is None). Both parts keep the pairs' order; at least one source goes
    each way (round(fraction * sources) is moved into 1 .. sources - 1)."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ConfigError(f"the held-out fraction must be between 0 and 1, got {fraction!r}")
    keys = pairs.sources if key is None else [key(source) for source in pairs.sources]
    distinct = list(dict.fromkeys(keys))            # in order of first appearance: deterministic
    if len(distinct) < 2:
        raise DataError(f"cannot split {len(pairs)} pair(s) by source: they have {len(distinct)} "
                        f"distinct source sentence(s) and each part needs one")
    count = min(max(int(round(fraction * len(distinct))), 1), len(distinct) - 1)
    chosen = rng.permutation(len(distinct))[:count]
    held_keys = {distinct[i] for i in chosen.tolist()}
    held = np.array([k in held_keys for k in keys])
    return pairs.subset(np.flatnonzero(~held).tolist()), pairs.subset(np.flatnonzero(held).tolist())
