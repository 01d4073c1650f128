"""A PyTorch state_dict (saved as safetensors) as a tinyrnn model.

The names are those of torch_model.TorchRNN (and of docs/model-format.md): optional
embedding.weight [V, E], rnn.{weight_ih, weight_hh, bias_ih, bias_hh}_l{k}[_reverse], fc.weight,
fc.bias. From their shapes: H = weight_hh's columns, the cell from its rows (H: rnn, 3H: gru,
4H: lstm), the layers, the directions, an embedding or one-hot input (weight_ih_l0 has V
columns), and the task (fc has C rows: a classifier; V rows and no classes: a language
model). What the weights cannot tell (the rnn's nonlinearity, the pooling, the tokenizer,
dropout rates) comes from the file's own tinyrnn config when it has one, else from the
caller. The walkthrough's architecture gets its own names back, with bh = bias_ih + bias_hh.

A numeric state_dict (torch_numeric.py's modules: rnn.*, fc.* and the buffers input_mean,
input_std (F,), a regressor's target_mean, target_std (R,)) reads F from weight_ih_l0's columns;
its task comes from the file's config (as tinyrnn export writes it; a state_dict from elsewhere
may carry a config naming only what its tensors cannot tell, such as {"task": "forecast",
"window": 24, "scaling": "global"}), else target_mean makes a regressor and classes a
classifier; a forecaster's horizon is fc's rows / F.

A seq2seq state_dict (torch_model.TorchSeq2Seq's names: encoder.*, decoder.*, bridge.*,
attention.*, combine.weight, fc.*) is read the same way, its attention from the tensors it
has: attention.v.weight additive (A = its columns), attention.weight general, combine.weight
alone dot, none of them none; the decoder reads one direction, the encoder one or two.
"""
import re

import numpy as np

from .errors import ModelFileError
from .export_torch import LEGACY_TO_TORCH
from .files import load_json, read_regular
from .model_config import ModelConfig, uses_walkthrough_names
from .models import build_model
from .nn import CELLS
from .text_output import odd_name, printable, surrogate_in
from .vocab import tokenize

RNN_NAME = re.compile(r"rnn\.(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?")
SEQ2SEQ_TENSORS = ("encoder.embedding.weight", "decoder.embedding.weight", "bridge.weight", "bridge.bias",
                   "attention.weight", "attention.query.weight", "attention.key.weight", "attention.key.bias",
                   "attention.v.weight", "combine.weight", "fc.weight", "fc.bias")
CELL_OF_GATES = {len(cell.GATES): kind for kind, cell in CELLS.items()}     # 1 rnn, 3 gru, 4 lstm
BUFFERS = ("input_mean", "input_std", "target_mean", "target_std")        # numeric models' statistics
MAX_TOKEN_LIST_BYTES = 100 << 20         # a vocabulary or class list file: millions of entries fit


def model_from_state_dict(tensors, vocab, classes=None, saved_config=None, *, nonlinearity=None, pool=None,
                          tokenizer=None, where="the state_dict"):
    """A Classifier (classes given) or LanguageModel holding tensors ({name: array}); raises
    ModelFileError naming what does not fit."""
    saved = saved_config or {}
    layers = _recurrent_layers(tensors, where)
    unknown = sorted(set(tensors) - {"embedding.weight", "fc.weight", "fc.bias"} -
                     {name for names in layers.values() for name in names.values()})
    if unknown:
        raise ModelFileError(f"{where}: tensors tinyrnn does not know: {', '.join(unknown[:5])} (expected "
                             f"embedding.weight, rnn.weight_ih_l0, ..., fc.weight, fc.bias)")
    dtype = _check_tensors(tensors, where)
    cell, H = _cell_of(tensors, "rnn.weight_hh_l0", where)
    embedding = tensors.get("embedding.weight")
    task = "classify" if classes is not None else "lm"
    outputs = len(tensors["fc.bias"])
    if task == "lm" and (outputs != len(vocab) or any(d for _, d in layers)):
        raise ModelFileError(f"{where}: fc has {outputs} outputs for a vocabulary of {len(vocab)}"
                             + (" and the network reads both directions" if any(d for _, d in layers) else ""),
                             remedy="classes")
    for value, key in ((nonlinearity, "nonlinearity"), (pool, "pool")):
        if value and key in saved and saved[key] != value:
            raise ModelFileError(f"{where}: {key} {value} disagrees with the file's config ({saved[key]})")
    settings = {"task": task, "cell": cell, "hidden_size": H,
                "num_layers": max(k for k, _ in layers) + 1, "bidirectional": any(d for _, d in layers),
                "nonlinearity": nonlinearity or saved.get("nonlinearity", "tanh"),
                "embed_size": None if embedding is None else int(embedding.shape[1]),
                "dropout": saved.get("dropout", 0.0), "embed_dropout": saved.get("embed_dropout", 0.0),
                "weight_drop": saved.get("weight_drop", 0.0),
                "pool": pool or saved.get("pool", "last") if task == "classify" else "last",
                "dtype": dtype, "tokenizer": tokenizer or saved.get("tokenizer")}   # None: the task's
    _check_agrees_with_saved(settings, saved, where)
    try:
        model = build_model(ModelConfig.from_json(settings), vocab, classes)
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{where}: {error}") from None
    _check_tokens(model.vocab, model.tokenizer, where)
    state = dict(tensors)
    if uses_walkthrough_names(model.config):
        state["rnn.bias_ih_l0"] = tensors["rnn.bias_ih_l0"] + tensors["rnn.bias_hh_l0"]   # bh: one bias
        state = {legacy: state[torch_name] for legacy, torch_name in LEGACY_TO_TORCH.items()}
    sizes = f"vocabulary {len(vocab)}, hidden {H}" + (f", classes {len(classes)}" if classes is not None else "")
    return _filled(model, state, sizes, where)


def seq2seq_from_state_dict(tensors, vocab, target_vocab, saved_config=None, *, nonlinearity=None,
                            tokenizer=None, where="the state_dict"):
    """A Seq2Seq holding tensors ({name: array}, TorchSeq2Seq's names), source vocab and
    target_vocab lists; raises ModelFileError naming what does not fit."""
    saved = saved_config or {}
    reverse = sorted(name for name in tensors if name.startswith("decoder.rnn.") and name.endswith("_reverse"))
    if reverse:
        raise ModelFileError(f"{where}: the decoder reads one direction; found {reverse[0]}")
    encoder, decoder = _recurrent_layers(tensors, where, "encoder."), _recurrent_layers(tensors, where, "decoder.")
    layer_names = {name for layers in (encoder, decoder) for names in layers.values() for name in names.values()}
    unknown = sorted(set(tensors) - set(SEQ2SEQ_TENSORS) - layer_names)
    if unknown:
        raise ModelFileError(f"{where}: tensors tinyrnn does not know: {', '.join(unknown[:5])} (expected "
                             f"encoder.*, decoder.*, bridge.*, attention.*, combine.weight, fc.*)")
    dtype = _check_tensors(tensors, where)
    cell, H = _cell_of(tensors, "encoder.rnn.weight_hh_l0", where)
    attention, attention_size = "none", None
    if "attention.v.weight" in tensors:
        A = tensors["attention.v.weight"].shape[1]
        attention, attention_size = "additive", saved.get("attention_size") if A == H else A
    elif "attention.weight" in tensors:
        attention = "general"
    elif "combine.weight" in tensors:
        attention = "dot"
    embedding = tensors.get("encoder.embedding.weight")
    if nonlinearity and saved.get("nonlinearity", nonlinearity) != nonlinearity:
        raise ModelFileError(f"{where}: nonlinearity {nonlinearity} disagrees with the file's config "
                             f"({saved['nonlinearity']})")
    settings = {"task": "seq2seq", "cell": cell, "hidden_size": H, "num_layers": max(k for k, _ in encoder) + 1,
                "bidirectional": any(d for _, d in encoder),
                "nonlinearity": nonlinearity or saved.get("nonlinearity", "tanh"),
                "embed_size": None if embedding is None else int(embedding.shape[1]),
                **{key: saved.get(key, 0.0) for key in ("dropout", "embed_dropout", "weight_drop")},
                "dtype": dtype, "tokenizer": tokenizer or saved.get("tokenizer"), "attention": attention,
                "attention_size": attention_size, "normalize": saved.get("normalize", "none")}
    _check_agrees_with_saved(settings, saved, where)
    try:
        model = build_model(ModelConfig.from_json(settings), (vocab, target_vocab), None)
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{where}: {error}") from None
    _check_tokens(model.vocab, model.tokenizer, where)
    _check_tokens(model.target_vocab, model.tokenizer, where, "target vocabulary")
    sizes = f"vocabularies {len(vocab)} and {len(target_vocab)}, hidden {H}"
    return _filled(model, dict(tensors), sizes, where)


def is_numeric_state(tensors, saved_config=None):
    """Does a state_dict hold a model that reads numbers (standardisation buffers, or a config
    that says so)?"""
    saved = saved_config or {}
    return "input_mean" in tensors or "input_std" in tensors or saved.get("input") == "numeric" \
        or bool(saved.get("features"))


def numeric_task(tensors, saved_config=None, named_outputs=False, where="the state_dict"):
    """The task of a numeric state_dict: its config's, else regress with target_mean, else
    classify when its outputs are named (classes)."""
    task = (saved_config or {}).get("task")
    if task is None and "target_mean" in tensors:
        return "regress"
    if task is None and named_outputs:
        return "classify"
    if task is None:
        raise ModelFileError(f"{where}: a numeric state_dict without target_mean and target_std is a classifier "
                             f"or a forecaster, and no config metadata says which (a forecaster's config names "
                             f"task forecast, window and scaling)", remedy="classes")
    if task not in ("classify", "regress", "forecast"):
        raise ModelFileError(f"{where}: its config says task {task!r}, but its tensors read numbers "
                             f"(classify, regress or forecast)")
    return task


def numeric_from_state_dict(tensors, feature_names=None, names=None, saved_config=None, *, task=None,
                            nonlinearity=None, pool=None, where="the state_dict"):
    """A Classifier, Regressor or Forecaster reading numbers, holding tensors ({name: array}:
    torch_numeric.py's state_dict, buffers included). feature_names: the F inputs' names (None:
    x0, x1, ...); names: the outputs' (classes; a regressor's targets, None: y or y0, y1, ...;
    a forecaster's series, None: the features'). Raises ModelFileError naming what does not fit."""
    saved = saved_config or {}
    layers = _recurrent_layers(tensors, where)
    unknown = sorted(set(tensors) - {"fc.weight", "fc.bias", *BUFFERS} -
                     {name for layer in layers.values() for name in layer.values()})
    if unknown:
        raise ModelFileError(f"{where}: tensors tinyrnn does not know: {', '.join(unknown[:5])} (expected "
                             f"rnn.weight_ih_l0, ..., fc.weight, fc.bias, input_mean, input_std)")
    for name in ("input_mean", "input_std"):
        if name not in tensors:
            raise ModelFileError(f"{where}: no {name} (a model that reads numbers holds its inputs' "
                                 f"standardisation, input_mean and input_std)")
    dtype = _check_tensors(tensors, where)
    cell, H = _cell_of(tensors, "rnn.weight_hh_l0", where)
    F, outputs = int(tensors["rnn.weight_ih_l0"].shape[1]), len(tensors["fc.bias"])
    task = task or numeric_task(tensors, saved, names is not None, where)
    for value, key in ((nonlinearity, "nonlinearity"), (pool, "pool")):
        if value and key in saved and saved[key] != value:
            raise ModelFileError(f"{where}: {key} {value} disagrees with the file's config ({saved[key]})")
    settings = {"task": task, "cell": cell, "hidden_size": H, "num_layers": max(k for k, _ in layers) + 1,
                "bidirectional": any(d for _, d in layers), "features": F,
                "nonlinearity": nonlinearity or saved.get("nonlinearity", "tanh"),
                **{key: saved.get(key, 0.0) for key in ("dropout", "embed_dropout", "weight_drop")},
                "pool": pool or saved.get("pool", "last"), "dtype": dtype}
    if task == "forecast":
        if outputs % F:
            raise ModelFileError(f"{where}: fc has {outputs} outputs, not a horizon's steps of the {F} series")
        if "window" not in saved:
            raise ModelFileError(f"{where}: a forecaster's config metadata must name its window (the past steps "
                                 f"it reads)")
        settings.update(horizon=saved.get("horizon", outputs // F), window=saved["window"],
                        scaling=saved.get("scaling"))
    _check_agrees_with_saved(settings, saved, where)
    if names is None and task == "regress":
        names = ["y"] if outputs == 1 else [f"y{r}" for r in range(outputs)]
    elif names is None and task == "forecast":
        names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(F)]
    elif names is None:
        raise ModelFileError(f"{where}: a classifier's state_dict needs its classes", remedy="classes")
    try:
        model = build_model(ModelConfig.from_json(settings), feature_names, names)
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{where}: {error}") from None
    sizes = f"features {F}, hidden {H}, outputs {len(model.classes)}"
    state = {name: array for name, array in tensors.items() if name not in BUFFERS}
    return _with_buffers(_filled(model, state, sizes, where), tensors, where)


def _with_buffers(model, tensors, where):
    """model with its standardisation statistics from tensors: every one it has, of its shape,
    finite, the standard deviations positive."""
    present = {name for name in BUFFERS if name in tensors}
    missing, extra = sorted(set(model.buffers) - present), sorted(present - set(model.buffers))
    if missing:
        raise ModelFileError(f"{where}: no {missing[0]} (a {model.task} model's standardisation)")
    if extra:
        raise ModelFileError(f"{where}: a {model.task} model has no place for {extra[0]}")
    for name, buffer in model.buffers.items():
        array = tensors[name]
        if array.shape != buffer.shape:
            raise ModelFileError(f"{where}: {name} is {list(array.shape)}, expected {list(buffer.shape)}")
        if not np.isfinite(array).all():
            raise ModelFileError(f"{where}: {name} has NaN or infinite values")
        if name.endswith("_std") and not (array > 0).all():
            raise ModelFileError(f"{where}: {name} (a standard deviation) must be positive")
        buffer[...] = array
    return model


def is_seq2seq_state(tensors):
    """Does a state_dict hold a seq2seq model's tensors (encoder.*, decoder.*, no rnn.*)?"""
    return "rnn.weight_ih_l0" not in tensors and any(name.startswith(("encoder.", "decoder.")) for name in tensors)


def _filled(model, state, sizes, where):
    """model with its parameters set from state ({tinyrnn name: array}), every one present,
    of its shape and finite."""
    expected = {name: array.shape for name, array in model.params.items()}
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing:
        raise ModelFileError(f"{where}: tensors missing for this architecture: {', '.join(missing[:5])}")
    if extra:
        raise ModelFileError(f"{where}: tensors this architecture has no place for: {', '.join(extra[:5])}")
    for name, shape in expected.items():
        if state[name].shape != shape:
            raise ModelFileError(f"{where}: {_torch_name(name)} is {list(state[name].shape)}, expected "
                                 f"{list(shape)} ({sizes})")
        if not np.isfinite(state[name]).all():
            raise ModelFileError(f"{where}: {_torch_name(name)} has NaN or infinite values")
        model.params[name][...] = state[name]
    return model


def _check_tensors(tensors, where):
    """The output layer is there, every tensor has its rank, and all share one float type
    (returned)."""
    for name in ("fc.weight", "fc.bias"):
        if name not in tensors:
            raise ModelFileError(f"{where}: no {name} (the output layer)")
    _check_ranks(tensors, where)
    dtypes = {array.dtype.name for array in tensors.values()}
    if not dtypes <= {"float32", "float64"} or len(dtypes) != 1:
        raise ModelFileError(f"{where}: tensors must all be float32 or all float64, got {sorted(dtypes)}")
    return dtypes.pop()


def _cell_of(tensors, name, where):
    """(cell, H) from the shape of a weight_hh: H columns, 1, 3 or 4 blocks of H rows."""
    hidden_rows, H = tensors[name].shape
    cell = CELL_OF_GATES.get(hidden_rows // H if hidden_rows % H == 0 else 0)
    if cell is None:
        raise ModelFileError(f"{where}: {name} is {hidden_rows} x {H}: not 1, 3 or 4 gate blocks of H")
    return cell, H


def _torch_name(name):
    return LEGACY_TO_TORCH.get(name, name)


def _check_ranks(tensors, where):
    """Weights are matrices, biases vectors, none of them empty."""
    for name, array in tensors.items():
        rank = 1 if name.endswith("bias") or ".bias_" in name or name in BUFFERS else 2
        if array.ndim != rank or array.size == 0:
            raise ModelFileError(f"{where}: {name} has shape {list(array.shape)}; expected a non-empty "
                                 f"{'vector' if rank == 1 else 'matrix'}")


def _recurrent_layers(tensors, where, prefix=""):
    """{(layer, direction): {role: name}} of the {prefix}rnn.* tensors; every layer needs all four."""
    layers = {}
    for name in tensors:
        found = RNN_NAME.fullmatch(name[len(prefix):]) if name.startswith(prefix) else None
        if found:
            role, k, reverse = found.groups()
            layers.setdefault((int(k), int(bool(reverse))), {})[role] = name
    if (0, 0) not in layers:
        found = ", ".join(sorted(tensors)[:4]) or "no tensors"
        names = "encoder.*, decoder.*, ... as tinyrnn.torch_model.TorchSeq2Seq's" if prefix else \
            "embedding.*, rnn.*, fc.*, as tinyrnn.torch_model.TorchRNN's"
        raise ModelFileError(f"{where}: no {prefix}rnn.weight_ih_l0 / {prefix}rnn.weight_hh_l0 (found {found}): "
                             f"tinyrnn reads state_dicts named {names}")
    directions = 2 if any(d for _, d in layers) else 1
    for k in range(max(k for k, _ in layers) + 1):
        for d in range(directions):
            roles = layers.get((k, d), {})
            missing = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"} - set(roles)
            if missing:
                suffix = f"_l{k}" + ("_reverse" if d else "")
                raise ModelFileError(f"{where}: layer {k} lacks " + ", ".join(
                    f"{prefix}rnn.{role}{suffix}" for role in sorted(missing)))
    return layers


def _check_tokens(vocab, tokenizer, where, what="vocabulary"):
    """Every token of vocab (past its special ones) is one the tokenizer makes of some text:
    a single character, or a word that tokenizes to itself (not "GOOD", "a b", "" or a lone
    surrogate, which no input could ever reach)."""
    for token in vocab.tokens[len(vocab.specials):]:
        if tokenizer.kind == "chars" and len(token) != 1:
            raise ModelFileError(f"{where}: a character model's {what} holds single characters, not "
                                 f"'{printable(token)[:40]}' (a model of words?)")
        if surrogate_in(token) is not None or tokenizer.kind == "words" and tokenize(token) != [token]:
            raise ModelFileError(f"{where}: the {what} holds '{printable(token)[:40]}', which is not a word as "
                                 f"tinyrnn reads text (Unicode NFKC, case-folded, split at spaces and "
                                 f"punctuation): no input could reach it")


def _check_agrees_with_saved(config, saved, where):
    given, kept = config.get("tokenizer"), saved.get("tokenizer")
    kept = kept.get("kind") if isinstance(kept, dict) else kept
    given = given.get("kind") if isinstance(given, dict) else given
    if given and kept and given != kept and config.get("task") != "classify":   # (a classifier: words, said below)
        raise ModelFileError(f"{where}: tokenizer {given} disagrees with the file's config ({kept})")
    for key in ("task", "cell", "num_layers", "bidirectional", "embed_size", "hidden_size", "dtype", "attention",
                "attention_size", "features"):
        if key in saved and key in config and saved[key] != config[key]:
            raise ModelFileError(f"{where}: its config says {key} {saved[key]!r}, its tensors {config[key]!r}")


def read_token_list(path, what):
    """A list of strings from a JSON list, or from a file with one per line (lines end at
    "\n", a final "\r" is dropped; a vocabulary of characters, which holds "\n", needs JSON).
    Names that are not a vocabulary's (classes, targets, series) must be printable and not blank."""
    tokens = _token_list(path, what)
    if what != "vocabulary":
        odd = next((token for token in tokens if not token.strip() or odd_name(token)), None)
        if odd is not None:
            raise ModelFileError(f"{path}: the {what} entry '{printable(odd)[:60]}' is blank or holds a control, "
                                 f"line-break or invisible character")
    return tokens


def _token_list(path, what):
    raw = read_regular(path, f"{what} file", MAX_TOKEN_LIST_BYTES, ModelFileError)   # no FIFO, no /dev/zero
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ModelFileError(f"{path}: not a {what} file ({error.__class__.__name__})") from None
    if text.lstrip().startswith("["):
        tokens = load_json(text, path, ModelFileError)
        if not (isinstance(tokens, list) and all(isinstance(token, str) for token in tokens)):
            raise ModelFileError(f"{path}: the {what} must be a JSON list of strings")
        return tokens
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()                                 # the file's final newline
    for number, line in enumerate(lines, start=1):
        if not line:
            raise ModelFileError(f"{path}:{number}: an empty line; one {what} entry per line (a JSON list "
                                 f"for entries such as a newline)")
    return lines
