"""`tinyrnn info`: what a saved model is."""
import json
import os
import sys

from ..checkpoint import read_checkpoint
from ..errors import ModelFileError, TinyRNNError
from ..io import read_tinyrnn_file
from ..text_output import printable


def run(args):
    """Print the model's task, architecture, sizes, vocabulary, classes, format and checksum."""
    path, as_json = args.model_option or args.model, args.json
    if args.model_option and args.model not in (args.model_option, "model.safetensors"):
        raise TinyRNNError(f"two models named: {args.model} and --model {args.model_option}; info describes one")

    try:
        model, _, metadata = read_tinyrnn_file(path)
        run = None
    except ModelFileError as error:
        if error.remedy != "resume":                 # not a checkpoint: the error stands
            raise
        model, _, metadata, run = read_checkpoint(path)
    facts = {"file": path, "bytes": os.path.getsize(path), "format": metadata["format"], **model.summary(),
             "checksum": "verified" if "checksum" in metadata else "none (a file of an earlier version)"}
    if model.origin:
        facts["origin"] = model.origin
    if run is not None:
        facts["checkpoint"] = _where(run)
    if as_json:
        print(json.dumps(facts))
        sys.stdout.flush()                          # a failed write is an error (cli.py), not a lost line
        return 0
    print(model.describe())
    for key, value in facts.items():
        if key != "tensors":
            print(f"  {_LABELS.get(key, key.replace('_', ' ')) + ':':<19}{_text(key, value, model)}")
    print("  tensors:")
    for name, shape in facts["tensors"].items():
        print(f"    {name:<28} {' x '.join(map(str, shape))}")
    sys.stdout.flush()                              # output that could not be written is an error, exit 2
    return 0


_LABELS = {"normalize": "normalisation", "source_vocabulary": "source vocabulary",
           "target_vocabulary": "target vocabulary"}


def _text(key, value, model):
    """A fact as a person reads it."""
    if key == "origin":
        kind = {"lm": "a language model", "seq2seq": "a sequence autoencoder's encoder"}.get(value.get("task"), "a model")
        if value.get("directions") == 2:
            kind = "two language models (one reading forwards, one backwards)"
        facts = [f"sha256 {printable(str(value['sha256']))[:16]}..." if "sha256" in value else "",
                 f"{printable(str(value['passes']))} passes" if "passes" in value else ""]
        details = ", ".join(fact for fact in facts if fact)
        layers = "embedding and recurrent layers" if model.config.embed_size else "recurrent layers"
        return (f"{layers} pretrained as {kind} on {printable(str(value.get('pretrained', '?')))}"
                f"{f' ({details})' if details else ''}; the output layer trained here")
    if key == "checkpoint":
        return ", ".join(f"{name} {number}" for name, number in value.items()) + " (resume it with train --resume)"
    if key == "normalisation":
        return "; ".join(f"{name}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for name, v in value.items())
    unit = model.tokenizer.unit if model.tokenizer else None
    if key in ("vocabulary", "source_vocabulary"):
        return f"{value} entries ({len(model.vocab.words)} {unit}s + <pad>, <unk>)"
    if key == "target_vocabulary":
        return f"{value} entries ({len(model.target_vocab.words)} {unit}s + <pad>, <unk>, <bos>, <eos>)"
    if key in ("encoder", "decoder"):
        return _stack_text(value)
    if key == "attention":
        return _attention_text(value)
    if key == "bridge":
        sizes = f" ({value['input_size']} -> {value['output_size']})" if "input_size" in value else ""
        return f"{value['kind']}: {value['note']}{sizes}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return value


def _stack_text(stack):
    """'GRU, 1 layer, 2 directions, 64 hidden units, input: embedding of size 32'."""
    cell = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[stack["cell"]]
    return (f"{cell}, {stack['layers']} layer{'s' * (stack['layers'] > 1)}, {stack['directions']} "
            f"direction{'s' * (stack['directions'] > 1)}, {stack['hidden_size']} hidden units, "
            f"input: {stack['input']}")


def _attention_text(attention):
    """'general: e_ts = d_t . W_a o_s (decoder states 64, encoder outputs 128), ~h_t of size 64'."""
    if attention["kind"] == "none":
        return "none: the decoder reads its own states"
    sizes = f"decoder states {attention['query_size']}, encoder outputs {attention['key_size']}"
    if "attention_size" in attention:
        sizes += f", score width {attention['attention_size']}"
    return f"{attention['kind']}: {attention['score']} ({sizes}), ~h_t = tanh(W_c [c_t; d_t]) of size " \
           f"{attention['output_size']}"


def _where(run):
    """Where a checkpointed run stands: {"epoch", "steps", "finished"}, as its record says."""
    state = run.get("state") if isinstance(run.get("state"), dict) else {}
    return {key: state.get(key) for key in ("epoch", "steps", "finished") if key in state}
