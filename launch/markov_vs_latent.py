"""The table and plot of launch/markov-vs-latent, from what its commands printed into OUT/models.

python3 launch/markov_vs_latent.py OUT   ->   OUT/markov-vs-latent.{csv,md,png}

Every number comes from the tool's own output: `rnntrain ngram`'s JSON line (n-grams kept,
bytes, |V|^n, seconds), `rnntrain eval`'s JSON (validation bits), `rnntrain inspect` (parameters,
vocabulary) and the last line of a run's metrics.jsonl (elapsed training seconds). A missing file
or a non-finite number is an error: a report with a hole in it is not written.
"""
import csv
import json
import math
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ORDERS = range(1, 11)
CONTEXTS = (1, 2, 4, 8, 16)
CELLS = ("rnn", "gru", "lstm")
COLUMNS = ("model", "context", "ngrams", "parameters", "bytes", "table_entries",
           "val_bits_per_char", "val_tokens", "train_seconds")


def fail(message):
    print(f"markov_vs_latent: {message}", file=sys.stderr)
    sys.exit(1)


def load_text(path):
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        fail(f"{path}: {error.strerror}")


def load_json(path):
    try:
        return json.loads(load_text(path))
    except json.JSONDecodeError as error:
        fail(f"{path}: {error}")


def ngram_row(models, order):
    name = f"ngram-{order:02d}"
    built, scored = load_json(models / f"{name}.ngram.json"), load_json(models / f"{name}.eval.json")
    kept = [int(n) for n in built["ngrams"]]
    return {
        "model": f"{order}-gram", "context": order - 1, "ngrams": sum(kept),
        # A probability for every n-gram kept, a backoff weight for every one below the top order.
        "parameters": sum(kept) + sum(kept[:-1]), "bytes": int(built["stored_bytes"]),
        "table_entries": built["table_entries"], "val_bits_per_char": scored["bits_per_token"],
        "val_tokens": int(scored["tokens"]), "train_seconds": built["seconds"],
    }


def neural_row(models, name, label, context):
    directory = models / name
    scored = load_json(models / f"{name}.eval.json")
    inspected = load_text(models / f"{name}.inspect.txt")
    parameters = re.search(r"^parameters (\d+)$", inspected, re.M)
    vocabulary = re.search(r" vocabulary (\d+) ", inspected)
    if not parameters or not vocabulary:
        fail(f"{directory}.inspect.txt: no parameter count or vocabulary")
    lines = load_text(directory / "metrics.jsonl").splitlines()
    if not lines:
        fail(f"{directory}/metrics.jsonl: empty")
    last = json.loads(lines[-1])
    return {
        "model": label, "context": context, "ngrams": "", "parameters": int(parameters.group(1)),
        "bytes": 4 * int(parameters.group(1)),  # fp32 weights
        # The windowed MLP is a Markov model of order k + 1: its table would hold |V|^(k+1) entries.
        "table_entries": int(vocabulary.group(1)) ** (context + 1) if isinstance(context, int) else "",
        "val_bits_per_char": scored["bits_per_token"], "val_tokens": int(scored["tokens"]),
        "train_seconds": last["elapsed_s"],
    }


def rows_of(out):
    models = out / "models"
    rows = [ngram_row(models, n) for n in ORDERS]
    rows += [neural_row(models, f"mlp-k{k:02d}", f"MLP k={k}", k) for k in CONTEXTS]
    rows += [neural_row(models, cell, cell.upper(), "all (state h)") for cell in CELLS]
    for row in rows:
        for key in ("parameters", "bytes", "val_bits_per_char", "train_seconds"):
            if not math.isfinite(row[key]):
                fail(f"{row['model']}: {key} is {row[key]}")
    return rows


SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def power(x):
    """|V|^n as a reader takes it in: exact up to a million, then a mantissa and a power of ten."""
    if x == "":
        return "—"
    if x < 1e6:
        return f"{int(x):,}"
    exponent = int(math.floor(math.log10(x)))
    return f"{x / 10 ** exponent:.1f}·10{str(exponent).translate(SUPERSCRIPTS)}"


def markdown(rows):
    lines = ["| model | context it sees | n-grams kept | parameters stored | bytes stored | \\|V\\|ⁿ | validation bits/char | training s |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        kept = f"{r['ngrams']:,}" if r["ngrams"] != "" else "—"
        lines.append(f"| {r['model']} | {r['context']} | {kept} | {r['parameters']:,} | {r['bytes']:,} "
                     f"| {power(r['table_entries'])} | {r['val_bits_per_char']:.3f} | {r['train_seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def draw(ax, rows):
    ngrams = rows[:len(ORDERS)]
    mlps = rows[len(ORDERS):len(ORDERS) + len(CONTEXTS)]
    cells = rows[len(ORDERS) + len(CONTEXTS):]
    ax.plot([r["parameters"] for r in ngrams], [r["val_bits_per_char"] for r in ngrams], "o-",
            label="n-gram (Kneser–Ney), order n")
    for r, n in zip(ngrams, ORDERS):
        # Above and below in turn: the high orders lie close together.
        ax.annotate(f"n={n}", (r["parameters"], r["val_bits_per_char"]), textcoords="offset points",
                    xytext=(-4, 6 if n % 2 else -12), fontsize=8)
    ax.plot([r["parameters"] for r in mlps], [r["val_bits_per_char"] for r in mlps], "s-",
            label="windowed MLP, context k")
    for r, k in zip(mlps, CONTEXTS):
        ax.annotate(f"k={k}", (r["parameters"], r["val_bits_per_char"]), textcoords="offset points",
                    xytext=(4, -10), fontsize=8)
    for r, marker in zip(cells, ("^", "D", "*")):
        ax.plot([r["parameters"]], [r["val_bits_per_char"]], marker, markersize=10,
                label=f"{r['model']} 2 × 256 (state h)")
    ax.set_xscale("log")
    ax.set_xlabel("parameters stored (n-gram: probabilities and backoffs)")
    ax.set_ylabel("validation bits per character")
    ax.grid(alpha=0.3, which="both")


def plot(rows, path):
    """Every model on the left; on the right the best models, whose differences the low orders' scale hides."""
    fig, (whole, close) = plt.subplots(1, 2, figsize=(13, 5))
    draw(whole, rows)
    whole.legend()
    draw(close, rows)
    best = min(r["val_bits_per_char"] for r in rows)
    close.set_ylim(best - 0.05, best + 0.5)
    shown = [r["parameters"] for r in rows if r["val_bits_per_char"] <= best + 0.5]
    close.set_xlim(min(shown) / 2, max(shown) * 2)
    close.set_title(f"the best models ({best:.2f} to {best + 0.5:.2f} bits)", fontsize=10)
    fig.suptitle("first 90 % of the text for training, the last 10 % scored with full context")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    if len(sys.argv) != 2:
        print("usage: markov_vs_latent.py OUT", file=sys.stderr)
        sys.exit(2)
    out = Path(sys.argv[1])
    rows = rows_of(out)
    with open(out / "markov-vs-latent.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    (out / "markov-vs-latent.md").write_text(markdown(rows), encoding="utf-8")
    plot(rows, out / "markov-vs-latent.png")
    print(markdown(rows), end="")
    print(f"wrote {out}/markov-vs-latent.csv, .md and .png")


if __name__ == "__main__":
    main()
