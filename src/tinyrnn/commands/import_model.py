"""`tinyrnn import`: a PyTorch state_dict (safetensors) as a tinyrnn model file."""
import sys
from collections import Counter

from ..errors import ModelFileError
from ..files import check_outputs, check_same_architecture, load_json, open_regular
from ..import_torch import (is_numeric_state, is_seq2seq_state, model_from_state_dict, numeric_from_state_dict,
                            numeric_task, read_token_list, seq2seq_from_state_dict)
from ..io import NAMED_OUTPUTS, save_model
from ..safetensors_header import HeaderError, read_checked
from ..text_output import printable
from ..vocab import SPECIALS, TARGET_SPECIALS
from .common import locked_outputs


def run(args):
    path, vocab_path, classes_path, out, force = args.state_dict, args.vocab, args.classes, args.out, args.force

    inputs = [("--state-dict", path)] + [(option, value) for option, value in
                                         (("--vocab", vocab_path), ("--classes", classes_path)) if value]
    with locked_outputs({"--out": (out, "model")}, inputs, force):
        tensors, metadata = _read_state_dict(path)
        if str(metadata.get("format", "")).startswith(("tinyrnn/", "tinyrnn-checkpoint/")):
            raise ModelFileError(f"{path} is a tinyrnn model already (tinyrnn export --format torch makes "
                                 f"a state_dict of it)")
        saved = _from_metadata(metadata, "config", path, dict) if "config" in metadata else None
        if is_numeric_state(tensors, saved):
            model = _numeric_model(args, path, tensors, metadata, saved)
        else:
            model = _token_model(args, path, tensors, metadata, saved)
        check_outputs({"--out": (out, f"model:{model.task}")}, inputs, force)   # the task is known now
        check_same_architecture("--out", out, model.config, force)
        save_model(model, out)
    if saved is None and model.task == "lm":
        print("note: read as a language model (fc has one output per vocabulary entry); a classifier "
              "needs --classes", file=sys.stderr)
    print(f"saved {printable(out)}: {model.describe()}", file=sys.stderr)
    return 0


def _token_model(args, path, tensors, metadata, saved):
    """A state_dict of a model that reads tokens: its vocabulary and classes from the options or
    its metadata."""
    for option in ("task", "window", "scaling"):
        if getattr(args, option):
            raise ModelFileError(f"{path}: --{option} is for models that read numbers (with input_mean and "
                                 f"input_std)")
    vocab_path, classes_path = args.vocab, args.classes
    vocab = read_token_list(vocab_path, "vocabulary") if vocab_path else _from_metadata(metadata, "vocab", path, list)
    _check_vocabulary(vocab, vocab_path or f"{path}'s vocab metadata")
    classes = read_token_list(classes_path, "classes") if classes_path else \
        (_from_metadata(metadata, "classes", path, list) if "classes" in metadata else None)
    _check_options_agree(args, path, saved)
    if is_seq2seq_state(tensors) or (saved or {}).get("task") == "seq2seq":
        model = _seq2seq_model(args, path, tensors, metadata, vocab, classes, saved)
    else:
        model = model_from_state_dict(tensors, vocab, classes, saved, nonlinearity=args.nonlinearity, pool=args.pool,
                                      tokenizer=args.tokenizer, where=path)
    for option, given, key in (("--vocab", vocab_path and vocab, "vocab"), ("--classes", classes_path and classes,
                                                                             "classes")):
        if given and key in metadata and given != _from_metadata(metadata, key, path, list):
            raise ModelFileError(f"{option} disagrees with the {key} that {path} names (its rows are in that "
                                 f"order); leave {option} out to use the file's")
    return model


def _check_options_agree(args, path, saved):
    for option, value, key in (("--nonlinearity", args.nonlinearity, "nonlinearity"), ("--pool", args.pool, "pool")):
        if value and key in (saved or {}) and saved[key] != value:
            raise ModelFileError(f"{path}: {option} {value} disagrees with the file's config ({saved[key]})")


def _numeric_model(args, path, tensors, metadata, saved):
    """A state_dict of a model that reads numbers (torch_numeric.py's): the features' names from
    its features metadata (else x0, x1, ...), its outputs' from --classes or its classes, targets or
    series metadata, its task from its config (else target_mean: a regressor; --classes: a classifier)."""
    for option, value in (("--vocab", args.vocab), ("--tokenizer", args.tokenizer)):
        if value:
            raise ModelFileError(f"{path}: a model that reads numbers has no vocabulary or tokenizer ({option}); "
                                 f"its features are named by its features metadata")
    _check_options_agree(args, path, saved)
    given = {key: value for key, value in (("task", args.task), ("window", args.window), ("scaling", args.scaling))
             if value is not None}
    for key, value in given.items():
        if key in (saved or {}) and saved[key] != value:
            raise ModelFileError(f"{path}: --{key} {value} disagrees with the file's config ({saved[key]})")
    if (args.window or args.scaling) and given.get("task", (saved or {}).get("task")) != "forecast":
        raise ModelFileError(f"{path}: --window and --scaling are a forecaster's (give --task forecast)")
    saved = {**(saved or {}), **given} or None
    features = _from_metadata(metadata, "features", path, list) if "features" in metadata else None
    named = args.classes is not None or any(key in metadata for key in NAMED_OUTPUTS.values())
    task = numeric_task(tensors, saved, named, path)
    key = NAMED_OUTPUTS[task]
    names = read_token_list(args.classes, key) if args.classes else \
        (_from_metadata(metadata, key, path, list) if key in metadata else None)
    return numeric_from_state_dict(tensors, features, names, saved, task=task, nonlinearity=args.nonlinearity,
                                   pool=args.pool, where=path)


def _seq2seq_model(args, path, tensors, metadata, vocab, classes, saved):
    """A seq2seq state_dict's model: its target vocabulary comes from its metadata."""
    if classes is not None:
        raise ModelFileError(f"{path}: a seq2seq model predicts its target vocabulary; it has no classes")
    if args.pool:
        raise ModelFileError(f"{path}: a seq2seq model has no pooling (its decoder reads every step)")
    if "target_vocab" not in metadata:
        raise ModelFileError(f"{path} carries no target_vocab metadata (the target vocabulary of a seq2seq "
                             f"state_dict, a JSON list starting {', '.join(TARGET_SPECIALS)})")
    target_vocab = _from_metadata(metadata, "target_vocab", path, list)
    _check_vocabulary(target_vocab, f"{path}'s target_vocab metadata", TARGET_SPECIALS)
    return seq2seq_from_state_dict(tensors, vocab, target_vocab, saved, nonlinearity=args.nonlinearity,
                                   tokenizer=args.tokenizer, where=path)


def _check_vocabulary(vocab, where, specials=SPECIALS):
    if vocab[:len(specials)] != list(specials):
        what, ids = ("target vocabulary", "0 to 3") if specials == TARGET_SPECIALS else ("vocabulary", "0 and 1")
        raise ModelFileError(f"{where}: a tinyrnn {what} starts with {', '.join(specials)} (ids {ids}), "
                             f"got {', '.join(map(repr, vocab[:len(specials)])) or 'nothing'}")
    repeated = [token for token, count in Counter(vocab).items() if count > 1]
    if repeated:
        raise ModelFileError(f"{where}: {repeated[0]!r} is listed more than once")


def _read_state_dict(path):
    import safetensors.numpy
    with open_regular(path, "state_dict file", ModelFileError) as stream:
        try:                                        # the header first: the data is read only if the size fits
            header, _, raw = read_checked(stream, lambda size, declared: ModelFileError(
                f"{path}: {size:,} bytes, but its header declares {declared:,} (truncated or trailing bytes)"))
        except HeaderError as error:
            raise ModelFileError(f"{path}: not a safetensors state_dict ({error})") from None
    try:
        unsupported = sorted({f"{info.get('dtype')} ({name})" for name, info in header.items()
                              if name != "__metadata__" and isinstance(info, dict)
                              and info.get("dtype") not in ("F32", "F64")})
        if unsupported:
            raise ModelFileError(f"{path}: tensors of type {unsupported[0]}: tinyrnn reads float32 or float64; "
                                 f"save them as float32 ({{name: t.float() for name, t in state.items()}})")
        tensors = safetensors.numpy.load(raw)
        metadata = header.get("__metadata__") if isinstance(header.get("__metadata__"), dict) else {}
    except ModelFileError:
        raise
    except Exception as error:                      # the library's own checks of the layout
        raise ModelFileError(f"{path}: not a safetensors state_dict ({str(error)[:120]})") from None
    return tensors, metadata


def _from_metadata(metadata, key, path, kind):
    """The JSON value of a metadata key: a list of strings (vocab, classes) or an object (config)."""
    if key not in metadata:
        raise ModelFileError(f"{path} carries no {key}: give it with --{key}")
    if not isinstance(metadata[key], str):
        raise ModelFileError(f"{path}: its {key} metadata is not JSON")
    value = load_json(metadata[key], f"{path}: its {key} metadata", ModelFileError)
    if not isinstance(value, kind) or (kind is list and not all(isinstance(item, str) for item in value)):
        raise ModelFileError(f"{path}: its {key} metadata is not a JSON "
                             f"{'list of strings' if kind is list else 'object'}")
    return value
