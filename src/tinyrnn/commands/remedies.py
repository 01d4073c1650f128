"""The command line's words for what would help: a library error states the facts and names
a remedy (TinyRNNError.remedy); here it becomes a flag to try."""

_SUFFIXES = {
    "divergence": "try a smaller learning rate, --clip-norm or --clip-value",
    "format": "use .csv, .tsv or .jsonl, --format, or LABEL=FILE for one example per line",
    "encoding": "try --encoding latin-1",
    "text": "give a text file with --text",
    "force": "choose another path or add --force to replace it",
    "resume anyway": "add --force to resume anyway",
    "resume": "continue its run with train --checkpoint-dir and --resume",
    "classes": "a classifier? give its classes with --classes FILE",
    "task": "train a regressor on it with --task regress",
    "smaller model": "choose a smaller --hidden, --layers or --embed",
    "float64": "use --dtype float64, or rescale the data",
    "float64 offset": "use --dtype float64, or subtract the offset from the data",
}
_PREFIXES = {
    "checkpoint folder": "--checkpoint-dir ",
}


def worded(error):
    """The one line the command line prints for a TinyRNNError."""
    remedy, message = getattr(error, "remedy", None), str(error)
    if remedy in _PREFIXES:
        return _PREFIXES[remedy] + message
    if remedy in _SUFFIXES:
        return f"{message}; {_SUFFIXES[remedy]}"
    return message
