"""Scores a text with a checkpoint's model.safetensors loaded into PyTorch (strict), as
`rnntrain eval` does for a language model: one stream, full context, mean nats per predicted
token. Prints one JSON object. Usage: pytorch-eval.py CHECKPOINT_DIR TEXT_FILE"""
import json
import sys

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file

checkpoint, text = sys.argv[1], sys.argv[2]
weights = f"{checkpoint}/model.safetensors"
meta = safe_open(weights, "pt").metadata()
config, vocabulary = json.loads(meta["model"]), json.loads(meta["vocabulary"])


def refuse(why):
    print(f"pytorch-eval: {checkpoint}: {why}", file=sys.stderr)
    sys.exit(2)


# The cells PyTorch has a module for (each cell's `pytorchModule` in Sources/Models/Cells).
MODULES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
if meta["tokenizer"] != "char" or config["bidirectional"]:
    refuse("only causal char-level models")
if config["cell"] not in MODULES:
    refuse(f"PyTorch has no module for the {config['cell']} cell")
if config["cell"] == "gru" and config["gruVariant"] != "linear-before-reset":
    refuse("nn.GRU is the linear-before-reset GRU; this model uses the notes' variant")
cell = MODULES[config["cell"]]
options = {"nonlinearity": config["activation"]} if config["cell"] == "rnn" else {}


class RNNModel(nn.Module):  # the names of PyTorch's word_language_model example
    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(config["vocabulary"], config["embedding"])
        self.rnn = cell(config["embedding"], config["hidden"], config["layers"], **options)
        self.decoder = nn.Linear(config["hidden"], config["vocabulary"])


model = RNNModel().double().eval()
model.load_state_dict({k: v.double() for k, v in load_file(weights).items()}, strict=True)
index = {c: i for i, c in enumerate(vocabulary)}
with open(text, encoding="utf-8") as f:
    tokens = torch.tensor([index[c] for c in f.read()])
with torch.no_grad():
    out, _ = model.rnn(model.encoder(tokens[:-1]).unsqueeze(1))
    loss = nn.functional.cross_entropy(model.decoder(out.squeeze(1)), tokens[1:]).item()
print(json.dumps({"loss": loss, "tokens": len(tokens) - 1}))
