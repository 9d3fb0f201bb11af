"""PyTorch's CPU training step on the shape of an rnntrain benchmark config: the step `rnntrain bench`
times (embedding, stacked RNN, linear decoder; cross-entropy, backward, clip_grad_norm_, Adam) on
random tokens, for launch/bench-all and launch/bench-precision to compare against.

Usage: python launch/python/pytorch-step-bench.py THREADS [--bf16] [--batch-mult K] CONFIG.yaml ...
  --bf16          torch.autocast("cpu", dtype=torch.bfloat16) around the forward pass (oneDNN's bf16
                  kernels on CPUs with AVX512_BF16); the loss, master weights and Adam stay fp32.
  --batch-mult K  K times the config's train.global_batch (K ranks of rnntrain at the same global batch).
Each config is resolved by `rnntrain config` (RNNTRAIN, default .build/release/rnntrain), so the shape
is the one rnntrain reads. Prints one line per config: NAME fp32|bf16 threads= batch= steps= tokens/s= GFLOP/s=.
"""
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn

CELLS = {"lstm": (nn.LSTM, 4), "gru": (nn.GRU, 3), "rnn": (nn.RNN, 1)}


def resolved(path):
    """The config as `rnntrain config` writes it: "section:" lines, then "  key: value" lines."""
    tool = os.environ.get("RNNTRAIN", ".build/release/rnntrain")
    text = subprocess.run([tool, "config", "--config", path], check=True, capture_output=True, text=True).stdout
    values, section = {}, ""
    for line in text.splitlines():
        if not line.startswith(" "):
            section = line.rstrip(":")
        else:
            key, _, value = line.strip().partition(": ")
            values[f"{section}.{key}"] = value.strip('"')
    return values


class LanguageModel(nn.Module):
    def __init__(self, cell, layers, vocabulary, embedding, hidden, bidirectional):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, embedding)
        self.rnn = CELLS[cell][0](embedding, hidden, layers, bidirectional=bidirectional)
        self.decoder = nn.Linear(hidden * (2 if bidirectional else 1), vocabulary)

    def forward(self, x):
        return self.decoder(self.rnn(self.embedding(x))[0])


def flops_per_token(cell, layers, vocabulary, embedding, hidden, bidirectional):
    """Multiply-adds of the products, ×2 for FLOPs, ×3 for forward and backward."""
    directions, gates, total = (2 if bidirectional else 1), CELLS[cell][1], 0
    for layer in range(layers):
        inputs = embedding if layer == 0 else hidden * directions
        total += directions * 2 * (inputs + hidden) * gates * hidden
    return 3 * (total + 2 * hidden * directions * vocabulary)


def run(path, bf16, mult, seconds=6.0):
    c = resolved(path)
    cell, layers, hidden = c["model.cell"], int(c["model.layers"]), int(c["model.hidden"])
    embedding, bidirectional = int(c["model.embedding"]), c["model.bidirectional"] == "true"
    vocabulary, steps, batch = int(c["bench.vocabulary"]), int(c["train.seq_len"]), int(c["train.global_batch"]) * mult
    torch.manual_seed(0)
    model = LanguageModel(cell, layers, vocabulary, embedding, hidden, bidirectional)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    x, y = torch.randint(0, vocabulary, (steps, batch)), torch.randint(0, vocabulary, (steps, batch))
    loss_function = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
        loss_function(out.float().reshape(-1, vocabulary), y.reshape(-1)).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()

    for _ in range(3):
        step()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        done += 1
    rate = done * steps * batch / (time.perf_counter() - start)
    gflops = rate * flops_per_token(cell, layers, vocabulary, embedding, hidden, bidirectional) / 1e9
    name = os.path.splitext(os.path.basename(path))[0]
    print(f"{name:14s} {'bf16' if bf16 else 'fp32'} threads={torch.get_num_threads()} batch={batch} steps={done} "
          f"tokens/s={rate:9.0f}  GFLOP/s={gflops:6.1f}", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or not args[0].isdigit():
        sys.exit(__doc__)
    torch.set_num_threads(int(args.pop(0)))
    bf16 = "--bf16" in args
    args = [a for a in args if a != "--bf16"]
    mult = 1
    if "--batch-mult" in args:
        i = args.index("--batch-mult")
        mult = int(args[i + 1])
        del args[i:i + 2]
    if not args:
        sys.exit(__doc__)
    for path in args:
        run(path, bf16, mult)
