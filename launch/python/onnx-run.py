"""Runs an `rnntrain export` model in ONNX Runtime on a text and scores it as `rnntrain eval`
does, from ONNX Runtime's float32 logits in float64. Prints one JSON object.

A language model reads the text as one stream, in two chunks of unequal length with the state
(h0/c0 from hn/cn, or the MLP's history from history_out) carried from the first to the second;
`loss` is the mean nats per predicted token. `chunked_vs_whole` is the largest difference of a
logit between that run and one run over the whole text, relative to the largest logit: the state
hand-over must not change any position. With `--fixed FIXED.onnx` (the export without
--steps-dynamic, τ fixed), the text is also run through it τ tokens at a time and
`fixed_vs_whole` measures the same difference over the positions it covers.

With `--mask-rate` (the model's data.mask_rate), a fill-in-the-middle model is scored on
rnntrain eval's windows: τ tokens each, about mask_rate of them replaced by the mask token,
chosen by rnntrain's counter hash with seed 0 and epoch 0 (written again here from
WindowBatches' description), zero initial state; `loss` is over the masked positions,
`accuracy` the share of them whose most likely token is right.

Usage: onnx-run.py MODEL.onnx TEXT [--fixed FIXED.onnx] [--mask-rate R]"""
import argparse
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("text")
parser.add_argument("--fixed")
parser.add_argument("--mask-rate", type=float)
args = parser.parse_args()

proto = onnx.load(args.model)
onnx.checker.check_model(proto, full_check=True)
meta = {p.key: p.value for p in proto.metadata_props}
config, vocabulary = json.loads(meta["model"]), json.loads(meta["vocabulary"])
if meta["tokenizer"] != "char":
    print(f"onnx_run: {args.model}: only char-level models (this one is {meta['tokenizer']})", file=sys.stderr)
    sys.exit(2)
index = {c: i for i, c in enumerate(vocabulary)}
with open(args.text, encoding="utf-8") as f:
    text = f.read()
unknown = sorted(set(text) - set(index))
if unknown:
    print(f"onnx_run: {args.text}: characters not in the vocabulary: {''.join(unknown)!r}", file=sys.stderr)
    sys.exit(2)
ids = np.array([index[c] for c in text], dtype=np.int64)
V = config["vocabulary"]
carried = {"h0": "hn", "c0": "cn", "history": "history_out"}


def start_state(session, n):
    """Zero states, and a history of V (no token yet), for n sequences."""
    state = {}
    for i in session.get_inputs():
        if i.name == "tokens":
            continue
        shape = [n if d == "n" else d for d in i.shape]
        state[i.name] = np.full(shape, V, np.int64) if i.name == "history" else np.zeros(shape, np.float32)
    return state


def run(session, chunks):
    """Logits [τ_total × V] of one stream fed chunk by chunk (arrays of ids), state carried."""
    state, out = start_state(session, 1), []
    names = [o.name for o in session.get_outputs()]
    for chunk in chunks:
        results = dict(zip(names, session.run(None, {"tokens": chunk.reshape(-1, 1), **state})))
        out.append(results["logits"][:, 0, :])
        state = {name: results[carried[name]] for name in state}
    return np.concatenate(out)


def nll(logits, targets):
    """Per-position −log p(target) in float64."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    return np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(targets)), targets]


def difference(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
if args.mask_rate is not None:
    mask, rate = int(meta["mask_token"]), args.mask_rate
    tau = proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value
    if not tau:
        sys.exit("onnx_run: a fill-in-the-middle model is scored with the fixed-τ export")
    M = (1 << 64) - 1

    def mix(z):
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return z ^ (z >> 31)

    def key(*parts):
        h = 0x243F6A8885A308D3
        for p in parts:
            h = mix((h + p * 0x9E3779B97F4A7C15) & M)
        return h

    threshold = int(rate * 2.0**53)
    windows = len(ids) // tau
    inputs = ids[: windows * tau].reshape(windows, tau).copy()
    hits = np.array([[key(0, 0, w, t) >> 11 < threshold for t in range(tau)] for w in range(windows)])
    for w in np.flatnonzero(~hits.any(axis=1)):
        hits[w, key(0, 0, int(w), 0x4F4E45) % tau] = True
    targets = inputs.copy()
    inputs[hits] = mask
    state = start_state(session, windows)
    logits = session.run(["logits"], {"tokens": np.ascontiguousarray(inputs.T), **state})[0]  # [τ × n × V]
    chosen = logits.transpose(1, 0, 2)[hits]
    losses = nll(chosen, targets[hits])
    print(json.dumps({"loss": float(losses.mean()), "tokens": int(hits.sum()),
                      "accuracy": float((chosen.argmax(axis=1) == targets[hits]).mean())}))
    sys.exit(0)

x, y = ids[:-1], ids[1:]
cut = len(x) // 3
chunked = run(session, [x[:cut], x[cut:]])
whole = run(session, [x])
result = {"loss": float(nll(chunked, y).mean()), "tokens": len(y), "chunks": [cut, len(x) - cut],
          "chunked_vs_whole": difference(chunked, whole)}
if args.fixed:
    fixed = ort.InferenceSession(args.fixed, providers=["CPUExecutionProvider"])
    tau = fixed.get_inputs()[0].shape[0]
    covered = len(x) // tau * tau
    result["fixed_steps"] = tau
    result["fixed_vs_whole"] = difference(run(fixed, np.split(x[:covered], covered // tau)), whole[:covered])
print(json.dumps(result))
