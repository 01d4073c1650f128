"""Train a tinyrnn classifier further in PyTorch with DistributedDataParallel, and bring it back.

    tinyrnn export --model model.safetensors --format torch --out model.torch.safetensors
    python examples/ddp_finetune.py --weights model.torch.safetensors --out tuned.torch.safetensors
    tinyrnn import --state-dict tuned.torch.safetensors --out tuned.safetensors

Starts --processes CPU processes (the gloo backend on 127.0.0.1; on several machines, start
it with torchrun and set the same MASTER_ADDR / MASTER_PORT everywhere). Each process holds
a replica of tinyrnn.torch_model.TorchRNN loaded from the exported weights and trains on its
own shard of every batch; DDP averages the gradients, so the replicas stay identical. The
first process writes the result in the same format as the export (tinyrnn's config,
vocabulary and classes in the metadata), then the script checks that tinyrnn, importing it,
gives the same probabilities as the PyTorch module.

Data: --data FILE (CSV/TSV/JSONL with text and label, or LABEL=FILE, as tinyrnn train reads)
or, by default, tinyrnn's embedded training set. Needs torch (the bench extra).
"""
import argparse
import json
import os
import socket

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel

import tinyrnn
from tinyrnn.import_torch import model_from_state_dict
from tinyrnn.torch_model import TorchRNN

TOLERANCE = {"float64": 1e-10, "float32": 1e-5}      # tinyrnn vs PyTorch on the same weights


def read_export(path):
    """(config, vocab, classes, metadata) of a file written by tinyrnn export --format torch."""
    with safe_open(path, "pt") as handle:
        metadata = handle.metadata()
    config = json.loads(metadata["config"])
    if config["task"] != "classify":
        raise SystemExit(f"{path} is a language model; this example fine-tunes classifiers")
    return config, json.loads(metadata["vocab"]), json.loads(metadata["classes"]), metadata


def encoded_data(data, vocab, classes):
    """(ids (N, T) int64 padded with 0, lengths (N,), targets (N,), words not in the vocabulary)
    of the labelled texts. The vocabulary is the model's: new words are read as <unk> (id 1)."""
    dataset = tinyrnn.load_dataset(data) if data else tinyrnn.default_dataset()[0]
    unknown_labels = sorted(set(dataset.labels) - set(classes))
    if unknown_labels:
        raise SystemExit(f"labels the model does not have: {', '.join(unknown_labels)} (it has {', '.join(classes)})")
    index = {token: i for i, token in enumerate(vocab)}
    words = [tinyrnn.tokenize(text) for text in dataset.texts]
    unknown = sorted({word for text in words for word in text if word not in index})
    sequences = [[index.get(word, 1) for word in text] or [1] for text in words]
    ids = np.zeros((len(sequences), max(map(len, sequences))), np.int64)
    for row, sequence in enumerate(sequences):
        ids[row, :len(sequence)] = sequence
    targets = [classes.index(label) for label in dataset.labels]
    return torch.from_numpy(ids), torch.tensor(list(map(len, sequences))), torch.tensor(targets), unknown


class LogProbabilities(torch.nn.Module):
    """What DDP wraps: the model, its forward giving log-probabilities (stable, for nll_loss)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids, lengths):
        return self.model.log_probabilities(ids, lengths)


def train(rank, world_size, port, args):
    """One process of the group: a DDP replica trained on its shard of each batch."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    torch.manual_seed(args.seed)                                  # the same batches in every process
    config, vocab, classes, metadata = read_export(args.weights)
    model = TorchRNN(config).to(getattr(torch, config["dtype"]))   # float32 or float64, as exported
    model.load_state_dict(load_file(args.weights))
    replica = DistributedDataParallel(LogProbabilities(model))
    optimizer = torch.optim.Adam(replica.parameters(), lr=args.lr)
    ids, lengths, targets, _ = encoded_data(args.data, vocab, classes)
    for step in range(1, args.steps + 1):
        batch = torch.randperm(len(ids))[:args.batch_size]
        mine = batch[rank::world_size]                            # this process's shard of the batch
        loss = torch.nn.functional.nll_loss(replica(ids[mine], lengths[mine]), targets[mine])
        optimizer.zero_grad()
        loss.backward()                                           # DDP averages the gradients here
        optimizer.step()
        if rank == 0 and (step % 10 == 0 or step == args.steps):
            print(f"step {step}: loss {loss.item():.4f} (process 0's shard)", flush=True)
    weights = torch.cat([p.detach().flatten() for p in model.parameters()])
    gathered = [torch.empty_like(weights) for _ in range(world_size)]
    dist.all_gather(gathered, weights)
    if rank == 0:
        assert all(torch.equal(weights, other) for other in gathered), "replicas diverged"
        state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
        save_file(state, args.out, metadata=metadata)
        print(f"saved {args.out}: {world_size} replicas, identical after {args.steps} steps", flush=True)
    dist.destroy_process_group()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_round_trip(path, data):
    """tinyrnn, importing the fine-tuned file, must give the PyTorch module's probabilities."""
    config, vocab, classes, _ = read_export(path)
    module = TorchRNN(config).to(getattr(torch, config["dtype"])).eval()
    tensors = load_file(path)
    module.load_state_dict(tensors)
    back = model_from_state_dict({name: t.numpy() for name, t in tensors.items()}, vocab, classes, config)
    ids, lengths, _, _ = encoded_data(data, vocab, classes)
    with torch.no_grad():
        expected = module(ids, lengths).numpy()
    sequences = [row[:n] for row, n in zip(ids.numpy(), lengths.numpy())]
    difference = float(np.abs(back.predict_proba(sequences).astype(np.float64) - expected).max())
    print(f"tinyrnn and PyTorch agree on the fine-tuned weights: max |difference| {difference:.1e}")
    return difference


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help="tinyrnn export --format torch output")
    parser.add_argument("--out", required=True, help="where to write the fine-tuned weights")
    parser.add_argument("--data", action="append", help="labelled data, PATH or LABEL=FILE, repeatable "
                        "(default: tinyrnn's embedded training set)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.batch_size < args.processes:
        parser.error(f"--batch-size {args.batch_size} must be at least --processes {args.processes}: "
                     f"each process trains on its share of every batch")
    _, vocab, classes, _ = read_export(args.weights)
    unknown = encoded_data(args.data, vocab, classes)[3]
    if unknown:
        print(f"note: {len(unknown)} word(s) of the data are not in the model's vocabulary and are read "
              f"as <unk> (the vocabulary is fixed): {', '.join(unknown[:10])}", flush=True)
    mp.spawn(train, args=(args.processes, free_port(), args), nprocs=args.processes, join=True)
    if check_round_trip(args.out, args.data) > TOLERANCE[read_export(args.out)[0]["dtype"]]:
        raise SystemExit("the fine-tuned weights give different outputs in tinyrnn")


if __name__ == "__main__":
    main()
