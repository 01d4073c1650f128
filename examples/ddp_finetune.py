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


def read_export(path):
    """(config, vocab, classes, metadata) of a file written by tinyrnn export --format torch."""
    with safe_open(path, "pt") as handle:
        metadata = handle.metadata()
    config = json.loads(metadata["config"])
    if config["task"] != "classify":
        raise SystemExit(f"{path} is a language model; this example fine-tunes classifiers")
    return config, json.loads(metadata["vocab"]), json.loads(metadata["classes"]), metadata


def encoded_data(data, vocab, classes):
    """(ids (N, T) int64 padded with 0, lengths (N,), targets (N,)) of the labelled texts."""
    dataset = tinyrnn.load_dataset(data) if data else tinyrnn.default_dataset()[0]
    index = {token: i for i, token in enumerate(vocab)}
    sequences = [[index.get(word, 1) for word in tinyrnn.tokenize(text)] or [1] for text in dataset.texts]
    ids = np.zeros((len(sequences), max(map(len, sequences))), np.int64)
    for row, sequence in enumerate(sequences):
        ids[row, :len(sequence)] = sequence
    targets = [classes.index(label) for label in dataset.labels]
    return torch.from_numpy(ids), torch.tensor(list(map(len, sequences))), torch.tensor(targets)


def train(rank, world_size, port, args):
    """One process of the group: a DDP replica trained on its shard of each batch."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    torch.manual_seed(args.seed)                                  # the same batches in every process
    config, vocab, classes, metadata = read_export(args.weights)
    model = TorchRNN(config).double()
    model.load_state_dict(load_file(args.weights))
    replica = DistributedDataParallel(model)
    optimizer = torch.optim.Adam(replica.parameters(), lr=args.lr)
    ids, lengths, targets = encoded_data(args.data, vocab, classes)
    for step in range(1, args.steps + 1):
        batch = torch.randperm(len(ids))[:args.batch_size]
        mine = batch[rank::world_size]                            # this process's shard of the batch
        probabilities = replica(ids[mine], lengths[mine])
        loss = torch.nn.functional.nll_loss(torch.log(probabilities), targets[mine])
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
    module = TorchRNN(config).double().eval()
    tensors = load_file(path)
    module.load_state_dict(tensors)
    back = model_from_state_dict({name: t.numpy() for name, t in tensors.items()}, vocab, classes, config)
    ids, lengths, _ = encoded_data(data, vocab, classes)
    with torch.no_grad():
        expected = module(ids, lengths).numpy()
    sequences = [row[:n] for row, n in zip(ids.numpy(), lengths.numpy())]
    difference = float(np.abs(back.predict_proba(sequences) - expected).max())
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
    mp.spawn(train, args=(args.processes, free_port(), args), nprocs=args.processes, join=True)
    if check_round_trip(args.out, args.data) > 1e-10:
        raise SystemExit("the fine-tuned weights give different outputs in tinyrnn")


if __name__ == "__main__":
    main()
