"""`tinyrnn export`: a saved model for PyTorch (a state_dict file) or ONNX runtimes."""
import sys

import numpy as np

from ..errors import TinyRNNError
from ..io import load_model
from ..text_output import printable
from .common import locked_outputs


def run(args):
    model_path, fmt, out, force = args.model, args.format, args.out, args.force

    if fmt == "onnx":
        from ..export_onnx import require_onnx
        require_onnx()
    with locked_outputs({"--out": (out, fmt)}, [("--model", model_path)], force):
        model = load_model(model_path)
        if model.task == "regress" and not model.config.features:
            raise TinyRNNError(f"{model_path} is a regressor of texts; export takes classifiers and language models "
                               f"of texts, translators, and every model of numbers")
        if fmt == "torch":
            from ..export_torch import loading_code, write_torch_file
            print(loading_code(model, out), flush=True)     # first: an output that cannot be written writes nothing
            write_torch_file(model, out)
            print(f"saved {printable(out)}: the lines above load it into PyTorch", file=sys.stderr)
        else:
            from ..export_onnx import write_onnx_file
            largest = float(max(np.abs(array).max() for array in (model.flat, *model.buffers.values())))
            if largest > float(np.finfo(np.float32).max):           # the graph is float32: they would be infinite
                raise TinyRNNError(f"{model_path} has weights of magnitude {largest:.3g}, beyond float32's range "
                                   f"({float(np.finfo(np.float32).max):.3g}); an ONNX export (float32) cannot hold them")
            write_onnx_file(model, out)
            print(f"saved {printable(out)}: {_onnx_signature(model)}", file=sys.stderr)
    return 0


def _onnx_signature(model):
    F = model.config.features
    if model.task == "forecast":
        return (f"input windows (B, W, {F}) float32 (W = {model.config.window}, the last steps of each series); "
                f"output forecasts (B, {model.config.horizon}, {F}) in the data's units")
    if F:
        output = "probabilities (B, C)" if model.task == "classify" else "predictions (B, R) in the data's units"
        return f"inputs values (B, T, {F}) float32 and lengths (B,) int64; output {output}"
    if model.task == "seq2seq":
        return ("inputs ids (B, S) int64, lengths (B,) int64 and optionally max_length () int64; output "
                "target_ids (B, steps) int64, the greedy translation (each row's tokens, <eos> (3), then <pad> (0))")
    shape = "(B, C)" if model.task == "classify" else "(B, T, V)"
    return f"inputs ids (B, T) int64 and lengths (B,) int64; output probabilities {shape}"
