"""Seq2seq models out of tinyrnn and back: TorchSeq2Seq (float64) gives tinyrnn's logits and
every parameter's gradient to 1e-10 and its search's translations (greedy and beam); the ONNX
graph's greedy translation is tinyrnn's; export then import gives the same file.

Random models draw every weight and bias from N(0, 0.8^2), so translations vary from row to
row, some end with <eos> and some run to the maximum length. Source batches are padded with
random ids, which must not matter.
"""
import json

import numpy as np
import pytest
import safetensors.numpy

from tinyrnn.cli import main
from tinyrnn.decoding import search
from tinyrnn.export_torch import write_torch_file
from tinyrnn.io import load_model, save_model, stored_config
from tinyrnn.seq2seq import Seq2Seq
from tinyrnn.vocab import EOS_ID, PAD_ID, SPECIALS, TARGET_SPECIALS, pad_batch

try:                                  # the ONNX and import tests run without torch
    import safetensors.torch as safetensors_torch
    import torch
    from torch.nn import functional as F

    from tinyrnn.torch_model import TorchRNN, TorchSeq2Seq, build
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs torch")


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny tensors: one thread is fastest, and waits for no other on a busy machine."""
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

ATOL = 1e-10
CELLS = ("rnn", "lstm", "gru")
ATTENTIONS = ("dot", "general", "additive", "none")
# a small shape and a large one: one-hot, one layer, one direction; embedding, two layers,
# bidirectional (dot attention reads encoder outputs as wide as the decoder's: one direction)
SHAPES = {"small": dict(), "large": dict(embed_size=3, num_layers=2, bidirectional=True)}
SOURCE_LENGTHS, TARGET_LENGTHS = (5, 2, 4, 1), (3, 1, 5, 2)


def random_seq2seq(seed, cell, attention, dtype="float64", **shape):
    if attention == "dot":
        shape = {**shape, "bidirectional": False}
    if attention == "additive" and shape.get("num_layers") == 2:
        shape["attention_size"] = 3                          # A != H
    model = Seq2Seq([*SPECIALS, *"abcde"], [*TARGET_SPECIALS, *"vwxyz"], 4, cell, dtype, attention=attention,
                    **shape)
    rng = np.random.default_rng(seed)
    for array in model.params.values():
        array[...] = rng.normal(0.0, 0.8, size=array.shape)
    return model


def source_batch(seed):
    """(sequences, ids (B, S) padded with random ids, lengths (B,))."""
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(2, 7, size=n) for n in SOURCE_LENGTHS]
    ids, mask = pad_batch(sequences)
    return sequences, np.where(mask, ids, rng.integers(0, 7, size=ids.shape)), mask


def target_batch(seed):
    """targets (B, T): tokens, <eos>, then <pad>."""
    rng = np.random.default_rng(seed + 1)
    return pad_batch([np.append(rng.integers(4, 9, size=n), EOS_ID) for n in TARGET_LENGTHS])[0]


def torch_module(model, path):
    """The module the exported file's config builds, loaded strictly with the file's tensors."""
    write_torch_file(model, path)
    with safetensors.safe_open(path, "np") as handle:
        config = json.loads(handle.metadata()["config"])
    module = build(config).double()
    module.load_state_dict(safetensors_torch.load_file(path), strict=True)
    return module.eval()


def close(ours, theirs, what):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert np.shape(ours) == theirs.shape, f"tinyrnn vs torch: {what} shape {np.shape(ours)} != {theirs.shape}"
    error = float(np.abs(np.asarray(ours) - theirs).max())
    assert error <= ATOL, f"tinyrnn vs torch: {what} differs by {error:.3e} (atol {ATOL})"


def shifted_right(targets):
    """The decoder's inputs: <bos>, y_1 .. y_{T-1}."""
    return np.concatenate([np.full((len(targets), 1), 2), targets[:, :-1]], axis=1)


@needs_torch
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("cell", CELLS)
def test_torch_module_gives_tinyrnns_logits_and_gradients(cell, attention, shape, tmp_path):
    seed = 10 * CELLS.index(cell) + ATTENTIONS.index(attention)
    model = random_seq2seq(seed, cell, attention, **SHAPES[shape])
    _, ids, mask = source_batch(seed)
    targets = target_batch(seed)
    result = model.loss_and_gradients(ids, mask, targets)
    logits = model._forward(ids, mask, targets, None)[0].reshape(*targets.shape, -1)   # (B, T, V_t)

    module = torch_module(model, str(tmp_path / "m.torch.safetensors"))
    assert isinstance(module, TorchSeq2Seq)
    source, lengths = torch.from_numpy(ids), torch.from_numpy(mask.sum(1))
    torch_logits = module(source, lengths, torch.from_numpy(shifted_right(targets)))      # (B, T, V_t)
    real = torch.from_numpy(targets != PAD_ID)
    loss = F.cross_entropy(torch_logits[real], torch.from_numpy(targets)[real])
    loss.backward()

    close(logits[targets != PAD_ID], torch_logits[real], "logits at the real target steps")
    close(result.loss, loss, "loss")
    names = dict(module.named_parameters())
    assert set(names) == set(model.grads), f"torch parameters {sorted(names)} != tinyrnn's {sorted(model.grads)}"
    for name, parameter in names.items():
        close(model.grads[name], parameter.grad, f"gradient of {name}")


@needs_torch
@pytest.mark.parametrize("cell,attention,shape", [("gru", "additive", "large"), ("lstm", "general", "large"),
                                                  ("rnn", "dot", "small"), ("lstm", "none", "small"),
                                                  ("gru", "general", "small")])
def test_torch_translations_are_tinyrnns_greedy_and_beam(cell, attention, shape, tmp_path):
    seed = 100 + 10 * CELLS.index(cell) + ATTENTIONS.index(attention)
    model = random_seq2seq(seed, cell, attention, **SHAPES[shape])
    sequences, ids, mask = source_batch(seed)
    module = torch_module(model, str(tmp_path / "m.torch.safetensors"))
    source, lengths = torch.from_numpy(ids), torch.from_numpy(mask.sum(1))
    found = {}
    for beam in (1, 3):
        for max_length in (None, 6):
            ours = [translation.ids for translation in search(model, sequences, beam, max_length)]
            assert module.translate(source, lengths, beam, max_length) == ours, f"beam {beam}, max {max_length}"
            found[beam, max_length] = ours
    assert found[1, None] != found[3, None] or \
        any(len(ids) == 6 for ids in found[1, 6]), "nothing here tells greedy from beam or the maximum length"


@needs_torch
def test_beam_search_differs_from_greedy_somewhere(tmp_path):
    """The tests above would pass with beam search reduced to greedy unless some model's best
    hypothesis differs: hold that some do, and that TorchSeq2Seq finds every one. (Among
    these, gru 5 and rnn 6 also tell ranking by score / tokens from ranking by score.)"""
    differing = 0
    for cell, seed in [("gru", seed) for seed in range(6)] + [("rnn", 6)]:
        model = random_seq2seq(seed, cell, "general")
        sequences, ids, mask = source_batch(seed)
        module = torch_module(model, str(tmp_path / f"{cell}{seed}.torch.safetensors"))
        greedy = [translation.ids for translation in search(model, sequences, 1, 8)]
        for beam in (2, 3):
            ours = [translation.ids for translation in search(model, sequences, beam, 8)]
            assert module.translate(torch.from_numpy(ids), torch.from_numpy(mask.sum(1)), beam, 8) == ours, \
                f"{cell} seed {seed} beam {beam}"
            differing += ours != greedy
    assert differing >= 5


@needs_torch
def test_build_chooses_the_module_by_task():
    config = stored_config(random_seq2seq(0, "gru", "general"))
    assert isinstance(build(config), TorchSeq2Seq)
    assert isinstance(build({"task": "lm", "cell": "gru", "vocab_size": 5, "hidden_size": 3}), TorchRNN)


# ---- ONNX: greedy translation in one graph ----------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("cell", CELLS)
def test_onnx_runtime_translates_as_tinyrnn_greedy(cell, attention, shape, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    seed = 200 + 10 * CELLS.index(cell) + ATTENTIONS.index(attention)
    model = random_seq2seq(seed, cell, attention, "float32", **SHAPES[shape])
    path, out = str(tmp_path / "m.safetensors"), str(tmp_path / "m.onnx")
    save_model(model, path)
    assert main(["export", "--model", path, "--format", "onnx", "--out", out]) == 0
    assert "output target_ids (B, steps)" in capsys.readouterr().err
    sequences, ids, mask = source_batch(seed)
    session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    for max_length in (3, None):                                     # None: each source's own default
        given = {} if max_length is None else {"max_length": np.array(max_length)}
        result = session.run(["target_ids"], {"ids": ids, "lengths": mask.sum(axis=1), **given})[0]
        translations = search(model, sequences, 1, max_length)
        steps = max(len(t.ids) + t.finished for t in translations)       # the Loop stops when all are done
        expected = np.full((len(sequences), steps), PAD_ID)
        for row, translation in zip(expected, translations):
            row[:len(translation.ids) + translation.finished] = translation.ids + [EOS_ID] * translation.finished
        np.testing.assert_array_equal(result, expected, err_msg=f"max_length {max_length}")
    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["target_vocab"]) == model.target_vocab.tokens
    assert json.loads(metadata["config"]) == stored_config(model)


# ---- export, import --------------------------------------------------------------------------

@pytest.mark.parametrize("cell,attention,shape,dtype", [("lstm", "additive", "large", "float64"),
                                                        ("gru", "dot", "small", "float32"),
                                                        ("rnn", "none", "large", "float64"),
                                                        ("gru", "general", "large", "float32")])
def test_torch_export_then_import_gives_the_same_file(cell, attention, shape, dtype, tmp_path, capsys):
    model = random_seq2seq(1, cell, attention, dtype, **SHAPES[shape], normalize="accents", dropout=0.25)
    path, exported, back = (str(tmp_path / f) for f in ("m.safetensors", "m.torch.safetensors", "back.safetensors"))
    save_model(model, path)
    assert main(["export", "--model", path, "--format", "torch", "--out", exported]) == 0
    assert main(["import", "--state-dict", exported, "--out", back]) == 0
    capsys.readouterr()
    assert open(back, "rb").read() == open(path, "rb").read()          # file to file, byte for byte
    sequences = source_batch(1)[0]
    assert [t.ids for t in search(load_model(back), sequences, 2)] == [t.ids for t in search(model, sequences, 2)]


@needs_torch
def test_the_printed_code_loads_a_module_that_translates_as_tinyrnn(tmp_path, capsys):
    model = random_seq2seq(3, "lstm", "additive", **SHAPES["large"])
    path, exported = str(tmp_path / "m.safetensors"), str(tmp_path / "m.torch.safetensors")
    save_model(model, path)
    assert main(["export", "--model", path, "--format", "torch", "--out", exported]) == 0
    code = capsys.readouterr().out
    assert "from tinyrnn.torch_model import TorchSeq2Seq" in code
    namespace = {}
    exec(code, namespace)                                      # the lines exactly as printed
    sequences, ids, mask = source_batch(3)
    translated = namespace["model"].translate(torch.from_numpy(ids), torch.from_numpy(mask.sum(1)), beam=2)
    assert translated == [t.ids for t in search(model, sequences, 2)]
    assert namespace["target_vocab"] == model.target_vocab.tokens and namespace["vocab"] == model.vocab.tokens


@needs_torch
def test_a_state_dict_saved_by_pytorch_imports_with_the_same_outputs(tmp_path, capsys):
    """PyTorch's own initialisation, no tinyrnn config: the architecture (additive attention
    of A = 5 != H, a bidirectional LSTM encoder of two layers, the bridge) from the tensors."""
    from safetensors.torch import save_file
    torch.manual_seed(0)
    source, target = [*SPECIALS, *"abcdefg"], [*TARGET_SPECIALS, *"uvwxyz"]
    config = {"task": "seq2seq", "cell": "lstm", "vocab_size": len(source), "target_vocab_size": len(target),
              "hidden_size": 6, "num_layers": 2, "bidirectional": True, "embed_size": 4, "attention": "additive",
              "attention_size": 5}
    module = TorchSeq2Seq(config).double().eval()
    for parameter in module.parameters():                      # large enough to vary from row to row
        parameter.data.normal_(0.0, 0.8)
    state = str(tmp_path / "sd.safetensors")
    save_file(module.state_dict(), state, metadata={"vocab": json.dumps(source), "target_vocab": json.dumps(target)})
    out = str(tmp_path / "m.safetensors")
    assert main(["import", "--state-dict", state, "--out", out]) == 0
    assert "saved" in capsys.readouterr().err
    model = load_model(out)
    assert (model.config.attention, model.config.attention_size, model.config.cell, model.config.num_layers,
            model.config.bidirectional, model.config.embed_size) == ("additive", 5, "lstm", 2, True, 4)
    for name, parameter in module.state_dict().items():
        assert np.array_equal(model.params[name], parameter.numpy()), name
    sequences, ids, mask = source_batch(4)
    for beam in (1, 3):
        assert module.translate(torch.from_numpy(ids), torch.from_numpy(mask.sum(1)), beam) == \
            [t.ids for t in search(model, sequences, beam)]


def test_import_refuses_seq2seq_state_dicts_that_do_not_fit_in_one_line(tmp_path, capsys):
    model = random_seq2seq(0, "gru", "general", **SHAPES["large"])
    tensors = {name: array.copy() for name, array in model.params.items()}
    metadata = {"vocab": json.dumps(model.vocab.tokens), "target_vocab": json.dumps(model.target_vocab.tokens)}
    state, out = tmp_path / "sd.safetensors", tmp_path / "m.safetensors"

    def refused(tensors, metadata, message, *options):
        state.write_bytes(safetensors.numpy.save(tensors, metadata=metadata))
        assert main(["import", "--state-dict", str(state), *options, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
        assert not out.exists()
    refused(tensors, {"vocab": metadata["vocab"]}, "carries no target_vocab metadata")
    refused(tensors, {**metadata, "target_vocab": json.dumps(["<pad>", "<unk>", "x"])},
            "a tinyrnn target vocabulary starts with <pad>, <unk>, <bos>, <eos>")
    reverse = {name.replace("_l0", "_l0_reverse"): array for name, array in tensors.items()
               if name.startswith("decoder.rnn.") and name.endswith("_l0")}
    refused({**tensors, **reverse}, metadata, "the decoder reads one direction")
    refused({**tensors, "attention.extra": np.zeros(3)}, metadata, "tensors tinyrnn does not know: attention.extra")
    refused({name: array for name, array in tensors.items() if name != "bridge.bias"}, metadata,
            "tensors missing for this architecture: bridge.bias")
    refused({**tensors, "combine.weight": np.zeros((4, 9))}, metadata, "combine.weight is [4, 9], expected [4, 12]")
    (tmp_path / "c.txt").write_text("a\nb\n")
    refused(tensors, metadata, "a seq2seq model predicts its target vocabulary; it has no classes",
            "--classes", str(tmp_path / "c.txt"))
