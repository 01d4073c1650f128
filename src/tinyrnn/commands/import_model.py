"""`tinyrnn import`: a PyTorch state_dict (safetensors) as a tinyrnn model file."""
import json
import sys

from ..errors import ModelFileError
from ..import_torch import model_from_state_dict, read_token_list
from ..io import save_model
from .common import locked_outputs


def run(args):
    path, vocab_path, classes_path, out, force = args.state_dict, args.vocab, args.classes, args.out, args.force

    inputs = [("--state-dict", path)] + [(option, value) for option, value in
                                         (("--vocab", vocab_path), ("--classes", classes_path)) if value]
    with locked_outputs({"--out": (out, "model")}, inputs, force):
        tensors, metadata = _read_state_dict(path)
        vocab = read_token_list(vocab_path, "vocabulary") if vocab_path else _from_metadata(metadata, "vocab", path)
        classes = read_token_list(classes_path, "classes") if classes_path else \
            (_from_metadata(metadata, "classes", path) if "classes" in metadata else None)
        saved = _from_metadata(metadata, "config", path) if "config" in metadata else None
        model = model_from_state_dict(tensors, vocab, classes, saved, args.nonlinearity, args.pool,
                                      args.tokenizer, where=path)
        save_model(model, out)
    print(f"saved {out}: {model.describe()}", file=sys.stderr)
    return 0


def _read_state_dict(path):
    import safetensors.numpy
    from safetensors import safe_open
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
        tensors = safetensors.numpy.load(raw)
        with safe_open(path, "np") as handle:
            metadata = handle.metadata() or {}
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a folder, not a state_dict file") from None
    except Exception as error:                      # the library's own checks of the layout
        raise ModelFileError(f"{path}: not a safetensors state_dict ({str(error)[:120]})") from None
    return tensors, metadata


def _from_metadata(metadata, key, path):
    if key not in metadata:
        raise ModelFileError(f"{path} carries no {key}: give it with --{key}")
    try:
        return json.loads(metadata[key])
    except (json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"{path}: its {key} metadata is not JSON") from None
