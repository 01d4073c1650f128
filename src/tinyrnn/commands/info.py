"""`tinyrnn info`: what a saved model is."""
import json
import os

from ..io import read_tinyrnn_file


def run(args):
    """Print the model's task, architecture, sizes, vocabulary, classes, format and checksum."""
    path, as_json = args.model, args.json

    model, _, metadata = read_tinyrnn_file(path)
    facts = {"file": path, "bytes": os.path.getsize(path), "format": metadata["format"], **model.summary(),
             "checksum": "verified" if "checksum" in metadata else "none (a file of an earlier version)"}
    if as_json:
        print(json.dumps(facts))
        return 0
    print(model.describe())
    for key, value in facts.items():
        if key == "tensors":
            continue
        if key == "vocabulary":
            value = f"{value} entries ({len(model.vocab.words)} tokens + <pad>, <unk>)"
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        print(f"  {key.replace('_', ' ') + ':':<18} {value}")
    print("  tensors:")
    for name, shape in facts["tensors"].items():
        print(f"    {name:<28} {' x '.join(map(str, shape))}")
    return 0
